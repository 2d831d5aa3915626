"""Execution-harness throughput: the same function samples run batched and isolated, in one run.

    .venv/bin/python bench/harness_throughput.py [--n 300] [--isolated-n 40] [--seed 0] [--languages ...]

Per language, the samples are the built-in suite's references for ``--n`` tasks with broken
candidates mixed in (every 20th does not compile, every 10th is another task's function of the same
signature under this task's name: mostly wrong answers). All of them run **batched** (one
evaluate_samples call per language, the default worker pool). Isolated runs cost one build and one
process per program; by default a fixed random subset of ``--isolated-n`` of the same samples runs
**isolated** (``batched=False``, same pool) and its per-program cost is **extrapolated** to ``--n``
(the output says so on every line it affects); ``--isolated-n`` equal to ``--n`` runs every sample
isolated and extrapolates nothing. The isolated runs' verdicts must equal the batched ones for the
same samples (the harness's guarantee); the script fails otherwise.

Prints, per language and overall, programs/s in both modes and the ratio, from wall-clock time
(what this machine's load left) and from CPU time (every process the harness ran, from a cpuacct
cgroup when root: independent of other work on the machine), with the load average, and the table
as markdown. Toolchain caches live in a fresh temporary directory, warmed once before timing, so
Go's build cache holds the standard library but no candidate package of a previous run.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hrmcode.benchmarks.builtin.generate import generate
from hrmcode.execute import evaluate_samples
from hrmcode.execute.sandbox import cpu_meter
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


@dataclass
class Row:
    lang: str
    n: int  # samples, all run batched
    t_batch: float
    cpu_batch: float | None
    n_iso: int  # of those, run isolated
    t_iso: float
    cpu_iso: float | None

    @property
    def scale(self) -> float:
        """From the isolated subset to all n samples (1 when every sample ran isolated)."""
        return self.n / self.n_iso

    @property
    def ratio(self) -> float:
        return self.t_iso * self.scale / self.t_batch

    @property
    def cpu_ratio(self) -> float | None:
        if self.cpu_batch is None or self.cpu_iso is None:
            return None
        return self.cpu_iso * self.scale / self.cpu_batch


def _timed(tasks: list[Task], samples: list[Sample], *, batched: bool, cache: Path,
           cpu: Callable[[], float | None]) -> tuple[float, float | None, list[Result]]:
    # The toolchain caches stay; outcomes cached by code hash would answer the second mode for free.
    shutil.rmtree(cache / "results", ignore_errors=True)
    c0, t0 = cpu(), time.monotonic()
    results = evaluate_samples(tasks, samples, batched=batched, cache_dir=cache)
    elapsed, c1 = time.monotonic() - t0, cpu()
    return elapsed, (c1 - c0) if c0 is not None and c1 is not None else None, results


def _fmt_cpu(x: float | None, per: int = 1) -> str:
    return "n/a" if x is None else f"{x / per:.3f}"


def _table(rows: list[Row], extrapolated: bool) -> str:
    """The per-language table as markdown (what docs/sandbox.md shows)."""
    iso_head = "isolated prog/s" + (f" ({rows[0].n_iso} of {rows[0].n} run)" if extrapolated and rows else "")
    lines = [f"| language | batched prog/s | {iso_head} | ratio | CPU s/program batched | isolated | CPU ratio |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        cr = r.cpu_ratio
        lines.append(f"| {r.lang} | {r.n / r.t_batch:.1f} | {r.n_iso / r.t_iso:.2f} | {r.ratio:.1f}x "
                     f"| {_fmt_cpu(r.cpu_batch, r.n)} | {_fmt_cpu(r.cpu_iso, r.n_iso)} | "
                     f"{'n/a' if cr is None else f'{cr:.1f}x'} |")
    n = sum(r.n for r in rows)
    tb, ti = sum(r.t_batch for r in rows), sum(r.t_iso * r.scale for r in rows)
    cb = None if any(r.cpu_batch is None for r in rows) else sum(r.cpu_batch for r in rows)  # type: ignore[misc]
    ci = None if any(r.cpu_iso is None for r in rows) else sum(r.cpu_iso * r.scale for r in rows)  # type: ignore[operator]
    lines.append(f"| **all {n:,}** | **{n / tb:.1f}** ({tb:.1f} s) | **{n / ti:.2f}** ({ti:.0f} s"
                 f"{', extrapolated' if extrapolated else ''}) | **{ti / tb:.1f}x** | {_fmt_cpu(cb, n)} "
                 f"| {_fmt_cpu(ci, n)} | {'n/a' if cb is None or ci is None else f'**{ci / cb:.1f}x**'} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300, help="built-in tasks, i.e. samples per language (batched)")
    ap.add_argument("--isolated-n", type=int, default=40,
                    help="of those, run isolated (a fixed random subset, extrapolated); --isolated-n N runs them all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--languages", default=",".join(LANGUAGE_NAMES))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    langs = [x for x in args.languages.split(",") if x]
    tasks = generate(args.seed, args.n).tasks
    n_iso = min(args.isolated_n, len(tasks))
    subset = sorted(random.Random(args.seed).sample(range(len(tasks)), n_iso))
    extrapolated = n_iso < len(tasks)
    if extrapolated:
        log.info("isolated runs: a fixed random %d of the %d samples per language; their cost per program is "
                 "EXTRAPOLATED to all %d (--isolated-n %d runs every one)", n_iso, len(tasks), len(tasks), len(tasks))
    load0 = os.getloadavg()
    cache = Path(tempfile.mkdtemp(prefix="hrmcode-bench-"))
    rows: list[Row] = []
    try:
        with cpu_meter() as cpu:
            # Warm-up (not timed), what a machine does once: Go's standard library (and its nm tool,
            # which a batch's build runs) into the fresh build cache, the C++ precompiled headers.
            # Two tasks per language and one worker, so that they build as a batch.
            evaluate_samples(tasks[:2], [Sample(task_id=t.task_id, language=lang, solution=t.reference[lang])
                                         for lang in langs for t in tasks[:2]], cache_dir=cache, workers=1)
            for lang in langs:
                samples = _samples(tasks, lang)
                t_batch, c_batch, res_batch = _timed(tasks, samples, batched=True, cache=cache, cpu=cpu)
                iso = [samples[i] for i in subset]
                t_iso, c_iso, res_iso = _timed(tasks, iso, batched=False, cache=cache, cpu=cpu)
                for i, r in zip(subset, res_iso, strict=True):
                    if (r.verdict, r.tests_passed) != (res_batch[i].verdict, res_batch[i].tests_passed):
                        raise SystemExit(f"{lang} sample {i}: isolated {r.verdict} {r.tests_passed} != batched "
                                         f"{res_batch[i].verdict} {res_batch[i].tests_passed}")
                row = Row(lang, len(samples), t_batch, c_batch, len(iso), t_iso, c_iso)
                rows.append(row)
                hist = Counter(r.verdict.value for r in res_batch)
                log.info("%-10s batched %3d programs %6.1f s %7.2f prog/s CPU %s s | isolated %3d%s programs %6.1f s "
                         "%6.2f prog/s CPU %s s | %5.1fx (CPU %s)   load %.1f   verdicts %s", lang, row.n, t_batch,
                         row.n / t_batch, _fmt_cpu(c_batch), row.n_iso, f" of {row.n}" if extrapolated else "",
                         t_iso, row.n_iso / t_iso, _fmt_cpu(c_iso), row.ratio,
                         "n/a" if row.cpu_ratio is None else f"{row.cpu_ratio:.1f}x", os.getloadavg()[0], dict(hist))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    n_programs = sum(r.n for r in rows)
    total_batch = sum(r.t_batch for r in rows)
    total_iso = sum(r.t_iso * r.scale for r in rows)
    how = (f"EXTRAPOLATED from {n_iso} of {len(tasks)} per language" if extrapolated
           else f"all {len(tasks)} per language run")
    log.info("overall: %d programs batched in %.1f s (%.2f prog/s); isolated (%s): %.1f s (%.2f prog/s); "
             "ratio %.1fx", n_programs, total_batch, n_programs / total_batch, how, total_iso,
             n_programs / total_iso, total_iso / total_batch)
    log.info("load average (1 min) %.1f at start, %.1f at end; %d cores; CPU = every process the harness ran "
             "(cpuacct), not affected by other work on the machine", load0[0], os.getloadavg()[0],
             len(os.sched_getaffinity(0)))
    log.info("\n%s", _table(rows, extrapolated))


if __name__ == "__main__":
    main()
