"""What the HRM and the baseline share: the loss, the step output, and the decode state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from hrmcode.model.batch import IGNORE
from hrmcode.model.layers import KVCache, Layout


def _stablemax_nll(logits: Tensor, targets: Tensor) -> Tensor:
    """−log stablemax(x)[y] in float64 (HRM's default): s(x) = x+1 for x ≥ 0, 1/(1−x) below."""
    x = logits.double()
    s = torch.where(x >= 0, x + 1, 1 / (1 - x))
    picked = s.gather(-1, targets.clamp_min(0).unsqueeze(-1)).squeeze(-1)
    return (s.sum(-1).log() - picked.log()).float()


def token_nll(logits: Tensor, targets: Tensor, kind: str) -> Tensor:
    """Negative log-likelihood per position (the shape of ``targets``), 0 where the target is IGNORE."""
    if kind == "stablemax":
        nll = _stablemax_nll(logits, targets)
    else:
        nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1),
                              ignore_index=IGNORE, reduction="none").view(targets.shape)
    return nll.masked_fill(targets == IGNORE, 0.0)


@dataclass
class LMStats:
    loss: Tensor  # scalar: per-sequence mean NLL, averaged over sequences that have targets
    token_correct: Tensor  # (B, T) bool, argmax == target (False where IGNORE)
    n_targets: Tensor  # (B,) number of target positions
    exact: Tensor  # (B,) bool: every target position right (the "solved" signal of ACT)
    per_seq: Tensor  # (B,) mean NLL over each sequence's targets (0 where it has none)


def lm_stats(logits: Tensor, targets: Tensor, kind: str) -> LMStats:
    has = targets != IGNORE
    return _stats(token_nll(logits, targets, kind), (logits.argmax(-1) == targets) & has, has)


def _stats(nll: Tensor, correct: Tensor, has: Tensor) -> LMStats:
    n = has.sum(-1)
    per_seq = nll.sum(-1) / n.clamp_min(1)
    weight = (n > 0).float()
    loss = (per_seq * weight).sum() / weight.sum().clamp_min(1)
    exact = (correct.sum(-1) == n) & (n > 0)
    return LMStats(loss, correct, n, exact, per_seq)


def lm_outputs(head: Callable[[Tensor, Tensor | None], Tensor], h: Tensor, targets: Tensor, kind: str, *,
               full: bool) -> tuple[LMStats, Tensor | None]:
    """The statistics of the logits ``head(h, None)`` (B, T, C → B, T, V) against ``targets``, and
    the logits. ``head(h, sel)`` gives the logits (N, V) of the positions a (B, T) mask selects.

    With ``full`` False (training) the output layer runs only at the positions that have a target,
    and no logits are returned: prompt and padding positions carry no loss, and on the demo's data
    they are ~70 % of a batch, while a 2k-vocabulary output layer costs more than a 64-wide block.
    The statistics (and so the loss and its gradient) are the same as from the full logits.
    """
    if full:
        logits = head(h, None)
        return lm_stats(logits, targets, kind), logits
    has = targets != IGNORE
    picked = targets[has]
    logits = head(h, has)  # (N, V)
    nll = torch.zeros(targets.shape, dtype=torch.float32, device=h.device)
    nll = nll.masked_scatter(has, token_nll(logits, picked, kind))
    correct = torch.zeros_like(has).masked_scatter(has, logits.argmax(-1) == picked)
    return _stats(nll, correct, has), None


@dataclass
class StepOutput:
    """One training call: carry in → this. ``metrics`` are detached 0-dim tensors (no device sync)."""

    carry: Any
    loss: Tensor
    metrics: dict[str, Tensor]
    outputs: dict[str, Tensor]
    all_halted: bool


@dataclass
class DecodeState:
    """Everything a cached decode needs between steps. Caches are [segment][module call][layer].

    ``seg_rows[s]`` lists the batch rows that run segment ``s`` (per-sequence early exit: a row that
    halted on its prompt never runs later segments; those caches hold only the remaining rows).
    ``None`` means the caches hold every row (per-token mode writes rows by index).
    """

    layout: Layout  # start / prefix_end of the left-padded prompt batch; end grows with pos
    pos: int  # where the next token is written
    max_len: int
    caches: list[list[list[KVCache]]]
    seg_rows: list[Tensor] | None
    prefill_segments: Tensor  # (B,) segments run over the prompt
    token_segments: Tensor  # (B,) segments run, summed over generated tokens
    prefill_calls: Tensor  # (B,) module calls run over the prompt (per position)
    token_calls: Tensor  # (B,) module calls run, summed over decoded tokens
    full_calls: int  # module calls a token runs at full depth (every segment, no exit)
    tokens: int = 0  # tokens decoded so far
    extra: dict[str, Any] = field(default_factory=dict)

    def step_layout(self, rows: Tensor | None) -> Layout:
        """Layout of a one-token step at ``pos`` (keys [0, pos]) for some rows."""
        lay = self.layout.rows(rows)
        return Layout(lay.start, lay.prefix_end, torch.full_like(lay.start, self.pos + 1))


def new_caches(n_segments: int, n_calls: int, n_layers: int, batch: int, heads: int, max_len: int,
               head_dim: int, like: Tensor) -> list[list[list[KVCache]]]:
    return [[[KVCache(batch, heads, max_len, head_dim, like.dtype, like.device) for _ in range(n_layers)]
             for _ in range(n_calls)] for _ in range(n_segments)]
