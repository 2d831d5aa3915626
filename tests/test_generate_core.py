"""Decoding: the KV cache matches recomputation, ACT early exit is real and counted, sampling is seeded."""

import math

import pytest
import torch

from hrmcode.config import ModelConfig
from hrmcode.generate import SamplingConfig, generate, sample_next
from hrmcode.model import build_model, prompt_batch
from hrmcode.model.batch import Batch
from hrmcode.model.common import DecodeState

PROMPTS = [[6, 10, 11, 12, 3], [7, 13, 3], [8, 14, 15, 16, 17, 18, 3]]


def cfg(**kw) -> ModelConfig:
    base = dict(vocab_size=64, hidden=32, heads=2, h_layers=1, l_layers=1, h_cycles=2, l_cycles=2,
                max_seq_len=96, canvas_slots=12, recipe="hrm", act=dict(halt_max_steps=3, inference="per_sequence"))
    base.update(kw)
    return ModelConfig.model_validate(base)


def cached_decode(model, prompts, n: int) -> tuple[torch.Tensor, torch.Tensor, DecodeState]:
    """Greedy decode n tokens with the KV cache (not stopping at <eos>); logits per step."""
    batch = prompt_batch(prompts, pad_id=0)
    logits, state = model.start_decode(batch, batch.length + n)
    steps, toks = [logits], []
    for i in range(n):
        tok = logits.argmax(-1)
        toks.append(tok)
        if i < n - 1:
            logits = model.decode_step(state, tok)
            steps.append(logits)
    return torch.stack(steps, 1), torch.stack(toks, 1), state


def full_logits(model, prompts, toks: torch.Tensor) -> torch.Tensor:
    """Recompute from scratch over prompt + generated: logits that predicted each generated token."""
    batch = prompt_batch(prompts, pad_id=0)
    inputs = torch.cat([batch.inputs, toks], 1)
    full = Batch(inputs, torch.full_like(inputs, -100), batch.start, batch.prefix_end,
                 torch.full_like(batch.end, inputs.shape[1]))
    logits, _ = model.infer(full)
    P = batch.length
    return logits[:, P - 1:P - 1 + toks.shape[1]]


@pytest.mark.parametrize(("arch", "recipe"), [("hrm", "hrm"), ("hrm", "lm"), ("baseline", "hrm"),
                                               ("baseline", "lm")])
def test_kv_cache_greedy_matches_full_recomputation_over_64_tokens(arch, recipe):
    torch.manual_seed(0)
    # the lm recipe: one segment, z_H from the embeddings, pre-norm (a KV cache per module call)
    over = {"recipe": recipe, "act": {}} if recipe == "lm" else {}
    model = build_model(cfg(arch=arch, **over)).eval()
    cached, toks, _ = cached_decode(model, PROMPTS, 70)
    ref = full_logits(model, PROMPTS, toks)
    assert toks.shape == (3, 70)
    assert (ref - cached).abs().max() < 1e-4
    assert torch.equal(ref.argmax(-1), toks)  # greedy over the recomputed logits picks the same tokens
    # and the generate() loop without a cache (one full forward per token) agrees token for token
    s = SamplingConfig(max_new_tokens=20)
    with_cache = generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=s)
    without = generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=s, use_cache=False)
    assert with_cache.tokens == without.tokens


def test_kv_cache_matches_with_rows_halting_at_different_segments():
    torch.manual_seed(0)
    model = build_model(cfg(act=dict(halt_max_steps=4, inference="per_sequence"))).eval()
    prompts = [[5 + i, 10 + i, 20 + 2 * i, 3] for i in range(8)]
    with torch.no_grad():  # a q-head that disagrees across prompts, so rows exit at different depths
        model.core.q_head.weight.normal_(0, 3.0)
        model.core.q_head.bias.zero_()
    cached, toks, state = cached_decode(model, prompts, 64)
    depth = state.prefill_segments
    assert len(set(depth.tolist())) > 1, "test needs rows that halt at different segments"
    assert torch.equal(state.token_segments, depth * 63)  # every token runs its prompt's depth
    assert (full_logits(model, prompts, toks) - cached).abs().max() < 1e-4
    _, seg = model.infer(prompt_batch(prompts, 0))
    assert torch.equal(seg, depth)


def count_module_calls(model) -> list[int]:
    calls = [0]
    for level in (model.core.L_level, model.core.H_level):
        level.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def force_q(model, halt: bool) -> None:
    with torch.no_grad():
        model.core.q_head.weight.zero_()
        model.core.q_head.bias.copy_(torch.tensor([10.0, -10.0] if halt else [-10.0, 10.0]))


@pytest.mark.parametrize("inference", ["per_sequence", "per_token"])
@pytest.mark.parametrize("halt", [True, False])
def test_forced_halt_runs_one_segment_and_forced_continue_runs_the_max(inference, halt):
    model = build_model(cfg(act=dict(halt_max_steps=4, inference=inference))).eval()
    force_q(model, halt)
    calls = count_module_calls(model)
    n_tokens = 5
    _, _, state = cached_decode(model, PROMPTS, n_tokens)
    want = 1 if halt else 4
    prompt_depth = 4 if inference == "per_token" else want  # per-token mode runs the prompt fully
    assert state.prefill_segments.tolist() == [prompt_depth] * 3
    assert state.token_segments.tolist() == [want * (n_tokens - 1)] * 3
    # the counter is the truth: module calls actually executed (6 per segment, batch-wide here)
    assert calls[0] == 6 * (prompt_depth + want * (n_tokens - 1))


@pytest.mark.parametrize("inference,q_target", [("per_token", "bootstrap"), ("per_token", "correctness"),
                                                ("per_sequence", "correctness")])
def test_halt_threshold_sets_how_sure_the_q_head_must_be(inference, q_target):
    # every position's q-head says "right with probability 0.7" (q_halt = logit 0.7, q_continue 0)
    segs = {}
    for threshold in (0.5, 0.6, 0.8, 0.95):
        model = build_model(cfg(act=dict(halt_max_steps=4, inference=inference, q_target=q_target,
                                          halt_threshold=threshold))).eval()
        with torch.no_grad():
            model.core.q_head.weight.zero_()
            model.core.q_head.bias.copy_(torch.tensor([math.log(0.7 / 0.3), 0.0]))
        _, _, state = cached_decode(model, PROMPTS, 5)
        segs[threshold] = state.token_segments.tolist()
    assert segs[0.5] == segs[0.6] == [4] * 3  # 0.7 > threshold: every token stops after segment 1
    assert segs[0.8] == segs[0.95] == [16] * 3  # not sure enough: every token runs all 4 segments


def test_per_token_exit_equals_a_one_segment_decode_when_every_token_halts():
    torch.manual_seed(0)
    per_token = build_model(cfg(act=dict(halt_max_steps=3, inference="per_token"))).eval()
    force_q(per_token, halt=True)
    reference = build_model(cfg(act=dict(halt_max_steps=3, inference="max"))).eval()
    reference.load_state_dict(per_token.state_dict())
    a, _, _ = cached_decode(per_token, PROMPTS, 12)
    b, _, _ = cached_decode(reference, PROMPTS, 12)
    # the prompt runs 3 segments in both; halted tokens reuse their segment-1 keys/values later on
    assert torch.allclose(a[:, 0], b[:, 0], atol=1e-5)
    assert not torch.allclose(a[:, 1:], b[:, 1:], atol=1e-3)  # the tokens themselves ran 1 vs 3 segments


@pytest.mark.parametrize("halt", [True, False])
def test_canvas_early_exit(halt):
    model = build_model(cfg(mode="canvas", act=dict(halt_max_steps=5, inference="per_sequence"))).eval()
    force_q(model, halt)
    calls = count_module_calls(model)
    g = generate(model, PROMPTS, eos_id=1, pad_id=0, mask_id=4)
    want = 1 if halt else 5
    assert g.prefill_segments == [want] * 3 and calls[0] == 6 * want
    assert all(len(t) <= 12 for t in g.tokens)


def test_canvas_reads_at_most_max_new_tokens_slots():
    torch.manual_seed(5)
    model = build_model(cfg(mode="canvas")).eval()
    full = generate(model, PROMPTS, eos_id=1, pad_id=0, mask_id=4, sampling=SamplingConfig(max_new_tokens=64))
    short = generate(model, PROMPTS, eos_id=1, pad_id=0, mask_id=4, sampling=SamplingConfig(max_new_tokens=5))
    assert short.tokens == [t[:5] for t in full.tokens]
    assert short.finished == [f and len(t) < 5 for t, f in zip(full.tokens, full.finished, strict=True)]
    assert any(len(t) == 5 for t in short.tokens)  # the cut is exercised


def test_act_inference_max_always_runs_halt_max_steps():
    model = build_model(cfg(act=dict(halt_max_steps=3, inference="max"))).eval()
    force_q(model, halt=True)
    _, seg = model.infer(prompt_batch(PROMPTS, 0))
    assert seg.tolist() == [3, 3, 3]


def test_seeded_sampling_is_deterministic():
    torch.manual_seed(0)
    model = build_model(cfg()).eval()
    s = SamplingConfig(max_new_tokens=24, temperature=1.0, top_p=0.9, seed=7)
    a = generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=s)
    b = generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=s)
    c = generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=SamplingConfig(24, 1.0, 0.9, seed=8))
    assert a.tokens == b.tokens
    assert a.tokens != c.tokens


def test_top_p_keeps_only_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    g = torch.Generator().manual_seed(0)
    draws = {int(sample_next(logits, 1.0, 0.7, g)) for _ in range(200)}
    assert draws == {0, 1}
    assert int(sample_next(logits, 0.0, 1.0, None)) == 0


def test_generation_stops_at_eos_and_checks_lengths():
    torch.manual_seed(0)
    model = build_model(cfg(arch="baseline")).eval()
    eos_bias = torch.zeros(64)
    eos_bias[1] = 1e3  # make <eos> (id 1) the greedy choice everywhere
    model.lm_head.register_forward_hook(lambda _m, _i, out: out + eos_bias)
    g = generate(model, PROMPTS, eos_id=1, pad_id=0)
    assert g.tokens == [[], [], []] and g.finished == [True] * 3
    with pytest.raises(ValueError, match="max_seq_len=96"):
        generate(model, [[5] * 96 + [3]], eos_id=1, pad_id=0)


def test_generation_is_cut_at_max_seq_len_and_says_unfinished():
    torch.manual_seed(0)
    model = build_model(cfg(arch="baseline", max_seq_len=16)).eval()
    eos_bias = torch.zeros(64)
    eos_bias[1] = -1e3  # never <eos>
    model.lm_head.register_forward_hook(lambda _m, _i, out: out + eos_bias)
    g = generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=SamplingConfig(max_new_tokens=200))
    assert [len(t) for t in g.tokens] == [9] * 3 and g.finished == [False] * 3
