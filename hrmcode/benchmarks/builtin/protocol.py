"""Evaluate a trained run on typed function tasks: generate → samples.jsonl → sandbox → summary.

Each stage reads and writes plain records, so a user can stop after generation and evaluate the
samples elsewhere, or bring another model's samples (``hrmcode eval files --tasks --samples``).
The summary breaks pass@k down by language, depth and split, counts verdicts (syntax/compile
errors apart), and reports the compute each sample used (ACT segments actually run).
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hrmcode.backends.base import Backend, Job
from hrmcode.backends.cache import GenerationCache, GenerationStats, run_jobs
from hrmcode.backends.hrm import HrmBackend
from hrmcode.benchmarks.builtin.prompts import builtin_prompt, builtin_solution
from hrmcode.evaluate.metrics import mean_pass_at_k
from hrmcode.evaluate.render import failure_examples, render_report
from hrmcode.evaluate.summary import build_summary, signature_adherence
from hrmcode.execute import evaluate_samples, sandbox_layers
from hrmcode.generate import SamplingConfig
from hrmcode.languages import get_language
from hrmcode.records import (
    RecordError,
    Result,
    Sample,
    Task,
    Verdict,
    atomic_write_json,
    atomic_write_text,
    read_jsonl,
    write_jsonl,
)
from hrmcode.runs import LoadedRun

log = logging.getLogger(__name__)

LANGUAGE_GAP_ALARM = 0.20  # the risk register: cross-language gap above 20 points of pass@1

_SYNTAX = re.compile(r"SyntaxError|IndentationError|TabError")


# What a Sample keeps of its generation's compute counters (ACT segments, module calls per token).
SAMPLE_COMPUTE_KEYS = ("segments", "token_segments", "max_segments", "prompt_calls", "token_calls", "max_token_calls",
                       "skipped")


@dataclass(frozen=True)
class GenerationPlan:
    languages: tuple[str, ...]
    n: int = 1
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    batch_size: int = 32
    # Our models' answers start from the task's signature line (the model writes the body; signature
    # adherence is then given, not measured). See protocols.builtin_prompt.
    prefill_signature: bool = False


def generate_builtin(model: LoadedRun | Backend, tasks: Sequence[Task], plan: GenerationPlan, *,
                     cache: GenerationCache | None = None,
                     progress: Callable[[int, int], None] | None = None) -> tuple[list[Sample], GenerationStats]:
    """``plan.n`` samples per (task, language) from any backend (a LoadedRun is our model, batched).

    The order of the returned samples is task order, then language, then sample index, whatever
    the batching. Sample ``i`` uses the seed ``sampling.seed + i``, so n samples are n independent
    draws, reproducibly. Each Sample records what its generation used (tokens, ACT segments);
    ``cache`` makes the generation resumable (see :mod:`hrmcode.backends.cache`).
    """
    backend = model if isinstance(model, Backend) else HrmBackend(model, batch_size=plan.batch_size)
    jobs = [Job(builtin_prompt(task, lang, prefill_signature=plan.prefill_signature), i, {"task_id": task.task_id, "language": lang})
            for task in tasks for lang in plan.languages for i in range(plan.n)]
    comps, stats = run_jobs(backend, jobs, plan.sampling, cache or GenerationCache(None), progress=progress)
    by_id = {t.task_id: t for t in tasks}
    samples = []
    for job, c in zip(jobs, comps, strict=True):
        task, lang = by_id[job.meta["task_id"]], job.meta["language"]
        extra = {k: v for k, v in c.extra.items() if k in SAMPLE_COMPUTE_KEYS}
        if c.error is not None and "skipped" not in extra:
            extra["error"] = c.error
        samples.append(Sample(task_id=task.task_id, language=lang,
                              solution=builtin_solution(c.text, backend.style, task, lang) if c.error is None else "",
                              attempt=job.sample_index, model=backend.name, prompt_tokens=c.prompt_tokens,
                              generated_tokens=c.completion_tokens, finished=c.finished, **extra))
    return samples, stats


def generate_samples(run: LoadedRun | Backend, tasks: Sequence[Task], plan: GenerationPlan, *,
                     progress: Callable[[int, int], None] | None = None) -> list[Sample]:
    """:func:`generate_builtin` without a cache, the samples only."""
    return generate_builtin(run, tasks, plan, progress=progress)[0]


# ---- summaries ----------------------------------------------------------------------------------


def _depth(task: Task) -> int | None:
    d = task.meta.get("depth", task.difficulty)
    return int(d) if isinstance(d, int | str) and str(d).isdigit() else None


def is_syntax_error(r: Result) -> bool:
    """A compile error, or (interpreted languages) a SyntaxError reported at run time."""
    if r.verdict == Verdict.COMPILE_ERROR:
        return True
    if r.verdict == Verdict.RUNTIME_ERROR and not get_language(r.language).compiled:
        return bool(_SYNTAX.search(str((r.model_extra or {}).get("stderr", ""))))
    return False


def _group(results: Sequence[Result], key: Callable[[Result], Any], ks: Sequence[int]) -> dict[str, Any]:
    groups: dict[Any, list[Result]] = defaultdict(list)
    for r in results:
        groups[key(r)].append(r)
    return {str(g): {"tasks": len({r.task_id for r in rs}), "samples": len(rs), **mean_pass_at_k(rs, ks)}
            for g, rs in sorted(groups.items(), key=lambda kv: str(kv[0]))}


def compute_stats(samples: Sequence[Sample]) -> dict[str, Any]:
    """Segments and module calls actually run per sample vs the maximum: the compute early exit saved.

    Module calls (HRM: one L or H call; looped: one loop; baseline: 1) come from the samples' extras
    ``prompt_calls`` / ``token_calls`` (mean per generated token) / ``max_token_calls`` (a token at
    full depth); samples generated before they were recorded have none and are left out of them."""
    segs = [float(s.model_extra["segments"]) for s in samples if s.model_extra and "segments" in s.model_extra]
    tok_segs = [float(s.model_extra["token_segments"]) for s in samples
                if s.model_extra and "token_segments" in s.model_extra]
    maxes = [float(s.model_extra["max_segments"]) for s in samples if s.model_extra and "max_segments" in s.model_extra]
    if not segs:
        return {}
    max_seg = max(maxes) if maxes else float("nan")
    mean_tok = float(np.mean(tok_segs)) if tok_segs else float("nan")
    hist: dict[str, int] = defaultdict(int)
    for s in segs:
        hist[str(round(s))] += 1
    return {
        "samples": len(segs),
        "max_segments": max_seg,
        "mean_prompt_segments": float(np.mean(segs)),
        "mean_token_segments": mean_tok,
        "compute_saved": (1 - mean_tok / max_seg) if max_seg == max_seg and max_seg > 0 else None,
        "segments_histogram": dict(sorted(hist.items(), key=lambda kv: int(kv[0]))),
        "mean_generated_tokens": float(np.mean([s.model_extra.get("generated_tokens", 0) for s in samples
                                                if s.model_extra])),
        "unfinished": sum(1 for s in samples if s.model_extra and s.model_extra.get("finished") is False),
        **_call_stats(samples),
    }


def _call_stats(samples: Sequence[Sample]) -> dict[str, Any]:
    """Mean module calls per generated token and per prompt position, the full-depth count, and the
    fraction of calls the exit saved (absent when no sample recorded calls)."""
    extras = [s.model_extra for s in samples if s.model_extra and "token_calls" in s.model_extra
              and not s.model_extra.get("skipped")]
    if not extras:
        return {}
    tok = float(np.mean([float(e["token_calls"]) for e in extras]))
    full = max(float(e.get("max_token_calls", 0)) for e in extras)
    return {
        "mean_token_calls": tok,
        "max_token_calls": full,
        "mean_prompt_calls": float(np.mean([float(e.get("prompt_calls", 0)) for e in extras])),
        "calls_saved": (1 - tok / full) if full > 0 else None,
    }


def summarize(tasks: Sequence[Task], samples: Sequence[Sample], results: Sequence[Result],
              ks: Sequence[int], *, seed: int = 0, sandbox: dict[str, Any] | None = None,
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The summary of a model on the built-in suite: the common shape (:func:`build_summary`) with
    the builtin sections: pass@k per depth and split, syntax/compile errors, signature adherence,
    compute, alarms."""
    by_id = {t.task_id: t for t in tasks}
    ks = [k for k in ks if k >= 1]
    summary = build_summary(results, benchmark="builtin", ks=ks, sandbox=sandbox or sandbox_layers(),
                            n_tasks=len({r.task_id for r in results}), seed=seed, extra=extra)
    summary.update({
        "per_depth": _group(results, lambda r: _depth(by_id[r.task_id]) if r.task_id in by_id else None, ks),
        "per_split": _group(results, lambda r: by_id[r.task_id].meta.get("split", "?") if r.task_id in by_id
                             else "?", ks),
        "syntax_or_compile_errors": sum(is_syntax_error(r) for r in results),
        "signature_adherence": signature_adherence(tasks, samples),
        "compute": compute_stats(samples),
        "alarms": [],
    })
    langs = summary["per_language"]
    p1 = {lang: v.get("pass@1") for lang, v in langs.items() if v.get("pass@1") is not None}
    if len(p1) >= 2:
        gap = max(p1.values()) - min(p1.values())
        summary["language_gap"] = gap
        if gap > LANGUAGE_GAP_ALARM + 1e-9:  # "above 20%": exactly 20 points (in floats) is not
            best, worst = max(p1, key=p1.__getitem__), min(p1, key=p1.__getitem__)
            summary["alarms"].append({
                "type": "alarm", "monitor": "language_gap", "value": gap, "threshold": LANGUAGE_GAP_ALARM,
                "message": f"cross-language gap {gap:.0%} > {LANGUAGE_GAP_ALARM:.0%}: "
                           f"{best} {p1[best]:.0%} vs {worst} {p1[worst]:.0%}",
            })
    return summary


def select_tasks(tasks: Sequence[Task], splits: Sequence[str], *, max_per_split: int | None, seed: int,
                 max_depth: int | None = None) -> list[Task]:
    """Tasks of the given splits, at most ``max_per_split`` each (a seeded sample, task order kept)."""
    chosen: list[Task] = []
    for split in splits:
        pool = [t for t in tasks if t.meta.get("split") == split
                and (max_depth is None or (_depth(t) or 0) <= max_depth)]
        if max_per_split is not None and len(pool) > max_per_split:
            keep = set(random.Random(f"{seed}-{split}").sample(range(len(pool)), max_per_split))
            pool = [t for i, t in enumerate(pool) if i in keep]
        chosen.extend(pool)
    return chosen


# ---- the whole path for a trained run -----------------------------------------------------------


GENERATION_FILE = "generation.json"  # what produced samples.jsonl: the backend and its generation stats


def generate_stage(run: LoadedRun | Backend, tasks: Sequence[Task], out_dir: Any, plan: GenerationPlan, *,
                   progress: Callable[[str, int, int], None] | None = None,
                   gen_cache: Any = None) -> list[Sample]:
    """The first half of :func:`evaluate_run`: generate and write ``samples.jsonl`` and
    ``generation.json`` into ``out_dir``; :func:`grade_stage` finishes, here or on another machine."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    backend = run if isinstance(run, Backend) else HrmBackend(run, batch_size=plan.batch_size)
    samples, stats = generate_builtin(backend, tasks, plan, cache=GenerationCache(gen_cache),
                                      progress=(lambda d, t: progress("generate", d, t)) if progress else None)
    write_jsonl(out / "samples.jsonl", samples)
    extra = {**backend.describe(), "n": plan.n, "languages": list(plan.languages),
             "sampling": {"temperature": plan.sampling.temperature, "top_p": plan.sampling.top_p,
                          "seed": plan.sampling.seed, "max_new_tokens": plan.sampling.max_new_tokens},
             "generation": stats.to_json(), "prefill_signature": plan.prefill_signature}
    atomic_write_json(out / GENERATION_FILE, extra)
    return samples


def grade_stage(tasks: Sequence[Task], out_dir: Any, *, ks: Sequence[int] = (1,), splits: Sequence[str] = (),
                progress: Callable[[str, int, int], None] | None = None,
                exec_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The second half of :func:`evaluate_run`: execute ``out_dir``'s samples in the sandbox and write
    results.jsonl, summary.json and report.md; returns the summary. Needs no model."""
    out = Path(out_dir)
    samples, _ = read_jsonl(out / "samples.jsonl", Sample)
    gen_file = out / GENERATION_FILE
    try:
        extra = json.loads(gen_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RecordError(f"{gen_file}: <file>: cannot read the generation record ({e}); generate again") from None
    results = evaluate_samples(tasks, samples, progress=(lambda d, t: progress("execute", d, t)) if progress else None,
                               **(exec_kwargs or {}))
    write_jsonl(out / "results.jsonl", results)
    n = int(extra.get("n", 1))
    summary = summarize(tasks, samples, results, [k for k in ks if k <= n], seed=extra["sampling"]["seed"],
                        extra={**extra, "splits": list(splits)})
    if extra.get("prefill_signature"):  # the signature was given, so defining it says nothing: not measured
        summary["signature_adherence"] = None
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "report.md", render_report(summary, title=f"Evaluation of {extra.get('model', 'model')} "
                                                       "on builtin", examples=failure_examples(results)))
    return summary


def evaluate_run(run: LoadedRun | Backend, tasks: Sequence[Task], out_dir: Any, plan: GenerationPlan, *,
                 ks: Sequence[int] = (1,), splits: Sequence[str] = (),
                 progress: Callable[[str, int, int], None] | None = None,
                 exec_kwargs: dict[str, Any] | None = None, gen_cache: Any = None) -> dict[str, Any]:
    """Generate (our run or any backend), execute in the sandbox, summarize; writes samples.jsonl,
    generation.json, results.jsonl, summary.json, report.md into ``out_dir`` and returns the summary.

    ``gen_cache``: a generations JSONL file that makes the generation resumable (None: in memory).
    """
    generate_stage(run, tasks, out_dir, plan, progress=progress, gen_cache=gen_cache)
    return grade_stage(tasks, out_dir, ks=ks, splits=splits, progress=progress, exec_kwargs=exec_kwargs)
