"""HRM vs the same-size transformer at equal wall-clock minutes, judged by executed code (pass@1).

The time-budgeted companion of ``bench/recipe_parity.py`` (which compares at equal steps): train
HRM and the baseline on one recipe for the same minutes — one after the other with the recipe's
threads (on an otherwise idle machine), or with ``--side-by-side`` both at once with one thread each
(the fair choice on a shared machine: both see the same load) — generate greedily for every task of the
chosen splits up to a composition depth, execute in the sandbox, and compare with a paired
bootstrap interval. What docs/training.md and the README's answer report:

    .venv/bin/python bench/recipe_minutes.py                        # tiny-quick, 10 min each, Python depth ≤ 2
    .venv/bin/python bench/recipe_minutes.py --minutes 5 --out runs/rm5

Equivalent to (for each ARCH in hrm, baseline):
    hrmcode train configs/tiny-quick.yaml --set model.arch=ARCH --out OUT/ARCH
    hrmcode eval builtin --run OUT/ARCH --data data/builtin --split test,val --max-depth 2 \\
        --languages python --max-new-tokens 128 --out OUT/ARCH-eval
    hrmcode compare OUT/baseline-eval OUT/hrm-eval --tasks data/builtin/tasks.jsonl --out OUT/compare
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def hrmcode(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "hrmcode", *args], cwd=ROOT, check=True, env=dict(os.environ))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "configs/tiny-quick.yaml"))
    ap.add_argument("--minutes", type=float, default=10.0, help="training budget per model")
    ap.add_argument("--data", default=str(ROOT / "data/builtin"), help="built-in suite (built here if missing)")
    ap.add_argument("--split", default="test,val")
    ap.add_argument("--max-depth", type=int, default=2)
    ap.add_argument("--languages", default="python")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--out", default=str(ROOT / "runs/recipe_minutes"))
    ap.add_argument("--side-by-side", action="store_true", help="train both at once, one thread each")
    args = ap.parse_args()

    data, out = Path(args.data), Path(args.out)
    if not (data / "tasks.jsonl").is_file():
        hrmcode("data", "build", "--suite", "builtin", "--seed", "0", "--n", "3000", "--out", str(data))
    timings: dict[str, dict[str, float]] = {}

    def train_cmd(arch: str) -> list[str]:
        cmd = [sys.executable, "-m", "hrmcode", "train", args.config, "--out", str(out / arch), "--no-progress",
               "--set", f"model.arch={arch}", "--set", f"name={arch}", "--set", f"data.path={data}",
               "--set", f"train.time_budget_minutes={args.minutes}"]
        return cmd + (["--set", "train.threads=1"] if args.side_by_side else [])

    todo = [a for a in ("hrm", "baseline") if not (out / a / "summary.json").is_file()]
    t0 = time.perf_counter()
    if args.side_by_side:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        procs = [subprocess.Popen(train_cmd(a), cwd=ROOT, env=env) for a in todo]
        if any(p.wait() != 0 for p in procs):
            sys.exit("training failed")
    else:
        for a in todo:
            subprocess.run(train_cmd(a), cwd=ROOT, check=True)
    train_s = time.perf_counter() - t0
    for arch in ("hrm", "baseline"):
        t1 = time.perf_counter()
        hrmcode("eval", "builtin", "--run", str(out / arch), "--data", str(data), "--split", args.split,
                "--max-depth", str(args.max_depth), "--languages", args.languages,
                "--max-new-tokens", str(args.max_new_tokens), "--out", str(out / f"{arch}-eval"))
        timings[arch] = {"train_s": train_s, "eval_s": time.perf_counter() - t1}
    # the baseline first: the difference reads "hrm − baseline"
    hrmcode("compare", str(out / "baseline-eval"), str(out / "hrm-eval"), "--tasks", str(data / "tasks.jsonl"),
            "--out", str(out / "compare"))
    res = json.loads((out / "compare" / "results.json").read_text())
    mode = "side by side, one thread each" if args.side_by_side else "one after the other"
    print(f"recipe at equal minutes: {args.config}, {args.minutes:g} min each ({mode}), {args.languages}, "
          f"splits {args.split}, depth ≤ {args.max_depth}, greedy")
    for arch in ("hrm", "baseline"):
        s = json.loads((out / arch / "summary.json").read_text())
        r = res["runs"][next(k for k in res["runs"] if k.startswith(arch))]
        lo, hi = r["pass@1_ci95"]
        print(f"  {arch:9} {s['steps']:6d} steps  probe loss {s['probe'].get('loss', float('nan')):.3f}  "
              f"exact {s['probe'].get('exact_match', float('nan')):.3f}  pass@1 {100 * r['pass@1']:.1f} % "
              f"[{100 * lo:.1f}, {100 * hi:.1f}]  (eval {timings[arch]['eval_s']:.0f} s)")
    for name, d in res["differences"].items():
        print(f"  {name}: {100 * d['diff']:+.1f} points, paired 95 % CI [{100 * d['ci95'][0]:+.1f}, "
              f"{100 * d['ci95'][1]:+.1f}] over {d.get('tasks', '?')} tasks")


if __name__ == "__main__":
    main()
