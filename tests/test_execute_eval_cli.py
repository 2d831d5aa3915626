"""`hrmcode eval` end to end: hand-written tasks and samples with known verdicts → the exact summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hrmcode.cli import app
from hrmcode.execute import sandbox_layers

runner = CliRunner()

TASKS = [
    {"task_id": "add", "prompt": "Add a and b.", "tests": [{"input": [1, 2], "output": 3}, {"input": [5, -5], "output": 0}],
     "signature": {"name": "add", "params": [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}],
                   "returns": "int"}},
    {"task_id": "double", "kind": "stdin", "prompt": "Print twice the number read.",
     "tests": [{"input": "4\n", "output": "8\n"}, {"input": "-1\n", "output": "-2"}]},
]
PY_ADD = "def add(a: int, b: int) -> int:\n    return a + b\n"
SAMPLES: list[dict | str] = [
    {"task_id": "add", "language": "python", "solution": PY_ADD},
    {"task_id": "add", "language": "python", "solution": "def add(a, b):\n    return a - b\n"},
    {"task_id": "add", "language": "python", "solution": "def add(a, b):\n    return [][a]\n"},
    '{"task_id": "add", "language": "cobol", "solution": "x"}',  # line 4: not a language
    {"task_id": "add", "language": "python", "solution": "def add(a, b):\n    return b + a\n"},
    {"task_id": "add", "language": "javascript", "solution": "function add(a, b) { return a + b; }\n"},
    {"task_id": "add", "language": "javascript", "solution": "function add(a, b) { return a + ; }\n"},
    {"task_id": "nope", "language": "python", "solution": PY_ADD},  # line 8: unknown task
    {"task_id": "double", "language": "python", "solution": "print(2 * int(input()))\n"},
]


def _write(tmp_path: Path) -> tuple[Path, Path]:
    tasks, samples = tmp_path / "tasks.jsonl", tmp_path / "samples.jsonl"
    tasks.write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    samples.write_text("".join((s if isinstance(s, str) else json.dumps(s)) + "\n" for s in SAMPLES))
    return tasks, samples


@pytest.mark.timeout(120)
def test_eval_writes_results_and_the_exact_summary(tmp_path):
    tasks, samples = _write(tmp_path)
    out = tmp_path / "out"
    res = runner.invoke(app, ["eval", "files", "--tasks", str(tasks), "--samples", str(samples), "--out", str(out),
                              "--k", "1,2", "--skip-bad", "--no-progress"])
    assert res.exit_code == 0, res.output
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [(r["task_id"], r["language"], r["sample_index"], r["verdict"]) for r in results] == [
        ("add", "python", 0, "pass"), ("add", "python", 1, "wrong_answer"), ("add", "python", 2, "runtime_error"),
        ("add", "python", 3, "pass"), ("add", "javascript", 0, "pass"), ("add", "javascript", 1, "compile_error"),
        ("double", "python", 0, "pass")]
    assert results[1]["failure"] == {"test": 0, "input": [1, 2], "expected": 3, "got": -1}

    summary = json.loads((out / "summary.json").read_text())
    timing = summary.pop("timing")
    assert timing["elapsed_s"] > 0
    zero = {"pass": 0, "wrong_answer": 0, "compile_error": 0, "runtime_error": 0, "timeout": 0, "memory_limit": 0,
            "output_limit": 0, "sandbox_violation": 0, "harness_error": 0, "unavailable": 0}
    modes = summary.pop("execution_modes")
    assert sum(modes.values()) == 7 and set(modes) <= {"batched", "isolated"}
    ci = summary["overall"].pop("pass@1_ci95")  # a bootstrap over the 2 tasks: around pass@1
    assert ci[0] <= summary["overall"]["pass@1"] <= ci[1]
    skipped = summary.pop("skipped")
    assert (skipped["tasks"], skipped["samples"]) == (0, 2)
    assert skipped["reasons"][0].startswith(f"{samples}:4: language:")
    assert skipped["reasons"][1] == f"{samples}:8: task_id: unknown task 'nope' (not in {tasks})"
    assert summary == {
        "version": 2, "benchmark": "files", "tasks": 2, "tasks_in_file": 2, "samples": 7, "passed": 4, "k": [1, 2],
        # (add, python): 2 of 4 pass; (add, javascript): 1 of 2; (double, python): 1 of 1.
        "overall": {"pass@1": pytest.approx((0.5 + 0.5 + 1.0) / 3),
                    "pass@2": None},  # (double, python) has a single sample
        "per_language": {
            "javascript": {"tasks": 1, "samples": 2, "pass@1": 0.5, "pass@2": 1.0,
                           "verdicts": {**zero, "pass": 1, "compile_error": 1}},
            "python": {"tasks": 2, "samples": 5, "pass@1": pytest.approx(0.75), "pass@2": None,
                       "verdicts": {**zero, "pass": 3, "wrong_answer": 1, "runtime_error": 1}},
        },
        "verdicts": {**zero, "pass": 4, "wrong_answer": 1, "runtime_error": 1, "compile_error": 1},
        "sandbox": sandbox_layers(),
        "tasks_file": str(tasks), "samples_file": str(samples),
        # Every sample of the typed task defines add(a, b), the broken JavaScript one too; "double" (stdin)
        # names no function and its tasks have no split ("?").
        "signature_adherence": {
            "samples": 6, "adherent": 6, "wrong_arity": 0, "rate": 1.0,
            "per_language": {"javascript": {"samples": 2, "adherent": 2, "wrong_arity": 0, "rate": 1.0},
                             "python": {"samples": 4, "adherent": 4, "wrong_arity": 0, "rate": 1.0}},
            "per_split": {"?": {"samples": 6, "adherent": 6, "wrong_arity": 0, "rate": 1.0}},
        },
    }
    report = (out / "report.md").read_text()
    assert "| python | 2 | 5 | 0.750 | – |" in report and "| javascript | 1 | 2 | 0.500 | 1.000 |" in report
    assert "add · python · sample 1: wrong_answer" in report
    assert "2 samples were skipped" in report


def test_eval_rejects_a_bad_record_naming_file_line_and_field(tmp_path):
    tasks, samples = _write(tmp_path)
    res = runner.invoke(app, ["eval", "files", "--tasks", str(tasks), "--samples", str(samples), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert f"{samples}:4: language" in " ".join(res.output.split())  # rich wraps long lines
    assert not (tmp_path / "o").exists()


def test_eval_rejects_a_bad_k(tmp_path):
    tasks, samples = _write(tmp_path)
    res = runner.invoke(app, ["eval", "files", "--tasks", str(tasks), "--samples", str(samples), "--out", str(tmp_path / "o"),
                              "--k", "0,x"])
    assert res.exit_code == 2 and "--k" in res.output
