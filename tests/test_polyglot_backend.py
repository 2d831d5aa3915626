"""Polyglot with a backend, end to end: `hrmcode eval polyglot --backend openai` against a
scripted OpenAI-compatible server on 127.0.0.1 that answers the first try with the untouched stubs
(which fail) and the second with the reference solution (which passes), on real exercises of the
published benchmark in all six languages. The second request must carry the first try's real test
output, as aider sends it."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from backend_fixtures import Reply, ScriptedServer, completion_body
from polyglot_fixtures import WHERE, find_archive, whole_reply
from typer.testing import CliRunner

from hrmcode.benchmarks.polyglot.data import TEST_FAILURES, load_exercises
from hrmcode.benchmarks.polyglot.toolchains import missing_toolchains
from hrmcode.cli import app

runner = CliRunner()
# Quick exercises whose references pass offline; the first editable file names the exercise.
EXERCISES = ("cpp/all-your-base", "go/beer-song", "java/affine-cipher", "javascript/affine-cipher",
             "python/affine-cipher", "rust/acronym")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    archive = find_archive()
    if archive is None:
        pytest.skip(f"the Polyglot archive is not here: {WHERE}")
    missing = missing_toolchains(tuple(e.split("/")[0] for e in EXERCISES))
    if missing:
        pytest.skip(f"Polyglot toolchains missing: {missing}")
    root = tmp_path_factory.mktemp("polyglot")
    wanted = tuple(f"{e.split('/')[0]}/exercises/practice/{e.split('/')[1]}/" for e in EXERCISES)
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(wanted)]
        tar.extractall(root, members=members, filter="data")
    return root


@pytest.mark.timeout(900)
def test_first_reply_fails_second_passes_with_the_test_output_in_the_second_request(checkout, tmp_path):
    exercises = {e.task_id: e for e in load_exercises(checkout)[0]}
    assert sorted(exercises) == sorted(EXERCISES)
    by_file = {e.editable[0]: e for e in exercises.values()}
    replies: dict[tuple[str, int], str] = {}

    def script(path, body):
        text = "\n".join(m["content"] for m in body["messages"])
        ex = next(e for f, e in by_file.items() if f"\n{f}\n```" in text)
        attempt = sum(m["role"] == "user" for m in body["messages"])
        files = ex.stub_files() if attempt == 1 else ex.reference_files()
        reply = "Here you go.\n\n" + whole_reply(files)
        replies[(ex.task_id, attempt)] = reply
        return Reply(200, completion_body(reply, chat=True))

    server = ScriptedServer(script)
    out = tmp_path / "out"
    try:
        res = runner.invoke(app, ["eval", "polyglot", "--data", str(checkout), "--backend", "openai",
                                  "--model", "m", "--base-url", server.base_url, "--api", "chat", "--workers", "2",
                                  "--out", str(out), "--no-progress"])
    finally:
        server.stop()
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    results = {r["task_id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    failing = {t: r["tries"][-1]["output"][-800:] for t, r in results.items() if not r["passed"]}
    assert not failing, failing
    assert (summary["polyglot"]["pass_rate_1"], summary["polyglot"]["pass_rate_2"]) == (0.0, 100.0)
    assert set(summary["polyglot_per_language"]) == {e.split("/")[0] for e in EXERCISES}
    assert summary["generation"]["samples"] == 12 and summary["generation"]["style"] == "chat"

    second = {}
    for _, body, _ in server.requests:
        if sum(m["role"] == "user" for m in body["messages"]) == 2:
            text = "\n".join(m["content"] for m in body["messages"])
            tid = next(e.task_id for f, e in by_file.items() if f"\n{f}\n```" in text)
            second[tid] = body["messages"]
    assert sorted(second) == sorted(EXERCISES)
    for tid, messages in second.items():
        r = results[tid]
        assert [t["passed"] for t in r["tries"]] == [False, True]
        roles = [m["role"] for m in messages]
        assert roles == ["system", "user", "assistant", "user"]
        assert messages[2]["content"] == replies[(tid, 1)]  # the first reply, as the model wrote it
        last = messages[3]["content"]
        output = r["tries"][0]["output"]
        head = output[:300].strip()
        assert head and head in last, (tid, head, last[-1500:])  # the real test output of try 1
        assert last.endswith(TEST_FAILURES.format(file_list=exercises[tid].file_list))
