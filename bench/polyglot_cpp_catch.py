"""Polyglot C++: one exercise's test run with and without the cached Catch2 main, in one run.

    .venv/bin/python bench/polyglot_cpp_catch.py [--repeat 3] [--catch /usr/include/catch2/catch.hpp]

The fixture exercise (tests/fixtures/polyglot/cpp) with its stand-in header replaced by the real
Catch2 2.x single header (Debian's ``catch2`` package), so the compile cost is the real one. Prints
the one-off warm-up (compiling the main once, trusted), then the reference solution's test run
with the launcher serving the cached object and with plain cmake/make (upstream), alternating.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hrmcode.benchmarks.polyglot.data import load_exercise
from hrmcode.benchmarks.polyglot.protocol import _Reference, run_exercise
from hrmcode.benchmarks.polyglot.toolchains import trusted_runner
from hrmcode.execute.runner import Ctx, ExecConfig
from hrmcode.execute.sandbox import detect_layers
from hrmcode.languages.cpp import cpp_toolchain, warm_catch_main
from hrmcode.languages.toolchain import ToolchainContext

log = logging.getLogger("bench.polyglot_cpp_catch")
FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "polyglot" / "cpp" / "exercises" / "practice"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--catch", type=Path, default=Path("/usr/include/catch2/catch.hpp"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.catch.is_file():
        log.error("%s: missing (apt-get install catch2, or pass --catch PATH to a Catch2 2.x single header)", args.catch)
        return 2
    root = Path(tempfile.mkdtemp(prefix="bench-polyglot-cpp-"))
    try:
        exdir = root / "data" / "digit-sum"
        shutil.copytree(FIXTURE / "digit-sum", exdir)
        shutil.copyfile(args.catch, exdir / "test" / "catch.hpp")
        ex = load_exercise(exdir, "cpp")
        layers, cfg = detect_layers(), ExecConfig()
        cache, tmp = root / "cache", root / "tmp"
        tmp.mkdir()
        t0 = time.monotonic()
        warm = warm_catch_main([ex], ToolchainContext(cache_root=cache, tmp_root=tmp,
                                                      run_trusted=trusted_runner(layers, cfg)))
        warm_s = time.monotonic() - t0
        ctx = Ctx(cfg, layers, cache, tmp)
        times: dict[str, list[float]] = {"cached main": [], "upstream (no cache)": []}
        for _ in range(args.repeat):
            for label, tc in (("cached main", cpp_toolchain(warm)), ("upstream (no cache)", cpp_toolchain(None))):
                r = run_exercise(ex, _Reference(), ctx, tc, tries=1, timeout=300)
                if not r.passed:
                    log.error("%s: the reference failed:\n%s", label, r.model_extra["tries"][-1]["output"][-1500:])
                    return 1
                times[label].append(r.model_extra["tries"][-1]["test_seconds"])
        log.info("sandbox: %s; warm-up (compile Catch2's main once): %.1f s", layers.mode, warm_s)
        for label, ts in times.items():
            log.info("%-22s median %.2f s  (runs: %s)", label, statistics.median(ts), ", ".join(f"{t:.2f}" for t in ts))
        ratio = statistics.median(times["upstream (no cache)"]) / statistics.median(times["cached main"])
        log.info("upstream / cached = %.2fx", ratio)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
