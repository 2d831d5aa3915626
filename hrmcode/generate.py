"""Decoding for both output modes: batched greedy or temperature / top-p sampling with a seed.

causal: prefill the prompt, then one cached step per token (a KV cache per module call and segment);
        ACT decides per sequence from the prompt how many segments every token runs (or per token).
canvas: one forward that refines the whole canvas over segments (early exit per sequence); the
        code is read from the slots up to the first <eos> (at most max_new_tokens slots).
The compute counter (segments actually run) comes back with the tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from hrmcode.model import CodeModel
from hrmcode.model.batch import Batch, prompt_batch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplingConfig:
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be ≥ 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be ≥ 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")


@dataclass
class Generation:
    tokens: list[list[int]]  # per row: generated ids up to (not including) <eos>
    finished: list[bool]  # the row produced <eos>
    prefill_segments: list[int]  # causal: segments over the prompt; canvas: segments of the canvas
    token_segments: list[float]  # causal: mean segments per generated token; canvas: same as prefill
    # Module calls (HRM: one L or H call; looped: one loop; baseline: the whole stack = 1), per position:
    prefill_calls: list[int] = field(default_factory=list)  # over the prompt (canvas: the canvas)
    token_calls: list[float] = field(default_factory=list)  # mean per generated token
    max_token_calls: int = 0  # what a token runs at full depth (every segment and cycle, no exit)


def sample_next(logits: Tensor, temperature: float, top_p: float, generator: torch.Generator | None) -> Tensor:
    """(B, V) logits → (B,) ids. Greedy at temperature 0; otherwise nucleus sampling."""
    if temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1:
        sorted_p, order = probs.sort(-1, descending=True)
        # keep the smallest prefix whose mass reaches top_p (the first token always stays)
        drop = sorted_p.cumsum(-1) - sorted_p >= top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def _device(model: CodeModel) -> torch.device:
    return next(model.parameters()).device


def _cut(row: list[int], eos_id: int, pad_id: int) -> tuple[list[int], bool]:
    for i, t in enumerate(row):
        if t == eos_id:
            return row[:i], True
        if t == pad_id:
            return row[:i], False
    return row, False


def _recompute_logits(model: CodeModel, prompts: Batch, generated: list[Tensor]) -> Tensor:
    """Logits for the next token by a full forward over prompt + generated (no cache)."""
    inputs = torch.cat([prompts.inputs, *(g.view(-1, 1) for g in generated)], dim=1)
    batch = Batch(inputs, torch.full_like(inputs, -100), prompts.start, prompts.prefix_end,
                  torch.full_like(prompts.end, inputs.shape[1]))
    logits, _ = model.infer(batch)
    return logits[:, -1]


@torch.inference_mode()
def generate(model: CodeModel, prompts: Sequence[Sequence[int]], *, eos_id: int, pad_id: int,
             mask_id: int | None = None, sampling: SamplingConfig | None = None,
             use_cache: bool = True, on_token: Callable[[Tensor], None] | None = None) -> Generation:
    """Generate code for a batch of prompts (each ``<lang> prompt… <code>`` ids).

    ``on_token`` (causal mode) receives each step's ids (B,) as they are sampled — rows that already
    ended get ``pad_id`` — so a caller can stream text before the batch finishes.
    """
    sampling = sampling or SamplingConfig()
    dev = _device(model)
    gen = _generator(sampling.seed, dev) if sampling.temperature > 0 else None
    if model.cfg.mode == "canvas":
        if mask_id is None:
            raise ValueError("canvas generation needs mask_id (the tokenizer's <mask> id)")
        return _generate_canvas(model, prompts, eos_id, pad_id, mask_id, sampling, gen)
    batch = prompt_batch(prompts, pad_id).to(dev)
    B, P = batch.size, batch.length
    max_new = min(sampling.max_new_tokens, model.cfg.max_seq_len - P)
    if max_new < 1:
        raise ValueError(f"prompt ({P} tokens) leaves no room for code within model.max_seq_len="
                         f"{model.cfg.max_seq_len}")
    if max_new < sampling.max_new_tokens:
        # the row's `finished` flag stays False, so a cut-off generation is visible downstream
        log.info("max_new_tokens %d cut to %d by model.max_seq_len", sampling.max_new_tokens, max_new)
    state = None
    if use_cache:
        logits, state = model.start_decode(batch, P + max_new)
    else:
        logits = _recompute_logits(model, batch, [])
    done = torch.zeros(B, dtype=torch.bool, device=dev)
    out: list[Tensor] = []
    for i in range(max_new):
        tok = sample_next(logits, sampling.temperature, sampling.top_p, gen)
        tok = torch.where(done, torch.full_like(tok, pad_id), tok)
        out.append(tok)
        if on_token is not None:
            on_token(tok)
        done |= tok == eos_id
        if bool(done.all()) or i == max_new - 1:
            break
        logits = model.decode_step(state, tok) if state is not None else _recompute_logits(model, batch, out)
    ids = torch.stack(out, dim=1).tolist()
    rows = [_cut(r, eos_id, pad_id) for r in ids]
    if state is not None:
        prefill, per_token = _per_token(state.prefill_segments, state.token_segments, state.tokens)
        prefill_calls, token_calls = _per_token(state.prefill_calls, state.token_calls, state.tokens)
        full = state.full_calls
    else:
        _, seg = model.infer(batch)
        prefill = seg.tolist()
        per_token = [float(s) for s in prefill]
        prefill_calls = [s * model.calls_per_segment() for s in prefill]
        token_calls = [float(c) for c in prefill_calls]
        full = _full_calls(model)
    return Generation([r for r, _ in rows], [f for _, f in rows], prefill, per_token, prefill_calls, token_calls,
                      full)


def _per_token(prefill: Tensor, summed: Tensor, tokens: int) -> tuple[list[int], list[float]]:
    """Per-row prompt counts and the mean over decoded tokens; the first token comes from the
    prefill, so with no decode step its count is the prompt's."""
    first = prefill.tolist()
    mean = (summed.float() / max(tokens, 1)).tolist()
    return first, [float(p) if tokens == 0 else t for p, t in zip(first, mean, strict=True)]


def _full_calls(model: CodeModel) -> int:
    """Module calls per position at full depth: every ACT segment at the configured cycles."""
    segments = model.cfg.act.halt_max_steps if model.cfg.recurrent else 1
    return segments * model.calls_per_segment()


def _generate_canvas(model: CodeModel, prompts: Sequence[Sequence[int]], eos_id: int, pad_id: int,
                     mask_id: int, sampling: SamplingConfig, gen: torch.Generator | None) -> Generation:
    n = model.cfg.canvas_slots
    batch = prompt_batch(prompts, pad_id, n_slots=n, mask_id=mask_id).to(_device(model))
    logits, segments = model.infer(batch)
    # The whole canvas is refined (the model was trained on n slots); only the first
    # max_new_tokens slots are read, so a row without <eos> among them is not `finished`.
    slots = logits[:, batch.length - n:batch.length - n + sampling.max_new_tokens]  # (B, N, V)
    B, N, V = slots.shape
    ids = sample_next(slots.reshape(B * N, V), sampling.temperature, sampling.top_p, gen).view(B, N)
    rows = [_cut(r, eos_id, pad_id) for r in ids.tolist()]
    seg = segments.tolist()
    calls = [s * model.calls_per_segment() for s in seg]
    return Generation([r for r, _ in rows], [f for _, f in rows], seg, [float(s) for s in seg], calls,
                      [float(c) for c in calls], _full_calls(model))
