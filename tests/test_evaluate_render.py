"""One summary shape and one report renderer for every benchmark (issue 17)."""

from __future__ import annotations

import pytest

from hrmcode.evaluate.render import render_report
from hrmcode.evaluate.summary import COMMON_KEYS, build_summary
from hrmcode.records import Result

SANDBOX = {"mode": "bwrap", "degraded": False, "notes": [], "rlimits": ["as"], "network": "none"}


def _result(task: str, lang: str, passed: bool, index: int = 0) -> Result:
    return Result(task_id=task, language=lang, sample_index=index, passed=passed,
                  verdict="pass" if passed else "wrong_answer", tests_passed=int(passed), tests_total=1)


RESULTS = [_result("a", "python", True), _result("a", "python", False, 1), _result("b", "python", True),
           _result("b", "python", True, 1), _result("a", "go", False), _result("a", "go", False, 1)]


def test_every_benchmark_gets_the_common_keys_with_pass_at_k_under_overall():
    for bench in ("files", "builtin", "livecodebench", "humaneval", "polyglot"):
        s = build_summary(RESULTS, benchmark=bench, ks=[1, 2], sandbox=SANDBOX, n_tasks=2,
                          timing={"elapsed_s": 1.0}, extra={"section": {"x": 1}})
        assert set(COMMON_KEYS) <= set(s) and s["benchmark"] == bench and s["version"] == 2
        assert not any(k.startswith("pass@") for k in s)  # never at the top
        # (a, python) 1/2, (b, python) 2/2, (a, go) 0/2 → pass@1 = 0.5; pass@2 = (1 + 1 + 0) / 3
        assert s["overall"]["pass@1"] == pytest.approx(0.5) and s["overall"]["pass@2"] == pytest.approx(2 / 3)
        lo, hi = s["overall"]["pass@1_ci95"]
        assert 0 <= lo <= hi <= 1
    assert build_summary([], benchmark="files", ks=[1], sandbox=SANDBOX, n_tasks=0)["overall"] == {
        "pass@1": None, "pass@1_ci95": None}


def test_a_benchmark_cannot_replace_a_common_key_or_invent_a_name():
    with pytest.raises(ValueError, match=r"common keys \['overall'\]"):
        build_summary(RESULTS, benchmark="files", ks=[1], sandbox=SANDBOX, n_tasks=2, extra={"overall": {}})
    with pytest.raises(ValueError, match="unknown benchmark 'nope'"):
        build_summary(RESULTS, benchmark="nope", ks=[1], sandbox=SANDBOX, n_tasks=2)


def test_one_renderer_with_the_benchmarks_own_section_in_its_place():
    s = build_summary(RESULTS, benchmark="livecodebench", ks=[1], sandbox=SANDBOX, n_tasks=2,
                      timing={"elapsed_s": 1.0}, extra={"generation": {"backend": "hf", "samples": 6}})
    md = render_report(s, title="T", sections=[lambda summary: ["## Mine", "", f"{summary['tasks']} tasks", ""]],
                       examples=[RESULTS[1]])
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads == ["## Overall", "## Per language", "## Verdicts", "## Mine", "## Generation", "## Sandbox",
                     "## Failures (first of each verdict)", "## Timing"]
    assert md.startswith("# T\n") and "| python | 2 | 4 | 0.750 |" in md and "| go | 1 | 2 | 0.000 |" in md
    assert "a · python · sample 1: wrong_answer" in md and "2 tasks" in md
