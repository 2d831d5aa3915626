"""`hrmcode serve` over real HTTP on 127.0.0.1, driven by the official `openai` client and by
`hrmcode eval builtin --backend openai`: the same greedy samples and verdicts as `--backend hrm`."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import openai
import pytest
from backend_fixtures import ServeProcess, ThreadedApp, train_tiny_run
from openai import OpenAI
from typer.testing import CliRunner

from hrmcode.backends import Completion, HrmBackend, Job, Prompt
from hrmcode.cli import app
from hrmcode.generate import SamplingConfig
from hrmcode.runs import load_run
from hrmcode.serve import Server, chat_prompt

runner = CliRunner()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    run_dir = train_tiny_run(root)
    server = ServeProcess(run_dir, log=root / "serve.log")
    yield root, run_dir, server
    server.stop()


@pytest.fixture(scope="module")
def client(served):
    _, _, server = served
    with OpenAI(base_url=server.base_url, api_key="unused", max_retries=0) as c:
        yield c


def _direct(run_dir: Path, prompts: list[str], language: str = "python", max_tokens: int = 16) -> list[Completion]:
    """What our model writes for each prompt when run in this process (greedy)."""
    backend = HrmBackend(load_run(run_dir))
    jobs = [Job(Prompt(language, p, (), p)) for p in prompts]
    out = dict(backend.generate(jobs, SamplingConfig(max_new_tokens=max_tokens)))
    return [out[i] for i in range(len(jobs))]


def test_models_lists_the_run_as_an_hrmcode_model(client, served):
    models = client.models.list().data
    assert [m.id for m in models] == ["run"] and models[0].owned_by == "hrmcode"
    info = models[0].model_extra["hrmcode"]
    assert info["arch"] == "hrm" and info["max_seq_len"] == 640 and info["act"]["halt_max_steps"] == 2


def test_completions_match_direct_generation_and_stream_the_same_text(client, served):
    _, run_dir, _ = served
    prompts = ["Write a function f that returns the number x plus 1.", "Return the sum of a list."]
    direct = _direct(run_dir, prompts, "javascript")
    want = [c.text for c in direct]
    got = client.completions.create(model="run", prompt=prompts, max_tokens=16, temperature=0,
                                    extra_body={"language": "javascript"})
    assert [c.text for c in got.choices] == want
    assert got.usage.completion_tokens == sum(c.completion_tokens for c in direct)
    assert got.usage.prompt_tokens == sum(c.prompt_tokens for c in direct)
    stream = client.completions.create(model="run", prompt=prompts[0], max_tokens=16, temperature=0, stream=True,
                                       extra_body={"language": "javascript"})
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks) == want[0]
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_chat_replies_with_a_fenced_file_for_aider_and_streams_it(client, served):
    messages = [{"role": "system", "content": "You are a coder."},
                {"role": "user", "content": "digit_sum.py\n```python\ndef digit_sum(n):\n    pass\n```\n"
                                            "Write digit_sum."}]
    text, language, filename = chat_prompt(messages)
    assert (language, filename) == ("python", "digit_sum.py") and text.startswith("digit_sum.py\n```python")
    r = client.chat.completions.create(model="run", messages=messages, max_tokens=12, temperature=0)
    content = r.choices[0].message.content
    assert content.startswith("digit_sum.py\n```python\n") and content.endswith("```\n")
    code = content[len("digit_sum.py\n```python\n"):].removesuffix("```\n").removesuffix("\n")
    assert code == _direct(served[1], [text], "python", 12)[0].text.removesuffix("\n")
    stream = client.chat.completions.create(model="run", messages=messages, max_tokens=12, temperature=0, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == content
    assert chunks[-1].usage.completion_tokens == r.usage.completion_tokens


def test_act_and_cycles_are_request_parameters(client):
    def segments(**extra):
        r = client.completions.create(model="run", prompt="Return x.", max_tokens=4, temperature=0, extra_body=extra)
        return r.model_extra["hrmcode"]["choices"][0]

    full = segments(act="max")
    assert full["segments"] == 2 and full["max_segments"] == 2
    one = segments(act="max", max_segments=1)
    assert one["segments"] == 1 and one["token_segments"] == 1.0
    assert segments(act="max", h_cycles=2, l_cycles=1)["segments"] == 2  # more/fewer cycles per segment run


def test_errors_name_the_parameter_as_openai_does(client):
    with pytest.raises(openai.NotFoundError, match="serves 'run'"):
        client.completions.create(model="gpt-4", prompt="x", max_tokens=2)
    with pytest.raises(openai.BadRequestError, match="maximum context length is 640") as e:
        client.completions.create(model="run", prompt="word " * 700, max_tokens=2)
    assert e.value.body["code"] == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError, match="act"):
        client.completions.create(model="run", prompt="x", max_tokens=2, extra_body={"act": "sometimes"})
    with pytest.raises(openai.BadRequestError, match="max_segments"):
        client.completions.create(model="run", prompt="x", max_tokens=2, extra_body={"max_segments": 0})
    with pytest.raises(openai.BadRequestError, match="logprobs is not supported"):
        client.completions.create(model="run", prompt="x", max_tokens=2, logprobs=3)
    with pytest.raises(openai.BadRequestError, match="language"):
        client.completions.create(model="run", prompt="x", max_tokens=2, extra_body={"language": "cobol"})


def test_a_seed_gives_the_same_sample_and_stop_strings_cut(client):
    def sample(seed):
        return client.completions.create(model="run", prompt="Return x.", max_tokens=12, temperature=1.0,
                                         seed=seed).choices[0].text

    assert sample(7) == sample(7)
    full = client.completions.create(model="run", prompt="Return x.", max_tokens=12, temperature=0).choices[0].text
    stop = full[3:5]
    cut = client.completions.create(model="run", prompt="Return x.", max_tokens=12, temperature=0, stop=[stop])
    assert cut.choices[0].text == full[:full.find(stop)] and cut.choices[0].finish_reason == "stop"


def test_concurrent_requests_are_batched_and_answer_as_alone(client, served):
    prompts = [f"Write f{i}: return the number x plus {i}." for i in range(8)]
    alone = [c.text for c in _direct(served[1], prompts, "python", 16)]
    got: dict[int, str] = {}
    rows: list[int] = []
    barrier = threading.Barrier(8)

    def ask(i):
        barrier.wait()
        r = client.completions.create(model="run", prompt=prompts[i], max_tokens=16, temperature=0)
        got[i] = r.choices[0].text
        rows.append(r.model_extra["hrmcode"]["choices"][0]["batch_rows"])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i] for i in range(8)] == alone
    assert max(rows) > 1  # at least some requests shared a batch


def _eval(run_root: Path, out: Path, *model_args: str) -> tuple[list[dict], list[dict], dict]:
    res = runner.invoke(app, ["eval", "builtin", "--data", str(run_root / "data"), "--split", "test",
                              "--max-tasks", "3", "--languages", "python,javascript", "--max-new-tokens", "24",
                              "--out", str(out), "--no-progress", *model_args])
    assert res.exit_code == 0, res.output
    read = [[json.loads(x) for x in (out / f).read_text().splitlines()] for f in ("samples.jsonl", "results.jsonl")]
    return read[0], read[1], json.loads((out / "summary.json").read_text())


def test_eval_over_http_gives_the_same_samples_and_verdicts_as_the_run_itself(served, tmp_path):
    root, run_dir, server = served
    s_hrm, r_hrm, sum_hrm = _eval(root, tmp_path / "hrm", "--backend", "hrm", "--model", str(run_dir))
    s_api, r_api, sum_api = _eval(root, tmp_path / "api", "--backend", "openai", "--model", "run", "--base-url",
                                  server.base_url, "--concurrency", "4")
    assert len(s_hrm) == 6
    assert s_api == s_hrm  # every field: solution, tokens, ACT segments, finished
    assert [(r["task_id"], r["language"], r["verdict"]) for r in r_api] == \
        [(r["task_id"], r["language"], r["verdict"]) for r in r_hrm]
    assert sum_api["generation"]["style"] == "native" and sum_api["generation"]["backend"] == "openai"
    assert sum_hrm["generation"]["backend"] == "hrm" and sum_api["overall"] == sum_hrm["overall"]
    assert sum_api["generation"]["completion_tokens"] == sum(s["generated_tokens"] for s in s_hrm)
    assert sum_api["generation"]["seconds_per_sample"] > 0


def test_a_quantized_run_serves_like_any_other(served, tmp_path):
    from hrmcode.quantize import QuantSpec, quantize_run

    _, run_dir, _ = served
    quantize_run(run_dir, QuantSpec("int8", 32), tmp_path / "q")
    qrun = load_run(tmp_path / "q")
    server = Server(qrun)
    app_ = ThreadedApp(server.app)
    try:
        with OpenAI(base_url=app_.base_url, api_key="x", max_retries=0) as c:
            m = c.models.list().data[0]
            assert m.model_extra["hrmcode"]["weights"] == "int8"
            r = c.completions.create(model=m.id, prompt="Return x.", max_tokens=8, temperature=0)
            assert r.choices[0].text == _direct(tmp_path / "q", ["Return x."], "python", 8)[0].text
    finally:
        app_.stop()
        server.close()


def test_a_canvas_run_serves_its_whole_canvas_and_the_baseline_refuses_act_options(tmp_path):
    from train_fixtures import make_tasks, tiny_config

    from hrmcode.backends.hrm import InferenceOptions, overridden_config
    from hrmcode.train.trainer import train

    cfg = tiny_config(steps=2, eval_every=2, ckpt_every=2, model={"mode": "canvas"})
    train(cfg, tmp_path / "canvas", tasks=make_tasks(), progress=False)
    server = Server(load_run(tmp_path / "canvas"))
    app_ = ThreadedApp(server.app)
    try:
        with OpenAI(base_url=app_.base_url, api_key="x", max_retries=0) as c:
            r = c.completions.create(model="run", prompt="Write f0: return the number x plus 1.", max_tokens=10,
                                     temperature=0)
            want = _direct(tmp_path / "canvas", ["Write f0: return the number x plus 1."], "python", 10)[0]
            assert r.choices[0].text == want.text and r.usage.completion_tokens == want.completion_tokens
            s = c.completions.create(model="run", prompt="Write f0: return the number x plus 1.", max_tokens=10,
                                     temperature=0, stream=True)
            assert "".join(ch.choices[0].text for ch in s) == want.text
            with pytest.raises(openai.BadRequestError, match="per_token needs a causal model"):
                c.completions.create(model="run", prompt="x", max_tokens=2, extra_body={"act": "per_token"})
    finally:
        app_.stop()
        server.close()
    baseline = cfg.model.model_copy(update={"arch": "baseline"})
    with pytest.raises(ValueError, match="the baseline model has no ACT"):
        overridden_config(baseline, InferenceOptions(max_segments=2))
    assert overridden_config(baseline, InferenceOptions()) is baseline
