"""A trained run directory, loaded for inference: resolved config, tokenizer and weights.

The run directory is what ``hrmcode train`` writes (config.yaml, tokenizer.json, checkpoints/…).
Evaluation, generation and quantization all start from here, so they see the model exactly as
training left it.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from hrmcode.config import ConfigError, RunConfig, load_saved_config, with_act
from hrmcode.model import CodeModel, build_model
from hrmcode.tokenizer import CodeTokenizer
from hrmcode.train import checkpoint as ck

log = logging.getLogger(__name__)


QUANT_FORMAT = "hrmcode-quant/1"  # quant.json of a quantized run directory (hrmcode.quantize writes them)


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


def pick_checkpoint(run_dir: Path, which: Literal["best", "last"] | int) -> ck.Checkpoint:
    """The best (lowest probe loss) or newest checkpoint that verifies, falling back to older ones;
    or, for an int, the checkpoint of that step (an error when it is missing or does not verify)."""
    root = run_dir / "checkpoints"
    if isinstance(which, int):
        path = root / ck.step_dir_name(which)
        if not path.is_dir():
            kept = ", ".join(str(s) for s, _ in ck.list_checkpoints(root)) or "none"
            raise RunError(f"{path}: no checkpoint of step {which} (kept: {kept})")
        try:
            return ck.load_checkpoint(path)
        except ck.CheckpointError as e:
            raise RunError(str(e)) from None
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


def load_run(run_dir: str | Path, *, which: Literal["best", "last"] | int = "best", device: str = "cpu",
             use_ema: bool = True, act_inference: str | None = None,
             act_threshold: float | None = None) -> LoadedRun:
    """Load a run for inference (``model.eval()``). ``act_inference`` / ``act_threshold`` override
    ``model.act.inference`` / ``model.act.halt_threshold``."""
    run_dir = Path(run_dir)
    if (run_dir / "quant.json").is_file():  # a quantized run (`hrmcode quantize`): same LoadedRun, quantized model
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


# ---- quantized run directories (written by hrmcode.quantize) --------------------------------------


def module_matches(fqn: str, pattern: str) -> bool:
    """A module name against a policy pattern (quantization policies, here and in hrmcode.quantize)."""
    # A bare name ("lm_head", "embed") matches that module anywhere in the tree; globs match the
    # full name (e.g. "core.H_level.*").
    return fnmatch.fnmatchcase(fqn, pattern) or fnmatch.fnmatchcase(fqn, f"*.{pattern}")


def quantize_dynamic_legacy(model: nn.Module) -> nn.Module:
    """The deprecated eager-mode baseline: int8 weights per tensor, dynamic int8 activations."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        from torch.ao.quantization import quantize_dynamic

        names = {n for n, m in model.named_modules() if isinstance(m, nn.Linear) and not module_matches(n, "q_head")}
        return quantize_dynamic(model, names, dtype=torch.qint8)


def load_quantized(out_dir: str | Path, *, device: str = "cpu", act_inference: str | None = None,
                   act_threshold: float | None = None) -> LoadedRun:
    """Load a quantized run directory as a LoadedRun (``model.eval()``), bit-exact to what was saved."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    out = Path(out_dir)
    meta_path = out / "quant.json"
    if not meta_path.is_file():
        raise RunError(f"{out}: not a quantized run (quant.json missing); make one with `hrmcode quantize`")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != QUANT_FORMAT:
        raise RunError(f"{meta_path}: format {meta.get('format')!r}, expected {QUANT_FORMAT!r}")
    weights = out / "model.safetensors"
    if ck.sha256_file(weights) != meta["model_sha256"]:
        raise RunError(f"{weights}: checksum does not match quant.json (file changed or truncated)")
    cfg = load_saved_config(out / "config.yaml")
    cfg = with_act(cfg, inference=act_inference, threshold=act_threshold)
    tok = CodeTokenizer.load(out / "tokenizer.json")
    model = build_model(cfg.model, pad_id=tok.pad_id).eval()
    tensors = load_file(weights)
    storage = meta["storage"]
    name = f"int4-g{meta['group_size']}" if meta["scheme"] == "int4" else meta["scheme"]  # QuantSpec.name
    if storage == "torchao":
        from torchao.prototype.safetensors.safetensors_support import unflatten_tensor_state_dict

        with safe_open(weights, "pt") as fh:
            header = fh.metadata()
        state, leftover = unflatten_tensor_state_dict(tensors, header)
        if leftover:
            raise RunError(f"{weights}: tensors not claimed by any weight: {sorted(leftover)[:5]}")
        # assign=True puts torchao's tensor subclasses in place of the fp32 parameters.
        _load_strict(model, state, weights, assign=True)
    elif storage == "bf16":
        model = model.to(torch.bfloat16)
        _load_strict(model, tensors, weights, assign=False)
    elif storage == "requantize":
        _load_strict(model, tensors, weights, assign=False)
        model = quantize_dynamic_legacy(model)
    else:
        raise RunError(f"{meta_path}: unknown storage {storage!r}")
    model.to(torch.device(device)).eval()
    cfg = cfg.model_copy(update={"name": f"{cfg.name}-{meta.get('label', name)}"})
    return LoadedRun(out, cfg, model, tok, int(meta["source"]["step"]), weights, name)


def _load_strict(model: nn.Module, state: dict[str, torch.Tensor], path: Path, *, assign: bool) -> None:
    missing, unexpected = model.load_state_dict(state, strict=False, assign=assign)
    learned = {n for n, _ in model.named_parameters()}
    if learned & set(missing) or unexpected:
        raise RunError(f"{path}: weights do not match the config: missing {sorted(learned & set(missing))[:5]}, "
                       f"unexpected {sorted(unexpected)[:5]}")
