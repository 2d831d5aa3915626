"""Every language: a passing, wrong, non-compiling, crashing, hanging and memory-hungry candidate
each get the right verdict, batched, in one call (real compilers and runtimes, in the sandbox)."""

from __future__ import annotations

import pytest
from execute_fixtures import TASK, fixture_samples

from hrmcode.execute import ExecConfig, Limits, evaluate_samples, sandbox_layers
from hrmcode.records import Verdict

FAST = ExecConfig(run=Limits(wall_s=3.0, memory_mb=512))


@pytest.fixture(scope="module")
def batched_results():
    samples, expected = fixture_samples()
    results = evaluate_samples([TASK], samples, config=FAST)
    return samples, expected, results


@pytest.mark.timeout(300)
def test_every_fixture_gets_its_verdict_batched(batched_results):
    samples, expected, results = batched_results
    got = [(s.language, r.verdict.value) for s, r in zip(samples, results, strict=True)]
    want = [(s.language, v) for s, v in zip(samples, expected, strict=True)]
    assert got == want


def test_results_keep_order_and_sample_index(batched_results):
    samples, _, results = batched_results
    seen: dict[str, int] = {}
    for s, r in zip(samples, results, strict=True):
        assert (r.task_id, r.language) == (s.task_id, s.language)
        assert r.sample_index == seen.get(s.language, 0)
        seen[s.language] = r.sample_index + 1


def test_passing_candidates_pass_every_test_and_failures_carry_evidence(batched_results):
    _, expected, results = batched_results
    for v, r in zip(expected, results, strict=True):
        extra = r.model_extra or {}
        if v == "pass":
            assert r.passed and r.tests_passed == r.tests_total == 3
        elif v == "compile_error":
            assert extra.get("compile_log"), r
        elif v == "wrong_answer":
            assert extra["failure"]["expected"] == 12 and "got" in extra["failure"]
        else:
            assert not r.passed and r.verdict == Verdict(v)


def test_sandbox_layers_are_reported():
    layers = sandbox_layers()
    assert layers["mode"] in ("bwrap", "unshare", "rlimits-only")
    assert layers["degraded"] == (layers["mode"] != "bwrap")
    assert "DATA" in layers["rlimits"] and "AS" not in layers["rlimits"]
