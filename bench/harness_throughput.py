"""Execution-harness throughput: the same function samples run batched and isolated, in one run.

    .venv/bin/python bench/harness_throughput.py [--n 300] [--isolated-n 40] [--seed 0] [--languages ...]

Per language, the samples are the built-in suite's references for ``--n`` tasks with broken
candidates mixed in (every 20th does not compile, every 10th is another task's function of the same
signature under this task's name: mostly wrong answers). All of them run **batched** (one
evaluate_samples call per language, the default worker pool). Isolated runs cost one build and one
process per program, too slow to repeat for every sample, so a fixed random subset of
``--isolated-n`` of the same samples runs **isolated** (``batched=False``, same pool) and its
per-program cost is extrapolated to ``--n``. The isolated subset's verdicts must equal the batched
ones for the same samples (the harness's guarantee); the script fails otherwise.

Prints programs/s per language for both modes, the ratio, and the overall ratio (total extrapolated
isolated time / total batched time) with the machine's load average. Toolchain caches live in a
fresh temporary directory, warmed once before timing, so Go's build cache holds the standard
library but no candidate package of a previous run.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from hrmcode.data.builtin.generate import generate
from hrmcode.execute import evaluate_samples
from hrmcode.languages import LANGUAGES
from hrmcode.records import LANGUAGES as LANGUAGE_NAMES
from hrmcode.records import Result, Sample, Task

log = logging.getLogger("bench.harness_throughput")


def _samples(tasks: list[Task], lang: str) -> list[Sample]:
    """References, with every 20th broken (a syntax error) and every 10th another task's function."""
    ident = LANGUAGES[lang].ident
    by_shape: dict[tuple, list[Task]] = {}
    for t in tasks:
        assert t.signature is not None
        by_shape.setdefault((tuple(p.type for p in t.signature.params), t.signature.returns), []).append(t)
    out = []
    for i, t in enumerate(tasks):
        assert t.signature is not None and t.reference is not None
        code = t.reference[lang]
        if i % 20 == 7:
            code += "\n@@@ not code in any of the six languages\n"
        elif i % 10 == 3:
            shape = (tuple(p.type for p in t.signature.params), t.signature.returns)
            others = [o for o in by_shape[shape] if o.task_id != t.task_id]
            if others:
                other = others[i % len(others)]
                assert other.signature is not None and other.reference is not None
                code = other.reference[lang].replace(ident(other.signature.name), ident(t.signature.name))
        out.append(Sample(task_id=t.task_id, language=lang, solution=code))
    return out


def _timed(tasks: list[Task], samples: list[Sample], *, batched: bool, cache: Path) -> tuple[float, list[Result]]:
    # The toolchain caches stay; outcomes cached by code hash would answer the second mode for free.
    shutil.rmtree(cache / "results", ignore_errors=True)
    t0 = time.monotonic()
    results = evaluate_samples(tasks, samples, batched=batched, cache_dir=cache)
    return time.monotonic() - t0, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300, help="built-in tasks, i.e. samples per language (batched)")
    ap.add_argument("--isolated-n", type=int, default=40, help="of those, run isolated (a fixed random subset)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--languages", default=",".join(LANGUAGE_NAMES))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    langs = [x for x in args.languages.split(",") if x]
    tasks = generate(args.seed, args.n).tasks
    subset = sorted(random.Random(args.seed).sample(range(len(tasks)), min(args.isolated_n, len(tasks))))
    load0 = os.getloadavg()
    cache = Path(tempfile.mkdtemp(prefix="hrmcode-bench-"))
    try:
        # Warm-up (not timed): Go's standard library into the fresh build cache, the C++ headers.
        evaluate_samples(tasks[:1], [Sample(task_id=tasks[0].task_id, language=lang,
                                            solution=tasks[0].reference[lang]) for lang in langs], cache_dir=cache)
        rows = []
        for lang in langs:
            samples = _samples(tasks, lang)
            t_batch, res_batch = _timed(tasks, samples, batched=True, cache=cache)
            iso = [samples[i] for i in subset]
            t_iso, res_iso = _timed(tasks, iso, batched=False, cache=cache)
            for i, r in zip(subset, res_iso, strict=True):
                if (r.verdict, r.tests_passed) != (res_batch[i].verdict, res_batch[i].tests_passed):
                    raise SystemExit(f"{lang} sample {i}: isolated {r.verdict} {r.tests_passed} != batched "
                                     f"{res_batch[i].verdict} {res_batch[i].tests_passed}")
            iso_per_program = t_iso / len(iso)
            rows.append((lang, len(samples), t_batch, len(iso), t_iso, iso_per_program))
            hist = Counter(r.verdict.value for r in res_batch)
            log.info("%-10s batched %3d programs %6.1f s %7.2f prog/s | isolated %3d programs %6.1f s %6.2f prog/s"
                     " | %5.1fx   verdicts %s", lang, len(samples), t_batch, len(samples) / t_batch, len(iso), t_iso,
                     1 / iso_per_program, iso_per_program * len(samples) / t_batch, dict(hist))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    total_batch = sum(r[2] for r in rows)
    total_iso = sum(r[5] * r[1] for r in rows)  # isolated cost per program × the batched count
    n_programs = sum(r[1] for r in rows)
    log.info("overall: %d programs batched in %.1f s (%.2f prog/s); isolated, extrapolated from %d per language: "
             "%.1f s (%.2f prog/s); ratio %.1fx", n_programs, total_batch, n_programs / total_batch,
             args.isolated_n, total_iso, n_programs / total_iso, total_iso / total_batch)
    log.info("load average (1 min) %.1f at start, %.1f at end; %d cores", load0[0], os.getloadavg()[0],
             len(os.sched_getaffinity(0)))


if __name__ == "__main__":
    main()
