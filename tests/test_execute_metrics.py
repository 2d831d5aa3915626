"""pass@k pinned to hand-computed numbers; histograms and per-language tables."""

from __future__ import annotations

import math

import pytest

from hrmcode.evaluate.metrics import mean_pass_at_k, pass_at_k, per_language, verdict_histogram
from hrmcode.records import Result, Verdict


def test_pass_at_k_matches_the_closed_form():
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - math.comb(7, 5) / math.comb(10, 5))
    assert round(pass_at_k(10, 3, 5), 4) == 0.9167
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 8, 5) == 1.0  # fewer than k failures: some draw of k always passes


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError, match="c <= n"):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError, match="k must be"):
        pass_at_k(3, 1, 0)


def _r(task: str, lang: str, i: int, verdict: Verdict) -> Result:
    return Result(task_id=task, language=lang, sample_index=i, passed=verdict is Verdict.PASS, verdict=verdict,
                  tests_passed=0, tests_total=1)


def test_tables_average_over_tasks_and_split_by_language():
    rs = [_r("a", "go", i, Verdict.PASS if i < 3 else Verdict.WRONG_ANSWER) for i in range(10)]
    rs += [_r("b", "go", i, Verdict.TIMEOUT) for i in range(10)]
    rs += [_r("a", "rust", i, Verdict.PASS) for i in range(10)]
    table = per_language(rs, [1, 5])
    assert table["go"]["pass@1"] == pytest.approx((0.3 + 0.0) / 2)
    assert table["rust"]["pass@5"] == 1.0
    assert table["go"]["verdicts"]["timeout"] == 10 and table["go"]["verdicts"]["pass"] == 3
    assert sum(verdict_histogram(rs).values()) == 30
    assert mean_pass_at_k(rs, [20])["pass@20"] is None  # k above the sample count is undefined
