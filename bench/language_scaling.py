"""Does training memory grow with the number of languages? Peak RSS, parameters and tokens/s when
the same tiny HRM trains on 1, 2, … 6 languages (the risk register warns of linear growth).

Each language count runs in its own child process (a clean peak RSS), through the real trainer
(hrmcode.train.trainer.train) for the same number of steps and the same global batch, so only the
data differs: more languages = more examples and a tokenizer fitted to more syntax.

    .venv/bin/python bench/language_scaling.py                     # synthetic tasks in six languages
    .venv/bin/python bench/language_scaling.py --data data/builtin # the built-in suite
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from hrmcode.records import LANGUAGES, Task

# Small function templates, one per language, so the bench runs without the generated suite.
_TEMPLATES = {
    "python": "def {n}(xs):\n    total = 0\n    for x in xs:\n        if x % {k} == 0:\n            total += x\n    return total\n",
    "javascript": "function {n}(xs) {{\n  let total = 0;\n  for (const x of xs) {{\n    if (x % {k} === 0) total += x;\n  }}\n  return total;\n}}\n",
    "java": "static int {n}(int[] xs) {{\n    int total = 0;\n    for (int x : xs) {{\n        if (x % {k} == 0) total += x;\n    }}\n    return total;\n}}\n",
    "cpp": "int {n}(const std::vector<int>& xs) {{\n    int total = 0;\n    for (int x : xs) {{\n        if (x % {k} == 0) total += x;\n    }}\n    return total;\n}}\n",
    "go": "func {n}(xs []int) int {{\n\ttotal := 0\n\tfor _, x := range xs {{\n\t\tif x%{k} == 0 {{\n\t\t\ttotal += x\n\t\t}}\n\t}}\n\treturn total\n}}\n",
    "rust": "fn {n}(xs: &[i64]) -> i64 {{\n    xs.iter().filter(|&&x| x % {k} == 0).sum()\n}}\n",
}


def synthetic_tasks(n: int) -> list[Task]:
    return [Task(task_id=f"s{i}", prompt=f"Return the sum of the numbers in xs that are divisible by {i % 9 + 2}.",
                 reference={lang: t.format(n=f"sum_div_{i}", k=i % 9 + 2) for lang, t in _TEMPLATES.items()},
                 difficulty=1, meta={"split": "val" if i % 10 == 9 else "train"}) for i in range(n)]


def child(n_langs: int, data: str | None, steps: int, out: Path) -> None:
    from hrmcode.config import validate_config
    from hrmcode.train.trainer import train

    cfg = validate_config({
        "model": {"preset": "tiny", "max_seq_len": 256},
        "tokenizer": {"vocab_size": 1024},
        "data": {"languages": list(LANGUAGES[:n_langs]), "path": data},
        "train": {"steps": steps, "batch_size": 8, "threads": 2, "device": "cpu", "log_every": 1,
                  "eval_every": 10**6, "ckpt_every": 10**6, "plots": False, "probe_size": 8},
    })
    tasks = None if data else synthetic_tasks(200)
    s = train(cfg, out, tasks=tasks, progress=False)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(json.dumps({"languages": n_langs, "peak_rss_mb": peak_mb, "params": s.parameters["total"],
                      "tokens_per_s": s.tokens_per_s, "steps": s.steps}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=None, help="tasks directory (default: synthetic tasks)")
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.data, args.steps, Path(args.out))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(1, len(LANGUAGES) + 1):
            cmd = [sys.executable, __file__, "--child", str(k), "--steps", str(args.steps), "--out", f"{tmp}/run{k}"]
            if args.data:
                cmd += ["--data", args.data]
            res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "2"})
            if res.returncode:
                sys.exit(f"{k} languages failed:\n{res.stderr[-2000:]}")
            rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    print(f"tiny HRM, {args.steps} steps, global batch 8, 2 threads; load average {os.getloadavg()[0]:.1f}")
    print(f"{'languages':>9} {'peak RSS MiB':>12} {'params':>10} {'tokens/s':>9} {'RSS vs 1 lang':>13}")
    for r in rows:
        print(f"{r['languages']:>9} {r['peak_rss_mb']:12.0f} {r['params']:>10,} {r['tokens_per_s']:9.0f} "
              f"{r['peak_rss_mb'] / rows[0]['peak_rss_mb']:12.2f}×")


if __name__ == "__main__":
    main()
