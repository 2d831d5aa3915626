"""Generation speed of the built-in suite: the issue's target is 10,000 tasks in at most 30 s.

    .venv/bin/python bench/builtin_generate.py [--n 10000] [--seed 0] [--out DIR]

Generates n tasks (pipelines, tests by the interpreter, statements, six reference renderings, Task
records) and writes them as `hrmcode data build` does, then prints the wall time of each phase, the
tasks per second and the ratio of the total to the 30 s budget (≤ 1.0 meets it), all from one run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from hrmcode.benchmarks.builtin.generate import generate, write_suite

BUDGET_S = 30.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="where to write the suite (default: a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        t0 = time.perf_counter()
        suite = generate(args.seed, args.n)
        t1 = time.perf_counter()
        write_suite(suite, out)
        t2 = time.perf_counter()
    total = t2 - t0
    print(json.dumps({
        "n": args.n, "seed": args.seed, "attempts": suite.attempts,
        "generate_s": round(t1 - t0, 2), "write_s": round(t2 - t1, 2), "total_s": round(total, 2),
        "tasks_per_s": round(args.n / total, 1), "ratio_to_30s_budget": round(total / BUDGET_S, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
