"""The copy (pointer) head: its mixture, its KV-cache twin, and that it learns to copy what it never saw."""

import math

import pytest
import torch
from test_generate_core import PROMPTS, cached_decode, full_logits

from hrmcode.config import ModelConfig
from hrmcode.generate import SamplingConfig, generate
from hrmcode.model import build_model
from hrmcode.model.batch import IGNORE, Batch
from hrmcode.model.copy_head import CopyHead, history, mix


def cfg(**kw) -> ModelConfig:
    base = dict(vocab_size=64, hidden=32, heads=2, h_layers=1, l_layers=1, h_cycles=2, l_cycles=2,
                max_seq_len=96, recipe="lm", copy_head=True)
    base.update(kw)
    return ModelConfig.model_validate(base)


def test_mix_adds_each_valid_positions_mass_to_its_token():
    gen = torch.tensor([[0.0, 1.0, 2.0, -1.0]])
    scores = torch.tensor([[0.5, 3.0, -2.0]])
    values = torch.tensor([[2, 0, 2]])
    valid = torch.tensor([[True, True, False]])
    p = mix(gen, scores, values, valid).softmax(-1)[0]
    want = gen[0].exp().clone()
    want[2] += math.exp(0.5)  # position 0 offers token 2; position 2 is not valid
    want[0] += math.exp(3.0)
    assert torch.allclose(p, want / want.sum(), atol=1e-6)
    # no valid position: the generator's distribution alone
    none = mix(gen, scores, values, torch.zeros_like(valid)).softmax(-1)
    assert torch.allclose(none, gen.softmax(-1), atol=1e-6)


def test_match_terms_weigh_each_length_of_matching_run():
    torch.manual_seed(0)
    head = CopyHead(8, 4, match=True, match_len=3)
    with torch.no_grad():
        head.query.weight.zero_()  # the match terms alone
        head.match.weight.zero_()
        head.match.bias.copy_(torch.tensor([1.0, 10.0, 100.0]))
    ids = torch.tensor([[7, 3, 5, 9, 3, 5, 2, 3, 5]])  # the query (last) is 3 5; the key at 2 is 7 3 5
    past = history(ids, 3)
    h = torch.randn(1, 9, 8)
    s = head.scores(h[:, -1:], head.key(h), past, past[:, -1:])[0, 0]
    # runs of matching tokens ending at each position: 5 ↔ 5 at 2 and 5; 3 5 at 2 and 5; 9 3 5 ≠ 3 3 5
    # at 5, 7 3 5 ≠ 2 3 5 at 2: so 1 + 10 at both, nothing elsewhere (the query itself too: 1 + 10 + 100)
    assert s.tolist() == [0, 0, 11, 0, 0, 11, 0, 0, 111]
    ids[0, 3] = 2  # now position 5 ends the run 2 3 5, as the query does
    past = history(ids, 3)
    s = head.scores(h[:, -1:], head.key(h), past, past[:, -1:])[0, 0]
    assert s[5] == 111 and s[2] == 11


def test_the_score_cap_bounds_the_learned_pointer_and_leaves_the_match_terms_whole():
    torch.manual_seed(0)
    head = CopyHead(8, 4, match=True, match_len=2, cap=2.0)
    with torch.no_grad():
        head.query.weight.mul_(50.0)
        head.match.weight.zero_()
        head.match.bias.copy_(torch.tensor([3.0, 4.0]))
    ids = torch.tensor([[4, 6, 1, 4, 6]])
    past, h = history(ids, 2), torch.randn(1, 5, 8)
    s = head.scores(h, head.key(h), past, past)[0]
    qk = head.query(h) @ head.key(h).transpose(-1, -2) * head.scale
    assert qk[0].abs().max() > 10  # uncapped, the pointer would dwarf the match terms
    match = (s - 2.0 * torch.tanh(qk[0] / 2.0)).detach()
    # 4 6 ↔ 4 6: both terms; 4 ↔ 4 after 6 ≠ after nothing: one; 4 6 ↔ 1: none
    assert [round(float(match[4, 1])), round(float(match[3, 0])), round(float(match[4, 2]))] == [7, 3, 0]
    assert torch.allclose(match, match.round(), atol=1e-5) and (s - match).abs().max() < 2.0


def test_the_score_floor_keeps_the_learned_pointer_above_it_and_leaves_large_scores_alone():
    torch.manual_seed(0)
    head = CopyHead(8, 4, match=True, match_len=2, cap=10.0, floor=0.0)
    with torch.no_grad():
        head.query.weight.mul_(50.0)
    h = torch.randn(1, 6, 8)
    raw = 10.0 * torch.tanh(head.query(h) @ head.key(h).transpose(-1, -2) * head.scale / 10.0)
    s = head.pointer(h, head.key(h))
    assert raw.min() < -5 and (s > 0).all()  # what was pushed far down now sits just above the floor
    big = raw > 8
    assert big.any() and torch.allclose(s[big], raw[big], atol=1e-3)  # large scores keep their value
    assert (s >= raw).all()


def test_fixed_match_weights_are_one_learned_scalar_per_run_length_whatever_the_state():
    torch.manual_seed(0)
    head = CopyHead(8, 4, match=True, match_len=3, match_weights="fixed")
    assert head.match is None and head.match_fixed.requires_grad
    assert not any(p.shape == (3, 8) for p in head.parameters())  # no state-to-weight map
    with torch.no_grad():
        head.query.weight.zero_()  # the match terms alone
        head.match_fixed.copy_(torch.tensor([1.0, 10.0, 100.0]))
    ids = torch.tensor([[7, 3, 5, 9, 3, 5, 2, 3, 5]])
    past = history(ids, 3)
    for scale in (1.0, -40.0):  # any query state, also one far from training's: the same weights
        h = torch.randn(1, 9, 8) * scale
        s = head.scores(h[:, -1:], head.key(h), past, past[:, -1:])[0, 0]
        assert s.tolist() == [0, 0, 11, 0, 0, 11, 0, 0, 111]
    # and they learn: the loss of copying what followed the match moves them
    s = head.scores(h[:, -1:], head.key(h), past, past[:, -1:])[0, 0]
    torch.nn.functional.cross_entropy(s[:-1].unsqueeze(0), torch.tensor([2])).backward()
    assert head.match_fixed.grad is not None and head.match_fixed.grad[:2].abs().min() > 0
    with pytest.raises(ValueError, match="match_weights must be one of .*'fxied'"):  # not a head without match terms
        CopyHead(8, 4, match=True, match_weights="fxied")


@pytest.mark.parametrize(("arch", "match", "match_len", "cap", "weights"), [
    ("baseline", True, 2, None, "state"), ("hrm", True, 2, None, "state"), ("looped", True, 2, None, "state"),
    ("baseline", False, 2, None, "state"), ("hrm", False, 2, None, "state"), ("baseline", True, 4, 5.0, "state"),
    ("hrm", True, 4, 5.0, "state"), ("baseline", True, 4, 10.0, "fixed"), ("hrm", True, 4, 10.0, "fixed")])
def test_kv_cache_matches_recomputation_with_the_copy_head(arch, match, match_len, cap, weights):
    torch.manual_seed(0)
    model = build_model(cfg(arch=arch, copy_match=match, copy_match_len=match_len, copy_score_cap=cap,
                            copy_match_weights=weights)).eval()
    head = model.copy if arch == "baseline" else model.core.copy
    with torch.no_grad():  # a pointer strong enough to matter: copied tokens win the argmax often
        head.query.weight.mul_(8.0)
        if head.match is not None:  # and long matches that count
            head.match.bias.add_(torch.linspace(0.5, 3.0, match_len))
        if head.match_fixed is not None:
            head.match_fixed.add_(torch.linspace(0.5, 3.0, match_len))
    cached, toks, _ = cached_decode(model, PROMPTS, 40)
    ref = full_logits(model, PROMPTS, toks)
    assert (ref - cached).abs().max() < 1e-4
    assert torch.equal(ref.argmax(-1), toks)
    s = SamplingConfig(max_new_tokens=16)
    assert generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=s).tokens == \
        generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=s, use_cache=False).tokens


def test_kv_cache_matches_with_rows_halting_at_different_segments_and_the_copy_head():
    torch.manual_seed(1)
    model = build_model(cfg(recipe="hrm", act=dict(halt_max_steps=4, inference="per_sequence"))).eval()
    prompts = [[5 + i, 10 + i, 20 + 2 * i, 3] for i in range(8)]
    with torch.no_grad():
        model.core.q_head.weight.normal_(0, 3.0)
        model.core.q_head.bias.zero_()
    cached, toks, state = cached_decode(model, prompts, 30)
    assert len(set(state.prefill_segments.tolist())) > 1
    assert (full_logits(model, prompts, toks) - cached).abs().max() < 1e-4


def test_the_converge_exit_reads_the_copy_head_and_runs_every_cycle_at_threshold_zero():
    torch.manual_seed(0)
    full = build_model(cfg(act=dict(inference="max"))).eval()
    conv = build_model(cfg(act=dict(inference="converge", converge_threshold=0.0))).eval()
    conv.load_state_dict(full.state_dict())
    a, ta, _ = cached_decode(full, PROMPTS, 12)
    b, tb, state = cached_decode(conv, PROMPTS, 12)
    assert torch.equal(ta, tb) and (a - b).abs().max() < 1e-5
    assert torch.equal(state.token_calls, torch.full_like(state.token_calls, 11 * state.full_calls))


@pytest.mark.parametrize("arch", ["baseline", "hrm"])
def test_training_on_target_positions_only_gives_the_full_loss(arch):
    torch.manual_seed(0)
    model = build_model(cfg(arch=arch))
    inputs = torch.randint(4, 64, (3, 20))
    targets = torch.full_like(inputs, IGNORE)
    targets[:, 9:19] = inputs[:, 10:20]
    batch = Batch(inputs, targets, torch.zeros(3, dtype=torch.long), torch.full((3,), 10), torch.full((3,), 20))
    sparse = model(model.initial_carry(batch), batch)
    model.eval()
    full = model(model.initial_carry(batch), batch)
    assert torch.allclose(sparse.loss, full.loss, atol=1e-5)
    assert full.outputs["logits"].shape == (3, 20, 64)


def test_a_copy_head_needs_causal_mode_and_the_softmax_loss():
    with pytest.raises(ValueError, match="copy_head"):
        cfg(mode="canvas")
    with pytest.raises(ValueError, match="copy_head"):
        cfg(loss="stablemax")


def copy_batch(gen: torch.Generator, n: int = 32, k: int = 6, length: int = 24) -> Batch:
    """Prompt: ``length`` random tokens with k of them fenced by markers 5 … 6 at a random place, then
    a separator; target: the k fenced tokens. Everything is drawn anew for every batch, so nothing
    but finding the fence and copying from it predicts the target."""
    noise = torch.randint(8, 64, (n, length), generator=gen)
    words = torch.randint(8, 64, (n, k), generator=gen)
    at = torch.randint(0, length - k - 1, (n,), generator=gen)
    for r in range(n):
        a = int(at[r])
        noise[r, a], noise[r, a + 1:a + 1 + k], noise[r, a + 1 + k] = 5, words[r], 6
    inputs = torch.cat([torch.full((n, 1), 4), noise, torch.full((n, 1), 3), words], 1)
    targets = torch.full_like(inputs, IGNORE)
    targets[:, length + 1:length + 1 + k] = words
    return Batch(inputs, targets, torch.zeros(n, dtype=torch.long), torch.full((n,), length + 2),
                 torch.full((n,), inputs.shape[1]))


def copy_accuracy(copy_head: bool, steps: int) -> float:
    torch.manual_seed(0)
    model = build_model(cfg(arch="baseline", copy_head=copy_head, hidden=32, h_layers=1, l_layers=1))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        batch = copy_batch(gen)
        out = model(model.initial_carry(batch), batch)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        batch = copy_batch(torch.Generator().manual_seed(1), n=256)
        return float(model(model.initial_carry(batch), batch).metrics["accuracy"])


def test_the_copy_head_learns_to_copy_tokens_it_has_never_seen_in_place():
    """The same two-layer model and steps, with and without the head, on sequences no model can
    memorise: 150 steps teach the head to copy (0.999 token accuracy here), while the plain model's
    attention reaches 0.07 (0.18 after 300 steps, 0.36 after 600)."""
    with_head, without = copy_accuracy(True, 150), copy_accuracy(False, 150)
    assert with_head > 0.9, with_head
    assert without < 0.5, without
