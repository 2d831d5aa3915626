"""HRM code models, the looped comparator and the same-size baseline, behind one interface.

    model = build_model(cfg)            # cfg: hrmcode.config.ModelConfig; HRMACT or BaselineTransformer
                                        # (arch: hrm and arch: looped are both HRMACT, with an HRMCore or
                                        # a LoopedCore: one weight-shared module, no H/L split)

Batches (``hrmcode.model.batch``)
---------------------------------
A :class:`Batch` holds ``inputs`` (B, T) token ids, ``targets`` (B, T) with ``IGNORE`` (−100)
where there is no loss, and per-row ``start`` / ``prefix_end`` / ``end`` (B,) positions. Build one
from tokenizer examples (``hrmcode.tokenizer.CodeTokenizer``):

    causal: ex = tok.encode_causal(lang, prompt, code)          # <lang> prompt… <code> code… <eos>
            batch = causal_batch([ex, ...], tok.pad_id, length=None or a fixed T)
            # targets[t] = ids[t+1] from the <code> position on: loss on the code and <eos> only;
            # positions [0, prefix_end) attend bidirectionally, the code causally.
    canvas: ex = tok.encode_canvas(lang, prompt, code, cfg.canvas_slots)
            batch = canvas_batch([ex, ...], tok.pad_id)
            # [prompt | canvas_slots <mask>]; targets on every slot: code… <eos> <pad>…; full attention.
            # Every slot's input is <mask> plus a learned embedding of its index (slot 0 = prefix_end).

Training batches are right-padded; use one batch size for the whole run (ACT keeps slots). The
sequence length may vary from call to call (the carry is right-padded to the longer one). Packing
several samples into one row is not supported (the prefix mask is per row).

Training call (both architectures)
----------------------------------
    carry = model.initial_carry(batch)                  # once; every slot starts "halted"
    for step:
        batch = next(batches).to(device)
        out = model(carry, batch)                       # StepOutput: ONE segment per call
        out.loss.backward(); optimizer.step(); optimizer.zero_grad()
        carry = out.carry                               # detached; keep it for the next call
        out.metrics   # dict of detached 0-dim tensors: loss, lm_loss, accuracy, exact_accuracy and,
                      # for HRM with ACT: q_halt_loss, q_continue_loss, q_halt_accuracy,
                      # halting_rate, mean_steps (mean steps of the samples that halted this call)
        out.outputs   # {"logits": (B, T, V), "q_halt": (B,), "q_continue": (B,)}; "logits" only in
                      # model.eval(): training runs the output layer at target positions only
        out.all_halted  # True when every slot finished its sample this call

For HRM (deep supervision) a slot keeps its sample until it halts; rows of ``batch`` that land on
slots still working are ignored (HRM's semantics). ``model.train()`` enables Q-learning halting and
exploration; in ``model.eval()`` every sample runs ``act.halt_max_steps`` segments. The baseline is
the same interface with one segment: ``carry`` is None and ``all_halted`` is always True.

Inference calls (no gradient; both architectures)
-------------------------------------------------
    batch = prompt_batch(prompt_ids_list, tok.pad_id)              # left-padded; each ends with <code>
    logits, segments = model.infer(batch)                          # full forward, (B, T, V) and (B,)
    # causal, cached (KV cache per module call, per segment):
    logits, state = model.start_decode(batch, max_len=P + max_new)  # logits (B, V) for the 1st token
    logits = model.decode_step(state, next_ids)                     # next_ids (B,); logits (B, V)
    state.prefill_segments, state.token_segments                    # compute counter per row
    state.prefill_calls, state.token_calls, state.full_calls        # module calls (per position)
    # canvas: batch = prompt_batch(prompts, tok.pad_id, n_slots=cfg.canvas_slots, mask_id=tok.mask_id)
    #         logits, segments = model.infer(batch); slots are logits[:, P:], read up to <eos>.

``hrmcode.generate.generate`` wraps these into batched greedy / sampled decoding.
"""

from __future__ import annotations

import torch
from torch import nn

from hrmcode.config import ModelConfig
from hrmcode.model.act import HRMACT, ACTCarry
from hrmcode.model.batch import IGNORE, Batch, canvas_batch, causal_batch, prompt_batch
from hrmcode.model.common import DecodeState, StepOutput
from hrmcode.model.hrm import (
    HRMCarry,
    HRMCore,
    equal_compute_layers,
    grad_calls,
    layer_applications,
    sample_cycles,
)
from hrmcode.model.looped import LoopedCore, looped_loops
from hrmcode.model.transformer import BaselineTransformer

CodeModel = HRMACT | BaselineTransformer

__all__ = [
    "HRMACT",
    "IGNORE",
    "ACTCarry",
    "BaselineTransformer",
    "Batch",
    "CodeModel",
    "DecodeState",
    "HRMCarry",
    "HRMCore",
    "LoopedCore",
    "StepOutput",
    "build_model",
    "canvas_batch",
    "causal_batch",
    "count_parameters",
    "equal_compute_layers",
    "grad_calls",
    "layer_applications",
    "looped_loops",
    "model_info",
    "prompt_batch",
    "sample_cycles",
]


def build_model(cfg: ModelConfig, pad_id: int = 0) -> CodeModel:
    """The model a config describes (``cfg.arch``): HRM or the looped model (both with ACT), or the
    plain-transformer baseline."""
    if cfg.arch == "baseline":
        return BaselineTransformer(cfg, pad_id)
    return HRMACT(cfg, pad_id)


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Total parameters and non-embedding parameters (excluding the token embedding and lm_head)."""
    total = sum(p.numel() for p in model.parameters())  # a tied lm_head is counted once
    tables = {id(m.weight): m.weight.numel() for name, m in model.named_modules()
              if isinstance(m, nn.Embedding) or name.endswith("lm_head")}
    embedding = sum(tables.values())
    return {"total": total, "non_embedding": total - embedding}


def model_info(cfg: ModelConfig) -> dict[str, object]:
    """Parameter counts and per-token compute of HRM, the looped model and the baseline built from one
    config (what `hrmcode model-info` shows). ``layer_applications`` are block applications per token
    of one segment; ``equal_compute_layers`` is the baseline depth with HRM's compute."""
    base_cfg = cfg.model_copy(update={"arch": "baseline"})
    # On the meta device: shapes only, no memory and no init time (hrm-27m builds instantly).
    with torch.device("meta"):
        hrm = count_parameters(build_model(cfg.model_copy(update={"arch": "hrm"})))
        looped = count_parameters(build_model(cfg.model_copy(update={"arch": "looped"})))
        base = count_parameters(build_model(base_cfg))
    loops = looped_loops(cfg)
    return {
        "hidden": cfg.hidden, "heads": cfg.heads, "vocab_size": cfg.vocab_size, "ffn_hidden": cfg.ffn_hidden,
        "hrm": {**hrm, "h_layers": cfg.h_layers, "l_layers": cfg.l_layers, "h_cycles": cfg.h_cycles,
                "l_cycles": cfg.l_cycles, "halt_max_steps": cfg.act.halt_max_steps,
                "layer_applications": layer_applications(cfg)},
        "looped": {**looped, "layers": cfg.h_layers + cfg.l_layers, "loops": loops,
                   "layer_applications": loops * (cfg.h_layers + cfg.l_layers)},
        "baseline": {**base, "layers": base_cfg.n_baseline_layers, "layer_applications": base_cfg.n_baseline_layers},
        "baseline_vs_hrm_non_embedding": base["non_embedding"] / hrm["non_embedding"],
        "equal_compute_layers": equal_compute_layers(cfg),
    }
