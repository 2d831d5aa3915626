"""The baseline: a plain transformer of the same width, with HRM's interface (one segment, no ACT).

Same embedding, blocks, RoPE, masks and heads as the HRM core; ``n_baseline_layers`` blocks
(default h_layers + l_layers, which matches HRM's parameter count). To the trainer it is an ACT
model whose every sample halts after one segment; to the generator it is a one-segment decoder.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor, nn

from hrmcode.config import ModelConfig
from hrmcode.model.batch import Batch
from hrmcode.model.common import DecodeState, StepOutput, lm_outputs
from hrmcode.model.copy_head import (
    CopyHead,
    memory_of,
    output_head,
    output_logits,
    start_memory,
    token_logits,
)
from hrmcode.model.hrm import canvas_slot_embed, embed_inputs, n_positions
from hrmcode.model.layers import (
    AttnContext,
    Block,
    KVCache,
    Layout,
    Rotary,
    attention_mask,
    lecun_init_,
    rms_norm,
    trunc_normal_,
)


class BaselineTransformer(nn.Module):
    def __init__(self, cfg: ModelConfig, pad_id: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        self.pad_id = pad_id
        d = cfg.hidden
        self.embed_scale = math.sqrt(d)
        self.embed = nn.Embedding(cfg.vocab_size, d)
        self.slot_embed = canvas_slot_embed(cfg)  # canvas mode, as in HRM (same parameter count)
        self.rotary = Rotary(cfg.head_dim, n_positions(cfg), cfg.rope_theta)
        self.layers = nn.ModuleList(Block(d, cfg.heads, cfg.ffn_hidden, cfg.norm)
                                    for _ in range(cfg.n_baseline_layers))
        self.final_norm = cfg.norm == "pre"
        self.lm_head = nn.Linear(d, cfg.vocab_size, bias=False)
        self.copy = CopyHead.from_config(cfg)
        trunc_normal_(self.embed.weight, std=1.0 / self.embed_scale)
        if self.slot_embed is not None:
            trunc_normal_(self.slot_embed.weight, std=1.0 / self.embed_scale)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                lecun_init_(m)
        if cfg.tie_embeddings:  # after init: the output projection IS the embedding table
            self.lm_head.weight = self.embed.weight

    def _context(self, layout: Layout, pos: int, q_len: int) -> AttnContext:
        cos, sin = self.rotary(pos, q_len, self.embed.weight.dtype)
        return AttnContext(cos, sin, attention_mask(layout, pos, q_len, pos + q_len, full=self.cfg.mode == "canvas"), pos)

    def _hidden(self, ids: Tensor, ctx: AttnContext, caches: list[KVCache] | None = None,
                layout: Layout | None = None) -> Tensor:
        """The final hidden states (B, T, C), normed where the output layer expects it."""
        h = embed_inputs(self.embed, self.slot_embed, self.embed_scale, ids, layout)  # (B, T, C)
        for i, layer in enumerate(self.layers):
            h = layer(h, ctx, caches[i] if caches is not None else None)
        return rms_norm(h) if self.final_norm else h

    def calls_per_segment(self) -> int:
        """One module call (the whole stack) per token: the compute counters' unit for the baseline."""
        return 1

    # ---- training: the ACT interface with one segment ---------------------------------------------

    def initial_carry(self, batch: Batch) -> None:
        return None

    def forward(self, carry: None, batch: Batch) -> StepOutput:
        h = self._hidden(batch.inputs, self._context(batch.layout, 0, batch.length), layout=batch.layout)
        stats, logits = lm_outputs(functools.partial(self._logits, batch), h, batch.targets, self.cfg.loss,
                                   full=not self.training)
        with torch.no_grad():
            n_tok = stats.n_targets.sum().clamp_min(1)
            metrics = {"loss": stats.loss.detach(), "lm_loss": stats.loss.detach(),
                       "accuracy": stats.token_correct.sum() / n_tok,
                       "exact_accuracy": stats.exact.float().mean()}
        return StepOutput(None, stats.loss, metrics, {} if logits is None else {"logits": logits}, True)

    def _logits(self, batch: Batch, h: Tensor, sel: Tensor | None) -> Tensor:
        head = output_head(self.lm_head, self.cfg, self.training, batch.targets)
        return output_logits(head, self.copy, h, batch.inputs, batch.layout, sel)

    # ---- inference ----------------------------------------------------------------------------------

    @torch.inference_mode()
    def infer(self, batch: Batch) -> tuple[Tensor, Tensor]:
        h = self._hidden(batch.inputs, self._context(batch.layout, 0, batch.length), layout=batch.layout)
        logits = self._logits(batch, h, None)
        return logits, torch.ones(batch.size, dtype=torch.long, device=logits.device)

    @torch.inference_mode()
    def start_decode(self, prompts: Batch, max_len: int) -> tuple[Tensor, DecodeState]:
        if self.cfg.mode != "causal":
            raise ValueError("cached decoding is for model.mode = 'causal'; canvas models use infer()")
        like = self.embed.weight
        caches = [KVCache(prompts.size, self.cfg.heads, max_len, self.cfg.head_dim, like.dtype, like.device)
                  for _ in self.layers]
        h = self._hidden(prompts.inputs, self._context(prompts.layout, 0, prompts.length), caches)
        ones = torch.ones(prompts.size, dtype=torch.long, device=like.device)
        state = DecodeState(layout=prompts.layout, pos=prompts.length, max_len=max_len, caches=[[caches]],
                            seg_rows=None, prefill_segments=ones, token_segments=torch.zeros_like(ones),
                            prefill_calls=ones.clone(), token_calls=torch.zeros_like(ones), full_calls=1)
        memory = start_memory(self.copy, state, h, prompts)
        return token_logits(self.lm_head, memory, h[:, -1], prompts.length - 1), state

    @torch.inference_mode()
    def decode_step(self, state: DecodeState, ids: Tensor) -> Tensor:
        if state.pos >= state.max_len:
            raise ValueError(f"decode past max_len={state.max_len}")
        ctx = self._context(state.step_layout(None), state.pos, 1)
        h = self._hidden(ids.view(-1, 1), ctx, state.caches[0][0])[:, 0]  # (B, C)
        memory = memory_of(state)
        if memory is not None:
            memory.append(ids.view(-1), state.pos)
        logits = token_logits(self.lm_head, memory, h, state.pos)
        if memory is not None:
            memory.write_keys(h, state.pos)
        state.pos += 1
        state.tokens += 1
        state.token_segments += 1
        state.token_calls += 1
        return logits
