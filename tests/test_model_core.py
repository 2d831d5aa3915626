"""The HRM core: masks and causality in every module call, gradient modes, layers, ACT training step."""

import pytest
import torch

from hrmcode.config import ModelConfig
from hrmcode.model import HRMACT, build_model, canvas_batch, causal_batch, count_parameters, prompt_batch
from hrmcode.model.batch import IGNORE
from hrmcode.model.layers import KVCache, Layout, attention_mask, canvas_slot_index, rms_norm
from hrmcode.tokenizer import CanvasExample, CausalExample


def small_cfg(**kw) -> ModelConfig:
    base = dict(vocab_size=64, hidden=32, heads=2, h_layers=1, l_layers=1, h_cycles=2, l_cycles=2,
                max_seq_len=64, canvas_slots=8, recipe="hrm", act=dict(halt_max_steps=3))
    return ModelConfig.model_validate({**base, **kw})


def record_calls(model: HRMACT) -> list[torch.Tensor]:
    """Every module call's output, in call order (forward hooks on H and L)."""
    outs: list[torch.Tensor] = []
    for level in (model.core.L_level, model.core.H_level):
        level.register_forward_hook(lambda _m, _i, out: outs.append(out))
    return outs


def run_segments(model: HRMACT, batch, n: int) -> list[torch.Tensor]:
    """Run n segments of the core directly, returning every module call's output."""
    outs = record_calls(model)
    core = model.core
    with torch.no_grad():
        x = core.embed_tokens(batch.inputs, batch.layout)
        ctx = core.context(batch.layout, 0, batch.length)
        carry = core.initial_carry(x)
        for _ in range(n):
            carry, _ = core.segment(carry, x, ctx)
        outs.append(core.lm_logits(carry.z_H, batch.inputs, batch.layout))
    return outs


def test_rms_norm_is_fp32_and_unit_rms():
    x = (torch.randn(3, 5, 16) * 100).to(torch.bfloat16)
    y = rms_norm(x)
    assert y.dtype == torch.bfloat16
    assert torch.allclose(y.float().pow(2).mean(-1), torch.ones(3, 5), atol=2e-2)


def test_attention_mask_rules():
    lay = Layout(start=torch.tensor([0, 1]), prefix_end=torch.tensor([2, 3]), end=torch.tensor([4, 4]))
    m = attention_mask(lay, 0, 4, 4, full=False)[:, 0]
    # row 0: prompt [0,2) bidirectional, then causal
    assert m[0].int().tolist() == [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]
    # row 1: no real query sees the left padding at 0 (the padding query's own row is never read)
    assert m[1, 1:].int().tolist() == [[0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 1]]
    assert m[1, 0, 0]  # a padding query sees at least itself: no empty softmax row
    full = attention_mask(lay, 0, 4, 4, full=True)[:, 0]
    assert full[1, 1].int().tolist() == [0, 1, 1, 1]
    assert attention_mask(Layout(*(torch.tensor([v]) for v in (0, 0, 4))), 3, 1, 4, full=False) is None


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_causal_mode_no_module_call_sees_the_future(norm):
    torch.manual_seed(0)
    model = build_model(small_cfg(norm=norm)).eval()
    ids = torch.randint(5, 64, (2, 20))
    prefix = 6
    batch = causal_batch([CausalExample(r, prefix) for r in ids.tolist()], pad_id=0)
    ref = run_segments(model, batch, n=3)
    assert len(ref) == 3 * model.core.n_calls + 1  # every module call of every segment, + logits
    for t in (prefix, 11, 18):  # positions in the code part
        changed = ids.clone()
        changed[:, t + 1:] = torch.randint(5, 64, changed[:, t + 1:].shape)
        model2 = build_model(small_cfg(norm=norm)).eval()
        model2.load_state_dict(model.state_dict())
        outs = run_segments(model2, causal_batch([CausalExample(r, prefix) for r in changed.tolist()], 0), n=3)
        for a, b in zip(ref, outs, strict=True):
            assert torch.allclose(a[:, :t + 1], b[:, :t + 1], atol=1e-5)  # past and present untouched
            assert not torch.allclose(a[:, t + 1:], b[:, t + 1:])  # the future did change


def test_prefix_positions_see_each_other_and_code_sees_only_the_past():
    torch.manual_seed(1)
    model = build_model(small_cfg()).eval()
    ids = torch.randint(5, 64, (1, 16))
    prefix = 6

    def logits(seq):
        return run_segments(model, causal_batch([CausalExample(seq[0].tolist(), prefix)], 0), n=2)[-1]

    ref = logits(ids)
    late_prompt = ids.clone()
    late_prompt[0, prefix - 1] = (ids[0, prefix - 1] + 1 - 5) % 59 + 5
    out = logits(late_prompt)
    assert not torch.allclose(ref[0, 0], out[0, 0])  # the first prompt position saw the last one
    code = ids.clone()
    code[0, 10] = (ids[0, 10] + 1 - 5) % 59 + 5
    out = logits(code)
    assert torch.allclose(ref[0, :10], out[0, :10], atol=1e-5)
    assert not torch.allclose(ref[0, 10], out[0, 10])


def test_canvas_mode_is_bidirectional():
    torch.manual_seed(2)
    model = build_model(small_cfg(mode="canvas")).eval()
    ex = CanvasExample([7, 8, 3, *[4] * 8], 3, [9] * 8)
    ref = run_segments(model, canvas_batch([ex], 0), n=1)[-1]
    ex2 = CanvasExample([7, 8, 3, *[4] * 7, 5], 3, [9] * 8)
    out = run_segments(model, canvas_batch([ex2], 0), n=1)[-1]
    assert not torch.allclose(ref[0, 0], out[0, 0])  # the prompt sees the last slot


def test_canvas_slot_index_counts_from_the_first_slot_in_both_paddings():
    right = Layout(start=torch.tensor([0, 0]), prefix_end=torch.tensor([2, 3]), end=torch.tensor([5, 6]))
    idx, is_slot = canvas_slot_index(right, 7, n_slots=3)
    assert is_slot.int().tolist() == [[0, 0, 1, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1, 0]]
    assert (idx * is_slot).tolist() == [[0, 0, 0, 1, 2, 0, 0], [0, 0, 0, 0, 1, 2, 0]]
    left = Layout(start=torch.tensor([1, 0]), prefix_end=torch.tensor([3, 3]), end=torch.tensor([6, 6]))
    idx, is_slot = canvas_slot_index(left, 6, n_slots=3)
    assert (idx * is_slot).tolist() == [[0, 0, 0, 0, 1, 2]] * 2
    with pytest.raises(ValueError, match="canvas_slots=2"):
        canvas_slot_index(left, 6, n_slots=2)


@pytest.mark.parametrize("arch", ["hrm", "baseline"])
def test_canvas_slots_get_an_index_embedding_counted_as_an_embedding(arch):
    canvas = build_model(small_cfg(arch=arch, mode="canvas"))
    causal = build_model(small_cfg(arch=arch))
    slot = canvas.core.slot_embed if arch == "hrm" else canvas.slot_embed
    assert slot.weight.shape == (8, 32)
    assert count_parameters(canvas)["total"] == count_parameters(causal)["total"] + 8 * 32
    assert count_parameters(canvas)["non_embedding"] == count_parameters(causal)["non_embedding"]


def test_canvas_slots_with_the_same_mask_token_get_different_inputs():
    model = build_model(small_cfg(mode="canvas"))
    batch = canvas_batch([CanvasExample([7, 8, 3, *[4] * 8], 3, [9] * 8)], 0)
    x = model.core.embed_tokens(batch.inputs, batch.layout)
    tokens_only = model.core.embed(batch.inputs) * model.core.embed_scale
    assert torch.equal(x[0, :3], tokens_only[0, :3])  # the prompt has no slot index
    assert torch.equal(tokens_only[0, 3], tokens_only[0, 4])
    assert not torch.allclose(x[0, 3], x[0, 4])
    with pytest.raises(ValueError, match="layout"):
        model.core.embed_tokens(batch.inputs)


def test_canvas_logits_of_a_sample_are_the_same_in_training_and_generation_batches():
    """The right-padded training layout and the left-padded generation layout compute the same canvas."""
    torch.manual_seed(4)
    model = build_model(small_cfg(mode="canvas", act=dict(halt_max_steps=2, inference="max"))).eval()
    short = CanvasExample([10, 11, 3, *[4] * 8], 3, [9] * 8)
    long = CanvasExample([10, 12, 13, 14, 3, *[4] * 8], 5, [9] * 8)
    train = run_segments(model, canvas_batch([short, long], 0), n=2)[-1]  # (2, 13, V), right-padded
    logits, segments = model.infer(prompt_batch([short.ids[:3], long.ids[:5]], 0, n_slots=8, mask_id=4))
    assert segments.tolist() == [2, 2]
    assert torch.allclose(train[0, 3:11], logits[0, 5:], atol=1e-5)
    assert torch.allclose(train[1, 5:13], logits[1, 5:], atol=1e-5)


def test_padding_does_not_change_real_positions():
    torch.manual_seed(3)
    model = build_model(small_cfg()).eval()
    short = CausalExample([10, 11, 3, 20, 21, 1], 3)
    long = CausalExample([10, 12, 13, 14, 3, 22, 1], 5)
    alone = run_segments(model, causal_batch([short], 0), n=2)[-1]
    together = run_segments(model, causal_batch([short, long], 0), n=2)[-1]
    assert torch.allclose(alone[0], together[0, :6], atol=1e-5)


def grad_calls_of(grad_mode: str) -> list[int]:
    """Indices of the module calls (of one segment) whose output receives a gradient."""
    torch.manual_seed(0)
    model = build_model(small_cfg(grad_mode=grad_mode, act=dict(enabled=False, halt_max_steps=2)))
    n_seen = [0]
    got: set[int] = set()

    def on_call(_module, _inputs, out):
        i = n_seen[0]
        n_seen[0] += 1
        if out.requires_grad:  # a graph was built: check that backward really reaches it
            out.register_hook(lambda g: got.add(i) if g.abs().sum() > 0 else None)

    for level in (model.core.L_level, model.core.H_level):
        level.register_forward_hook(on_call)
    batch = causal_batch([CausalExample([5, 6, 3, 7, 8, 1], 3)], 0)
    out = model(model.initial_carry(batch), batch)
    assert n_seen[0] == model.core.n_calls == 6  # L L H L L H
    out.loss.backward()
    # parameters follow the calls: H always trains; L and the embedding (injected into L calls only)
    # train exactly when an L call is inside the gradient window
    l_in_window = bool(got & {0, 1, 3, 4})
    assert model.core.H_level.layers[0].mlp.down.weight.grad is not None
    assert (model.core.L_level.layers[0].mlp.down.weight.grad is not None) == l_in_window
    assert (model.core.embed.weight.grad is not None) == l_in_window
    return sorted(got)


def test_gradient_modes_reach_exactly_the_right_module_calls():
    # calls of one segment with H_cycles=2, L_cycles=2: 0 L, 1 L, 2 H, 3 L, 4 L, 5 H
    assert grad_calls_of("one_step") == [4, 5]  # the final L and the final H
    assert grad_calls_of("last_cycle") == [3, 4, 5]  # the whole last H cycle
    assert grad_calls_of("truncated:4") == [2, 3, 4, 5]
    assert grad_calls_of("truncated:1") == [5]
    assert grad_calls_of("truncated:99") == [0, 1, 2, 3, 4, 5]


def test_act_training_step_keeps_unhalted_slots_and_refills_halted_ones():
    torch.manual_seed(0)
    model = build_model(small_cfg(act=dict(halt_max_steps=2, exploration_prob=0.0))).train()
    a = causal_batch([CausalExample([5, 6, 3, 7, 8, 1], 3)] * 2, 0)
    b = causal_batch([CausalExample([9, 9, 9, 3, 10, 1], 4)] * 2, 0)
    carry = model.initial_carry(a)
    out = model(carry, a)
    assert out.carry.steps.tolist() == [1, 1] and not out.all_halted  # q-head init says "continue"
    out2 = model(out.carry, b)  # slots are still on `a`: the new batch is not taken
    assert torch.equal(out2.carry.data.inputs, a.inputs)
    assert out2.all_halted and out2.carry.steps.tolist() == [2, 2]  # halt_max_steps reached
    out3 = model(out2.carry, b)  # every slot halted: refilled from `b`, restarted
    assert torch.equal(out3.carry.data.inputs[:, :6], b.inputs) and out3.carry.steps.tolist() == [1, 1]
    for key in ("lm_loss", "q_halt_loss", "q_continue_loss", "q_halt_accuracy", "halting_rate", "mean_steps"):
        assert torch.isfinite(out3.metrics[key])
    out3.loss.backward()
    assert model.core.q_head.weight.grad is not None and model.core.q_head.weight.grad.abs().sum() > 0


def test_q_targets_and_loss_follow_the_spec():
    torch.manual_seed(0)
    model = build_model(small_cfg(act=dict(halt_max_steps=3, exploration_prob=0.0, q_loss_weight=0.5))).train()
    batch = causal_batch([CausalExample([5, 6, 3, 7, 8, 1], 3)], 0)
    out = model(model.initial_carry(batch), batch)
    m = out.metrics
    assert torch.allclose(out.loss, m["lm_loss"] + 0.5 * (m["q_halt_loss"] + m["q_continue_loss"]))
    # the untrained model is not exactly right, so q_halt's target is 0 and its loss is softplus(-5)
    assert m["exact_accuracy"] == 0
    assert torch.allclose(m["q_halt_loss"], torch.nn.functional.softplus(torch.tensor(-5.0)), atol=1e-4)


def test_variable_length_batches_across_act_calls():
    model = build_model(small_cfg(act=dict(halt_max_steps=3, exploration_prob=0.0))).train()
    a = causal_batch([CausalExample([5, 6, 3, 7, 1], 3)], 0)
    b = causal_batch([CausalExample([5, 6, 7, 8, 3, 7, 8, 9, 1], 5)], 0)
    out = model(model.initial_carry(a), a)
    out = model(out.carry, b)  # longer batch while the slot still works on `a`
    assert out.carry.data.length == 9 and torch.equal(out.carry.data.inputs[0, :5], a.inputs[0])
    assert out.carry.data.targets[0, 5:].eq(IGNORE).all()
    with pytest.raises(ValueError, match="batch has 2 rows but the carry has 1 slots"):
        model(out.carry, causal_batch([CausalExample([5, 3, 1], 2)] * 2, 0))


def test_kv_cache_rows_and_copy():
    c = KVCache(3, 2, 8, 4, torch.float32, "cpu")
    k = torch.ones(2, 2, 1, 4)
    keys, _ = c.write(5, k, k * 2, rows=torch.tensor([0, 2]))
    assert keys.shape == (2, 2, 6, 4) and c.k[1].abs().sum() == 0
    d = KVCache(3, 2, 8, 4, torch.float32, "cpu")
    d.copy_from(c, torch.tensor([2]), 5)
    assert d.k[2, :, 5].eq(1).all() and d.v[2, :, 5].eq(2).all() and d.k[0].abs().sum() == 0


def test_stablemax_loss_trains():
    torch.manual_seed(0)
    model = build_model(small_cfg(loss="stablemax", act=dict(enabled=False, halt_max_steps=1)))
    batch = causal_batch([CausalExample([5, 6, 3, 7, 8, 1], 3)], 0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(12):
        out = model(model.initial_carry(batch), batch)
        out.loss.backward()
        opt.step()
        opt.zero_grad()
        first = first if first is not None else out.loss.item()
    assert out.loss.item() < 0.5 * first


def test_correctness_q_target_runs_one_segment_per_step_and_halts_when_q_halt_is_positive():
    """TRM's ACT: no bootstrap segment in training; halting is q_halt > 0 in training and inference."""
    torch.manual_seed(0)
    batch = causal_batch([CausalExample([5, 6, 3, 7, 8, 1], 3)] * 2, 0)
    calls = {}
    for target in ("bootstrap", "correctness"):
        model = build_model(small_cfg(act=dict(halt_max_steps=3, exploration_prob=0.0, q_target=target))).train()
        outs = record_calls(model)
        out = model(model.initial_carry(batch), batch)
        calls[target] = len(outs)
        assert ("q_continue_loss" in out.metrics) == (target == "bootstrap")
    per_segment = 2 * (2 + 1)  # h_cycles × (l_cycles L calls + 1 H call)
    assert calls == {"bootstrap": 2 * per_segment, "correctness": per_segment}

    model = build_model(small_cfg(act=dict(halt_max_steps=3, q_target="correctness"))).eval()
    prompts = causal_batch([CausalExample([5, 6, 3], 3)], 0)
    with torch.no_grad():
        model.core.q_head.bias.copy_(torch.tensor([1.0, 5.0]))  # q_halt > 0 although q_continue is larger
    assert model.infer(prompts)[1].tolist() == [1]
    with torch.no_grad():
        model.core.q_head.bias.copy_(torch.tensor([-1.0, -5.0]))  # q_halt < 0 although above q_continue
    assert model.infer(prompts)[1].tolist() == [3]


@pytest.mark.parametrize("arch", ["hrm", "baseline", "looped"])
@pytest.mark.parametrize("loss", ["softmax", "stablemax"])
def test_training_runs_the_output_layer_only_at_targets_and_gets_the_same_loss_and_gradient(arch, loss, monkeypatch):
    # Training (model.train()) computes logits only where a target is; eval computes them all. The
    # loss, its gradient and the statistics must not change: compare a training step against the
    # same weights and batch through the full-logits path.
    import hrmcode.model.act as act_mod
    import hrmcode.model.transformer as tr_mod

    torch.manual_seed(0)
    cfg = small_cfg(arch=arch, recipe="lm", loss=loss, tie_embeddings=arch == "baseline")
    model = build_model(cfg).train()
    batch = causal_batch([CausalExample([5, 6, 3, 7, 8, 9, 1], 3), CausalExample([5, 3, 7, 1], 2)], 0)
    assert (batch.targets == IGNORE).any()  # prompt and padding positions are in the batch

    def step():
        model.zero_grad(set_to_none=True)
        out = model(model.initial_carry(batch), batch)
        out.loss.backward()
        return out, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    sparse, g_sparse = step()
    mod = tr_mod if arch == "baseline" else act_mod  # the eval path's full logits, with the training graph
    targets_only = mod.lm_outputs
    monkeypatch.setattr(mod, "lm_outputs", lambda head, h, t, k, full: targets_only(head, h, t, k, full=True))
    full, g_full = step()
    monkeypatch.undo()
    assert "logits" not in sparse.outputs and full.outputs["logits"].shape[:2] == batch.targets.shape
    assert torch.allclose(sparse.loss, full.loss, atol=1e-6)
    for k in ("accuracy", "exact_accuracy"):
        assert torch.equal(sparse.metrics[k], full.metrics[k])
    assert g_sparse.keys() == g_full.keys() and g_sparse
    for n in g_full:
        assert torch.allclose(g_sparse[n], g_full[n], atol=1e-6), n
    model.eval()
    with torch.no_grad():
        assert model(model.initial_carry(batch), batch).outputs["logits"].shape[-1] == cfg.vocab_size
