"""`hrmcode data build` and `hrmcode data stats` through the CLI."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hrmcode.benchmarks.builtin.families import BY_NAME
from hrmcode.benchmarks.builtin.handwritten import TASKS as HANDWRITTEN
from hrmcode.cli import app

runner = CliRunner()


def test_data_build_then_stats_reports_depths_families_splits_languages_and_token_lengths(tmp_path) -> None:
    out = tmp_path / "suite"
    res = runner.invoke(app, ["data", "build", "--suite", "builtin", "--seed", "1", "--n", "60", "--out", str(out)])
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_tasks"] == 60 and manifest["seed"] == 1
    res = runner.invoke(app, ["data", "stats", str(out), "--json"])
    assert res.exit_code == 0, res.output
    stats = json.loads(res.stdout)
    total = 60 + len(HANDWRITTEN)  # the hand-written split is part of every suite's files
    assert stats["tasks"] == total and stats["split"]["handwritten"] == len(HANDWRITTEN)
    assert sum(stats["depth"].values()) == total and sum(stats["split"].values()) == total
    assert set(stats["family"]) <= set(BY_NAME)
    assert stats["language"] == {lang: total for lang in ("cpp", "go", "java", "javascript", "python", "rust")}
    # Token lengths are real encodings: a prompt is tens of tokens, never zero.
    assert 10 < stats["prompt_tokens"]["mean"] < 400
    assert all(s["max"] >= s["mean"] > 5 for s in stats["solution_tokens"].values())
    res = runner.invoke(app, ["data", "stats", str(out)])
    assert res.exit_code == 0 and "tasks per family" in res.output and "solution (rust)" in res.output


def _flat(text: str) -> str:
    return text.replace("\n", "")  # rich wraps long error lines


def test_data_commands_fail_clearly_on_bad_input(tmp_path) -> None:
    res = runner.invoke(app, ["data", "build", "--suite", "polyglot", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "only `builtin`" in res.output
    res = runner.invoke(app, ["data", "build", "--n", "0", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--n must be at least 1" in res.output
    res = runner.invoke(app, ["data", "stats", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "tasks.jsonl: no such file" in _flat(res.output)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "tasks.jsonl").write_text('{"task_id": "x", "prompt": "p"}\n{"task_id": 3}\n')
    res = runner.invoke(app, ["data", "stats", str(bad)])
    assert res.exit_code == 2 and "tasks.jsonl:2:" in _flat(res.output) and "prompt" in res.output
