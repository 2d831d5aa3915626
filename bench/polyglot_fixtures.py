"""Polyglot ``--reference`` over the fixture exercises (or a checkout): wall time, warm-up, per language.

    .venv/bin/python bench/polyglot_fixtures.py [--data DIR] [--languages python,go] [--cold] [--workers 2]

``--cold`` uses a fresh cache directory, so the one-off warm-ups (Go's standard library, Catch2's
main) are part of the time; otherwise the persistent caches under ~/.cache/hrmcode are reused.
With ``--data`` pointing at a polyglot-benchmark checkout this is the full oracle check.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from hrmcode.benchmarks.polyglot.protocol import eval_polyglot

log = logging.getLogger("bench.polyglot_fixtures")
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "polyglot"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=FIXTURES)
    ap.add_argument("--languages", default="")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--cold", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    root = Path(tempfile.mkdtemp(prefix="bench-polyglot-"))
    try:
        s = eval_polyglot(args.data, root / "out", source="reference",
                          languages=[x for x in args.languages.split(",") if x] or None, workers=args.workers,
                          cache_dir=root / "cache" if args.cold else None)
        t = s["timing"]
        log.info("sandbox %s; %d exercises, %d passed; wall %.1f s (warm-ups %s), %d workers, %.1f exercises/min",
                 s["sandbox"]["mode"], s["tasks"], s["passed"], t["elapsed_s"], t["warm_up_s"], t["workers"],
                 t["exercises_per_minute"])
        for lang, m in s["polyglot_per_language"].items():
            log.info("  %-10s %3d exercises  pass %5.1f%%  %.2f s per exercise (test run %.2f s)", lang,
                     m["completed_tests"], m["pass_rate_1"] or 0.0, m["seconds_per_case"], m["test_seconds_per_case"])
        ref = s["reference_failures"]
        if ref:
            log.info("failed references: %s", ", ".join(f"{t} ({v})" for t, v in ref.items()))
        for tid, why in s["unavailable"].items():
            log.info("unavailable %s: %s", tid, why)
        return 0 if not ref else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
