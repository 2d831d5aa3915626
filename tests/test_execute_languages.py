"""Every language: a passing, wrong, non-compiling, crashing, hanging and memory-hungry candidate
each get the right verdict in one call (real compilers and runtimes, in the sandbox), and batched
and isolated runs of that mixed set give identical verdicts."""

from __future__ import annotations

import pytest
from execute_fixtures import FIXTURES, TASK, fixture_samples

from hrmcode.execute import ExecConfig, Limits, evaluate_samples, sandbox_layers
from hrmcode.records import Verdict

# The memory-hungry candidates must reach the cap before the wall clock, on a machine that faults
# pages in slowly: a fresh VM of CI's kind touched ~150 MB/s (Rust's candidate: 450 MB in 3 s,
# a time-out at a 512 MB cap), and memory this VM has not touched lately faults in at 87–150 MB/s
# (4 GiB in 27–47 s). 256 MB then takes 1.7–3 s, and 8 s leaves room for a slower moment. Java
# runs under the 256 MB cap too (its RLIMIT_DATA leaves room for the JVM).
FAST = ExecConfig(run=Limits(wall_s=8.0, memory_mb=256))


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


@pytest.fixture(scope="module")
def isolated_results():
    samples, _ = fixture_samples()
    return evaluate_samples([TASK], samples, batched=False, config=FAST)


@pytest.mark.timeout(300)
def test_batched_and_isolated_runs_give_identical_verdicts(batched_results, isolated_results):
    samples, expected, batched = batched_results
    assert [r.verdict for r in isolated_results] == [r.verdict for r in batched] == [Verdict(v) for v in expected]
    assert [(r.tests_passed, r.tests_total) for r in isolated_results] == [(r.tests_passed, r.tests_total)
                                                                           for r in batched]
    assert {(r.model_extra or {}).get("mode") for r in isolated_results} == {"isolated"}
    # The batch really was a batch: the good candidates of every language ran batched.
    assert {s.language for s, r in zip(samples, batched, strict=True)
            if r.passed and (r.model_extra or {}).get("mode") == "batched"} == set(FIXTURES)


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
