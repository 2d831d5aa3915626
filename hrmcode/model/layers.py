"""Building blocks shared by the HRM core and the baseline: RMSNorm, RoPE, SwiGLU, attention, KV cache.

Plain PyTorch only (``F.scaled_dot_product_attention``; no FlashAttention import, no compiled
extensions), so the same code runs on CPU, CUDA and MPS. Shapes: B batch, T query positions,
S key positions, C = d model width, nh heads, hs head size.

Masks. A padded batch is described per row by ``start`` (first real position; left padding before
it), ``prefix_end`` (positions [start, prefix_end) are the prompt and see each other) and ``end``
(one past the last real position; right padding after it). One rule then covers every mode:
  causal / prefix: key k is visible from query q iff start ≤ k < end and (k ≤ q or k < prefix_end)
  full (canvas):   key k is visible from query q iff start ≤ k < end
Plain causal attention is prefix_end = start. A padding query always sees itself, so no softmax
row is empty (its output is never read).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# ---- init ---------------------------------------------------------------------------------------

# A normal truncated at ±2σ has a smaller std than σ; dividing by this restores the intended std.
_TRUNC2_STD = math.sqrt(1 - 4 * math.exp(-2) / math.sqrt(2 * math.pi) / math.erf(2 / math.sqrt(2)))


def trunc_normal_(w: Tensor, std: float) -> Tensor:
    """Truncated (±2σ) normal with the given *actual* std (HRM's init)."""
    s = std / _TRUNC2_STD
    return nn.init.trunc_normal_(w, mean=0.0, std=s, a=-2 * s, b=2 * s)


def lecun_init_(linear: nn.Linear) -> None:
    """Truncated LeCun normal: std = 1/√fan_in."""
    trunc_normal_(linear.weight, std=1.0 / math.sqrt(linear.in_features))
    if linear.bias is not None:
        nn.init.zeros_(linear.bias)


# ---- norm ---------------------------------------------------------------------------------------

def rms_norm(x: Tensor, eps: float = 1e-5) -> Tensor:
    """RMSNorm without weight, computed in fp32 (bf16 mean-of-squares loses too much precision)."""
    return F.rms_norm(x.float(), (x.shape[-1],), eps=eps).to(x.dtype)


class RMSNorm(nn.Module):
    """RMSNorm in fp32; without a weight by default (as HRM), with one when ``affine``."""

    def __init__(self, dim: int, eps: float = 1e-5, affine: bool = False) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        y = rms_norm(x, self.eps)
        return y * self.weight.to(y.dtype) if self.weight is not None else y


# ---- rotary position embedding -----------------------------------------------------------------

class Rotary(nn.Module):
    """RoPE tables for positions [0, max_positions); θ from the config."""

    def __init__(self, head_dim: int, max_positions: int, theta: float) -> None:
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        freqs = torch.outer(torch.arange(max_positions, dtype=torch.float32), inv_freq)  # (P, hs/2)
        emb = torch.cat([freqs, freqs], dim=-1)  # (P, hs)
        self.max_positions = max_positions
        # Not persistent: derived from the config, so checkpoints stay small and portable.
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)

    def forward(self, pos: int, length: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """cos, sin for positions [pos, pos+length), each (length, hs)."""
        if pos + length > self.max_positions:
            raise ValueError(f"position {pos + length - 1} is beyond the model's {self.max_positions} positions "
                             f"(raise model.max_seq_len)")
        return self.cos[pos:pos + length].to(dtype), self.sin[pos:pos + length].to(dtype)


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate (B, nh, T, hs) by the angles of its positions (rotate-half convention)."""
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


# ---- masks ---------------------------------------------------------------------------------------

@dataclass
class Layout:
    """Per-row geometry of a padded batch (all LongTensor (B,), absolute positions)."""

    start: Tensor
    prefix_end: Tensor
    end: Tensor

    def rows(self, idx: Tensor | None) -> Layout:
        if idx is None:
            return self
        return Layout(self.start[idx], self.prefix_end[idx], self.end[idx])


def canvas_slot_index(layout: Layout, length: int, n_slots: int) -> tuple[Tensor, Tensor]:
    """Slot index of every position of a canvas batch: (B, T) long, 0 at ``prefix_end`` (the first
    code token), and the (B, T) bool mask of slot positions [prefix_end, end). The index is clamped
    to 0 outside the slots so it can feed an embedding directly (multiply by the mask)."""
    n = layout.end - layout.prefix_end
    if bool((n > n_slots).any()):
        raise ValueError(f"a canvas row has {int(n.max())} slots, more than model.canvas_slots={n_slots}")
    t = torch.arange(length, device=layout.start.device).view(1, -1)  # (1, T)
    idx = t - layout.prefix_end.view(-1, 1)  # (B, T)
    is_slot = (idx >= 0) & (t < layout.end.view(-1, 1))
    return idx.clamp(0, n_slots - 1) * is_slot, is_slot


def slot_embedding(slot_embed: nn.Embedding, layout: Layout, length: int) -> Tensor:
    """(B, T, C) learned embedding of each position's canvas slot index; zero at the prompt and padding."""
    idx, is_slot = canvas_slot_index(layout, length, slot_embed.num_embeddings)
    return slot_embed(idx) * is_slot.unsqueeze(-1)


def attention_mask(layout: Layout, q_pos: int, q_len: int, k_len: int, full: bool) -> Tensor | None:
    """Boolean (B, 1, T, S) mask, True = may attend; None when every key is visible (a faster path)."""
    dev = layout.start.device
    q = torch.arange(q_pos, q_pos + q_len, device=dev).view(1, -1, 1)  # (1, T, 1)
    k = torch.arange(k_len, device=dev).view(1, 1, -1)  # (1, 1, S)
    start, pend, end = (t.view(-1, 1, 1) for t in (layout.start, layout.prefix_end, layout.end))
    allowed = (k >= start) & (k < end)
    if not full:
        allowed = allowed & ((k <= q) | (k < pend))
    allowed = allowed | (k == q)  # a padding query sees itself: no empty softmax row
    if bool(allowed.all()):
        return None
    return allowed.unsqueeze(1)


@dataclass
class AttnContext:
    """What every attention layer of one forward needs; built once per forward, not per layer."""

    cos: Tensor  # (T, hs)
    sin: Tensor  # (T, hs)
    mask: Tensor | None  # (B, 1, T, S) bool, or None = attend to all keys
    pos: int = 0  # absolute position of the first query (where a KV cache writes)
    rows: Tensor | None = None  # batch rows of the caches this forward updates (None = all)


# ---- KV cache -------------------------------------------------------------------------------------

class KVCache:
    """Keys and values of one attention layer (in one module call), preallocated to ``max_len``.

    Stateless about length: the caller says at which position it writes, so a per-token early-exit
    decode can fill a halted row by copying from another cache at the same position.
    """

    def __init__(self, batch: int, heads: int, max_len: int, head_dim: int,
                 dtype: torch.dtype, device: torch.device | str) -> None:
        self.k = torch.zeros(batch, heads, max_len, head_dim, dtype=dtype, device=device)
        self.v = torch.zeros_like(self.k)

    def write(self, pos: int, k: Tensor, v: Tensor, rows: Tensor | None) -> tuple[Tensor, Tensor]:
        """Store (B', nh, T, hs) at [pos, pos+T); return all keys/values [0, pos+T) of those rows."""
        end = pos + k.shape[2]
        if rows is None:
            self.k[:, :, pos:end] = k
            self.v[:, :, pos:end] = v
            return self.k[:, :, :end], self.v[:, :, :end]
        self.k[rows, :, pos:end] = k
        self.v[rows, :, pos:end] = v
        return self.k[rows, :, :end], self.v[rows, :, :end]

    def copy_from(self, other: KVCache, rows: Tensor, pos: int, length: int = 1) -> None:
        """Copy rows' entries at [pos, pos+length) from another cache (a halted token's last state)."""
        self.k[rows, :, pos:pos + length] = other.k[rows, :, pos:pos + length]
        self.v[rows, :, pos:pos + length] = other.v[rows, :, pos:pos + length]


# ---- attention, MLP, block ------------------------------------------------------------------------

class Attention(nn.Module):
    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = hidden // heads
        self.qkv = nn.Linear(hidden, 3 * hidden, bias=False)
        self.out = nn.Linear(hidden, hidden, bias=False)

    def forward(self, x: Tensor, ctx: AttnContext, cache: KVCache | None = None) -> Tensor:
        B, T, C = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)  # (3, B, nh, T, hs)
        q, k = apply_rope(qkv[:2], ctx.cos, ctx.sin).unbind(0)  # q and k rotated in one go
        v = qkv[2]
        if cache is not None:
            k, v = cache.write(ctx.pos, k, v, ctx.rows)  # (B, nh, S, hs) with S = pos + T
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=ctx.mask)  # (B, nh, T, hs)
        return self.out(y.transpose(1, 2).reshape(B, T, C))


class SwiGLU(nn.Module):
    def __init__(self, hidden: int, ffn_hidden: int) -> None:
        super().__init__()
        self.gate_up = nn.Linear(hidden, 2 * ffn_hidden, bias=False)
        self.down = nn.Linear(ffn_hidden, hidden, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class Block(nn.Module):
    """A transformer block. Post-norm (HRM): x = norm(x + attn(x)); x = norm(x + mlp(x)).
    Pre-norm (HRM-Text, the baseline's usual form): x = x + attn(norm(x)); x = x + mlp(norm(x))."""

    def __init__(self, hidden: int, heads: int, ffn_hidden: int, norm: str) -> None:
        super().__init__()
        self.post_norm = norm == "post"
        self.attn = Attention(hidden, heads)
        self.mlp = SwiGLU(hidden, ffn_hidden)

    def forward(self, x: Tensor, ctx: AttnContext, cache: KVCache | None = None) -> Tensor:
        if self.post_norm:
            x = rms_norm(x + self.attn(x, ctx, cache))
            return rms_norm(x + self.mlp(x))
        x = x + self.attn(rms_norm(x), ctx, cache)
        return x + self.mlp(rms_norm(x))
