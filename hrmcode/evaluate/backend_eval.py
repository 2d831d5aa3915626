"""LiveCodeBench, HumanEval and Polyglot with any backend: the benchmark's prompts → cached
generation → the benchmark's own grader.

Generation writes samples.jsonl (raw replies, graded with the extraction the prompt form calls
for) beside the grader's results.jsonl, summary.json and report.md; the summary gains a
``generation`` section (backend, model, prompt form, tokens, time per sample). Generations are
appended to ``gen_cache`` (default ``OUT/generations.jsonl``) as they arrive, so a killed run
started again with the same flags picks up where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hrmcode.backends.base import Backend, Job
from hrmcode.backends.cache import GenerationCache, run_jobs
from hrmcode.data import humaneval as he
from hrmcode.data import livecodebench as lcb
from hrmcode.evaluate.benchmarks import eval_humaneval, eval_livecodebench
from hrmcode.evaluate.polyglot import eval_polyglot
from hrmcode.evaluate.protocols import (
    PolyglotEditor,
    humaneval_extract,
    humaneval_prompt,
    livecodebench_extract,
    livecodebench_prompt,
)
from hrmcode.evaluate.render import generation_section
from hrmcode.generate import SamplingConfig
from hrmcode.records import Sample, atomic_write_json, atomic_write_text, write_jsonl

Progress = Callable[..., None]
GEN_CACHE = "generations.jsonl"


def default_cache(out_dir: str | Path, gen_cache: str | Path | None) -> Path:
    return Path(gen_cache) if gen_cache else Path(out_dir) / GEN_CACHE


def add_generation(out_dir: str | Path, summary: dict[str, Any], generation: dict[str, Any]) -> dict[str, Any]:
    """Put the generation stats into summary.json and report.md (both rewritten atomically)."""
    out = Path(out_dir)
    summary["generation"] = generation
    atomic_write_json(out / "summary.json", summary)
    report = out / "report.md"
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    atomic_write_text(report, text.rstrip() + "\n\n" + "\n".join(generation_section(summary)))
    return summary


def _samples(backend: Backend, jobs: list[Job], comps: Sequence[Any]) -> list[Sample]:
    out = []
    for job, c in zip(jobs, comps, strict=True):
        extra = {"error": c.error} if c.error is not None else {}
        out.append(Sample(task_id=job.meta["task_id"], language=job.meta["language"], solution=c.text,
                          attempt=job.sample_index, model=backend.name, prompt_tokens=c.prompt_tokens,
                          generated_tokens=c.completion_tokens, finished=c.finished, **extra))
    return out


def _progress(progress: Progress | None, stage: str) -> Callable[[int, int], None] | None:
    return (lambda d, t: progress(stage, d, t)) if progress else None


def livecodebench_with_backend(backend: Backend, data: str | Path | Sequence[str | Path], out_dir: str | Path, *,
                               sampling: SamplingConfig, n: int, languages: Sequence[str], release: str | None,
                               start_date: str | None, end_date: str | None, platforms: Sequence[str],
                               difficulties: Sequence[str], gen_cache: str | Path | None = None,
                               progress: Progress | None = None, **grade: Any) -> dict[str, Any]:
    """Upstream's prompts (chat messages, or one text for completion models; hrmcode's for our runs)."""
    window = lcb.Window(start_date, end_date, tuple(platforms), tuple(difficulties))
    sel = lcb.load_problems(data, release=release, window=window, skip_bad=grade.get("skip_bad", False))
    jobs = [Job(livecodebench_prompt(p, lang), i, {"task_id": p.question_id, "language": lang})
            for lang in languages for p in sel.problems if lcb.supports(p, lang) for i in range(n)]
    comps, stats = run_jobs(backend, jobs, sampling, GenerationCache(default_cache(out_dir, gen_cache)),
                            progress=_progress(progress, "generate"))
    samples = _samples(backend, jobs, comps)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_jsonl(Path(out_dir) / "samples.jsonl", samples)
    summary = eval_livecodebench(data, out_dir, samples=samples, release=release, start_date=start_date,
                                 end_date=end_date, platforms=platforms, difficulties=difficulties, n=n,
                                 languages=languages, extract=livecodebench_extract(backend.style),  # type: ignore[arg-type]
                                 progress=_progress(progress, "execute"), **grade)
    return add_generation(out_dir, summary, stats.to_json())


def humaneval_with_backend(backend: Backend, out_dir: str | Path, *, data: str | Path | None, sampling: SamplingConfig,
                           n: int, gen_cache: str | Path | None = None, progress: Progress | None = None,
                           **grade: Any) -> dict[str, Any]:
    """The HumanEval prompt as a completion (Codex stops), or a "complete this function" chat turn."""
    tasks, _ = he.load_tasks(data, skip_bad=grade.get("skip_bad", False))
    jobs = [Job(humaneval_prompt(t), i, {"task_id": t.task_id, "language": "python"}) for t in tasks for i in range(n)]
    comps, stats = run_jobs(backend, jobs, sampling, GenerationCache(default_cache(out_dir, gen_cache)),
                            progress=_progress(progress, "generate"))
    samples = _samples(backend, jobs, comps)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_jsonl(Path(out_dir) / "samples.jsonl", samples)
    summary = eval_humaneval(out_dir, data=data, samples=samples, n=n, extract=humaneval_extract(backend.style),  # type: ignore[arg-type]
                             progress=_progress(progress, "execute"), **grade)
    return add_generation(out_dir, summary, stats.to_json())


def polyglot_with_backend(backend: Backend, data: str | Path, out_dir: str | Path, *, sampling: SamplingConfig,
                          gen_cache: str | Path | None = None, progress: Progress | None = None,
                          **kwargs: Any) -> dict[str, Any]:
    """Aider's two-try conversation: the second request carries the first try's real test output."""
    editor = PolyglotEditor(backend, sampling, GenerationCache(default_cache(out_dir, gen_cache)))
    summary = eval_polyglot(data, out_dir, source=editor, progress=_progress(progress, "exercises"), **kwargs)
    return add_generation(out_dir, summary, editor.stats())


__all__ = ["GEN_CACHE", "add_generation", "default_cache", "humaneval_with_backend", "livecodebench_with_backend",
           "polyglot_with_backend"]
