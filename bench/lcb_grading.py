"""LiveCodeBench grading throughput (samples/s), each grading mode measured in one run.

The problems are SYNTHETIC stdin problems generated here (not LiveCodeBench's), written as records
in the upstream format (private tests base64/zlib/pickle-encoded) to a temporary shard, read back
through the LiveCodeBench reader and graded in the sandbox exactly as `hrmcode eval
livecodebench` grades: 50 problems x 10 Python samples x 5 tests by default, 7 of 10 samples correct.

Each mode prints its wall-clock rate and the CPU time grading used: on a machine shared with other
work the wall rate is what the load leaves, and cores / CPU-per-sample is the rate the grader would
sustain with the cores to itself. The CPU time is that of every process grading started (this
process, the jails' start-up, the drivers, their zygotes and test processes), read from a cpuacct
cgroup this script joins (cgroup v1, root); without one, only what the jailed drivers report
(getrusage inside the jail: no jail start-up, no host side) is printed.

Modes measured: faithful, robust, robust with --float-tol; and, for comparison on a subset, the
generic harness path (hrmcode.execute.evaluate_samples on stdin tasks: one jailed interpreter per
test), which is what the fork-per-test driver replaces.

    .venv/bin/python bench/lcb_grading.py [--problems 50] [--samples 10] [--tests 5] [--workers N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from hrmcode.benchmarks.livecodebench import data as lcb
from hrmcode.execute import evaluate_samples, sandbox_layers
from hrmcode.execute.grade import grade_problem
from hrmcode.execute.lcb import GradeConfig, GradeJob, grade
from hrmcode.execute.sandbox import cpu_meter
from hrmcode.records import Sample

# (statement, input generator, answer, correct program, wrong program)
FAMILIES: list[tuple[str, Any, Any, str, str]] = [
    ("Print the sum of the N integers.",
     lambda r: [r.randint(-99, 99) for _ in range(r.randint(1, 20))],
     lambda xs: str(sum(xs)),
     "n = int(input())\nprint(sum(map(int, input().split())))\n",
     "n = int(input())\nprint(sum(map(int, input().split())) + 1)\n"),
    ("Print the N integers in increasing order.",
     lambda r: [r.randint(0, 999) for _ in range(r.randint(1, 20))],
     lambda xs: " ".join(map(str, sorted(xs))),
     "import sys\ndata = sys.stdin.read().split()\nprint(*sorted(map(int, data[1:])))\n",
     "import sys\ndata = sys.stdin.read().split()\nprint(*data[1:])\n"),
    ("Print the largest of the N integers.",
     lambda r: [r.randint(-999, 999) for _ in range(r.randint(1, 20))],
     lambda xs: str(max(xs)),
     "import sys\ninput = sys.stdin.readline\nn = int(input())\nprint(max(map(int, input().split())))\n",
     "import sys\ninput = sys.stdin.readline\nn = int(input())\nprint(min(map(int, input().split())))\n"),
    ("Print the mean of the N integers with 6 decimals.",
     lambda r: [r.randint(1, 100) for _ in range(r.randint(1, 20))],
     lambda xs: f"{sum(xs) / len(xs):.6f}",
     "def main():\n    n = int(input())\n    xs = list(map(int, input().split()))\n    print(f'{sum(xs) / n:.6f}')\n\n"
     "if __name__ == '__main__':\n    main()\n",
     "n = int(input())\nxs = list(map(int, input().split()))\nprint(sum(xs) // n)\n"),
]


def synthetic_records(n_problems: int, n_tests: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    recs = []
    for i in range(n_problems):
        stmt, gen, ans, _, _ = FAMILIES[i % len(FAMILIES)]
        tests = []
        for _ in range(n_tests):
            xs = gen(rng)
            tests.append({"input": f"{len(xs)}\n{' '.join(map(str, xs))}\n", "output": ans(xs) + "\n",
                          "testtype": "stdin"})
        recs.append({"question_title": f"synthetic {i}", "question_content": stmt, "platform": "atcoder",
                     "question_id": f"syn{i:03d}_a", "contest_id": f"syn{i:03d}",
                     "contest_date": f"2024-{1 + i % 12:02d}-01T00:00:00", "starter_code": "",
                     "difficulty": ("easy", "medium", "hard")[i % 3],
                     "public_test_cases": json.dumps(tests[:1]), "private_test_cases": lcb.encode_private_tests(tests[1:]),
                     "metadata": "{}"})
    return recs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=50)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--tests", type=int, default=5)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--baseline-samples", type=int, default=40, help="samples for the one-interpreter-per-test path")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as d:
        shard = Path(d) / "test.jsonl"
        shard.write_text("".join(json.dumps(r) + "\n" for r in synthetic_records(args.problems, args.tests, 0)))
        sel = lcb.load_problems([shard])
        tasks = [lcb.to_task(p) for p in sel.problems]
    probs = {t.task_id: grade_problem(t) for t in tasks}
    jobs, expect = [], []
    for pi, t in enumerate(tasks):
        _, _, _, good, bad = FAMILIES[pi % len(FAMILIES)]
        for s in range(args.samples):
            ok = s < round(0.7 * args.samples)
            jobs.append(GradeJob(len(jobs), t.task_id, "python", good if ok else bad))
            expect.append(ok)
    cores = len(os.sched_getaffinity(0))
    workers = args.workers or cores
    layers = sandbox_layers()
    print(f"sandbox: {layers['mode']} (cgroup memory {layers['cgroup_memory']}), workers: {workers}, "
          f"cores: {len(os.sched_getaffinity(0))}, load average: {os.getloadavg()[0]:.2f}")
    print(f"synthetic stdin problems in upstream format: {args.problems} problems x {args.samples} samples x "
          f"{args.tests} tests = {len(jobs)} samples")
    out: dict[str, Any] = {"problems": args.problems, "samples": len(jobs), "tests_per_problem": args.tests,
                           "workers": workers, "sandbox": layers["mode"], "modes": {}}
    modes = (("faithful", GradeConfig(mode="faithful", workers=workers)),
             ("robust", GradeConfig(mode="robust", workers=workers)),
             ("robust+float_tol", GradeConfig(mode="robust", float_tol=1e-6, workers=workers)))
    with cpu_meter() as cpu_now:
        for name, cfg in modes:
            stats: dict[str, float] = {}
            load = os.getloadavg()[0]
            c0, t0 = cpu_now(), time.perf_counter()
            res = grade(probs, jobs, cfg, stats=stats)
            dt, c1 = time.perf_counter() - t0, cpu_now()
            agree = sum(res[j.key].passed == e for j, e in zip(jobs, expect, strict=True))
            ran = sum(len(g.verdicts) for g in res.values())  # a sample stops at its first failing test
            rate = len(jobs) / dt
            driver = stats["driver_cpu_s"] / len(jobs)
            total = (c1 - c0) / len(jobs) if c0 is not None and c1 is not None else None
            per = total or driver
            print(f"{name:18s} {len(jobs)} samples in {dt:6.2f} s = {rate:6.1f} samples/s wall "
                  f"({ran / dt:6.1f} tests run/s; load average {load:.1f}); CPU {per * 1000:5.1f} ms/sample"
                  f"{'' if total else ' (drivers only)'} -> {cores / per:6.1f} samples/s on {cores} free cores "
                  f"(drivers alone {driver * 1000:.1f} ms); verdicts as expected: {agree}/{len(jobs)}")
            out["modes"][name] = {"seconds": round(dt, 3), "samples_per_s": round(rate, 2), "as_expected": agree,
                                  "tests_run": ran,
                                  "load_average_before": round(load, 2),
                                  "cpu_ms_per_sample": round(per * 1000, 2), "cpu_all_processes": bool(total),
                                  "driver_cpu_ms_per_sample": round(driver * 1000, 2),
                                  "samples_per_s_on_free_cores": round(cores / per, 1)}

    # The generic harness path: each test is a fresh jailed interpreter.
    n = min(args.baseline_samples, len(jobs))
    by_id = {t.task_id: t for t in tasks}
    sub = jobs[:: max(1, len(jobs) // n)][:n]
    samples = [Sample(task_id=j.problem, language="python", solution=j.code) for j in sub]
    t0 = time.perf_counter()
    res2 = evaluate_samples(list({j.problem: by_id[j.problem] for j in sub}.values()), samples, workers=workers)
    dt = time.perf_counter() - t0
    agree = sum(r.passed == expect[j.key] for r, j in zip(res2, sub, strict=True))
    rate = len(sub) / dt
    print(f"{'harness per-test':18s} {len(sub)} samples in {dt:6.2f} s = {rate:7.1f} samples/s "
          f"(one jailed interpreter per test); verdicts as expected: {agree}/{len(sub)}")
    out["modes"]["harness_process_per_test"] = {"samples": len(sub), "seconds": round(dt, 3),
                                                "samples_per_s": round(rate, 2), "as_expected": agree}
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
