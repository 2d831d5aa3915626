"""pass@k (unbiased), verdict histograms, per-language tables and bootstrap intervals over Result records."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

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


def bootstrap_ci(values_by_task: dict[str, list[float]], *, n_boot: int = 2000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap over tasks of the mean item score (items of a task move together)."""
    if not values_by_task:
        return (float("nan"), float("nan"))
    sums = np.array([sum(v) for v in values_by_task.values()])
    counts = np.array([len(v) for v in values_by_task.values()])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(sums), size=(n_boot, len(sums)))
    means = sums[idx].sum(1) / counts[idx].sum(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def paired_bootstrap(a: dict[str, list[float]], b: dict[str, list[float]], *, n_boot: int = 2000,
                     seed: int = 0) -> dict[str, Any]:
    """mean(b) − mean(a) over the tasks both scored (each task's items averaged first), with a
    percentile bootstrap over those tasks; ``{"tasks": 0}`` when they share none."""
    common = sorted(set(a) & set(b))
    if not common:
        return {"tasks": 0}
    diff = np.array([np.mean(b[t]) for t in common]) - np.array([np.mean(a[t]) for t in common])
    rng = np.random.default_rng(seed)
    boots = diff[rng.integers(0, len(diff), size=(n_boot, len(diff)))].mean(1)
    lo, hi = np.quantile(boots, [0.025, 0.975])
    return {"tasks": len(common), "diff": float(diff.mean()), "ci95": [float(lo), float(hi)],
            "significant": bool(lo > 0 or hi < 0)}


def item_scores(results: Sequence[Result]) -> dict[str, list[float]]:
    """Per task: the pass@1 estimate (fraction of samples passed) of each of its languages."""
    by: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for r in results:
        by[(r.task_id, r.language)].append(r.passed)
    out: dict[str, list[float]] = defaultdict(list)
    for (task_id, _), passed in by.items():
        out[task_id].append(sum(passed) / len(passed))
    return dict(out)
