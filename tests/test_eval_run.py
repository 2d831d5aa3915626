"""Issue 6: evaluation of a trained run end to end, summaries, comparison report."""

from __future__ import annotations

import json

import pytest
from train_fixtures import tiny_config
from typer.testing import CliRunner

from hrmcode.benchmarks.builtin.protocol import summarize
from hrmcode.benchmarks.common import extract_code
from hrmcode.cli import app
from hrmcode.evaluate.metrics import bootstrap_ci
from hrmcode.evaluate.report import compare, load_eval, paired_difference
from hrmcode.records import Result, Sample, Task, write_jsonl

runner = CliRunner()


def _task(i: int, depth: int, split: str) -> Task:
    return Task(task_id=f"t{i}", prompt="p", difficulty=depth, meta={"depth": depth, "split": split})


def _result(task_id: str, lang: str, passed: bool, index: int = 0, verdict: str | None = None, **extra) -> Result:
    return Result(task_id=task_id, language=lang, sample_index=index, passed=passed,
                  verdict=verdict or ("pass" if passed else "wrong_answer"), tests_passed=int(passed),
                  tests_total=1, **extra)


def test_extract_code_takes_the_last_fenced_block_or_the_text():
    assert extract_code("def f():\n    return 1") == "def f():\n    return 1\n"
    text = "intro\n```python\nx = 1\n```\nmore\n```python\ndef g():\n    pass\n```\n"
    assert extract_code(text) == "def g():\n    pass\n"


def test_summary_breaks_pass_at_1_down_by_depth_split_and_language():
    tasks = [_task(0, 1, "test"), _task(1, 1, "test"), _task(2, 3, "depth_extrapolation")]
    results = [
        _result("t0", "python", True), _result("t0", "rust", True),
        _result("t1", "python", True), _result("t1", "rust", False, verdict="compile_error"),
        _result("t2", "python", False, verdict="runtime_error", stderr="SyntaxError: bad"),
        _result("t2", "rust", False, verdict="timeout"),
    ]
    samples = [Sample(task_id=r.task_id, language=r.language, solution="x", segments=2, token_segments=1.5,
                      max_segments=4, generated_tokens=10, finished=True) for r in results]
    s = summarize(tasks, samples, results, [1])
    assert s["overall"]["pass@1"] == pytest.approx(3 / 6)
    assert s["per_depth"]["1"]["pass@1"] == pytest.approx(3 / 4)
    assert s["per_depth"]["3"]["pass@1"] == 0.0
    assert s["per_split"]["test"]["tasks"] == 2 and s["per_split"]["depth_extrapolation"]["pass@1"] == 0.0
    assert s["per_language"]["python"]["pass@1"] == pytest.approx(2 / 3)
    assert s["verdicts"]["compile_error"] == 1 and s["verdicts"]["timeout"] == 1
    assert s["syntax_or_compile_errors"] == 2  # the rust compile error and the Python SyntaxError
    assert s["compute"]["mean_token_segments"] == 1.5 and s["compute"]["compute_saved"] == pytest.approx(1 - 1.5 / 4)
    # python 67% vs rust 33%: a 33-point gap fires the cross-language alarm
    assert [a["monitor"] for a in s["alarms"]] == ["language_gap"]


def test_language_gap_alarm_stays_quiet_within_20_points():
    tasks = [_task(i, 1, "test") for i in range(5)]
    results = [_result(f"t{i}", "python", i < 4) for i in range(5)] + [_result(f"t{i}", "go", i < 3) for i in range(5)]
    s = summarize(tasks, [], results, [1])
    assert s["language_gap"] == pytest.approx(0.2) and s["alarms"] == []


def test_bootstrap_interval_contains_the_mean_and_collapses_for_constant_scores():
    scores = {f"t{i}": [float(i % 2)] for i in range(40)}
    lo, hi = bootstrap_ci(scores, seed=1)
    assert lo < 0.5 < hi and hi - lo < 0.4
    assert bootstrap_ci({"a": [1.0], "b": [1.0]}) == (1.0, 1.0)


def test_paired_difference_separates_a_real_gap_from_noise():
    a = [_result(f"t{i}", "python", False) for i in range(60)]
    b = [_result(f"t{i}", "python", True) for i in range(60)]
    d = paired_difference(a, b)
    assert d["diff"] == 1.0 and d["significant"]
    same = paired_difference(a, a)
    assert same["diff"] == 0.0 and not same["significant"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A real (very small) HRM trained for a few steps on a real built-in suite, on disk."""
    from hrmcode.benchmarks.builtin.generate import build
    from hrmcode.data.batching import load_tasks
    from hrmcode.train.trainer import train

    root = tmp_path_factory.mktemp("evalrun")
    build(0, 120, root / "data")
    tasks = load_tasks(root / "data" / "tasks.jsonl")
    cfg = tiny_config(steps=4, eval_every=4, ckpt_every=4, model={"max_seq_len": 640},
                      data={"languages": ["python", "javascript"]})
    train(cfg, root / "hrm", tasks=tasks, progress=False)
    return root


def test_eval_run_cli_generates_executes_and_summarizes(trained_run):
    out = trained_run / "eval"
    res = runner.invoke(app, ["eval", "builtin", "--run", str(trained_run / "hrm"), "--split",
                              "test,depth_extrapolation", "--max-tasks", "2", "--languages", "python,javascript",
                              "--n", "2", "--temperature", "0.8", "--k", "1,2", "--max-new-tokens", "12",
                              "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(samples) == len(results) == 4 * 2 * 2  # 2 tasks per split × 2 splits × 2 languages × n=2
    assert set(summary["per_split"]) == {"test", "depth_extrapolation"}
    assert set(summary["per_language"]) == {"python", "javascript"}
    assert summary["overall"]["pass@2"] is not None
    assert all(s["max_segments"] == 2 and 1 <= s["segments"] <= 2 for s in samples)
    assert summary["compute"]["samples"] == 16 and summary["arch"] == "hrm"
    assert sorted({r["sample_index"] for r in results}) == [0, 1]
    assert (out / "report.md").read_text().startswith("# Evaluation of")


def test_compare_writes_tables_plots_and_paired_differences(trained_run, tmp_path):
    for name, act in (("exit", "per_sequence"), ("max", "max")):
        res = runner.invoke(app, ["eval", "builtin", "--run", str(trained_run / "hrm"), "--split", "test", "--max-tasks", "2",
                                  "--languages", "python", "--act", act, "--max-new-tokens", "8",
                                  "--out", str(tmp_path / name), "--no-progress"])
        assert res.exit_code == 0, res.output
    evals = [load_eval(tmp_path / "exit", "exit"), load_eval(tmp_path / "max", "max")]
    assert evals[1].summary["compute"]["mean_prompt_segments"] == 2.0  # "max" always runs halt_max_steps
    data = compare(evals, tmp_path / "cmp")
    assert set(data["runs"]) == {"exit", "max"} and "max − exit" in data["differences"]
    report = (tmp_path / "cmp" / "report.md").read_text()
    assert "## Per language" in report and "pass1_per_language.png" in report
    assert (tmp_path / "cmp" / "pass1_vs_depth.png").stat().st_size > 0


def test_eval_max_depth_keeps_only_shallow_tasks_and_names_an_empty_selection(trained_run, tmp_path):
    from hrmcode.data.batching import difficulty_of, load_tasks

    tasks = load_tasks(trained_run / "data" / "tasks.jsonl")
    depth = {t.task_id: difficulty_of(t) for t in tasks}
    assert any(difficulty_of(t) > 1 for t in tasks if t.meta.get("split") == "test")  # the filter has work to do
    res = runner.invoke(app, ["eval", "builtin", "--run", str(trained_run / "hrm"), "--split", "test", "--max-depth", "1",
                              "--languages", "python", "--max-new-tokens", "4", "--out", str(tmp_path / "d1"),
                              "--no-progress"])
    assert res.exit_code == 0, res.output
    ids = {json.loads(line)["task_id"] for line in (tmp_path / "d1" / "samples.jsonl").read_text().splitlines()}
    shallow = {i for i, d in depth.items() if d <= 1 and i in ids}
    assert ids and ids == shallow
    res = runner.invoke(app, ["eval", "builtin", "--run", str(trained_run / "hrm"), "--split", "test", "--max-depth", "0",
                              "--out", str(tmp_path / "d0"), "--no-progress"])
    assert res.exit_code == 2 and "no tasks of depth ≤ 0" in res.output


def test_eval_prefill_signature_starts_every_answer_with_the_tasks_signature_line(trained_run, tmp_path):
    from hrmcode.data.batching import load_tasks

    starters = {t.task_id: t.starter_code["python"] for t in load_tasks(trained_run / "data" / "tasks.jsonl")}
    res = runner.invoke(app, ["eval", "builtin", "--run", str(trained_run / "hrm"), "--split", "test", "--max-tasks", "3",
                              "--languages", "python", "--max-new-tokens", "4", "--prefill-signature",
                              "--out", str(tmp_path / "p"), "--no-progress"])
    assert res.exit_code == 0, res.output
    samples = [json.loads(line) for line in (tmp_path / "p" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 3
    for s in samples:
        line = starters[s["task_id"]].splitlines()[0]  # python: `def name(args) -> T:`
        assert line.startswith("def ") and s["solution"].startswith(line), (line, s["solution"])
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    # a given signature is not adherence: the summary says the answers were prefilled and measures none
    assert summary["prefill_signature"] is True and summary["signature_adherence"] is None


def test_compare_tells_evaluations_of_one_run_apart_by_directory(tmp_path):
    from pathlib import Path

    from hrmcode.evaluate.report import EvalRun, distinct_names

    def ev(name: str, path: str) -> EvalRun:
        return EvalRun(name, Path(path), {}, [], None)

    named = distinct_names([ev("tiny", "r/eval-max"), ev("tiny", "r/eval-exit"), ev("other", "x/eval")])
    assert [e.name for e in named] == ["tiny (eval-max)", "tiny (eval-exit)", "other"]
    named = distinct_names([ev("tiny", "a/eval"), ev("tiny", "b/eval")])  # same leaf: the whole path
    assert [e.name for e in named] == ["tiny (a/eval)", "tiny (b/eval)"]
    with pytest.raises(ValueError, match="given twice"):
        distinct_names([ev("tiny", "a/eval"), ev("tiny", "a/eval")])


def test_eval_needs_a_source_and_names_the_flag(tmp_path):
    res = runner.invoke(app, ["eval", "files", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--tasks" in res.output  # a required option
    res = runner.invoke(app, ["eval", "nope", "--samples", "x", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "No such command 'nope'" in res.output
    res = runner.invoke(app, ["eval", "builtin", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--run DIR" in res.output and "hrmcode eval files" in res.output
    res = runner.invoke(app, ["eval", "humaneval", "--samples", "x", "--n", "5", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--n: samples per task when a model generates" in res.output
    res = runner.invoke(app, ["eval", "humaneval", "--samples", "x", "--act", "max", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--act: options of a model that generates" in res.output
    res = runner.invoke(app, ["eval", "builtin", "--run", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "not a run directory" in res.output


def test_hand_written_samples_on_the_builtin_suite(tmp_path):
    """Any model's outputs: a correct and a wrong Python solution give exactly 1 of 2."""
    from hrmcode.benchmarks.builtin.generate import build
    from hrmcode.data.batching import load_tasks

    build(3, 20, tmp_path / "data")
    task = load_tasks(tmp_path / "data" / "tasks.jsonl")[0]
    write_jsonl(tmp_path / "s.jsonl", [Sample(task_id=task.task_id, language="python", solution=task.reference["python"]),
                                       Sample(task_id=task.task_id, language="python", solution="def nope(): pass\n")])
    res = runner.invoke(app, ["eval", "files", "--tasks", str(tmp_path / "data" / "tasks.jsonl"), "--samples",
                              str(tmp_path / "s.jsonl"), "--out", str(tmp_path / "o"), "--no-progress"])
    assert res.exit_code == 0, res.output
    results = [json.loads(line) for line in (tmp_path / "o" / "results.jsonl").read_text().splitlines()]
    assert [r["passed"] for r in results] == [True, False]
