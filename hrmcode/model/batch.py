"""Batches as the models take them: padded token ids, targets, and the per-row layout.

Training batches are right-padded (``start`` = 0). Generation batches are left-padded, so every
row's next token is written at the same position and one KV-cache slot serves the whole batch;
RoPE depends only on relative positions, so left padding does not change what a row computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor

from hrmcode.model.layers import Layout
from hrmcode.tokenizer import CanvasExample, CausalExample

IGNORE = -100  # target of a position that has no loss


@dataclass
class Batch:
    """A padded batch. All tensors are on one device.

    inputs:     (B, T) token ids (pad id in padding).
    targets:    (B, T) the token each position must predict, IGNORE where there is no loss.
                causal: targets[t] = inputs[t+1] over the code and <eos>; canvas: the slot targets.
    start:      (B,) first real position (> 0 only with left padding).
    prefix_end: (B,) one past the last prompt position (the <code> token); [start, prefix_end)
                attends bidirectionally in causal mode; the q-head reads position prefix_end-1.
    end:        (B,) one past the last real position (right padding after it).
    """

    inputs: Tensor
    targets: Tensor
    start: Tensor
    prefix_end: Tensor
    end: Tensor

    @property
    def layout(self) -> Layout:
        return Layout(self.start, self.prefix_end, self.end)

    @property
    def size(self) -> int:
        return self.inputs.shape[0]

    @property
    def length(self) -> int:
        return self.inputs.shape[1]

    def to(self, device: torch.device | str) -> Batch:
        return Batch(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def rows(self, idx: Tensor) -> Batch:
        return Batch(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def pad_to(self, length: int, pad_id: int) -> Batch:
        """Right-pad to ``length`` positions (never shortens)."""
        extra = length - self.length
        if extra <= 0:
            return self
        return replace(self, inputs=torch.nn.functional.pad(self.inputs, (0, extra), value=pad_id),
                       targets=torch.nn.functional.pad(self.targets, (0, extra), value=IGNORE))

    def fit_to(self, length: int, pad_id: int) -> Batch:
        """Right-pad or cut to ``length`` positions (the caller keeps only rows that end by then)."""
        if length >= self.length:
            return self.pad_to(length, pad_id)
        return replace(self, inputs=self.inputs[:, :length], targets=self.targets[:, :length])


def _right_pad(rows: Sequence[Sequence[int]], length: int, value: int) -> Tensor:
    out = torch.full((len(rows), length), value, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, :len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def _check_length(lengths: list[int], length: int | None) -> int:
    longest = max(lengths)
    if length is None:
        return longest
    if longest > length:
        raise ValueError(f"a sequence has {longest} tokens, more than the batch length {length}")
    return length


def causal_batch(examples: Sequence[CausalExample], pad_id: int, length: int | None = None) -> Batch:
    """Right-padded causal batch; loss on every token after the prompt (the code and <eos>)."""
    if not examples:
        raise ValueError("empty batch")
    T = _check_length([len(e.ids) for e in examples], length)
    targets = []
    for e in examples:
        # position t predicts ids[t+1]; the <code> position (prefix_len-1) predicts the first code token
        t = [IGNORE] * len(e.ids)
        t[e.prefix_len - 1:len(e.ids) - 1] = e.ids[e.prefix_len:]
        targets.append(t)
    return Batch(
        inputs=_right_pad([e.ids for e in examples], T, pad_id),
        targets=_right_pad(targets, T, IGNORE),
        start=torch.zeros(len(examples), dtype=torch.long),
        prefix_end=torch.tensor([e.prefix_len for e in examples], dtype=torch.long),
        end=torch.tensor([len(e.ids) for e in examples], dtype=torch.long),
    )


def canvas_batch(examples: Sequence[CanvasExample], pad_id: int, length: int | None = None) -> Batch:
    """Right-padded canvas batch: prompt then slots; loss on every slot (EOS and PAD included)."""
    if not examples:
        raise ValueError("empty batch")
    T = _check_length([len(e.ids) for e in examples], length)
    targets = [[IGNORE] * e.prefix_len + list(e.slot_targets) for e in examples]
    return Batch(
        inputs=_right_pad([e.ids for e in examples], T, pad_id),
        targets=_right_pad(targets, T, IGNORE),
        start=torch.zeros(len(examples), dtype=torch.long),
        prefix_end=torch.tensor([e.prefix_len for e in examples], dtype=torch.long),
        end=torch.tensor([len(e.ids) for e in examples], dtype=torch.long),
    )


def prompt_batch(prompts: Sequence[Sequence[int]], pad_id: int, n_slots: int = 0, mask_id: int = 0) -> Batch:
    """Left-padded prompts for generation (each prompt ends with <code>); no targets.

    With ``n_slots`` > 0 (canvas mode) ``n_slots`` mask tokens follow every prompt.
    """
    if not prompts or any(len(p) == 0 for p in prompts):
        raise ValueError("generation needs at least one non-empty prompt")
    P = max(len(p) for p in prompts)
    B = len(prompts)
    inputs = torch.full((B, P + n_slots), pad_id, dtype=torch.long)
    for i, p in enumerate(prompts):
        inputs[i, P - len(p):P] = torch.tensor(list(p), dtype=torch.long)
    inputs[:, P:] = mask_id
    return Batch(
        inputs=inputs,
        targets=torch.full_like(inputs, IGNORE),
        start=torch.tensor([P - len(p) for p in prompts], dtype=torch.long),
        prefix_end=torch.full((B,), P, dtype=torch.long),
        end=torch.full((B,), P + n_slots, dtype=torch.long),
    )
