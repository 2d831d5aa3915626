"""One meaning per Task.kind and one entry for grading them (hrmcode/execute/grade.py).

A LiveCodeBench or HumanEval evaluation exports the Task records it graded (OUT/tasks.jsonl); the
same samples graded through ``hrmcode eval files --tasks OUT/tasks.jsonl`` get the benchmark
command's verdicts, test by test, and its pass@k. A stdin task's comparison rule is its record's
``meta.compare``; records without the new fields grade as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hrmcode.benchmarks.humaneval import data as he
from hrmcode.benchmarks.humaneval.protocol import eval_humaneval
from hrmcode.benchmarks.livecodebench.protocol import eval_livecodebench
from hrmcode.cli import app
from hrmcode.data.batching import load_tasks
from hrmcode.evaluate.run import evaluate_files
from hrmcode.execute import ExecConfig, Limits, evaluate_samples, lcb, runner
from hrmcode.execute.grade import (
    JAIL,
    RUNNER,
    grade_config,
    grade_problem,
    grade_samples,
    grader_of,
    jail_cache_key,
)
from hrmcode.execute.lcb import GradeJob
from hrmcode.records import RecordError, Sample, Task, read_jsonl, write_jsonl

FIX = Path(__file__).parent / "fixtures" / "livecodebench"
OLD_SUITE = Path(__file__).parent / "fixtures" / "builtin_v1"

# What a result says about the grading of one sample (its timings aside).
KEYS = ("task_id", "language", "sample_index", "passed", "verdict", "tests_passed", "tests_total", "test_verdicts",
        "upstream_codes", "compare", "grading", "error")
SUMMARY_KEYS = ("tasks", "samples", "passed", "k", "overall", "per_language", "verdicts")


def _graded(out: Path) -> list[dict]:
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    return [{k: r.get(k) for k in KEYS} for r in rows]


def _py(tid: str, code: str) -> Sample:
    return Sample(task_id=tid, language="python", solution=code)


# Plain code (no fences): the benchmark's extraction and `eval files` grade the same text.
LCB_SAMPLES = [
    _py("abc900_a", "a, b = map(int, input().split())\nprint(a + b)\n"),
    _py("abc900_a", "print(0)\n"),
    _py("abc900_a", "data = open(0).read().split()\nprint(int(data[0]) + int(data[1]))\n"),  # faithful: reads ""
    _py("abc900_b", "n = int(input())\nfor _ in range(n):\n    print(sum(map(int, input().split())))\n"),
    _py("3900", "class Solution:\n    def minimumKSum(self, nums, k):\n        return sum(sorted(nums)[:k])\n"),
    _py("3900", "class Solution:\n    def minimumKSum(self, nums, k):\n        return k\n"),
    Sample(task_id="3900", language="javascript", solution="function minimumKSum(nums, k) { return 0; }\n"),
    _py("3901", "class Solution:\n    def twoSmallest(self, nums):\n        return tuple(sorted(nums)[:2])\n"),
    _py("1900_A", "print(int(input()) / 3)\n"),  # 0.3333333333333333: within a tolerance only
    _py("abc311_c", "print(input())\n"),
    _py("abc905_b", "s = input()\nprint(s)\nprint(s)\n"),
    Sample(task_id="abc905_b", language="javascript",
           solution="const s = require('fs').readFileSync(0, 'utf8').split('\\n')[0];\nconsole.log(s);\nconsole.log(s);\n"),
]


@pytest.mark.parametrize("grading,float_tol", [("faithful", None), ("robust", 1e-6)])
def test_an_exported_livecodebench_tasks_file_regrades_as_the_benchmark_did(tmp_path, grading, float_tol):
    samples = tmp_path / "samples.jsonl"
    write_jsonl(samples, LCB_SAMPLES)
    bench = eval_livecodebench(FIX, tmp_path / "bench", samples=samples, release="release_v2", grading=grading,
                               float_tol=float_tol, timeout=3.0, k=[1, 2], languages=("python", "javascript"))
    exported, rep = read_jsonl(tmp_path / "bench" / "tasks.jsonl", Task)
    assert rep.skipped == [] and [t.task_id for t in exported] == list(dict.fromkeys(s.task_id for s in LCB_SAMPLES))
    by = {t.task_id: t for t in exported}
    # Nothing elided: private tests included, the method's name, the rule and the grading options.
    assert (by["3900"].kind, by["3900"].meta["func_name"], len(by["3900"].tests)) == ("method", "minimumKSum", 3)
    assert (by["abc900_b"].kind, by["abc900_b"].meta["compare"], len(by["abc900_b"].tests)) == ("stdin", "lcb", 3)
    assert all(t.meta["grading"] == grading and t.meta["timeout_s"] == 3.0 for t in exported)
    assert all(t.meta.get("float_tol") == float_tol for t in exported)
    assert {grader_of(t) for t in exported} == {JAIL}

    files = evaluate_files(tmp_path / "bench" / "tasks.jsonl", samples, tmp_path / "files", k=[1, 2])
    got, want = _graded(tmp_path / "files"), _graded(tmp_path / "bench")
    assert got == want
    assert {k: files[k] for k in SUMMARY_KEYS} == {k: bench[k] for k in SUMMARY_KEYS}
    assert files["version"] == bench["version"] == 2 and files["benchmark"] == "files"
    # The record's mode really is what graded: the faithful quirk, and the tolerance.
    verdicts = [r["verdict"] for r in got]
    if grading == "faithful":
        assert verdicts[2] == "runtime_error" and verdicts[8] == "wrong_answer" and got[0]["upstream_codes"] == [True] * 4
    else:
        assert verdicts[2] == "pass" and verdicts[8] == "pass" and got[8]["compare"] == "lcb, tol=1e-06"
    assert verdicts[:2] == ["pass", "wrong_answer"] and verdicts[4:7] == ["pass", "wrong_answer", "harness_error"]
    assert verdicts[11] == "pass" and got[11]["language"] == "javascript"  # a stdin problem in another language


def test_exported_humaneval_tasks_regrade_as_the_benchmark_did_through_the_cli(tmp_path):
    tasks, _ = he.load_tasks()
    ids = [0, 2, 12, 32, 53, 99, 140, 163]
    samples = [_py(tasks[i].task_id, tasks[i].reference["python"][len(tasks[i].prompt):]) for i in ids]
    samples += [_py(tasks[0].task_id, "    return None\n"), _py(tasks[2].task_id, "    raise RuntimeError('x')\n"),
                _py(tasks[12].task_id, "def longest(strings):\n    return 'certainly wrong'\n"),
                _py(tasks[32].task_id, "    import sys\n    sys.exit(0)\n")]
    path = tmp_path / "samples.jsonl"
    write_jsonl(path, samples)
    bench = eval_humaneval(tmp_path / "bench", samples=path, timeout=2.0)
    exported, _ = read_jsonl(tmp_path / "bench" / "tasks.jsonl", Task)
    t0 = exported[0]
    assert len(exported) == len(ids) and t0.kind == "script" and t0.meta["entry_point"] == "has_close_elements"
    assert t0.meta["test"] == tasks[0].meta["test"] and t0.meta["timeout_s"] == 2.0 and t0.prompt == tasks[0].prompt
    res = CliRunner().invoke(app, ["eval", "files", "--tasks", str(tmp_path / "bench" / "tasks.jsonl"),
                                   "--samples", str(path), "--out", str(tmp_path / "files"), "--no-progress"])
    assert res.exit_code == 0, res.output
    got = _graded(tmp_path / "files")
    assert got == _graded(tmp_path / "bench")
    assert [r["passed"] for r in got] == [True] * len(ids) + [False] * 4
    assert [r["verdict"] for r in got[len(ids):]] == ["wrong_answer", "runtime_error", "wrong_answer", "runtime_error"]
    files = json.loads((tmp_path / "files" / "summary.json").read_text())
    assert {k: files[k] for k in SUMMARY_KEYS} == {k: bench[k] for k in SUMMARY_KEYS}


def _stdin(tid: str, meta: dict, output: str = "3\n") -> Task:
    return Task(task_id=tid, kind="stdin", prompt="Print the sum of the two numbers.",
                tests=[{"input": "1 2\n", "output": output}], meta=meta)


def test_a_stdin_tasks_rule_is_its_record_and_lcb_and_exact_differ_where_documented():
    """exact: lines equal up to trailing whitespace; lcb: both sides stripped, numbers equal as Decimals."""
    tasks = [_stdin("exact", {}), _stdin("exact_named", {"compare": "exact"}), _stdin("lcb", {"compare": "lcb"}),
             _stdin("third_lcb", {"compare": "lcb"}, "0.3333333333\n"),
             _stdin("third_tol", {"compare": "lcb", "float_tol": 1e-6}, "0.3333333333\n")]
    assert [grader_of(t) for t in tasks] == [RUNNER, RUNNER, JAIL, JAIL, JAIL]
    programs = {"trailing": "print('3   ')\nprint()\n", "leading": "print('  3')\n", "float": "print(3.0)\n",
                "third": "print(1 / 3)\n"}
    # Interleaved, so that the two graders' results must come back in the samples' order.
    samples = [_py(t, programs[p]) for p in ("trailing", "leading", "float") for t in ("exact", "lcb", "exact_named")]
    samples += [_py(t, programs["third"]) for t in ("third_lcb", "third_tol")]
    got = grade_samples(tasks, samples, workers=1, config=ExecConfig(run=Limits(wall_s=5.0)))
    verdicts = [(r.task_id, r.sample_index, r.verdict.value, r.model_dump()["compare"]) for r in got]
    assert verdicts == [
        ("exact", 0, "pass", "exact"), ("lcb", 0, "pass", "lcb"), ("exact_named", 0, "pass", "exact"),  # trailing
        ("exact", 1, "wrong_answer", "exact"), ("lcb", 1, "pass", "lcb"), ("exact_named", 1, "wrong_answer", "exact"),
        ("exact", 2, "wrong_answer", "exact"), ("lcb", 2, "pass", "lcb"),  # 3.0 == 3 as Decimals, not as text
        ("exact_named", 2, "wrong_answer", "exact"),
        ("third_lcb", 0, "wrong_answer", "lcb"), ("third_tol", 0, "pass", "lcb, tol=1e-06")]
    assert got[1].model_dump()["grading"] == "robust" and "grading" not in got[0].model_dump()


def test_an_old_tasks_file_grades_as_before(tmp_path):
    """Records written before the kinds (built-in function tasks, a stdin task without meta.compare) load
    unchanged and get the runner's verdicts through the one entry."""
    old = load_tasks(OLD_SUITE)[:6]
    assert all(t.kind == "function" and "compare" not in t.meta for t in old)
    stdin = {"task_id": "double", "kind": "stdin", "prompt": "Print twice the number read.",
             "tests": [{"input": "4\n", "output": "8\n"}, {"input": "0\n", "output": "0  \n"}]}
    tasks_path = tmp_path / "tasks.jsonl"
    tasks_path.write_text("".join(json.dumps(t.model_dump(mode="json", exclude_none=True)) + "\n" for t in old)
                          + json.dumps(stdin) + "\n")
    samples = [_py(t.task_id, t.reference["python"]) for t in old] + [_py(old[0].task_id, "def nope(:\n")]
    samples += [_py("double", "print(2 * int(input()))\n"), _py("double", "print(2 * int(input()) + 1)\n")]
    write_jsonl(tmp_path / "samples.jsonl", samples)
    evaluate_files(tasks_path, tmp_path / "samples.jsonl", tmp_path / "out", workers=1)
    got = _graded(tmp_path / "out")
    tasks, _ = read_jsonl(tasks_path, Task)
    direct = [{k: r.model_dump(mode="json").get(k) for k in KEYS} for r in evaluate_samples(tasks, samples, workers=1)]
    assert got == direct
    assert [r["verdict"] for r in got] == ["pass"] * 6 + ["compile_error", "pass", "wrong_answer"]
    assert (got[0]["compare"], got[-1]["compare"]) == ("values", "exact")  # the runner's rules, as before


def test_kind_fields_are_checked_with_file_line_and_field(tmp_path):
    bad = {
        '{"task_id": "m", "kind": "method", "prompt": "p"}': "meta.func_name",
        '{"task_id": "s", "kind": "script", "prompt": "p", "meta": {"entry_point": "f"}}': "meta.test",
        '{"task_id": "c", "kind": "stdin", "prompt": "p", "meta": {"compare": "fuzzy"}}': "meta.compare",
        '{"task_id": "g", "kind": "stdin", "prompt": "p", "meta": {"grading": "faithful"}}': "meta.grading",
        '{"task_id": "f", "kind": "method", "prompt": "p", "meta": {"func_name": "f", "grading": "faithful", '
        '"float_tol": 0.1}}': "meta.float_tol",
        '{"task_id": "t", "kind": "function", "prompt": "p", "meta": {"timeout_s": 0}}': "meta.timeout_s",
        '{"task_id": "k", "kind": "leetcode", "prompt": "p"}': "kind",
    }
    for line, fld in bad.items():
        path = tmp_path / "tasks.jsonl"
        path.write_text("\n" + line + "\n")
        with pytest.raises(RecordError, match=rf"{path}:2: .*{fld}"):
            read_jsonl(path, Task)


def test_the_runner_refuses_kinds_it_does_not_own_and_the_one_entry_routes_them():
    method = Task(task_id="m", kind="method", prompt="p", tests=[{"input": [1], "output": 1}],
                  meta={"func_name": "f"})
    (r,) = runner.evaluate([method], [_py("m", "class Solution:\n    def f(self, x):\n        return x\n")])
    assert r.verdict.value == "harness_error" and "evaluate_samples" in r.model_dump()["error"]
    for entry in (evaluate_samples, grade_samples):
        (r,) = entry([method], [_py("m", "class Solution:\n    def f(self, x):\n        return x\n")], workers=1)
        assert r.verdict.value == "pass" and r.model_dump()["compare"] == "values"


def _method_and_script() -> list[Task]:
    method = Task(task_id="m", kind="method", prompt="p", tests=[{"input": [2], "output": 4}, {"input": [3], "output": 9}],
                  meta={"func_name": "sq", "timeout_s": 2.0})
    script = Task(task_id="s", kind="script", prompt="def inc(x):\n",
                  meta={"entry_point": "inc", "test": "def check(f):\n    assert f(1) == 2\n", "timeout_s": 2.0})
    return [method, script]


def test_method_and_script_grades_are_cached_with_the_drivers_and_options_in_the_key(tmp_path):
    tasks = _method_and_script()
    samples = [_py("m", "class Solution:\n    def sq(self, x):\n        return x * x\n"),
               _py("m", "class Solution:\n    def sq(self, x):\n        return x + x\n"),
               _py("s", "    return x + 1\n"),
               _py("m", "class Solution:\n    def sq(self, x):\n        while True:\n            pass\n")]
    first = evaluate_samples(tasks, samples, workers=1, cache_dir=tmp_path)
    assert [r.verdict.value for r in first] == ["pass", "wrong_answer", "pass", "timeout"]
    assert not any(r.model_dump().get("mode") == "cache" for r in first)
    again = evaluate_samples(tasks, samples, workers=1, cache_dir=tmp_path)
    keys = ("verdict", "tests_passed", "tests_total", "test_verdicts", "grading", "compare")
    assert [[r.model_dump(mode="json").get(k) for k in keys] for r in again] == \
        [[r.model_dump(mode="json").get(k) for k in keys] for r in first]
    # Every kept grade is served from the cache; a timeout (the machine's load) is graded again.
    assert [r.model_dump().get("mode") == "cache" for r in again] == [True, True, True, False]
    # Another grading option is another key: the faithful grade is graded, not read back.
    faithful = [t.model_copy(update={"meta": {**t.meta, "grading": "faithful"}}) for t in tasks]
    third = evaluate_samples(faithful, samples[:1], workers=1, cache_dir=tmp_path)
    assert third[0].verdict.value == "pass" and third[0].model_dump().get("mode") != "cache"
    cfg = grade_config(tasks[0])
    assert jail_cache_key(tasks[0], "python", "x", cfg, "bwrap") != jail_cache_key(tasks[0], "python", "x", cfg, "userns")


def test_unbatched_method_samples_get_a_jailed_driver_each():
    tasks = _method_and_script()
    problems = {"m": grade_problem(tasks[0])}
    jobs = [GradeJob(i, "m", "python", "") for i in range(5)]
    assert [len(b) for b in lcb._batches(jobs, problems, 2, grade_config(tasks[0], batched=False).batch_samples)] == [1] * 5
    assert [len(b) for b in lcb._batches(jobs, problems, 2, grade_config(tasks[0]).batch_samples)] == [3, 2]
    samples = [_py("m", "class Solution:\n    def sq(self, x):\n        return x * x\n")] * 2
    iso = evaluate_samples(tasks, samples, batched=False, workers=1)
    assert [r.verdict.value for r in iso] == ["pass", "pass"]


@pytest.mark.slow
def test_all_164_canonical_humaneval_solutions_pass_through_the_exported_tasks(tmp_path):
    tasks, _ = he.load_tasks()
    path = tmp_path / "samples.jsonl"
    write_jsonl(path, [_py(t.task_id, t.reference["python"][len(t.prompt):]) for t in tasks])
    bench = eval_humaneval(tmp_path / "bench", samples=path)
    files = evaluate_files(tmp_path / "bench" / "tasks.jsonl", path, tmp_path / "files")
    assert _graded(tmp_path / "files") == _graded(tmp_path / "bench")
    assert files["passed"] == bench["passed"] == 164 and files["overall"]["pass@1"] == 1.0
