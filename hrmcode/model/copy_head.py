"""A copy (pointer) head: the next token may be copied from the context as well as generated.

A trained micro model does not write the function name its starter code gives when the name is made
of word pieces it never wrote as a name (docs/benchmarks.md, "Why whole answers do not use the
requested name"): copying through attention and the output projection has to be learned per token,
and 5,000 steps taught it for 7 % of the hand-written names. This head makes copying one learned
comparison instead (a pointer mixture, as Merity et al.'s pointer sentinel and See et al.'s
pointer-generator, here in one joint softmax over the vocabulary and the context positions):

    score(t, i) = q(h_t) · k(h_i) / √d          for start ≤ i < t  (i + 1 < end)
    p(v | ≤ t) ∝ exp(gen_v(h_t)) + Σ_{i : x_{i+1} = v} exp(score(t, i))

Position i offers the token that *followed* it, x_{i+1}: a query that matches the state "just wrote
`total` `_` in the starter code" copies what came next there, so continuing a copy is an induction
step the model's own states already support. ``h`` is the final hidden state the output layer reads
(the baseline's last layer, HRM's z_H), so the head works at any depth and exit.

The head returns log-probabilities (up to a constant per row): every consumer of logits (the loss,
argmax, sampling with temperature, the converge exit's KL) works unchanged. In a cached decode,
``CopyMemory`` keeps each position's key and token.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import get_args

import torch
from torch import Tensor, nn

from hrmcode.config import CopyMatchWeights, ModelConfig
from hrmcode.model.batch import Batch
from hrmcode.model.common import DecodeState
from hrmcode.model.layers import Layout

_TINY = 1e-30  # floor of a token's probability before the log (fp32)


def mix(gen: Tensor, scores: Tensor, values: Tensor, valid: Tensor) -> Tensor:
    """Log of exp(gen) plus each valid position's exp(score) added at its token: (…, V) in fp32.

    ``gen`` (…, V) generator logits; ``scores`` (…, S) pointer scores; ``values`` (…, S) the token
    each position offers; ``valid`` (…, S) which positions may be copied from.
    """
    gen = gen.float()
    scores = scores.float().masked_fill(~valid, -math.inf)
    m = torch.maximum(gen.amax(-1, keepdim=True), scores.amax(-1, keepdim=True))  # gen is finite
    p = (gen - m).exp().scatter_add(-1, values, (scores - m).exp())
    return p.clamp_min(_TINY).log() + m


def history(tokens: Tensor, n: int) -> Tensor:
    """Each position's token and the n − 1 before it, latest first: (B, T, n), −1 before position 0."""
    pad = torch.cat([torch.full_like(tokens[:, :1], -1).expand(-1, n - 1), tokens], 1)
    return torch.stack([pad[:, n - 1 - k: pad.shape[1] - k] for k in range(n)], -1)


class CopyHead(nn.Module):
    """Query and key projections of the pointer (``model.copy_head``); width ``dim``. With ``match``
    (``model.copy_match``) ``match_len`` learned weights (``model.copy_match_len``) add the induction
    rule outright, one per length of the run of tokens that match, each computed from the query's
    state or one scalar for every position (``match_weights``, ``model.copy_match_weights``):

        score(t, i) += Σ_{k ≤ match_len} β_k(h_t)·[x_{i−j} = x_{t−j} for every j < k]

    so "the position holding the token I just wrote offers what came next" holds for any token,
    also one whose embedding training barely moved, and a longer match (the answer retyping the
    starter code's header) can be trusted more than one token. Without these terms the demo's
    micro baseline copied 52 % of the hand-written function names whole at 2,000 steps, with two
    (one token, two tokens) 62 %; its failures are word pieces copied from one or two positions
    too early, where the learned q·k outweighs the match (`countNegatives` → `countNegativeseg…`;
    docs/benchmarks.md, "A copy head")."""

    def __init__(self, hidden: int, dim: int, match: bool = True, match_len: int = 2,
                 cap: float | None = None, match_weights: CopyMatchWeights = "state", floor: float | None = None) -> None:
        super().__init__()
        if match_weights not in get_args(CopyMatchWeights):  # a misspelt value would build a head without match terms
            raise ValueError(f"CopyHead: match_weights must be one of {get_args(CopyMatchWeights)}, got {match_weights!r}")
        self.cap = cap  # the learned q·k score is soft-capped to (−cap, cap): cap·tanh(q·k / cap)
        self.floor = floor  # and softly bounded below: floor + softplus(score − floor)
        self.query = nn.Linear(hidden, dim, bias=False)
        self.key = nn.Linear(hidden, dim, bias=False)
        # β_k(h_t): a linear map of the query's state ("state"), or one learned scalar per run length
        # that no state can change ("fixed")
        self.match = nn.Linear(hidden, match_len) if match and match_weights == "state" else None
        self.match_fixed = nn.Parameter(torch.zeros(match_len)) if match and match_weights == "fixed" else None
        self.history = match_len if match else 1  # tokens of each position the match terms compare
        self.scale = 1.0 / math.sqrt(dim)

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> CopyHead | None:
        """The head a model config asks for (None without ``copy_head``), on the model's width."""
        if not cfg.copy_head:
            return None
        return cls(cfg.hidden, cfg.hidden, cfg.copy_match, cfg.copy_match_len, cfg.copy_score_cap,
                   cfg.copy_match_weights, cfg.copy_score_floor)

    def match_weights(self, h_query: Tensor) -> Tensor | None:
        """β (B, T, match_len) of (B, T, C) queries, in fp32; None without match terms."""
        if self.match is not None:
            return self.match(h_query).float()
        if self.match_fixed is not None:
            return self.match_fixed.float().expand(*h_query.shape[:-1], -1)
        return None

    def pointer(self, h_query: Tensor, keys: Tensor) -> Tensor:
        """The learned part of the scores, q·k/√d (B, T, S), soft-capped when the head has a cap and
        softly bounded below when it has a floor."""
        s = self.query(h_query) @ keys.transpose(-1, -2) * self.scale
        if self.cap is not None:
            s = self.cap * torch.tanh(s / self.cap)
        return s if self.floor is None else self.floor + nn.functional.softplus(s - self.floor)

    def scores(self, h_query: Tensor, keys: Tensor, tokens: Tensor, query_tokens: Tensor) -> Tensor:
        """Scores (B, T, S) of (B, T, C) queries against (B, S, d) keys. ``query_tokens`` (B, T, n)
        and ``tokens`` (B, S, n) hold each query's and each key position's ``history``, which the
        match terms compare."""
        s = self.pointer(h_query, keys)
        beta = self.match_weights(h_query)  # (B, T, match_len)
        if beta is None:
            return s
        run = torch.ones_like(s, dtype=torch.bool)
        for k in range(beta.shape[-1]):  # run: the last k + 1 tokens match
            run = run & (query_tokens[..., k].unsqueeze(2) == tokens[..., k].unsqueeze(1))
            s = s + beta[..., k:k + 1] * run
        return s

    def sequence_logits(self, gen_head: nn.Module | Callable[[Tensor], Tensor], h: Tensor, ids: Tensor, layout: Layout,
                        sel: Tensor | None = None) -> Tensor:
        """Logits of a whole (causal) sequence: (B, T, V), or (N, V) at the positions ``sel`` (B, T)
        selects. ``ids`` (B, T) are the inputs, so position i offers ids[i + 1]."""
        B, T, _ = h.shape
        past = history(ids, self.history)  # (B, T, n)
        scores = self.scores(h, self.key(h), past, past)  # (B, T, T): [query t, key i]
        t = torch.arange(T, device=h.device).view(1, T, 1)
        i = torch.arange(T, device=h.device).view(1, 1, T)
        valid = (i < t) & (i >= layout.start.view(B, 1, 1)) & (i + 1 < layout.end.view(B, 1, 1))
        values = torch.cat([ids[:, 1:], torch.zeros_like(ids[:, :1])], 1).unsqueeze(1).expand(B, T, T)
        if sel is None:
            return mix(gen_head(h), scores, values, valid)
        return mix(gen_head(h[sel]), scores[sel], values[sel], valid[sel])


class CopyMemory:
    """The copy head's side of a cached decode: each position's key and token.

    Position p's key is written once its final state is known (``write_keys``); its token arrives
    with the decode step that writes it (``append``). A query at position p reads keys [start, p),
    position i offering token i + 1.
    """

    def __init__(self, head: CopyHead, h: Tensor, ids: Tensor, start: Tensor, max_len: int) -> None:
        B, T, _ = h.shape
        self.head = head
        self.start = start
        self.keys = h.new_zeros(B, max_len, head.key.out_features)
        self.tokens = ids.new_full((B, max_len), -1)
        self.keys[:, :T] = head.key(h)
        self.tokens[:, :T] = ids

    def append(self, ids: Tensor, pos: int) -> None:
        """The token (B,) now written at ``pos``."""
        self.tokens[:, pos] = ids

    def write_keys(self, h: Tensor, pos: int) -> None:
        """The final state (B, C) of every row at ``pos``."""
        self.keys[:, pos] = self.head.key(h)

    def logits(self, gen_head: nn.Module, h: Tensor, pos: int, rows: Tensor | None = None) -> Tensor:
        """Logits (B', V) of queries ``h`` (B', C) at ``pos`` for ``rows`` (None: every row)."""
        keys, tokens, start = self.keys[:, :pos], self.tokens[:, :pos + 1], self.start
        if rows is not None:
            keys, tokens, start = keys[rows], tokens[rows], start[rows]
        past = history(tokens, self.head.history)  # (B', pos + 1, n)
        scores = self.head.scores(h.unsqueeze(1), keys, past[:, :pos], past[:, pos:])[:, 0]  # (B', pos)
        valid = torch.arange(pos, device=h.device).view(1, -1) >= start.view(-1, 1)
        return mix(gen_head(h), scores, tokens[:, 1:], valid)


def present_rows(lm_head: nn.Linear, targets: Tensor) -> Callable[[Tensor], Tensor]:
    """The output projection with the rows of tokens absent from ``targets`` (−100: none) detached:
    a training step's gradient reaches only the rows of the tokens its batch is trained to write
    (``model.output_grad = "present"``)."""
    present = torch.zeros(lm_head.out_features, dtype=torch.bool, device=targets.device)
    present[targets[targets >= 0]] = True
    weight = torch.where(present[:, None], lm_head.weight, lm_head.weight.detach())
    return lambda h: nn.functional.linear(h, weight.to(h.dtype))


def output_head(lm_head: nn.Linear, cfg: ModelConfig, training: bool,
                targets: Tensor | None) -> nn.Module | Callable[[Tensor], Tensor]:
    """The output projection a forward uses: :func:`present_rows` of ``targets`` in training with
    ``model.output_grad = "present"``, else ``lm_head`` itself."""
    if training and cfg.output_grad == "present" and targets is not None:
        return present_rows(lm_head, targets)
    return lm_head


def output_logits(lm_head: nn.Module | Callable[[Tensor], Tensor], copy: CopyHead | None, h: Tensor, ids: Tensor,
                  layout: Layout, sel: Tensor | None = None) -> Tensor:
    """A model's logits over a whole sequence (B, T, V), or (N, V) at the positions ``sel`` selects:
    the output projection alone, or mixed with the copy head's pointer when the model has one."""
    if copy is None:
        return lm_head(h if sel is None else h[sel])
    return copy.sequence_logits(lm_head, h, ids, layout, sel)


def start_memory(copy: CopyHead | None, state: DecodeState, h: Tensor, prompts: Batch) -> CopyMemory | None:
    """The decode memory of a prefilled prompt batch (final states ``h`` (B, T, C)), kept in
    ``state``; None for a model without a copy head."""
    if copy is None:
        return None
    memory = state.extra["copy"] = CopyMemory(copy, h, prompts.inputs, prompts.layout.start, state.max_len)
    return memory


def memory_of(state: DecodeState) -> CopyMemory | None:
    """The copy head's memory of a cached decode (None: the model has no copy head)."""
    return state.extra.get("copy")


def token_logits(lm_head: nn.Module, memory: CopyMemory | None, h: Tensor, pos: int,
                 rows: Tensor | None = None) -> Tensor:
    """Logits (B', V) of one position ``pos`` of a cached decode, for ``rows`` (None: all)."""
    return lm_head(h) if memory is None else memory.logits(lm_head, h, pos, rows)
