"""Resumable generation: whole lines appended as samples arrive, a torn last line dropped, keys
that separate models, prompts and sampling, and a real `hrmcode eval` killed mid-run and restarted."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from backend_fixtures import ROOT, Reply, ScriptedServer, completion_body, train_tiny_run
from typer.testing import CliRunner

from hrmcode.backends import Completion, HrmBackend, Job
from hrmcode.backends.cache import GenerationCache, cache_key, run_jobs
from hrmcode.benchmarks.builtin.prompts import builtin_prompt
from hrmcode.cli import app
from hrmcode.generate import SamplingConfig
from hrmcode.records import RecordError

runner = CliRunner()


def test_a_torn_last_line_is_dropped_and_the_file_cut_back(tmp_path):
    path = tmp_path / "gen.jsonl"
    cache = GenerationCache(path)
    cache.put("a", Completion("one", 1, 1))
    cache.put("b", Completion("two", 1, 1))
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"key": "c", "completion": {"te')  # a write cut short by a crash
    again = GenerationCache(path)
    assert again.dropped_torn_line and set(again.entries) == {"a", "b"}
    assert path.read_bytes() == whole
    again.put("c", Completion("three", 1, 1))
    assert set(GenerationCache(path).entries) == {"a", "b", "c"}


def test_a_bad_line_inside_the_file_names_file_and_line(tmp_path):
    path = tmp_path / "gen.jsonl"
    path.write_text('{"key": "a", "completion": {"text": "x"}}\nnot json\n{"key": "b", "completion": {"text": "y"}}\n')
    with pytest.raises(RecordError, match=r"gen\.jsonl:2: "):
        GenerationCache(path)


def test_keys_separate_models_prompt_forms_prompts_and_sampling():
    p = {"prompt": "x"}
    s = SamplingConfig()
    base = cache_key({"model": "a"}, "chat", p, s)
    assert base == cache_key({"model": "a"}, "chat", {"prompt": "x"}, SamplingConfig())
    others = [cache_key({"model": "b"}, "chat", p, s), cache_key({"model": "a"}, "completion", p, s),
              cache_key({"model": "a"}, "chat", {"prompt": "y"}, s),
              cache_key({"model": "a"}, "chat", p, SamplingConfig(seed=1)),
              cache_key({"model": "a"}, "chat", p, SamplingConfig(temperature=0.2)),
              cache_key({"model": "a"}, "chat", p, SamplingConfig(max_new_tokens=7))]
    assert len({base, *others}) == 7


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    return root, train_tiny_run(root)


def test_our_run_resumes_from_a_partial_cache_with_the_same_samples(tiny, tmp_path):
    from hrmcode.data.batching import load_tasks
    from hrmcode.runs import load_run

    root, run_dir = tiny
    tasks = [t for t in load_tasks(root / "data" / "tasks.jsonl") if t.meta["split"] == "test"][:5]
    backend = HrmBackend(load_run(run_dir), batch_size=2)
    jobs = [Job(builtin_prompt(t, "python"), i, {"task_id": t.task_id}) for t in tasks for i in range(2)]
    sampling = SamplingConfig(max_new_tokens=10, temperature=0.8, seed=4)
    full, _ = run_jobs(backend, jobs, sampling, GenerationCache(tmp_path / "full.jsonl"))
    lines = (tmp_path / "full.jsonl").read_bytes().splitlines(keepends=True)
    (tmp_path / "part.jsonl").write_bytes(b"".join(lines[:4]) + lines[4][:20])  # 4 whole lines, one torn
    resumed, stats = run_jobs(backend, jobs, sampling, GenerationCache(tmp_path / "part.jsonl"))
    assert [c.text for c in resumed] == [c.text for c in full]  # sampled, yet identical: the same batches
    assert (stats.from_cache, stats.generated) == (4, 6)


def test_our_run_continues_a_prefilled_signature(tiny):
    from hrmcode.data.batching import load_tasks
    from hrmcode.runs import load_run

    root, run_dir = tiny
    task = next(t for t in load_tasks(root / "data" / "tasks.jsonl") if t.meta["split"] == "test")
    backend = HrmBackend(load_run(run_dir), batch_size=2)
    plain, filled = (Job(builtin_prompt(task, "python", prefill_signature=p), 0) for p in (False, True))
    sampling = SamplingConfig(max_new_tokens=6, temperature=0.0)
    (_, a), (_, b) = sorted(backend.generate([plain, filled], sampling))
    line = filled.prompt.prefill
    assert line.startswith("def ") and b.text.startswith(line)
    assert b.prompt_tokens == a.prompt_tokens + len(backend.run.tokenizer.encode(line))
    assert b.completion_tokens <= 6


def _reply(body: dict) -> str:
    user = body["messages"][-1]["content"]
    tag = hashlib.sha256(user.encode()).hexdigest()[:8]
    return f"```python\ndef f(n: int) -> int:\n    return {int(tag, 16) % 7}  # {tag}\n```"


def _cache_prompts(path: Path) -> list[str]:
    return [json.loads(line)["task_id"] for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.timeout(300)
def test_a_killed_eval_continues_where_it_stopped_and_writes_the_same_samples(tiny, tmp_path):
    root, _ = tiny
    asked: list[str] = []
    lock = threading.Lock()

    def script(path, body):
        with lock:
            asked.append(body["messages"][-1]["content"])
        return Reply(200, completion_body(_reply(body), chat=True), delay=0.4)

    server = ScriptedServer(script)
    args = [sys.executable, "-m", "hrmcode", "eval", "builtin", "--data", str(root / "data"),
            "--split", "test", "--max-tasks", "8", "--languages", "python", "--backend", "openai", "--model", "m",
            "--base-url", server.base_url, "--api", "chat", "--concurrency", "1", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        whole = runner.invoke(app, [*args[3:], "--out", str(tmp_path / "whole")])  # in this process
        assert whole.exit_code == 0, whole.output
        n_jobs = len(asked)
        assert n_jobs >= 6  # the test split's tasks (at most 8)

        asked.clear()
        out = tmp_path / "killed"
        proc = subprocess.Popen([*args, "--out", str(out)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        cache = out / "generations.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (cache.exists() and len(_cache_prompts(cache)) >= 3):
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        written = GenerationCache(cache).entries  # what the killed run got to write
        assert 3 <= len(written) < n_jobs and not (out / "samples.jsonl").exists()
        before = set(asked)

        asked.clear()
        again = runner.invoke(app, [*args[3:], "--out", str(out)])
        assert again.exit_code == 0, again.output
    finally:
        server.stop()
    assert (out / "samples.jsonl").read_bytes() == (tmp_path / "whole" / "samples.jsonl").read_bytes()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["generation"]["from_cache"] == len(written)
    assert summary["generation"]["generated"] == n_jobs - len(written) == len(asked)
    # nothing the killed run wrote was asked for again (a request in flight at the kill may be)
    replies = {c.text for c in written.values()}
    assert not {_reply({"messages": [{"content": a}]}) for a in asked} & replies
    assert len(before | set(asked)) == n_jobs
