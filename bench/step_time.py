"""Training step time of the demo's models on the demo's own batches: what padding and the output
layer cost. Four variants per architecture, in one process, interleaved over repetitions (the
fastest repetition counts; this machine is shared and noisy):

    full logits, random batches     the trainer before 2026-12-03: the output layer at every position
    target logits, random batches   the output layer only where a target is (prompt and padding have none)
    full logits, grouped batches    data.group_by_length = 32: batches of similar length, less padding
    target logits, grouped batches  what the demo runs
    ... + copy head                 hrmcode demo --copy-head (model.copy_head)

The "full logits" variants route training through the eval path's full output layer (the loss and
gradient are the same; tests/test_model_core.py checks it), so only the time differs.

    .venv/bin/python bench/step_time.py --demo runs/demo            # a demo's data/ and tokenizer.json
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hrmcode.model.act as act_mod  # noqa: E402
import hrmcode.model.common as common  # noqa: E402
import hrmcode.model.transformer as transformer_mod  # noqa: E402
from hrmcode.data.batching import load_tasks  # noqa: E402
from hrmcode.demo import DemoPlan, run_config  # noqa: E402
from hrmcode.tokenizer import CodeTokenizer  # noqa: E402
from hrmcode.train import distributed as D  # noqa: E402
from hrmcode.train.trainer import Trainer, prepare_run  # noqa: E402

TARGETS_ONLY = common.lm_outputs


def full_logits(head, h, targets, kind, *, full):
    return TARGETS_ONLY(head, h, targets, kind, full=True)


def step_seconds(arch: str, group: int, sparse: bool, copy: bool, tasks: list, tok: CodeTokenizer, steps: int,
                 tmp: Path) -> float:
    act_mod.lm_outputs = transformer_mod.lm_outputs = TARGETS_ONLY if sparse else full_logits
    cfg = run_config(DemoPlan(copy_head=copy), arch)
    # HRM's truncation window at its full size, as after the first 20 % of a run: the warm-up's
    # start backpropagates through fewer module calls (the demo's HRM: 163 ms/step in its first
    # minute, 185-204 ms after, while the baseline stayed at 133-147 ms).
    cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"group_by_length": group}),
                                 "model": cfg.model.model_copy(update={"grad_warmup_from": None})})
    info = D.init_distributed("cpu")
    run_dir = Path(tempfile.mkdtemp(dir=tmp))
    cfg, tk, examples, probe = prepare_run(cfg, run_dir, resume=False, tasks=tasks, tokenizer=tok, info=info)
    tr = Trainer(cfg, run_dir, info, tokenizer=tk, train_examples=examples, probe=probe, console=None)
    try:
        for _ in range(5):  # warm-up: allocations, first-call overheads
            tr.train_step()
        t0 = time.perf_counter()
        for _ in range(steps):
            tr.train_step()
        return (time.perf_counter() - t0) / steps
    finally:
        tr.sinks.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", required=True, help="a demo output directory (hrmcode demo --out DIR)")
    ap.add_argument("--steps", type=int, default=40, help="timed steps per variant and repetition")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    logging.disable(logging.INFO)
    torch.set_num_threads(args.threads)
    demo = Path(args.demo)
    tasks, tok = load_tasks(demo / "data" / "tasks.jsonl"), CodeTokenizer.load(demo / "tokenizer.json")
    variants = [(arch, g, s, False) for arch in ("hrm", "baseline") for g in (0, 32) for s in (False, True)]
    variants += [(arch, 32, True, True) for arch in ("hrm", "baseline")]
    best: dict[tuple, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.reps):
            for v in variants:
                dt = step_seconds(*v, tasks, tok, args.steps, Path(tmp))
                best[v] = min(best.get(v, dt), dt)
    print(f"{args.steps} steps × {args.reps} reps, {args.threads} threads, batch 16, the first steps of a run "
          "(HRM's truncation window at full size); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'arch':9} {'batches':8} {'logits':8} {'copy':5} {'ms/step':>8} {'speed-up':>9}")
    for arch, g, s, c in variants:
        ref = best[(arch, 0, False, False)]
        dt = best[(arch, g, s, c)]
        print(f"{arch:9} {'grouped' if g else 'random':8} {'targets' if s else 'all':8} {'head' if c else '-':5} "
              f"{1000 * dt:8.0f} {ref / dt:8.2f}×")


if __name__ == "__main__":
    main()
