"""Task records → examples → batches; the slot sampler is deterministic, resumable, epoch-complete."""

from __future__ import annotations

import pytest
from train_fixtures import make_tasks

from hrmcode.data.batching import (
    SlotSampler,
    batch_length,
    build_examples,
    collate,
    curriculum_depth,
    load_tasks,
)
from hrmcode.model.batch import IGNORE
from hrmcode.prompts import prompt_text
from hrmcode.records import RecordError, Task, write_jsonl
from hrmcode.tokenizer import CodeTokenizer

TASKS = make_tasks(30)


@pytest.fixture(scope="module")
def tok() -> CodeTokenizer:
    texts = [t.prompt for t in TASKS] + [c for t in TASKS for c in t.reference.values()]
    return CodeTokenizer.train(texts, 320)


def test_prompt_text_adds_the_starter_code_of_the_language():
    t = Task(task_id="a", prompt="Add one.  ", starter_code={"go": "func f(x int) int {\n}\n"})
    assert prompt_text(t, "go") == "Add one.\nStarter code:\nfunc f(x int) int {\n}\n"
    assert prompt_text(t, "python") == "Add one."


def test_causal_examples_use_the_tokenizer_layout_and_targets_cover_code_and_eos(tok):
    exs, rep = build_examples(TASKS[:3], tok, ["python", "rust"], mode="causal", max_len=200)
    assert rep.examples == 3 and rep.skipped_no_reference == 3  # the fixtures have no rust
    e = exs[0]
    want = tok.encode_causal("python", prompt_text(TASKS[0], "python"), TASKS[0].reference["python"])
    assert list(e.ids) == want.ids and e.prefix_len == want.prefix_len
    b = collate(exs, tok.pad_id, 64)
    assert tuple(b.inputs.shape) == (3, 64)
    row = b.targets[0]
    assert (row != IGNORE).sum() == len(e.ids) - e.prefix_len  # code tokens + <eos>
    assert row[len(e.ids) - 2] == tok.eos_id


def test_too_long_examples_are_counted_not_silently_dropped(tok):
    exs, rep = build_examples(TASKS, tok, ["python"], mode="causal", max_len=20)
    assert rep.examples == len(exs) and rep.skipped_too_long == len(TASKS) - len(exs) > 0
    cexs, crep = build_examples(TASKS[:2], tok, ["python"], mode="canvas", max_len=400, canvas_slots=4)
    assert crep.skipped_too_long == 2 and cexs == []


def test_canvas_examples_have_slot_targets(tok):
    exs, _ = build_examples(TASKS[:2], tok, ["javascript"], mode="canvas", max_len=400, canvas_slots=40)
    b = collate(exs, tok.pad_id, batch_length(exs))
    e = exs[0]
    assert len(e.slot_targets) == 40 and b.targets[0, e.prefix_len:e.prefix_len + 40].tolist() == list(e.slot_targets)


def test_slot_sampler_is_deterministic_resumable_and_covers_each_epoch(tok):
    exs, _ = build_examples(TASKS, tok, ["python"], mode="causal", max_len=200)
    n = len(exs)
    a = SlotSampler(exs, 4, seed=1)
    # Baseline-like use: every slot advances every step → one epoch = every example exactly once.
    draws = [a.next_for_slot(s) for _ in range(-(-n // 4)) for s in range(4)]
    assert sorted(draws[:n]) == list(range(n))
    # ACT-like use: uneven slot consumption, interrupted and resumed from the state dict.
    b, c = SlotSampler(exs, 4, seed=7), SlotSampler(exs, 4, seed=7)
    pattern = [0, 0, 3, 1, 0, 2, 2, 3, 0, 1] * 5
    straight = [b.next_for_slot(s) for s in pattern]
    got = [c.next_for_slot(s) for s in pattern[:17]]
    d = SlotSampler(exs, 4, seed=7)
    d.load_state_dict(c.state_dict())
    got += [d.next_for_slot(s) for s in pattern[17:]]
    assert got == straight
    other = SlotSampler(exs, 4, seed=8)
    assert [other.next_for_slot(s) for s in pattern] != straight  # the seed matters
    with pytest.raises(ValueError, match="train.batch_size=4"):
        SlotSampler(exs, 8, seed=7).load_state_dict(c.state_dict())


def test_curriculum_admits_deeper_tasks_as_training_advances(tok):
    schedule = [(0.0, 1), (0.5, 2)]
    assert curriculum_depth(0.2, schedule) == 1 and curriculum_depth(0.7, schedule) == 2
    exs, _ = build_examples(TASKS, tok, ["python"], mode="causal", max_len=200)
    s = SlotSampler(exs, 2, seed=0, schedule=schedule)
    early = {exs[s.next_for_slot(i % 2, 0.1)].difficulty for i in range(40)}
    late = {exs[s.next_for_slot(i % 2, 0.9)].difficulty for i in range(40)}
    assert early == {1} and late == {1, 2}


def test_load_tasks_reads_a_directory_and_names_the_bad_line(tmp_path):
    write_jsonl(tmp_path / "tasks.jsonl", TASKS[:3])
    assert [t.task_id for t in load_tasks(tmp_path)] == ["t0", "t1", "t2"]
    (tmp_path / "tasks.jsonl").write_text('{"task_id": "x"}\n')
    with pytest.raises(RecordError, match=r"tasks.jsonl:1: prompt"):
        load_tasks(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="hrmcode data build"):
        load_tasks(tmp_path / "empty")


@pytest.mark.parametrize("mode", ["causal", "canvas"])
def test_act_carry_follows_batch_lengths_without_changing_what_a_row_computes(tok, mode):
    """Deep supervision keeps a row's carry across steps while the batch length changes: cutting or
    padding the carry must give the same logits as one fixed, long length for the whole run."""
    import torch

    from hrmcode.config import preset
    from hrmcode.model import build_model

    exs, _ = build_examples(TASKS[:8], tok, ["python"], mode=mode, max_len=400, canvas_slots=96)
    exs = sorted(exs, key=lambda e: len(e.ids))
    short, long = exs[:2], exs[-2:]
    cfg = preset("tiny", mode=mode, vocab_size=tok.vocab_size, hidden=32, heads=2, h_layers=1, l_layers=1,
                 canvas_slots=96, act=dict(halt_max_steps=3))
    torch.manual_seed(0)
    model = build_model(cfg, pad_id=tok.pad_id).eval()
    fixed = max(len(e.ids) for e in exs) + 16
    # step 1: a long and a short row; step 2: the long row halts, a short row joins (length shrinks)
    plan = [[long[0], short[0]], [short[1], short[0]]]

    def run(fit: bool) -> list[torch.Tensor]:
        batch0 = collate(plan[0], tok.pad_id, batch_length(plan[0]) if fit else fixed)
        carry = model.initial_carry(batch0)
        logits = []
        for i, rows in enumerate(plan):
            keep = plan[i - 1][1:] if i else []
            b = collate(rows, tok.pad_id, batch_length(rows + keep) if fit else fixed)
            out = model(carry, b)
            logits.append(out.outputs["logits"])
            carry = out.carry
            carry.halted = torch.tensor([True, False])  # row 0 takes a new sample, row 1 keeps its own
        return logits

    cut, padded = run(fit=True), run(fit=False)
    assert cut[1].shape[1] < padded[1].shape[1] and cut[0].shape[1] > cut[1].shape[1]
    for a, b, rows in zip(cut, padded, plan, strict=True):
        for r, e in enumerate(rows):
            n = len(e.ids)
            torch.testing.assert_close(a[r, :n], b[r, :n], atol=1e-5, rtol=1e-5)


def test_length_grouping_keeps_epochs_whole_and_batches_of_similar_length(tok):
    exs, _ = build_examples(TASKS * 3, tok, ["python", "java"], mode="causal", max_len=400)
    n, B = len(exs), 4
    lengths = [len(e.ids) for e in exs]

    def batches(sampler, steps):
        return [[sampler.next_for_slot(s) for s in range(B)] for _ in range(steps)]

    def spread(bs):  # mean (longest − shortest) within a batch
        return sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in bs) / len(bs)

    assert n % B  # epochs begin mid-batch
    steps = 3 * n // B + 1  # three epochs
    grouped, plain = batches(SlotSampler(exs, B, seed=3, group=4), steps), batches(SlotSampler(exs, B, seed=3), steps)
    flat = [i for b in grouped for i in b]
    for e in range(3):  # every epoch still visits every example exactly once
        assert sorted(flat[e * n:(e + 1) * n]) == list(range(n))
    assert spread(grouped) < 0.5 * spread(plain)
    assert grouped != batches(SlotSampler(exs, B, seed=4, group=4), steps)  # the seed matters
    # resumable: a sampler restored from a state dict continues the same stream
    a = SlotSampler(exs, B, seed=3, group=4)
    head = batches(a, 7)
    b = SlotSampler(exs, B, seed=3, group=4)
    b.load_state_dict(a.state_dict())
    assert head + batches(b, steps - 7) == grouped
