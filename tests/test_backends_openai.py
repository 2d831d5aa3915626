"""The OpenAI-compatible backend against scripted servers on 127.0.0.1: retries with backoff on
429/5xx, timeouts, the context-length error, the concurrency limit, the API key, which endpoint
and which of the benchmark's prompts each --api sends."""

from __future__ import annotations

import threading

import pytest
from backend_fixtures import Reply, ScriptedServer, completion_body

from hrmcode.backends import BackendError, Job, OpenAIBackend, Prompt
from hrmcode.backends.cache import GenerationCache, run_jobs
from hrmcode.benchmarks.humaneval.prompts import CODEX_STOPS, humaneval_prompt
from hrmcode.benchmarks.livecodebench import data as lcb
from hrmcode.benchmarks.livecodebench.prompts import livecodebench_prompt
from hrmcode.generate import SamplingConfig
from hrmcode.records import Task

GREEDY = SamplingConfig(max_new_tokens=32)


def _prompt(text: str = "Return 1.") -> Prompt:
    return Prompt("python", "native: " + text, ({"role": "user", "content": "chat: " + text},), "completion: " + text,
                  stop=("\nEND",))


@pytest.fixture
def scripted():
    servers: list[ScriptedServer] = []

    def make(script, **kw) -> ScriptedServer:
        s = ScriptedServer(script, **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


def test_retries_with_backoff_on_429_and_5xx_then_succeeds(scripted):
    answers = iter([Reply(429, {"error": {"message": "slow down"}}, headers={"retry-after-ms": "10"}),
                    Reply(503, {"error": {"message": "busy"}}),
                    Reply(200, completion_body("ok", chat=True))])
    server = scripted(lambda path, body: next(answers))
    backend = OpenAIBackend("m", server.base_url, api="chat", max_retries=3)
    (pos, comp), = list(backend.generate([Job(_prompt())], GREEDY))
    assert (pos, comp.text, comp.finished) == (0, "ok", True)
    assert [p for p, _, _ in server.requests] == ["/v1/chat/completions"] * 3


def test_gives_up_after_the_retries_with_an_error_naming_the_server(scripted):
    server = scripted(lambda path, body: Reply(500, {"error": {"message": "broken"}}))
    backend = OpenAIBackend("m", server.base_url, api="chat", max_retries=1)
    with pytest.raises(BackendError, match=r"127\.0\.0\.1.*HTTP 500"):
        list(backend.generate([Job(_prompt(), meta={"task_id": "t1"})], GREEDY))
    assert len(server.requests) == 2  # the first try and one retry


def test_a_request_past_its_timeout_is_retried_then_reported(scripted):
    server = scripted(lambda path, body: Reply(200, completion_body("late", chat=True), delay=1.5))
    backend = OpenAIBackend("m", server.base_url, api="chat", max_retries=1, timeout=0.3)
    with pytest.raises(BackendError, match="after the retries"):
        list(backend.generate([Job(_prompt())], GREEDY))
    assert len(server.requests) == 2


def test_a_prompt_over_the_context_is_an_empty_failing_sample_not_a_crash(scripted):
    server = scripted(lambda path, body: Reply(400, {"error": {
        "message": "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens.",
        "type": "invalid_request_error", "code": "context_length_exceeded"}}))
    backend = OpenAIBackend("m", server.base_url, api="completions", max_retries=3)
    (_, comp), = list(backend.generate([Job(_prompt())], GREEDY))
    assert comp.text == "" and comp.error.startswith("context_length_exceeded") and not comp.finished
    assert len(server.requests) == 1  # a 400 is not retried


def test_no_more_than_concurrency_requests_are_in_flight(scripted):
    server = scripted(lambda path, body: Reply(200, completion_body(body["prompt"][-3:], chat=False), delay=0.15))
    backend = OpenAIBackend("m", server.base_url, api="completions", concurrency=3)
    jobs = [Job(_prompt(f"p{i:02d}")) for i in range(10)]
    out = dict(backend.generate(jobs, GREEDY))
    assert sorted(out) == list(range(10)) and out[7].text == "p07"
    assert server.max_in_flight == 3


def test_the_api_key_comes_from_the_environment(scripted, monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-test-123")
    server = scripted(lambda path, body: Reply(200, completion_body("ok", chat=True)))
    list(OpenAIBackend("m", server.base_url, api="chat", api_key_env="MY_KEY").generate([Job(_prompt())], GREEDY))
    headers = {k.lower(): v for k, v in server.requests[0][2].items()}
    assert headers["authorization"] == "Bearer sk-test-123"


def test_each_api_sends_its_prompt_form_and_sampling(scripted):
    server = scripted(lambda path, body: Reply(200, completion_body("x = 1\nEND more", chat=path.endswith("chat/completions"))))
    sampling = SamplingConfig(max_new_tokens=20, temperature=0.5, top_p=0.9, seed=3)
    job = Job(_prompt(), sample_index=2)
    chat = dict(OpenAIBackend("m", server.base_url, api="chat").generate([job], sampling))[0]
    comp = dict(OpenAIBackend("m", server.base_url, api="completions").generate([job], sampling))[0]
    native = dict(OpenAIBackend("m", server.base_url, api="native",
                                native_options={"act": "max"}).generate([job], sampling))[0]
    bodies = [b for p, b, _ in server.requests]
    assert bodies[0]["messages"] == [{"role": "user", "content": "chat: Return 1."}]
    assert bodies[1]["prompt"] == "completion: Return 1." and bodies[1]["stop"] == ["\nEND"]
    assert bodies[2]["prompt"] == "native: Return 1." and bodies[2]["language"] == "python" and bodies[2]["act"] == "max"
    for b in bodies:
        assert (b["max_tokens"], b["temperature"], b["top_p"], b["seed"]) == (20, 0.5, 0.9, 5)  # seed + sample index
    assert chat.text == "x = 1\nEND more" and comp.text == "x = 1" and native.text == "x = 1\nEND more"


def test_auto_picks_native_prompts_for_an_hrmcode_server_and_chat_otherwise(scripted):
    ours = scripted(lambda p, b: Reply(200, {}), owned_by="hrmcode")
    theirs = scripted(lambda p, b: Reply(200, {}), owned_by="vllm")
    assert OpenAIBackend("m", ours.base_url).style == "native"
    assert OpenAIBackend("m", theirs.base_url).style == "chat"
    with pytest.raises(BackendError, match="cannot connect"):
        OpenAIBackend("m", "http://127.0.0.1:9/v1", max_retries=0)


def test_benchmark_prompts_reach_the_server_as_upstream_writes_them(scripted):
    """LiveCodeBench's chat turns are upstream's; HumanEval completions carry the Codex stops."""
    server = scripted(lambda path, body: Reply(200, completion_body("```python\nprint(1)\n```", chat=True)))
    problem = next(iter(lcb.load_problems("tests/fixtures/livecodebench", release="v1").problems))
    job = Job(livecodebench_prompt(problem, "python"))
    list(OpenAIBackend("m", server.base_url, api="chat").generate([job], GREEDY))
    sent = server.requests[-1][1]["messages"]
    assert sent == lcb.chat_messages(problem, "python")
    assert sent[0]["content"].startswith("You are an expert Python programmer.")
    task = Task(task_id="HumanEval/0", source="humaneval", prompt="def f(x):\n    \"\"\"Return x.\"\"\"\n")
    assert humaneval_prompt(task).completion == task.prompt and humaneval_prompt(task).stop == CODEX_STOPS


def test_cached_jobs_are_not_requested_again(scripted, tmp_path):
    lock = threading.Lock()
    seen: list[str] = []

    def script(path, body):
        with lock:
            seen.append(body["messages"][0]["content"])
        return Reply(200, completion_body("answer to " + body["messages"][0]["content"], chat=True))

    server = scripted(script)
    backend = OpenAIBackend("m", server.base_url, api="chat")
    jobs = [Job(_prompt(f"q{i}"), meta={"task_id": f"t{i}"}) for i in range(4)]
    cache_file = tmp_path / "gen.jsonl"
    first, stats1 = run_jobs(backend, jobs[:2], GREEDY, GenerationCache(cache_file))
    both, stats2 = run_jobs(backend, jobs, GREEDY, GenerationCache(cache_file))
    assert sorted(seen) == sorted(f"chat: q{i}" for i in range(4))  # q0 and q1 were asked once
    assert [c.text for c in both[:2]] == [c.text for c in first]
    assert (stats1.generated, stats2.from_cache, stats2.generated) == (2, 2, 2)
    other = OpenAIBackend("other-model", server.base_url, api="chat")
    run_jobs(other, jobs[:1], GREEDY, GenerationCache(cache_file))  # another model: its own key
    assert len(seen) == 5
