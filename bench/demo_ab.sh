#!/bin/bash
# One config change to the demo's model, at equal steps: variants A and B of the demo's config
# (KEY=A vs KEY=B) trained side by side with one thread each on a demo's data and tokenizer, then
# evaluated on the demo's headline (test tasks of depth <= 2, six languages, greedy, signature
# prefilled) and compared (paired bootstrap CI). Prints each variant's steps/s and probe loss.
#
#   bench/demo_ab.sh runs/demo hrm runs/ab-tie 1500 model.tie_embeddings true false
#   bench/demo_ab.sh runs/demo baseline runs/ab-group 1500 data.group_by_length 32 0 train.seed=1
#   bench/demo_ab.sh runs/demo hrm runs/ab-copy 1764 model.copy_head,data.rename_copies false,0 true,1
# (further KEY=VALUE arguments are set in both variants; comma-separated keys and values change
# several settings at once, the variant named by its values)
set -euo pipefail
DEMO=${1:?a demo output directory (hrmcode demo --out DIR)}
ARCH=${2:?hrm or baseline}
OUT=${3:?output directory}
STEPS=${4:?optimizer steps per variant}
KEY=${5:?a config key, e.g. model.tie_embeddings}
A=${6:?value A}
B=${7:?value B}
shift 7
COMMON=()
for kv in "$@"; do COMMON+=(--set "$kv"); done
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$OUT"
sets() {  # --set KEY=VALUE for each comma-separated key and value of variant $1
  local -a keys vals
  IFS=, read -ra keys <<< "$KEY"
  IFS=, read -ra vals <<< "$1"
  [ "${#keys[@]}" -eq "${#vals[@]}" ] || { echo "$KEY vs $1: as many values as keys" >&2; exit 2; }
  for i in "${!keys[@]}"; do printf -- '--set\n%s=%s\n' "${keys[$i]}" "${vals[$i]}"; done
}
sets "$A" > /dev/null && sets "$B" > /dev/null  # stops here when the counts differ
for v in "$A" "$B"; do
  mapfile -t VSETS < <(sets "$v")
  OMP_NUM_THREADS=1 "$PY" -m hrmcode train "$DEMO/$ARCH/config.yaml" --out "$OUT/$v" --no-progress \
    --set data.path="$DEMO/data" --set tokenizer.path="$DEMO/tokenizer.json" --set train.steps="$STEPS" \
    --set train.time_budget_minutes=null --set train.threads=1 "${VSETS[@]}" "${COMMON[@]}" \
    --set train.plots=false > "$OUT/$v.train.log" 2>&1 &
done
wait
for v in "$A" "$B"; do
  "$PY" - "$OUT/$v/metrics.jsonl" "$KEY=$v" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
train = [r for r in rows if r.get("type") == "step" and "elapsed_s" in r]
probe = [r for r in rows if r.get("type") == "eval"]
last = train[-1]
print(f"{sys.argv[2]}: {last['step']} steps in {last['elapsed_s']:.0f} s ({last['step'] / last['elapsed_s']:.2f} steps/s); "
      "probe loss " + ", ".join(f"@{r['step']} {r['loss']:.3f}" for r in probe if r["step"] % 500 == 0 or r is probe[-1]))
PY
  "$PY" -m hrmcode eval builtin --run "$OUT/$v" --data "$DEMO/data" --split test --max-depth 2 --prefill-signature \
    --max-new-tokens 192 --out "$OUT/eval-$v" > "$OUT/$v.eval.log" 2>&1
done
"$PY" -m hrmcode compare "$OUT/eval-$A" "$OUT/eval-$B" --tasks "$DEMO/data/tasks.jsonl" --out "$OUT/cmp"
