"""A trained run directory, loaded for inference: resolved config, tokenizer and weights.

The run directory is what ``hrmcode train`` writes (config.yaml, tokenizer.json, checkpoints/…).
Evaluation, generation and quantization all start from here, so they see the model exactly as
training left it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from hrmcode.config import ConfigError, RunConfig, load_saved_config, with_act
from hrmcode.model import CodeModel, build_model
from hrmcode.tokenizer import CodeTokenizer
from hrmcode.train import checkpoint as ck

log = logging.getLogger(__name__)


class RunError(ValueError):
    """A run directory that cannot be used; the message names the path and what is missing."""


@dataclass
class LoadedRun:
    run_dir: Path
    cfg: RunConfig
    model: CodeModel
    tokenizer: CodeTokenizer
    step: int
    checkpoint: Path
    weights: str  # "ema" or "raw"

    @property
    def name(self) -> str:
        return self.cfg.name or self.run_dir.name


def pick_checkpoint(run_dir: Path, which: Literal["best", "last"]) -> ck.Checkpoint:
    """The best (lowest probe loss) or newest checkpoint that verifies; falls back to older ones."""
    root = run_dir / "checkpoints"
    if which == "best":
        best = ck.best_checkpoint(root)
        if best is not None:
            try:
                return ck.load_checkpoint(best)
            except ck.CheckpointError as e:
                log.warning("best checkpoint unusable, using the newest that verifies: %s", e)
    latest, skipped = ck.load_latest(root)
    if latest is None:
        detail = f": {'; '.join(skipped)}" if skipped else ""
        raise RunError(f"{root}: no checkpoint that verifies{detail}")
    return latest


def load_run(run_dir: str | Path, *, which: Literal["best", "last"] = "best", device: str = "cpu",
             use_ema: bool = True, act_inference: str | None = None,
             act_threshold: float | None = None) -> LoadedRun:
    """Load a run for inference (``model.eval()``). ``act_inference`` / ``act_threshold`` override
    ``model.act.inference`` / ``model.act.halt_threshold``."""
    run_dir = Path(run_dir)
    if (run_dir / "quant.json").is_file():  # a quantized run (`hrmcode quantize`): same LoadedRun, quantized model
        from hrmcode.quantize import load_quantized

        return load_quantized(run_dir, device=device, act_inference=act_inference, act_threshold=act_threshold)
    for name in ("config.yaml", "tokenizer.json"):
        if not (run_dir / name).exists():
            raise RunError(f"{run_dir}: not a run directory ({name} missing); train one with `hrmcode train`")
    try:
        cfg = load_saved_config(run_dir / "config.yaml")
    except ConfigError as e:
        raise RunError(str(e)) from None
    try:
        cfg = with_act(cfg, inference=act_inference, threshold=act_threshold)
    except ConfigError as e:
        raise RunError(str(e)) from None
    tok = CodeTokenizer.load(run_dir / "tokenizer.json")
    c = pick_checkpoint(run_dir, which)
    model = build_model(cfg.model, pad_id=tok.pad_id)
    state = dict(c.model)
    ema = {k[4:]: v for k, v in c.tensors.items() if k.startswith("ema.")}
    weights = "raw"
    if use_ema and ema:
        state.update(ema)
        weights = "ema"
    missing, unexpected = model.load_state_dict(state, strict=False)
    # Buffers the model re-creates (init states) may be absent; learned weights must all be there.
    learned = {n for n, _ in model.named_parameters()}
    if learned & set(missing) or unexpected:
        raise RunError(f"{c.path}: weights do not match model config: missing {sorted(learned & set(missing))}, "
                       f"unexpected {sorted(unexpected)}")
    model.to(torch.device(device)).eval()
    return LoadedRun(run_dir, cfg, model, tok, c.step, c.path, weights)
