"""pass@k (unbiased), verdict histograms and per-language tables over Result records."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from hrmcode.records import Result, Verdict


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator 1 - C(n-c, k) / C(n, k) (Chen et al. 2021), as a stable product."""
    if not 0 <= c <= n:
        raise ValueError(f"pass_at_k: need 0 <= c <= n, got n={n}, c={c}")
    if k < 1:
        raise ValueError(f"pass_at_k: k must be >= 1, got {k}")
    if n - c < k:
        return 1.0
    prob_all_fail = 1.0
    for i in range(n - c + 1, n + 1):
        prob_all_fail *= 1.0 - k / i
    return 1.0 - prob_all_fail


def _groups(results: Iterable[Result]) -> dict[tuple[str, str], list[Result]]:
    by: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for r in results:
        by[(r.task_id, r.language)].append(r)
    return by


def mean_pass_at_k(results: Sequence[Result], ks: Sequence[int]) -> dict[str, float | None]:
    """Mean over (task, language) of pass@k; None for a k larger than some task's sample count."""
    groups = _groups(results)
    out: dict[str, float | None] = {}
    for k in ks:
        if not groups or any(len(g) < k for g in groups.values()):
            out[f"pass@{k}"] = None
            continue
        vals = [pass_at_k(len(g), sum(r.passed for r in g), k) for g in groups.values()]
        out[f"pass@{k}"] = sum(vals) / len(vals)
    return out


def verdict_histogram(results: Iterable[Result]) -> dict[str, int]:
    counts = Counter(r.verdict.value for r in results)
    return {v.value: counts.get(v.value, 0) for v in Verdict}


def per_language(results: Sequence[Result], ks: Sequence[int]) -> dict[str, dict[str, Any]]:
    """Per language: tasks, samples, pass@k and the verdict histogram."""
    by_lang: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_lang[r.language].append(r)
    return {lang: {"tasks": len({r.task_id for r in rs}), "samples": len(rs), **mean_pass_at_k(rs, ks),
                   "verdicts": verdict_histogram(rs)}
            for lang, rs in sorted(by_lang.items())}
