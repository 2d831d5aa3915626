"""C++ compile time with and without the precompiled default headers, side by side in one run.

    .venv/bin/python bench/cpp_pch.py [--n 20] [--repeat 3]

Evaluates the same C++ candidates (a passing fixture, renamed n ways) isolated (one build each) and
batched (one build), once with the precompiled header and once without, alternating, and prints the
wall time of each and the ratio. Real g++ in the sandbox.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from execute_fixtures import FIXTURES, TASK

import hrmcode.languages.cpp as cpp
from hrmcode.execute import ExecConfig, Limits, evaluate_samples
from hrmcode.records import Sample

log = logging.getLogger("bench.cpp_pch")


def _samples(n: int) -> list[Sample]:
    base = FIXTURES["cpp"]["pass"]
    # A distinct comment per copy: distinct code hashes, so nothing is deduplicated.
    return [Sample(task_id=TASK.task_id, language="cpp", solution=f"// copy {i}\n{base}") for i in range(n)]


def _timed(samples: list[Sample], *, batched: bool, pch: bool) -> float:
    original = cpp.precompiled_header
    if not pch:
        cpp.precompiled_header = lambda: None  # type: ignore[assignment]
    try:
        t0 = time.monotonic()
        results = evaluate_samples([TASK], samples, batched=batched, workers=1,
                                   config=ExecConfig(run=Limits(wall_s=10.0, memory_mb=512)))
        elapsed = time.monotonic() - t0
    finally:
        cpp.precompiled_header = original
    bad = [r.verdict.value for r in results if not r.passed]
    if bad:
        raise SystemExit(f"unexpected verdicts: {bad}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20, help="candidates in the batched run")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if cpp.precompiled_header() is None:
        raise SystemExit("no precompiled header could be built (is g++ installed?)")
    one, many = _samples(1), _samples(args.n)
    rows: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for label, samples, batched in (("1 candidate", one, False), (f"{args.n} batched", many, True)):
            for pch in (False, True):
                rows.setdefault(f"{label}, pch={'on' if pch else 'off'}", []).append(
                    _timed(samples, batched=batched, pch=pch))
    for label, times in rows.items():
        log.info("%-28s median %.2f s  (%s)", label, statistics.median(times), ", ".join(f"{t:.2f}" for t in times))
    for label in ("1 candidate", f"{args.n} batched"):
        off, on = (statistics.median(rows[f"{label}, pch={x}"]) for x in ("off", "on"))
        log.info("%s: %.2fx faster with the precompiled header", label, off / on)


if __name__ == "__main__":
    main()
