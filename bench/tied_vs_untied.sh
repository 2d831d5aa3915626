#!/bin/bash
# The demo's model with and without a tied output layer (model.tie_embeddings), at equal steps:
# both trained side by side with one thread each on a demo's data and tokenizer, then evaluated on
# the demo's headline (test tasks of depth <= 2, six languages, greedy, signature prefilled) and
# compared (paired bootstrap CI).
#
#   bench/tied_vs_untied.sh runs/demo-tied hrm runs/tie_hrm 1500
#   bench/tied_vs_untied.sh runs/demo-tied baseline runs/tie_base 1500
set -euo pipefail
DEMO=${1:?a demo output directory (hrmcode demo --out DIR)}
ARCH=${2:?hrm or baseline}
OUT=${3:?output directory}
STEPS=${4:-1500}
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$OUT"
for v in tied untied; do
  t=$([ "$v" = tied ] && echo true || echo false)
  OMP_NUM_THREADS=1 "$PY" -m hrmcode train "$DEMO/$ARCH/config.yaml" --out "$OUT/$v" --no-progress \
    --set data.path="$DEMO/data" --set tokenizer.path="$DEMO/tokenizer.json" --set train.steps="$STEPS" \
    --set train.time_budget_minutes=null --set train.threads=1 --set model.tie_embeddings=$t \
    --set train.plots=false > "$OUT/$v.train.log" 2>&1 &
done
wait
for v in tied untied; do
  "$PY" -m hrmcode eval builtin --run "$OUT/$v" --data "$DEMO/data" --split test --max-depth 2 --prefill-signature \
    --max-new-tokens 192 --out "$OUT/eval-$v" > "$OUT/$v.eval.log" 2>&1
done
"$PY" -m hrmcode compare "$OUT/eval-tied" "$OUT/eval-untied" --tasks "$DEMO/data/tasks.jsonl" --out "$OUT/cmp"
