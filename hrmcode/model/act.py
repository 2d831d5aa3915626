"""ACT around the HRM core: deep supervision with Q-learning halting in training, early exit at inference.

Training (one call = one segment for every slot of the batch; the trainer steps the optimizer after
each call):
  * a slot whose sample halted on the previous call takes the new batch's row and restarts from the
    initial state; the other slots keep their sample and carry (their rows of the new batch are not
    used);
  * after the segment: steps += 1; a slot halts when steps ≥ halt_max_steps, or (training, ACT on)
    when q_halt > q_continue — unless exploration (prob. ``exploration_prob``) imposed a minimum
    step count drawn from U[2, halt_max_steps];
  * loss = per-sequence token CE + q_loss_weight · (BCE(q_halt, "prediction exactly right") +
    BCE(q_continue, sigmoid(q') )) where q' comes from a second, no-grad segment on the new carry:
    q_halt' on the last step, max(q_halt', q_continue') otherwise.
  In eval mode (``model.eval()``) every sample runs halt_max_steps, as HRM evaluates.

The q-head reads the summary position prefix_end−1 (the <code> token): in canvas mode it sees the
whole canvas; in causal mode it sees only the prompt, so the decision "how many segments" is made
from the prompt alone and every generated token then runs the same depth (KV caches stay consistent).

Inference (``act.inference``):
  max           every row runs halt_max_steps segments.
  per_sequence  after each segment over the prompt (causal) or canvas, rows with q_halt > q_continue
                stop; later segments run only on the remaining rows (real early exit).
  per_token     causal only: the prompt runs every segment; each generated token stops on its own
                q-head; for the segments it skips, its keys/values are those of its last segment
                ("a halted token's last state serves later segments").
  converge      causal only, no q-head needed (Huginn's zero-shot exit): the prompt runs every
                segment; after each depth unit (an H update; a loop of the looped model) a generated
                token reads its next-token distribution p from z_H and stops when
                KL(p ‖ p_previous) < act.converge_threshold, p_0 being read from the initial state;
                each skipped call's keys/values are those of the same call of its last unit.
The compute counters count segments and module calls actually run per row (prompt and generated
tokens separately).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hrmcode.config import ModelConfig
from hrmcode.model.batch import IGNORE, Batch
from hrmcode.model.common import DecodeState, StepOutput, lm_outputs
from hrmcode.model.copy_head import memory_of, start_memory
from hrmcode.model.hrm import HRMCarry, HRMCore
from hrmcode.model.layers import KVCache
from hrmcode.model.looped import LoopedCore


@dataclass
class ACTCarry:
    inner: HRMCarry
    steps: Tensor  # (B,) segments run on the slot's current sample
    halted: Tensor  # (B,) bool: the slot takes a new sample on the next call
    data: Batch  # the sample each slot is working on


def _where_rows(mask: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return torch.where(mask.view(-1, *([1] * (a.dim() - 1))), a, b)


def _fit_carry(carry: HRMCarry, x: Tensor, core: HRMCore) -> HRMCarry:
    """The carry cut or extended to x's length (new positions start from x's initial states)."""
    old, length = carry.z_H.shape[1], x.shape[1]
    if length <= old:
        return HRMCarry(carry.z_H[:, :length], carry.z_L[:, :length])
    fresh = core.initial_carry(x[:, old:])
    return HRMCarry(torch.cat([carry.z_H, fresh.z_H], 1), torch.cat([carry.z_L, fresh.z_L], 1))


class HRMACT(nn.Module):
    """The HRM model as the trainer and the generator use it (see ``hrmcode.model``)."""

    def __init__(self, cfg: ModelConfig, pad_id: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        self.pad_id = pad_id
        self.core = LoopedCore(cfg) if cfg.arch == "looped" else HRMCore(cfg)

    @property
    def max_steps(self) -> int:
        return self.cfg.act.halt_max_steps

    def calls_per_segment(self) -> int:
        """Module calls of one segment at the current depth (inference: cfg.h_cycles)."""
        return self.core.n_calls

    # ---- training ---------------------------------------------------------------------------------

    def initial_carry(self, batch: Batch) -> ACTCarry:
        """A carry whose slots are all halted, so the first call loads every row of its batch."""
        B = batch.size
        dev = batch.inputs.device
        like = self.core.embed.weight
        zeros = torch.zeros(B, batch.length, self.cfg.hidden, dtype=like.dtype, device=dev)
        return ACTCarry(HRMCarry(zeros, zeros.clone()),
                        torch.zeros(B, dtype=torch.long, device=dev),
                        torch.ones(B, dtype=torch.bool, device=dev), batch)

    def set_progress(self, progress: float) -> None:
        """Training progress 0..1 (the trainer's LR clock): moves the truncated-backprop window."""
        self.core.set_progress(progress)

    def set_cycles(self, cycles: int | None) -> None:
        """H cycles of the next training steps (the trainer's draw, ``sample_cycles``); None = h_cycles."""
        self.core.set_cycles(cycles)

    def _refill(self, carry: ACTCarry, batch: Batch) -> tuple[Batch, HRMCarry, Tensor, Tensor]:
        if batch.size != carry.data.size:
            raise ValueError(f"batch has {batch.size} rows but the carry has {carry.data.size} slots "
                             "(keep the batch size fixed across ACT steps)")
        h = carry.halted
        # Padding is masked out of attention, so the run follows its batches' lengths: the carry is
        # cut to what the rows that keep their sample still need.
        kept = carry.data.end[~h]
        T = max(batch.length, int(kept.max()) if len(kept) else 0)
        old, new = carry.data.fit_to(T, self.pad_id), batch.pad_to(T, self.pad_id)
        data = Batch(*(_where_rows(h, getattr(new, f), getattr(old, f))
                       for f in ("inputs", "targets", "start", "prefix_end", "end")))
        x = self.core.embed_tokens(data.inputs, data.layout)
        inner = self.core.reset(_fit_carry(carry.inner, x, self.core), h, x)
        steps = torch.where(h, 0, carry.steps)
        return data, inner, steps, x

    def _summary(self, z_H: Tensor, data: Batch) -> Tensor:
        """z_H at the summary position prefix_end−1: (B, C)."""
        return z_H[torch.arange(z_H.shape[0], device=z_H.device), data.prefix_end - 1]

    def forward(self, carry: ACTCarry, batch: Batch) -> StepOutput:
        cfg, act = self.cfg, self.cfg.act
        data, inner, steps, x = self._refill(carry, batch)
        ctx = self.core.context(data.layout, 0, data.length)
        inner, z_H = self.core.segment(inner, x, ctx)
        stats, logits = lm_outputs(functools.partial(self._logits, data), z_H, data.targets, cfg.loss,
                                   full=not self.training)
        q_halt, q_continue = self.core.q_logits(self._summary(z_H, data)).unbind(-1)  # (B,) each
        steps = steps + 1

        with torch.no_grad():
            is_last = steps >= self.max_steps
            halted = is_last
            target_continue = None
            if self.training and act.trains_q_head:
                halted = halted | self._halt_rule(q_halt, q_continue)
                explore = torch.rand(q_halt.shape, device=q_halt.device) < act.exploration_prob
                min_steps = torch.randint_like(steps, 2, self.max_steps + 1) * explore
                halted = halted & (steps >= min_steps)
                if act.q_target == "bootstrap":
                    # Bootstrapped target: the value of continuing is the value of the next segment.
                    _, z_next = self.core.segment(inner, x, ctx)
                    qh_next, qc_next = self.core.q_logits(self._summary(z_next, data)).unbind(-1)
                    target_continue = torch.sigmoid(torch.where(is_last, qh_next, torch.maximum(qh_next, qc_next)))

        loss = stats.loss
        metrics = {"lm_loss": stats.loss.detach()}
        if act.trains_q_head:
            # Nothing to halt with one segment: no halting loss (it would only push the trunk).
            q_halt_loss = F.binary_cross_entropy_with_logits(q_halt, stats.exact.float())
            loss = loss + act.q_loss_weight * q_halt_loss
            metrics["q_halt_loss"] = q_halt_loss.detach()
            if target_continue is not None:
                q_continue_loss = F.binary_cross_entropy_with_logits(q_continue, target_continue)
                loss = loss + act.q_loss_weight * q_continue_loss
                metrics["q_continue_loss"] = q_continue_loss.detach()
            if act.inference == "per_token" and cfg.mode == "causal":
                # Per-token halting: each position's q_halt learns "my next token is right".
                has = data.targets != IGNORE
                q_tok = self.core.q_logits(z_H)[..., 0][has]
                q_token_loss = F.binary_cross_entropy_with_logits(q_tok, stats.token_correct[has].float())
                loss = loss + act.q_loss_weight * q_token_loss
                metrics["q_token_loss"] = q_token_loss.detach()

        with torch.no_grad():
            n_tok = stats.n_targets.sum().clamp_min(1)
            metrics.update(
                loss=loss.detach(),
                accuracy=stats.token_correct.sum() / n_tok,
                exact_accuracy=stats.exact.float().mean(),
                q_halt_accuracy=((q_halt > 0) == stats.exact).float().mean(),
                halting_rate=halted.float().mean(),
                # mean steps of the samples that finished on this call (0 when none did)
                mean_steps=(steps * halted).sum() / halted.sum().clamp_min(1),
            )
        outputs = {"q_halt": q_halt, "q_continue": q_continue, **({} if logits is None else {"logits": logits})}
        new_carry = ACTCarry(inner, steps, halted, data)
        return StepOutput(new_carry, loss, metrics, outputs, bool(halted.all()))

    def _logits(self, data: Batch, z_H: Tensor, sel: Tensor | None) -> Tensor:
        return self.core.lm_logits(z_H, data.inputs, data.layout, sel, data.targets)

    # ---- inference --------------------------------------------------------------------------------

    def _halt_rule(self, q_halt: Tensor, q_continue: Tensor | None) -> Tensor:
        """HRM halts when q_halt > q_continue; with TRM's correctness target q_continue is never
        trained, so the rule is sigmoid(q_halt) > act.halt_threshold (predicted probability of being
        right; the default 0.5 is q_halt > 0). Per-token early exit always uses that rule, since its
        q-head learns "this token is right"."""
        if self.cfg.act.q_target == "correctness" or q_continue is None:
            p = self.cfg.act.halt_threshold
            return q_halt > math.log(p / (1.0 - p))
        return q_halt > q_continue

    def _halts(self, z_H: Tensor, per_token: bool = False) -> Tensor:
        q_halt, q_continue = self.core.q_logits(z_H).unbind(-1)
        return self._halt_rule(q_halt, None if per_token else q_continue)

    def _policy(self) -> str:
        inf = self.cfg.act.inference
        if inf != "converge" and not self.cfg.act.enabled:  # the converge exit needs no trained q-head
            inf = "max"
        if inf in ("per_token", "converge") and self.cfg.mode == "canvas":
            raise ValueError(f"act.inference = {inf!r} needs model.mode = 'causal' (canvas halts per sequence)")
        return inf

    def _run_prompt(self, batch: Batch, max_len: int | None) -> tuple[Tensor, Tensor, DecodeState | None]:
        """Run the segments over a whole (left-padded) batch; early exit per sequence.

        Returns the final z_H (B, T, C), segments per row (B,), and — when ``max_len`` is given —
        the decode state holding KV caches for positions up to ``max_len``.
        """
        policy = self._policy()
        B, T = batch.size, batch.length
        core = self.core
        x = core.embed_tokens(batch.inputs, batch.layout)
        carry = core.initial_carry(x)
        rows = torch.arange(B, device=x.device)
        segments = torch.zeros(B, dtype=torch.long, device=x.device)
        calls = torch.zeros_like(segments)
        per_token = policy in ("per_token", "converge")
        caches, seg_rows = [], []
        for s in range(self.max_steps):
            all_rows = len(rows) == B
            idx = None if all_rows else rows
            ctx = core.context(batch.layout.rows(idx), 0, T)
            seg_caches = core.new_caches(len(rows), max_len, x) if max_len is not None else None
            c_in = carry if all_rows else carry.rows(rows)
            c_out, _ = core.segment(c_in, x if all_rows else x[rows], ctx, seg_caches)
            if all_rows:
                carry = c_out
            else:
                carry.z_H[rows], carry.z_L[rows] = c_out.z_H, c_out.z_L
            segments[rows] += 1
            calls[rows] += core.n_calls
            caches.append(seg_caches)
            seg_rows.append(rows)
            if s == self.max_steps - 1 or policy in ("max", "per_token", "converge"):
                continue
            z_sum = c_out.z_H[torch.arange(len(rows), device=x.device), batch.prefix_end[rows] - 1]
            rows = rows[~self._halts(z_sum)]
            if len(rows) == 0:
                break
        state = None
        if max_len is not None:
            state = DecodeState(layout=batch.layout, pos=T, max_len=max_len, caches=caches,
                                seg_rows=None if per_token else seg_rows, prefill_segments=segments,
                                token_segments=torch.zeros_like(segments), prefill_calls=calls,
                                token_calls=torch.zeros_like(calls),
                                full_calls=self.max_steps * core.n_calls)
        return carry.z_H, segments, state

    @torch.inference_mode()
    def infer(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """Logits (B, T, V) of a full forward with ACT early exit, and segments run per row (B,).

        Causal: recomputation over prompt + code (the reference the KV cache must match).
        Canvas: the refined canvas; read the slots at positions [prefix_end, end).
        """
        if self._policy() in ("per_token", "converge"):
            raise ValueError("per-token early exit exists only in cached decoding (start_decode/decode_step)")
        z_H, segments, _ = self._run_prompt(batch, None)
        return self._logits(batch, z_H, None), segments

    @torch.inference_mode()
    def start_decode(self, prompts: Batch, max_len: int) -> tuple[Tensor, DecodeState]:
        """Prefill a left-padded prompt batch: logits (B, V) for the first code token, and the state."""
        if self.cfg.mode != "causal":
            raise ValueError("cached decoding is for model.mode = 'causal'; canvas models use infer()")
        z_H, _, state = self._run_prompt(prompts, max_len)
        assert state is not None
        memory = start_memory(self.core.copy, state, z_H, prompts)
        return self.core.token_logits(z_H[:, -1], memory, prompts.length - 1), state

    @torch.inference_mode()
    def decode_step(self, state: DecodeState, ids: Tensor) -> Tensor:
        """Append one token per row (B,) at ``state.pos``; logits (B, V) for the next token."""
        if state.pos >= state.max_len:
            raise ValueError(f"decode past max_len={state.max_len}")
        core = self.core
        x = core.embed_tokens(ids.view(-1, 1))  # (B, 1, C)
        carry = core.initial_carry(x)
        memory = memory_of(state)
        if memory is not None:
            memory.append(ids.view(-1), state.pos)
        if state.seg_rows is not None:
            self._step_per_sequence(state, x, carry)
        else:
            self._step_per_token(state, x, carry, converge=self._policy() == "converge")
        logits = core.token_logits(carry.z_H[:, 0], memory, state.pos)
        if memory is not None:
            memory.write_keys(carry.z_H[:, 0], state.pos)
        state.pos += 1
        state.tokens += 1
        return logits

    def _step_per_sequence(self, state: DecodeState, x: Tensor, carry: HRMCarry) -> None:
        assert state.seg_rows is not None
        B = x.shape[0]
        for rows, caches in zip(state.seg_rows, state.caches, strict=True):
            all_rows = len(rows) == B
            # The caches of this segment hold only its rows (compact), so the context has rows=None.
            ctx = self.core.context(state.step_layout(None if all_rows else rows), state.pos, 1)
            c_out, _ = self.core.segment(carry if all_rows else carry.rows(rows), x if all_rows else x[rows],
                                         ctx, caches)
            if all_rows:
                carry.z_H, carry.z_L = c_out.z_H, c_out.z_L
            else:
                carry.z_H[rows], carry.z_L[rows] = c_out.z_H, c_out.z_L
            state.token_segments[rows] += 1
            state.token_calls[rows] += self.core.n_calls

    def _step_per_token(self, state: DecodeState, x: Tensor, carry: HRMCarry, converge: bool) -> None:
        """Each generated token exits on its own: on its q-head after a segment (per_token), or when
        its next-token distribution converged after a depth unit (converge)."""
        core = self.core
        B = x.shape[0]
        units = core.units(core.cycles())
        unit_len = len(units[0])  # every unit of a core has the same calls
        active = torch.arange(B, device=x.device)
        threshold = self.cfg.act.converge_threshold
        memory = memory_of(state)
        prev = F.log_softmax(core.token_logits(carry.z_H[:, 0], memory, state.pos).float(), -1) if converge else None
        for s in range(self.max_steps):
            state.token_segments[active] += 1
            for u in range(len(units)):
                first = u * unit_len
                idx = None if len(active) == B else active
                ctx = core.context(state.step_layout(idx), state.pos, 1, rows=idx)
                z_H, z_L = core.run_calls(units[u], carry.z_H if idx is None else carry.z_H[active],
                                          carry.z_L if idx is None else carry.z_L[active],
                                          x if idx is None else x[active], ctx,
                                          state.caches[s][first:first + unit_len])
                if idx is None:
                    carry.z_H, carry.z_L = z_H, z_L
                else:
                    carry.z_H[active], carry.z_L[active] = z_H, z_L
                state.token_calls[active] += unit_len
                if s == self.max_steps - 1 and u == len(units) - 1:
                    return
                if converge:
                    assert prev is not None
                    logp = F.log_softmax(core.token_logits(z_H[:, 0], memory, state.pos, idx).float(), -1)
                    kl = (logp.exp() * (logp - prev[active])).sum(-1).clamp_min(0.0)
                    prev[active] = logp
                    halt, span = kl < threshold, (first, unit_len)
                elif u == len(units) - 1:
                    halt, span = self._halts(z_H[:, 0], per_token=True), (0, len(units) * unit_len)
                else:
                    continue
                if bool(halt.any()):
                    # The halted tokens' keys/values of this span stand in for every later one.
                    self._fill_later(state.caches, s, span, active[halt], state.pos)
                    active = active[~halt]
                if len(active) == 0:
                    return

    @staticmethod
    def _fill_later(caches: list[list[list[KVCache]]], seg: int, span: tuple[int, int], rows: Tensor,
                    pos: int) -> None:
        """Copy ``rows``' entries at ``pos`` of calls [first, first+n) of segment ``seg`` to the same
        calls of every later span of n calls (later in this segment, then in every later segment)."""
        first, n = span
        src = caches[seg][first:first + n]
        for calls in [caches[seg][first + n:], *caches[seg + 1:]]:
            for c0 in range(0, len(calls), n):
                for src_call, dst_call in zip(src, calls[c0:c0 + n], strict=True):
                    for a, b in zip(src_call, dst_call, strict=True):
                        b.copy_from(a, rows, pos)
