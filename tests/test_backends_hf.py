"""The Hugging Face backend on a GPT-2-style model built here (no download): a real byte-level BPE
tokenizer and a tiny model trained to recite HumanEval/0's canonical body, then every benchmark
command with `--backend hf`: the benchmark's prompts go in, verdicts come out."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

transformers = pytest.importorskip("transformers", reason="the hf backend needs transformers (pip install 'hrmcode[hf]')")

from hrmcode.backends import BackendError, HFBackend, Job  # noqa: E402
from hrmcode.benchmarks.builtin.prompts import builtin_prompt  # noqa: E402
from hrmcode.benchmarks.humaneval import data as he  # noqa: E402
from hrmcode.benchmarks.humaneval.prompts import humaneval_prompt  # noqa: E402
from hrmcode.cli import app  # noqa: E402
from hrmcode.generate import SamplingConfig  # noqa: E402
from hrmcode.records import Verdict  # noqa: E402

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures"
EOS = "<|endoftext|>"
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def _tokenizer(texts: list[str]) -> transformers.PreTrainedTokenizerFast:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=800, special_tokens=[EOS], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=EOS)


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory):
    """A 2-layer GPT-2 that has memorised HumanEval/0's canonical completion after its prompt."""
    root = tmp_path_factory.mktemp("hf")
    tasks, _ = he.load_tasks()
    ft = _tokenizer([t.reference["python"] for t in tasks])
    t0 = tasks[0]
    # prompt and body tokenized apart, as generation will see the prompt
    ids = ft(t0.prompt)["input_ids"] + ft(t0.reference["python"][len(t0.prompt):])["input_ids"] + [ft.eos_token_id]
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(vocab_size=len(ft), n_positions=512, n_embd=64, n_layer=2, n_head=2,
                                  bos_token_id=ft.eos_token_id, eos_token_id=ft.eos_token_id)
    model = transformers.GPT2LMHeadModel(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x = torch.tensor([ids])
    for _ in range(150):
        model(input_ids=x, labels=x).loss.backward()
        opt.step()
        opt.zero_grad()
    model.save_pretrained(root / "gpt2")
    ft.save_pretrained(root / "gpt2")
    # HumanEval/0 (memorised) and HumanEval/2 (not) as a small data file
    data = root / "HumanEval.jsonl.gz"
    with gzip.open(data, "wt") as fh:
        for t in (tasks[0], tasks[2]):
            fh.write(json.dumps({"task_id": t.task_id, "prompt": t.prompt, "entry_point": t.meta["entry_point"],
                                 "canonical_solution": t.reference["python"][len(t.prompt):],
                                 "test": t.meta["test"]}) + "\n")
    return root


def _read(out: Path, name: str) -> list[dict]:
    return [json.loads(x) for x in (out / name).read_text().splitlines()]


def _eval(*args: str) -> None:
    res = runner.invoke(app, ["eval", *args, "--no-progress"])
    assert res.exit_code == 0, res.output


def test_humaneval_completion_prompt_in_the_memorised_body_out_and_a_pass(tiny_gpt2, tmp_path):
    out = tmp_path / "he"
    _eval("humaneval", "--data", str(tiny_gpt2 / "HumanEval.jsonl.gz"), "--backend", "hf",
          "--model", str(tiny_gpt2 / "gpt2"), "--max-new-tokens", "100", "--out", str(out))
    samples, results = _read(out, "samples.jsonl"), _read(out, "results.jsonl")
    tasks, _ = he.load_tasks()
    assert samples[0]["solution"] == tasks[0].reference["python"][len(tasks[0].prompt):]
    assert {r["task_id"]: r["passed"] for r in results} == {"HumanEval/0": True, "HumanEval/2": False}
    gen = json.loads((out / "summary.json").read_text())["generation"]
    assert (gen["backend"], gen["style"], gen["samples"]) == ("hf", "completion", 2)
    assert gen["completion_tokens"] == sum(s["generated_tokens"] for s in samples) > 0
    assert "## Generation" in (out / "report.md").read_text()


def test_builtin_livecodebench_and_polyglot_run_through_the_hf_backend(tiny_gpt2, tmp_path):
    from hrmcode.benchmarks.builtin.generate import build

    build(0, 120, tmp_path / "suite")
    model = ["--backend", "hf", "--model", str(tiny_gpt2 / "gpt2"), "--max-new-tokens", "16"]
    _eval("builtin", "--data", str(tmp_path / "suite"), "--split", "test", "--max-tasks", "2",
          "--languages", "python,go", *model, "--out", str(tmp_path / "b"))
    samples, results = _read(tmp_path / "b", "samples.jsonl"), _read(tmp_path / "b", "results.jsonl")
    assert len(samples) == len(results) == 4
    tasks = {json.loads(x)["task_id"]: json.loads(x) for x in (tmp_path / "suite" / "tasks.jsonl").read_text().splitlines()}
    for s in samples:  # a base model continues the signature: the solution starts with it
        head = tasks[s["task_id"]]["starter_code"][s["language"]].splitlines()[0]
        assert s["solution"].startswith(head if s["language"] == "python" else head.split("(")[0])
    assert all(Verdict(r["verdict"]) for r in results)

    _eval("livecodebench", "--data", str(FIXTURES / "livecodebench"), "--release", "v1", "--k", "1",
          *model, "--out", str(tmp_path / "l"))
    summary = json.loads((tmp_path / "l" / "summary.json").read_text())
    assert summary["problems"]["graded"] == summary["problems"]["selected"] > 0
    assert summary["generation"]["style"] == "completion" and summary["extraction"] == "upstream"

    _eval("polyglot", "--data", str(FIXTURES / "polyglot"), "--languages", "python", *model,
          "--out", str(tmp_path / "p"))
    (r,) = _read(tmp_path / "p", "results.jsonl")
    assert r["task_id"] == "python/digit-sum" and not r["passed"] and len(r["tries"]) == 2  # both tries asked


def test_a_chat_template_makes_it_a_chat_model(tiny_gpt2, tmp_path):
    ft = transformers.AutoTokenizer.from_pretrained(tiny_gpt2 / "gpt2", local_files_only=True)
    ft.chat_template = CHAT_TEMPLATE
    model_dir = tmp_path / "chat"
    transformers.AutoModelForCausalLM.from_pretrained(tiny_gpt2 / "gpt2", local_files_only=True).save_pretrained(model_dir)
    ft.save_pretrained(model_dir)
    backend = HFBackend(model_dir)
    assert backend.style == "chat" and HFBackend(model_dir, api="completions").style == "completion"
    tasks, _ = he.load_tasks()
    job = Job(humaneval_prompt(tasks[0]))
    assert backend._text(job).startswith("<|user|>\nComplete the following Python function.")
    (_, comp), = list(backend.generate([job], SamplingConfig(max_new_tokens=4)))
    assert comp.prompt_tokens > 0 and comp.completion_tokens >= 1


def test_no_download_a_path_that_is_not_a_model_is_an_error(tmp_path):
    with pytest.raises(BackendError, match="config.json missing.*never downloads"):
        HFBackend(tmp_path / "gpt2")
    with pytest.raises(BackendError, match="config.json missing"):
        HFBackend("gpt2")  # a hub name is not a local directory: refused, not fetched


def test_sampled_batches_are_reproducible_by_seed(tiny_gpt2):
    backend = HFBackend(tiny_gpt2 / "gpt2", batch_size=2)
    task = {"task_id": "x", "prompt": "Write f.", "starter_code": {"python": "def f(n: int) -> int:\n    pass\n"}}
    from hrmcode.records import Task

    jobs = [Job(builtin_prompt(Task(**task), "python"), i) for i in range(3)]
    s = SamplingConfig(max_new_tokens=8, temperature=1.0, seed=11)
    a = dict(backend.generate(jobs, s))
    b = dict(backend.generate(jobs, s))
    assert [a[i].text for i in range(3)] == [b[i].text for i in range(3)]
