"""summary.json from Result records: one shape for every benchmark (docs/benchmarks.md, "summary.json").

A summary is a plain JSON object: the keys :data:`COMMON_KEYS` that every evaluation has (pass@k
under ``overall``, per language, verdicts, sandbox, skipped records, timing), and the sections a
benchmark adds beside them (``per_depth``, ``livecodebench``, ``polyglot``, ``generation``, …).
Everything in it is deterministic for a given set of results except the ``timing`` block, so tests
(and users diffing two runs) can compare the rest exactly. :mod:`hrmcode.evaluate.render` turns it
into report.md.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from hrmcode.evaluate.metrics import (
    bootstrap_ci,
    item_scores,
    mean_pass_at_k,
    per_language,
    verdict_histogram,
)
from hrmcode.languages import get_language
from hrmcode.records import Result, Sample, Task

SUMMARY_VERSION = 2  # 1: pass@k at the top (eval files, LiveCodeBench, HumanEval, Polyglot) or under overall
BENCHMARKS = ("files", "builtin", "livecodebench", "humaneval", "polyglot")
COMMON_KEYS = ("version", "benchmark", "tasks", "samples", "passed", "k", "overall", "per_language", "verdicts",
               "execution_modes", "sandbox", "skipped", "timing")


def build_summary(results: Sequence[Result], *, benchmark: str, ks: Sequence[int], sandbox: Mapping[str, Any],
                  n_tasks: int, skipped: Mapping[str, Any] | None = None,
                  timing: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None,
                  seed: int = 0) -> dict[str, Any]:
    """The summary of one evaluation.

    ``sandbox`` is :func:`hrmcode.execute.sandbox_layers` (reported in every summary, degraded or
    not); ``skipped`` what the readers set aside (``--skip-bad``); ``extra`` the benchmark's own
    sections and fields (a run directory, ``livecodebench``, …), beside the common keys (never over
    one). ``overall`` holds mean pass@k over (task, language) and ``pass@1_ci95``, a 95 % bootstrap
    interval over tasks (``seed``; None without results).
    """
    if benchmark not in BENCHMARKS:
        raise ValueError(f"build_summary: unknown benchmark {benchmark!r}; expected one of {', '.join(BENCHMARKS)}")
    clash = sorted(set(extra or {}) & set(COMMON_KEYS))
    if clash:
        raise ValueError(f"build_summary: the benchmark's sections may not replace the common keys {clash}")
    modes = Counter(str((r.model_extra or {}).get("mode", "unknown")) for r in results)
    scores = item_scores(results)
    summary: dict[str, Any] = {
        "version": SUMMARY_VERSION,
        "benchmark": benchmark,
        "tasks": n_tasks,
        "samples": len(results),
        "passed": sum(r.passed for r in results),
        "k": list(ks),
        "overall": {**mean_pass_at_k(results, ks),
                    "pass@1_ci95": list(bootstrap_ci(scores, seed=seed)) if scores else None},
        "per_language": per_language(results, ks),
        "verdicts": verdict_histogram(results),
        "execution_modes": dict(sorted(modes.items())),
        "sandbox": dict(sandbox),
        "skipped": dict(skipped) if skipped else {"tasks": 0, "samples": 0, "reasons": []},
    }
    if timing:
        summary["timing"] = dict(timing)
    if extra:
        summary.update(extra)
    return summary


def signature_adherence(tasks: Sequence[Task], samples: Sequence[Sample]) -> dict[str, Any]:
    """The share of samples that define the function their task names, with the right arity.

    Only samples of tasks with a signature (typed ``function`` tasks) count. A model that ignores its
    starter code shows up here, not only as compile errors. Overall, per language and per split
    (``meta.split``): ``samples``, ``adherent``, ``wrong_arity`` (the name is defined, never with the
    task's arity) and ``rate``. The check per language is a reading of the text
    (``Language.defined_arities``). Empty when no sample counts.
    """
    by_id = {t.task_id: t for t in tasks}
    groups: dict[str, dict[str, Counter[str]]] = {"per_language": defaultdict(Counter), "per_split": defaultdict(Counter)}
    total: Counter[str] = Counter()
    for s in samples:
        task = by_id.get(s.task_id)
        if task is None or task.signature is None:
            continue
        language = get_language(s.language)
        arities = language.defined_arities(s.solution, language.ident(task.signature.name))
        arity = len(task.signature.params)
        outcome = Counter(samples=1, adherent=int(arity in arities), wrong_arity=int(bool(arities) and arity not in arities))
        total += outcome
        groups["per_language"][s.language] += outcome
        groups["per_split"][str(task.meta.get("split", "?"))] += outcome

    def block(c: Counter[str]) -> dict[str, Any]:
        return {"samples": c["samples"], "adherent": c["adherent"], "wrong_arity": c["wrong_arity"],
                "rate": c["adherent"] / c["samples"]}

    if not total:
        return {}
    return {**block(total), **{key: {g: block(c) for g, c in sorted(rows.items())} for key, rows in groups.items()}}
