"""What every benchmark's protocol shares: reading code out of a reply, samples from a generate
callable, and generation with any backend.

Generation with a backend writes samples.jsonl (raw replies, graded with the extraction the prompt
form calls for) beside the grader's results.jsonl, summary.json and report.md; the summary gains a
``generation`` section (backend, model, prompt form, tokens, time per sample). Generations are
appended to ``gen_cache`` (default ``OUT/generations.jsonl``) as they arrive, so a killed run
started again with the same flags picks up where it stopped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from hrmcode.backends.base import Backend, Job, Message
from hrmcode.benchmarks.livecodebench.data import extract_code as upstream_extract
from hrmcode.evaluate.render import generation_section
from hrmcode.records import Sample, atomic_write_json, atomic_write_text

_FENCE_LINE = re.compile(r"^\s*```")
# generate(prompts, language, n) → n raw model outputs per prompt.
GenerateFn = Callable[[list[str], str, int], list[list[str]]]
Extract = Literal["auto", "upstream", "none"]


def extract_code(text: str) -> str:
    """The model's code: the body of the last fenced block if the text has fences, else the text."""
    lines = text.splitlines()
    fences = [i for i, line in enumerate(lines) if _FENCE_LINE.match(line)]
    if len(fences) >= 2:
        return "\n".join(lines[fences[-2] + 1 : fences[-1]]).strip("\n") + "\n"
    return text.strip("\n") + "\n"


def flatten(messages: Sequence[Message]) -> str:
    """A conversation as one transcript, ending where the assistant speaks next (base models)."""
    parts = [f"### {m['role'].capitalize()}:\n{m['content'].rstrip()}\n" for m in messages]
    return "\n".join(parts) + "\n### Assistant:\n"


def extract_sample(solution: str, mode: Extract) -> str:
    """``upstream``: between the last two fences ("" if none); ``none``: as is; ``auto``: fenced → upstream."""
    if mode == "upstream" or (mode == "auto" and "```" in solution):
        return upstream_extract(solution)
    if mode not in ("auto", "none", "upstream"):
        raise ValueError(f"--extract {mode!r}: expected auto, upstream or none")
    return solution


def generated(prompts: dict[str, str], language: str, n: int, generate: GenerateFn) -> list[Sample]:
    ids = list(prompts)
    outs = generate([prompts[i] for i in ids], language, n)
    if len(outs) != len(ids) or any(len(o) != n for o in outs):
        raise ValueError(f"generate() must return {n} outputs for each of the {len(ids)} prompts")
    return [Sample(task_id=tid, language=language, solution=text) for tid, o in zip(ids, outs, strict=True)
            for text in o]


# ---- generation with any backend ----------------------------------------------------------------

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


def backend_samples(backend: Backend, jobs: list[Job], comps: Sequence[Any]) -> list[Sample]:
    out = []
    for job, c in zip(jobs, comps, strict=True):
        extra = {"error": c.error} if c.error is not None else {}
        out.append(Sample(task_id=job.meta["task_id"], language=job.meta["language"], solution=c.text,
                          attempt=job.sample_index, model=backend.name, prompt_tokens=c.prompt_tokens,
                          generated_tokens=c.completion_tokens, finished=c.finished, **extra))
    return out


def stage_progress(progress: Progress | None, stage: str) -> Callable[[int, int], None] | None:
    return (lambda d, t: progress(stage, d, t)) if progress else None


__all__ = ["GEN_CACHE", "Extract", "GenerateFn", "Progress", "add_generation", "backend_samples", "default_cache",
           "extract_code", "extract_sample", "flatten", "generated", "stage_progress"]
