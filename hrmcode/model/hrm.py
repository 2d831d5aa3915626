"""The HRM core: two recurrent modules (H slow, L fast) of transformer blocks, one segment at a time.

One segment, in the paper's notation (x = scaled token embedding; in canvas mode plus a learned
embedding of each slot's index, see ``canvas_slot_embed``):

    for h in H_cycles:
        for l in L_cycles:
            z_L = L(z_L, z_H + x)        # input injection: the L-module sees the plan and the input
        z_H = H(z_H, z_L)                # the H-module reads the L-module's result

Only the last ``grad_calls`` module calls of a segment build a graph (the gradient boundary below):
  one_step     the final call of each module: the final L and H calls (HRM's one-step approximation)
  last_cycle   every call of the last H cycle (TRM's full backprop through the last cycle)
  truncated:k  the last k module calls (HRM-Text); with ``grad_warmup_from`` k grows during training
               (the trainer calls ``set_progress``)
The carry leaving a segment is detached, so segments never backpropagate into each other.

Depth. A segment runs ``h_cycles`` H cycles (``units``: each the calls of one H update). In training
the trainer may draw the cycles of each optimizer step (``model.cycles_sampling``, ``sample_cycles``,
``set_cycles``); the truncation window, counted in module calls from the end, keeps the backward
cost bounded at any drawn depth. At inference the depth is ``cfg.h_cycles`` (``--cycles N``
overrides it), and the KV caches follow whatever depth runs.

The looped model (looped.py) is this core with one module instead of H and L: it overrides
``units`` / ``call`` / the module table, and everything else (ACT, caches, exits) is shared.

Initial states (``z_init``): HRM's fixed std-1 random vectors (the same at every position), zeros, or
HRM-Text's z_H = x (the input embedding) with z_L = 0. With pre-norm blocks the random vectors learned
fastest on code and z_H = x slowest; with post-norm and deep supervision the random ones slowed early
learning (docs/training.md).

Attention inside every module call is prefix/causal in causal mode and full in canvas mode; the core
does not know about ACT (see act.py) — it runs one segment and reads the heads.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from hrmcode.config import ModelConfig
from hrmcode.model.copy_head import CopyHead, CopyMemory, output_head, output_logits, token_logits
from hrmcode.model.layers import (
    AttnContext,
    Block,
    KVCache,
    Layout,
    Rotary,
    attention_mask,
    lecun_init_,
    rms_norm,
    slot_embedding,
    trunc_normal_,
)


@dataclass
class HRMCarry:
    """The recurrent state of a batch: z_H and z_L, each (B, T, C)."""

    z_H: Tensor
    z_L: Tensor

    def rows(self, idx: Tensor) -> HRMCarry:
        return HRMCarry(self.z_H[idx], self.z_L[idx])


def n_positions(cfg: ModelConfig) -> int:
    """RoPE table size: a causal sequence, or a prompt plus the canvas."""
    return cfg.max_seq_len + (cfg.canvas_slots if cfg.mode == "canvas" else 0)


def hrm_units(cfg: ModelConfig, cycles: int | None = None) -> list[tuple[str, ...]]:
    """HRM's module calls of one segment grouped by H update: cycles × (L × l_cycles, H)."""
    n = cfg.h_cycles if cycles is None else cycles
    return [("L",) * cfg.l_cycles + ("H",)] * n


def grad_calls(cfg: ModelConfig, progress: float = 1.0, units: list[tuple[str, ...]] | None = None) -> int:
    """How many trailing module calls of a segment carry gradient at ``progress`` (fraction of
    training done, 0..1; see the module docstring), for a segment of ``units`` (default: HRM's at
    h_cycles). truncated:K with ``grad_warmup_from`` = k0 grows linearly from k0 to K over the first
    ``grad_warmup_fraction`` of training."""
    units = hrm_units(cfg) if units is None else units
    n_calls = sum(len(u) for u in units)
    if cfg.grad_mode == "one_step":
        return min(len(set(units[-1])), n_calls)  # the final call of each module
    if cfg.grad_mode == "last_cycle":
        return len(units[-1])
    k = cfg.truncated_k or 1
    if cfg.grad_warmup_from is not None and cfg.grad_warmup_from < k:
        ramp = min(1.0, max(0.0, progress) / cfg.grad_warmup_fraction)
        k = cfg.grad_warmup_from + math.floor(ramp * (k - cfg.grad_warmup_from))
    return max(1, min(k, n_calls))


def layer_applications(cfg: ModelConfig, cycles: int | None = None) -> int:
    """Block applications per token of one HRM segment at ``cycles`` H cycles (default h_cycles):
    cycles × (l_cycles × l_layers + h_layers)."""
    n = cfg.h_cycles if cycles is None else cycles
    return n * (cfg.l_cycles * cfg.l_layers + cfg.h_layers)


def equal_compute_layers(cfg: ModelConfig) -> int:
    """The depth of a plain transformer with HRM's per-token compute at the training mean: HRM's
    block applications per token of one segment (the lm recipe runs one segment per sequence; under
    ACT multiply by the segments run). Use it as ``model.baseline_layers`` for the equal-compute
    baseline (the default baseline, h_layers + l_layers, is the equal-parameter one)."""
    return layer_applications(cfg)


def _draw_seed(seed: int, step: int) -> int:
    """One generator seed per (run seed, step), hashed to the 32 bits torch's CPU generator keeps
    (it drops the high half of a 64-bit seed, so packing seed and step side by side would lose the seed)."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{step}".encode(), digest_size=4).digest(), "little")


POISSON_SIGMA = 0.5  # σ of the log-normal rate of the "poisson" depth distribution


def sample_cycles(cfg: ModelConfig, seed: int, step: int) -> int:
    """The H cycles an optimizer step trains with (``model.cycles_sampling``; see ModelConfig).

    A function of (cfg, seed, step) only, drawn from its own ``torch.Generator``: the global RNG
    (data order, ACT exploration) is untouched, every rank draws the same, and a resumed run draws
    the same sequence.
      fixed    h_cycles
      uniform  an integer uniform on [2·mean − hi, hi], hi = min(cycles_max, 2·mean − 1): mean exact
      poisson  1 + Poisson(λ), λ ~ LogNormal(log(mean − 1) − σ²/2, σ = 0.5) so E[λ] = mean − 1,
               clipped at cycles_max (a heavy right tail around the mean, as Huginn's depth sampling;
               the clip lowers the mean a little)
    """
    mean = cfg.h_cycles
    top = cfg.cycles_max or 2 * mean
    if cfg.cycles_sampling == "fixed" or mean == 1:  # depth 1 has nothing to vary around
        return mean
    g = torch.Generator().manual_seed(_draw_seed(seed, step))
    if cfg.cycles_sampling == "uniform":
        hi = min(top, 2 * mean - 1)
        return int(torch.randint(2 * mean - hi, hi + 1, (1,), generator=g))
    mu = math.log(mean - 1) - POISSON_SIGMA ** 2 / 2
    rate = torch.empty(1, dtype=torch.float64).log_normal_(mu, POISSON_SIGMA, generator=g)
    return min(top, 1 + int(torch.poisson(rate, generator=g)))


def canvas_slot_embed(cfg: ModelConfig) -> nn.Embedding | None:
    """Canvas mode: a learned embedding of the slot index (slot i holds the i-th code token).

    Every slot reads the same <mask> token and starts from the same z_H / z_L, so without it the
    slots differ only by RoPE's relative phase in attention, and a small model needs several times
    more steps to put a different token in each slot (the canvas case of tests/test_model_overfit.py
    reached 32/32 exact after 1700 steps without it, after 300 with it). Counted as an embedding
    (not in the non-embedding parameter count), like the token embedding.
    """
    return nn.Embedding(cfg.canvas_slots, cfg.hidden) if cfg.mode == "canvas" else None


def embed_inputs(embed: nn.Embedding, slot_embed: nn.Embedding | None, scale: float, ids: Tensor,
                 layout: Layout | None) -> Tensor:
    """Token embedding, plus the slot embedding in canvas mode, times √d: (B, T, C)."""
    x = embed(ids)
    if slot_embed is not None:
        if layout is None:
            raise ValueError("a canvas model embeds whole canvases: pass the batch layout")
        x = x + slot_embedding(slot_embed, layout, ids.shape[1])
    return x * scale


class ReasoningModule(nn.Module):
    """H or L: a stack of blocks; adds its input injection first (pre-norm ends with an RMSNorm)."""

    def __init__(self, cfg: ModelConfig, n_layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(Block(cfg.hidden, cfg.heads, cfg.ffn_hidden, cfg.norm) for _ in range(n_layers))
        self.final_norm = cfg.norm == "pre"

    def forward(self, z: Tensor, injection: Tensor, ctx: AttnContext, caches: list[KVCache] | None = None) -> Tensor:
        z = z + injection
        for i, layer in enumerate(self.layers):
            z = layer(z, ctx, caches[i] if caches is not None else None)
        return rms_norm(z) if self.final_norm else z


class HRMCore(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.hidden
        self.embed_scale = math.sqrt(d)
        self.embed = nn.Embedding(cfg.vocab_size, d)
        self.slot_embed = canvas_slot_embed(cfg)
        self.rotary = Rotary(cfg.head_dim, n_positions(cfg), cfg.rope_theta)
        self._build_modules(cfg)
        self.lm_head = nn.Linear(d, cfg.vocab_size, bias=False)
        self.copy = CopyHead.from_config(cfg)
        self.q_head = nn.Linear(d, 2)  # (q_halt, q_continue)
        # Fixed random initial states (not learned; saved with the model so a checkpoint is exact).
        self.register_buffer("H_init", trunc_normal_(torch.empty(d), std=1.0))
        self.register_buffer("L_init", trunc_normal_(torch.empty(d), std=1.0))
        self.progress = 1.0  # training progress (set_progress): moves the truncation window
        self.train_cycles: int | None = None  # the drawn depth of this training step (set_cycles)
        self._init_weights()
        if cfg.tie_embeddings:  # after init: the output projection IS the embedding table
            self.lm_head.weight = self.embed.weight

    # ---- the H/L strategy (the looped core overrides these four) ---------------------------------

    def _build_modules(self, cfg: ModelConfig) -> None:
        self.H_level = ReasoningModule(cfg, cfg.h_layers)
        self.L_level = ReasoningModule(cfg, cfg.l_layers)

    def module_layers(self) -> dict[str, int]:
        """Blocks of each module, by the name ``units`` uses."""
        return {"L": self.cfg.l_layers, "H": self.cfg.h_layers}

    def units(self, cycles: int) -> list[tuple[str, ...]]:
        """The module calls of one segment at ``cycles``, grouped into depth units (one H update each):
        the early exit (act.inference converge) checks convergence after each unit."""
        return hrm_units(self.cfg, cycles)

    def call(self, name: str, z_H: Tensor, z_L: Tensor, x: Tensor, ctx: AttnContext,
             cache: list[KVCache] | None) -> tuple[Tensor, Tensor]:
        """One module call with its input injection: L reads z_H + x, H reads z_L."""
        if name == "L":
            return z_H, self.L_level(z_L, z_H + x, ctx, cache)
        return self.H_level(z_H, z_L, ctx, cache), z_L

    # ---- depth ------------------------------------------------------------------------------------

    def cycles(self) -> int:
        """H cycles per segment now: the drawn training depth while training, else cfg.h_cycles."""
        return self.train_cycles if self.training and self.train_cycles is not None else self.cfg.h_cycles

    def set_cycles(self, cycles: int | None) -> None:
        """The depth of the next training steps (None: cfg.h_cycles); inference always uses cfg.h_cycles."""
        if cycles is not None and cycles < 1:
            raise ValueError(f"cycles must be ≥ 1, got {cycles}")
        self.train_cycles = cycles

    @property
    def n_calls(self) -> int:
        """Module calls of one segment at the current depth."""
        return sum(len(u) for u in self.units(self.cycles()))

    @property
    def grad_calls(self) -> int:
        """Trailing module calls of a segment that carry gradient (at the current depth and progress)."""
        return grad_calls(self.cfg, self.progress, self.units(self.cycles()))

    def _init_weights(self) -> None:
        # Embedding std 1/√d, multiplied by √d in forward: unit-scale inputs with a well-scaled gradient.
        trunc_normal_(self.embed.weight, std=1.0 / self.embed_scale)
        if self.slot_embed is not None:
            trunc_normal_(self.slot_embed.weight, std=1.0 / self.embed_scale)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                lecun_init_(m)
        # Q-head starts at "continue, unsure": q ≈ sigmoid(−5), so early training is not cut short.
        nn.init.zeros_(self.q_head.weight)
        nn.init.constant_(self.q_head.bias, -5.0)

    # ---- pieces the ACT wrapper composes --------------------------------------------------------

    @property
    def full_attention(self) -> bool:
        return self.cfg.mode == "canvas"

    def embed_tokens(self, ids: Tensor, layout: Layout | None = None) -> Tensor:
        """(B, T, C) input x; a canvas batch (positions from 0) needs its ``layout`` for the slot indices."""
        return embed_inputs(self.embed, self.slot_embed, self.embed_scale, ids, layout)

    def initial_carry(self, x: Tensor) -> HRMCarry:
        """Initial z_H, z_L for inputs ``x`` (B, T, C), as ``model.z_init`` says."""
        if self.cfg.z_init == "random":
            return HRMCarry(self.H_init.to(x.dtype).expand(x.shape).clone(),
                            self.L_init.to(x.dtype).expand(x.shape).clone())
        z_H = x.clone() if self.cfg.z_init == "embed" else torch.zeros_like(x)
        return HRMCarry(z_H, torch.zeros_like(x))

    def reset(self, carry: HRMCarry, reset: Tensor, x: Tensor) -> HRMCarry:
        """Rows where ``reset`` (B,) is True start again from the initial states (for inputs ``x``)."""
        r = reset.view(-1, 1, 1)
        fresh = self.initial_carry(x)
        return HRMCarry(torch.where(r, fresh.z_H, carry.z_H), torch.where(r, fresh.z_L, carry.z_L))

    def set_progress(self, progress: float) -> None:
        """Training progress (0..1): moves the truncation window of truncated:K with a warm-up."""
        self.progress = progress

    def context(self, layout: Layout, pos: int, q_len: int, rows: Tensor | None = None) -> AttnContext:
        """Attention context for queries [pos, pos+q_len) over keys [0, pos+q_len)."""
        cos, sin = self.rotary(pos, q_len, self.embed.weight.dtype)
        mask = attention_mask(layout, pos, q_len, pos + q_len, full=self.full_attention)
        return AttnContext(cos, sin, mask, pos, rows)

    def new_caches(self, batch: int, max_len: int, like: Tensor) -> list[list[KVCache]]:
        """KV caches for one segment at the current depth: one list (per layer) per module call."""
        heads, hs, layers = self.cfg.heads, self.cfg.head_dim, self.module_layers()
        return [[KVCache(batch, heads, max_len, hs, like.dtype, like.device) for _ in range(layers[name])]
                for unit in self.units(self.cycles()) for name in unit]

    # ---- one segment ------------------------------------------------------------------------------

    def run_calls(self, names: tuple[str, ...], z_H: Tensor, z_L: Tensor, x: Tensor, ctx: AttnContext,
                  caches: list[list[KVCache]] | None = None, first: int = 0,
                  grad_from: int = 0) -> tuple[Tensor, Tensor]:
        """Module calls ``names`` (segment call indices from ``first``); calls before ``grad_from``
        run without a graph (the gradient boundary)."""
        for i, name in enumerate(names):
            with torch.set_grad_enabled(torch.is_grad_enabled() and first + i >= grad_from):
                z_H, z_L = self.call(name, z_H, z_L, x, ctx, caches[i] if caches else None)
        return z_H, z_L

    def segment(self, carry: HRMCarry, x: Tensor, ctx: AttnContext,
                caches: list[list[KVCache]] | None = None) -> tuple[HRMCarry, Tensor]:
        """One segment at the current depth (HRM: cycles × (L_cycles L-updates, one H-update)).
        Returns (detached carry, z_H)."""
        units = self.units(self.cycles())
        names = tuple(name for unit in units for name in unit)
        grad_from = len(names) - grad_calls(self.cfg, self.progress, units)
        z_H, z_L = self.run_calls(names, carry.z_H, carry.z_L, x, ctx, caches, 0, grad_from)
        return HRMCarry(z_H.detach(), z_L.detach()), z_H

    def lm_logits(self, z_H: Tensor, ids: Tensor, layout: Layout, sel: Tensor | None = None,
                  targets: Tensor | None = None) -> Tensor:
        """Logits of a whole sequence of inputs ``ids`` (B, T, V), or (N, V) at the positions ``sel``
        (B, T) selects (the copy head, when the model has one, reads the whole sequence). In training
        with ``model.output_grad = "present"``, ``targets`` say which output rows learn."""
        head = output_head(self.lm_head, self.cfg, self.training, targets)
        return output_logits(head, self.copy, z_H, ids, layout, sel)

    def token_logits(self, z_H: Tensor, memory: CopyMemory | None, pos: int, rows: Tensor | None = None) -> Tensor:
        """Logits (B', V) of one position ``pos`` of a cached decode, for ``rows`` (None: all)."""
        return token_logits(self.lm_head, memory, z_H, pos, rows)

    def q_logits(self, z_H: Tensor) -> Tensor:
        """(…, 2) halting logits (q_halt, q_continue) in fp32 (they feed a BCE and comparisons).
        With ``act.q_detach`` the head reads a detached state: its loss trains the head alone."""
        return self.q_head(z_H.detach() if self.cfg.act.q_detach else z_H).float()
