"""Evaluate a trained run on typed function tasks: generate → samples.jsonl → sandbox → summary.

Each stage reads and writes plain records, so a user can stop after generation and evaluate the
samples elsewhere, or bring another model's samples (``hrmcode eval --tasks --samples``).
The summary breaks pass@k down by language, depth and split, counts verdicts (syntax/compile
errors apart), and reports the compute each sample used (ACT segments actually run).
"""

from __future__ import annotations

import logging
import random
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hrmcode.evaluate.metrics import (
    bootstrap_ci,
    item_scores,
    mean_pass_at_k,
    per_language,
    verdict_histogram,
)
from hrmcode.evaluate.report import eval_markdown
from hrmcode.evaluate.summary import signature_adherence
from hrmcode.execute import evaluate_samples, sandbox_layers
from hrmcode.generate import SamplingConfig, generate
from hrmcode.prompts import prompt_text
from hrmcode.records import Result, Sample, Task, Verdict, atomic_write_json, atomic_write_text, write_jsonl
from hrmcode.runs import LoadedRun

log = logging.getLogger(__name__)

LANGUAGE_GAP_ALARM = 0.20  # the risk register: cross-language gap above 20 points of pass@1

_FENCE = re.compile(r"^\s*```")
_SYNTAX = re.compile(r"SyntaxError|IndentationError|TabError")


def extract_code(text: str) -> str:
    """The model's code: the body of the last fenced block if the text has fences, else the text."""
    lines = text.splitlines()
    fences = [i for i, line in enumerate(lines) if _FENCE.match(line)]
    if len(fences) >= 2:
        return "\n".join(lines[fences[-2] + 1 : fences[-1]]).strip("\n") + "\n"
    return text.strip("\n") + "\n"


@dataclass(frozen=True)
class GenerationPlan:
    languages: tuple[str, ...]
    n: int = 1
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    batch_size: int = 32


def generate_samples(run: LoadedRun, tasks: Sequence[Task], plan: GenerationPlan, *,
                     progress: Callable[[int, int], None] | None = None) -> list[Sample]:
    """``plan.n`` samples per (task, language); each Sample records the compute its generation used.

    Rows are batched by prompt length (less padding); the order of the returned samples is task
    order, then language, then sample index, whatever the batching. Sample ``i`` of a row uses the
    seed ``sampling.seed + i`` so that n samples are n independent draws, reproducibly.
    """
    tok, cfg = run.tokenizer, run.cfg.model
    max_segments = cfg.act.halt_max_steps if cfg.arch == "hrm" else 1
    jobs: list[tuple[int, Task, str, list[int], int]] = []  # (output position, task, language, ids, attempt)
    out: list[Sample | None] = []
    for task in tasks:
        for lang in plan.languages:
            ids = tok.prompt_ids(lang, prompt_text(task, lang))
            for i in range(plan.n):
                pos = len(out)
                out.append(None)
                if len(ids) >= cfg.max_seq_len:
                    # Nothing can be generated: an empty solution, which the harness fails honestly.
                    out[pos] = Sample(task_id=task.task_id, language=lang, solution="", attempt=i,
                                      model=run.name, prompt_tokens=len(ids), skipped="prompt too long",
                                      generated_tokens=0, finished=False, segments=0, token_segments=0.0,
                                      max_segments=max_segments)
                else:
                    jobs.append((pos, task, lang, ids, i))
    done = len(out) - len(jobs)
    if progress:
        progress(done, len(out))
    by_sample_index: dict[int, list[tuple[int, Task, str, list[int], int]]] = defaultdict(list)
    for job in jobs:
        by_sample_index[job[4]].append(job)
    for attempt, group in sorted(by_sample_index.items()):
        group.sort(key=lambda j: len(j[3]))
        sampling = SamplingConfig(plan.sampling.max_new_tokens, plan.sampling.temperature, plan.sampling.top_p,
                                  plan.sampling.seed + attempt)
        for start in range(0, len(group), plan.batch_size):
            chunk = group[start : start + plan.batch_size]
            gen = generate(run.model, [j[3] for j in chunk], eos_id=tok.eos_id, pad_id=tok.pad_id,
                           mask_id=tok.mask_id, sampling=sampling)
            for row, (pos, task, lang, ids, _) in enumerate(chunk):
                text = tok.decode(gen.tokens[row])
                out[pos] = Sample(
                    task_id=task.task_id, language=lang, solution=extract_code(text), attempt=attempt,
                    model=run.name, prompt_tokens=len(ids), generated_tokens=len(gen.tokens[row]),
                    finished=gen.finished[row], segments=gen.prefill_segments[row],
                    token_segments=gen.token_segments[row], max_segments=max_segments,
                )
            done += len(chunk)
            if progress:
                progress(done, len(out))
    return [s for s in out if s is not None]


# ---- summaries ----------------------------------------------------------------------------------


def _depth(task: Task) -> int | None:
    d = task.meta.get("depth", task.difficulty)
    return int(d) if isinstance(d, int | str) and str(d).isdigit() else None


def is_syntax_error(r: Result) -> bool:
    """A compile error, or (interpreted languages) a SyntaxError reported at run time."""
    if r.verdict == Verdict.COMPILE_ERROR:
        return True
    if r.verdict == Verdict.RUNTIME_ERROR and r.language in ("python", "javascript"):
        return bool(_SYNTAX.search(str((r.model_extra or {}).get("stderr", ""))))
    return False


def _group(results: Sequence[Result], key: Callable[[Result], Any], ks: Sequence[int]) -> dict[str, Any]:
    groups: dict[Any, list[Result]] = defaultdict(list)
    for r in results:
        groups[key(r)].append(r)
    return {str(g): {"tasks": len({r.task_id for r in rs}), "samples": len(rs), **mean_pass_at_k(rs, ks)}
            for g, rs in sorted(groups.items(), key=lambda kv: str(kv[0]))}


def compute_stats(samples: Sequence[Sample]) -> dict[str, Any]:
    """Segments actually run per sample vs the maximum: the compute ACT early exit saved."""
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
    }


def summarize(tasks: Sequence[Task], samples: Sequence[Sample], results: Sequence[Result],
              ks: Sequence[int], *, seed: int = 0) -> dict[str, Any]:
    """The evaluation summary: pass@k overall / per language / depth / split, verdicts, signature adherence,
    compute, alarms."""
    by_id = {t.task_id: t for t in tasks}
    ks = [k for k in ks if k >= 1]
    scores = item_scores(results)
    lo, hi = bootstrap_ci(scores, seed=seed)
    langs = per_language(results, ks)
    summary: dict[str, Any] = {
        "tasks": len({r.task_id for r in results}),
        "samples": len(results),
        "overall": {**mean_pass_at_k(results, ks), "pass@1_ci95": [lo, hi]},
        "per_language": langs,
        "per_depth": _group(results, lambda r: _depth(by_id[r.task_id]) if r.task_id in by_id else None, ks),
        "per_split": _group(results, lambda r: by_id[r.task_id].meta.get("split", "?") if r.task_id in by_id
                             else "?", ks),
        "verdicts": verdict_histogram(results),
        "syntax_or_compile_errors": sum(is_syntax_error(r) for r in results),
        "signature_adherence": signature_adherence(tasks, samples),
        "compute": compute_stats(samples),
        "alarms": [],
    }
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


def evaluate_run(run: LoadedRun, tasks: Sequence[Task], out_dir: Any, plan: GenerationPlan, *,
                 ks: Sequence[int] = (1,), benchmark: str = "builtin", splits: Sequence[str] = (),
                 progress: Callable[[str, int, int], None] | None = None,
                 exec_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Generate, execute in the sandbox, summarize; writes samples.jsonl, results.jsonl, summary.json,
    report.md into ``out_dir`` and returns the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    samples = generate_samples(run, tasks, plan,
                               progress=(lambda d, t: progress("generate", d, t)) if progress else None)
    write_jsonl(out / "samples.jsonl", samples)
    results = evaluate_samples(tasks, samples, progress=(lambda d, t: progress("execute", d, t)) if progress else None,
                               **(exec_kwargs or {}))
    write_jsonl(out / "results.jsonl", results)
    summary = summarize(tasks, samples, results, [k for k in ks if k <= plan.n], seed=plan.sampling.seed)
    summary.update({
        "model": run.name, "run_dir": str(run.run_dir), "checkpoint": str(run.checkpoint), "step": run.step,
        "weights": run.weights, "benchmark": benchmark, "splits": list(splits), "n": plan.n,
        "languages": list(plan.languages), "act_inference": run.cfg.model.act.inference,
        "arch": run.cfg.model.arch, "mode": run.cfg.model.mode,
        "sampling": {"temperature": plan.sampling.temperature, "top_p": plan.sampling.top_p,
                     "seed": plan.sampling.seed, "max_new_tokens": plan.sampling.max_new_tokens},
        "sandbox": sandbox_layers(),
    })
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "report.md", eval_markdown(summary, f"Evaluation of {run.name} on {benchmark}"))
    return summary


def text_generator(run: LoadedRun, sampling: SamplingConfig, *,
                   batch_size: int = 32) -> Callable[[list[str], str, int], list[list[str]]]:
    """Our model as a plain text generator ``gen(prompts, language, n) -> n outputs per prompt``.

    This is the interface the LiveCodeBench / HumanEval / Polyglot drivers take, so they can drive
    any model; prompts longer than the model's context give an empty output (which fails).
    """
    tok, cfg = run.tokenizer, run.cfg.model

    def gen(prompts: list[str], language: str, n: int) -> list[list[str]]:
        ids = [tok.prompt_ids(language, p) for p in prompts]
        out: list[list[str]] = [[] for _ in prompts]
        order = sorted((i for i in range(len(ids)) if len(ids[i]) < cfg.max_seq_len), key=lambda i: len(ids[i]))
        for attempt in range(n):
            sc = SamplingConfig(sampling.max_new_tokens, sampling.temperature, sampling.top_p, sampling.seed + attempt)
            texts = [""] * len(ids)
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                g = generate(run.model, [ids[i] for i in chunk], eos_id=tok.eos_id, pad_id=tok.pad_id,
                             mask_id=tok.mask_id, sampling=sc)
                for row, i in enumerate(chunk):
                    texts[i] = tok.decode(g.tokens[row])
            for i, t in enumerate(texts):
                out[i].append(t)
        return out

    return gen
