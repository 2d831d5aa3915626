"""`hrmcode eval <benchmark> …` reaches each driver with any model's samples (the CLI wiring)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hrmcode.cli import app

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures"


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_humaneval_samples_three_canonical_and_one_broken(tmp_path):
    from hrmcode.benchmarks.humaneval import data as he

    tasks, _ = he.load_tasks(he.default_path())
    lines = [{"task_id": t.task_id, "language": "python", "solution": t.reference["python"]} for t in tasks[:3]]
    lines.append({"task_id": tasks[3].task_id, "language": "python", "solution": "def nope():\n    return 0\n"})
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    res = runner.invoke(app, ["eval", "humaneval", "--samples", str(tmp_path / "s.jsonl"),
                              "--out", str(tmp_path / "o"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert _summary(tmp_path / "o")["overall"]["pass@1"] == 0.75  # summary v2: pass@k under "overall"


def test_livecodebench_samples_through_the_cli(tmp_path):
    good = "a, b = map(int, input().split())\nprint(a + b)\n"
    (tmp_path / "s.jsonl").write_text(json.dumps({"task_id": "abc900_a", "language": "python", "solution": good}) + "\n"
                                      + json.dumps({"task_id": "abc900_a", "language": "python",
                                                    "solution": "print(0)\n"}) + "\n")
    res = runner.invoke(app, ["eval", "livecodebench", "--data", str(FIXTURES / "livecodebench"),
                              "--release", "v1", "--samples", str(tmp_path / "s.jsonl"), "--out", str(tmp_path / "o"),
                              "--no-progress"])
    assert res.exit_code == 0, res.output
    results = [json.loads(x) for x in (tmp_path / "o" / "results.jsonl").read_text().splitlines()]
    assert [r["passed"] for r in results if r["task_id"] == "abc900_a"] == [True, False]


def test_polyglot_reference_through_the_cli(tmp_path):
    res = runner.invoke(app, ["eval", "polyglot", "--data", str(FIXTURES / "polyglot"), "--reference",
                              "--languages", "python", "--out", str(tmp_path / "o"), "--no-progress"])
    assert res.exit_code == 0, res.output
    s = _summary(tmp_path / "o")
    assert s["polyglot"]["pass_rate_1"] == 100.0
    assert "polyglot: 1 pass, 0 fail, 0 unavailable of 1" in res.output


def test_polyglot_stubs_and_unavailable_options_through_the_cli(tmp_path):
    res = runner.invoke(app, ["eval", "polyglot", "--data", str(FIXTURES / "polyglot"), "--stubs",
                              "--languages", "python", "--out", str(tmp_path / "s"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert _summary(tmp_path / "s")["stub_check"]["failed"] == 1
    res = runner.invoke(app, ["eval", "polyglot", "--data", str(FIXTURES / "polyglot"), "--reference",
                              "--languages", "python", "--exclude-unavailable", "--deps", str(tmp_path / "none"),
                              "--out", str(tmp_path / "r"), "--no-progress"])
    assert res.exit_code == 2 and "--deps" in res.output and "not a directory" in res.output
    res = runner.invoke(app, ["eval", "polyglot", "--data", str(FIXTURES / "polyglot"), "--reference",
                              "--languages", "python", "--exclude-unavailable", "--deps", str(tmp_path),
                              "--out", str(tmp_path / "r"), "--no-progress"])
    assert res.exit_code == 0, res.output
    s = _summary(tmp_path / "r")
    assert s["exclude_unavailable"] is True and s["deps"] == [str(tmp_path.resolve())]
    res = runner.invoke(app, ["eval", "livecodebench", "--stubs", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "No such option: --stubs" in res.output  # a polyglot option


def test_benchmark_errors_name_the_flag(tmp_path):
    res = runner.invoke(app, ["eval", "polyglot", "--reference", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--data" in res.output
    res = runner.invoke(app, ["eval", "polyglot", "--reference", "--samples", "x", "--data", "d",
                              "--out", str(tmp_path)])
    assert res.exit_code == 2 and "exactly one of" in res.output
