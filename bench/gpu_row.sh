#!/usr/bin/env bash
# The GPU row of the recurrence study, as one script for a GPU machine that has a Python with torch
# but neither this project's virtual environment nor the six toolchains (a lent H200 here):
#   1. training throughput and MFU of the `small` and `hrm-27m` presets in bf16 (SDPA attention),
#      eager, against the bf16 matmul peak measured in the same run and the datasheet peak;
#   2. the study's GPU grid (configs/study-gpu.yaml) trained and generated with --no-grade;
#   3. if the minutes allow, eager vs torch.compile side by side on the `small` preset.
# Everything lands in $OUT (the study without checkpoints as study-gpu.tgz); grade it on a machine
# with the toolchains:   tar xzf study-gpu.tgz -C DIR && hrmcode study ${CONFIG:-configs/study-gpu.yaml} --out DIR/sg
#
#   STUDY=gpu/sg OUT=/tmp/gpu-out bash bench/gpu_row.sh
# STUDY may hold a prepared suite and tokenizer (hrmcode.study.prepare_study) so the GPU minutes go
# to training; wheels in .whl/ (pydantic, openai, ...) are installed first when the machine lacks them.
set -uo pipefail
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }
OUT=${OUT:-/tmp/gpu-row}
STUDY=${STUDY:-gpu/sg}
LIMIT=${LIMIT:-570}   # seconds this script may use in all
PARTS=${PARTS:-throughput,study,compile}  # which parts to run
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, platform; print('torch', torch.__version__, 'python', platform.python_version(), torch.cuda.get_device_name())" \
  | tee -a "$OUT/gpu.txt"

if [[ $PARTS == *throughput* ]]; then
  echo "== [$(elapsed) s] throughput, eager"
  timeout 120 python3 bench/train_throughput.py --device cuda --json >"$OUT/throughput.txt" 2>&1
  grep -A6 "matmul 8192" "$OUT/throughput.txt" || tail -20 "$OUT/throughput.txt"
fi
[[ $PARTS == *compile* ]] && reserve=120 || reserve=20

echo "== [$(elapsed) s] study grid, generation only"
timeout $(( LIMIT - reserve - $(elapsed) )) python3 -m hrmcode study ${CONFIG:-configs/study-gpu.yaml} --out "$STUDY" --no-grade \
  >"$OUT/study.log" 2>&1
echo "study exit $?"
grep -E "^(training|  [0-9]+ steps|generating|generated|Error|Traceback)" "$OUT/study.log" | tail -30
tar czf "$OUT/study-gpu.tgz" --exclude=checkpoints --exclude=tb -C "$(dirname "$STUDY")" "$(basename "$STUDY")"
ls -la "$OUT"

left=$(( LIMIT - $(elapsed) ))
if [[ $PARTS == *compile* ]]; then
  if (( left > 150 )); then
    echo "== [$(elapsed) s] throughput, eager vs torch.compile (small)"
    timeout $(( left - 15 )) python3 bench/train_throughput.py --device cuda --presets small --compile --json \
      >"$OUT/compile.txt" 2>&1
    grep -A6 "matmul 8192" "$OUT/compile.txt" || tail -20 "$OUT/compile.txt"
  else
    echo "no time left for the torch.compile rows ($left s)"
  fi
fi
echo "== done in $(elapsed) s"
