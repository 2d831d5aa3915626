"""Polyglot ``--reference`` on the real benchmark: a cold first run, then a warm second one, side by side.

    .venv/bin/python bench/polyglot_reference.py [--archive PATH | --data DIR] [--workers 2] [--stubs]
        [--languages cpp,go] [--json OUT.json]

The archive defaults to ``../shared/benchmarks/polyglot-benchmark-7e0611e.tar.gz`` beside the
checkout (extracted to a temporary directory). The first run uses a fresh cache directory, so the
one-off warm-ups (Go's standard library, Catch2's main) and the absence of recorded durations
(longest-first scheduling falls back to per-language guesses) are part of its time; the second
run reuses that cache. Prints, for each run: wall time, the load average before and after, the CPU
time the hypervisor stole (other jobs share the CPU: compare runs measured together), the
per-language pass / unavailable table with seconds per exercise, and the slowest ten exercises;
then the warm / cold ratio. ``--stubs``
adds a stub check (every unedited stub must fail) after the two runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from hrmcode.benchmarks.polyglot.protocol import eval_polyglot

log = logging.getLogger("bench.polyglot_reference")
ARCHIVE = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "polyglot-benchmark-7e0611e.tar.gz"


def _steal_s() -> float | None:
    """CPU time the hypervisor gave to other guests (``steal`` in /proc/stat), all CPUs, in seconds: a
    shared host slows every job without it showing in the load average."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _run(data: Path, out: Path, cache: Path, source: str, languages: list[str] | None, workers: int | None
         ) -> dict[str, Any]:
    load0 = os.getloadavg()
    steal0 = _steal_s()
    t0 = time.monotonic()
    s = eval_polyglot(data, out, source=source, languages=languages, workers=workers, cache_dir=cache)
    wall = time.monotonic() - t0
    steal1 = _steal_s()
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    per_lang: dict[str, dict[str, Any]] = {}
    for lang, o in s["outcomes"].items():
        if lang == "all":
            continue
        secs = [r["seconds"] for r in results if r["language"] == lang]
        per_lang[lang] = {**o, "seconds_total": round(sum(secs), 1),
                          "seconds_mean": round(sum(secs) / len(secs), 2) if secs else None}
    return {"source": source, "wall_s": round(wall, 1), "load_before": [round(x, 2) for x in load0],
            "load_after": [round(x, 2) for x in os.getloadavg()], "warm_up_s": s["timing"]["warm_up_s"],
            "steal_s": None if steal0 is None or steal1 is None else round(steal1 - steal0, 1),
            "workers": s["timing"]["workers"], "outcomes": s["outcomes"]["all"], "per_language": per_lang,
            "unavailable": s["unavailable"], "failures": s.get("reference_failures"),
            "stub_check": s.get("stub_check"), "slowest": s["timing"]["slowest"],
            "seconds_per_exercise": {r["task_id"]: r["seconds"] for r in results}}


def _print(label: str, r: dict[str, Any]) -> None:
    o = r["outcomes"]
    log.info("\n## %s: %s, %d exercises: %d pass, %d fail, %d unavailable; wall %.1f s (%d workers); load %s → %s; "
             "CPU steal %s s; warm-ups %s", label, r["source"], o["exercises"], o["pass"], o["fail"], o["unavailable"],
             r["wall_s"], r["workers"], r["load_before"][0], r["load_after"][0], r["steal_s"], r["warm_up_s"])
    log.info("| language | exercises | pass | fail | unavailable | s / exercise | s total |\n|---|---:|---:|---:|---:|---:|---:|")
    for lang, m in r["per_language"].items():
        log.info("| %s | %d | %d | %d | %d | %s | %s |", lang, m["exercises"], m["pass"], m["fail"], m["unavailable"],
                 m["seconds_mean"], m["seconds_total"])
    log.info("slowest: %s", ", ".join(f"{s['task_id']} {s['seconds']:.1f}" for s in r["slowest"]))
    for tid, why in r["unavailable"].items():
        log.info("unavailable %s: %s", tid, why)
    if r["failures"]:
        log.info("FAILED references: %s", r["failures"])
    if r["stub_check"]:
        log.info("stub check: %s", {k: v for k, v in r["stub_check"].items()})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archive", type=Path, default=ARCHIVE)
    ap.add_argument("--data", type=Path, default=None, help="an extracted checkout (instead of --archive)")
    ap.add_argument("--languages", default="")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--stubs", action="store_true", help="also run the stub check")
    ap.add_argument("--json", type=Path, default=None, help="write the measurements here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("hrmcode").setLevel(logging.WARNING)
    langs = [x for x in args.languages.split(",") if x] or None
    root = Path(tempfile.mkdtemp(prefix="bench-polyglot-ref-"))
    try:
        data = args.data
        if data is None:
            if not args.archive.is_file():
                log.error("%s: missing (pass --archive PATH or --data DIR)", args.archive)
                return 2
            data = root / "data"
            with tarfile.open(args.archive) as tar:
                tar.extractall(data, filter="data")
        cache = root / "cache"
        runs = {"cold (first run)": _run(data, root / "cold", cache, "reference", langs, args.workers),
                "warm (second run)": _run(data, root / "warm", cache, "reference", langs, args.workers)}
        if args.stubs:
            runs["stubs (warm)"] = _run(data, root / "stubs", cache, "stubs", langs, args.workers)
        log.info("# Polyglot --reference: %s, %d cores usable, uname %s", data, len(os.sched_getaffinity(0)),
                 os.uname().release)
        for label, r in runs.items():
            _print(label, r)
        cold, warm = runs["cold (first run)"]["wall_s"], runs["warm (second run)"]["wall_s"]
        log.info("\nwarm / cold wall = %.2f (%.1f s / %.1f s)", warm / cold, warm, cold)
        if args.json:
            args.json.write_text(json.dumps({"data": str(data), "runs": runs, "warm_over_cold": round(warm / cold, 3)},
                                            indent=1))
        bad = any(r["failures"] for r in runs.values()) or (args.stubs and runs["stubs (warm)"]["stub_check"]["passed"])
        return 1 if bad else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
