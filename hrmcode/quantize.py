"""Quantization: passes applied to a trained model from outside (the model knows nothing of them).

    spec = QuantSpec("int4", group_size=32)               # int8 | int4 | bf16 | mixed | legacy-int8
    model = quantize_model(model, spec)                     # in place (legacy-int8 returns a copy)
    save_quantized(run, model, spec, out_dir)               # a quantized run directory
    run = load_quantized(out_dir)                           # a LoadedRun: generate / evaluate_run unchanged
    run = quantize_run(run_dir, spec, out_dir, qat_steps=N) # the whole `hrmcode quantize` command

Schemes (torchao 0.18, pinned with torch; see specs/toolchains-sandbox-quant.md for what works on CPU):
  int8         Linear: ``Int8DynamicActivationInt8WeightConfig`` (int8 weights per output row, int8
               activations per token, computed at run time); Embedding: int8 weight-only per row
               (``IntxWeightOnlyConfig(int8, PerAxis(0))``; an embedding has no activation to quantize).
  int4         Linear and Embedding: ``IntxWeightOnlyConfig(int4, PerGroup(g))`` — the portable int4
               path; torchao stores its int4 values unpacked in int8, so sizes are reported both as
               computed bits (4 per weight + scales + zero points) and as bytes on disk.
  bf16         the whole model cast to bfloat16 (RMSNorm and the q-head still compute in fp32).
  mixed        a policy of module-name patterns → precision, first match wins; the default keeps the
               q-head in fp32, embeddings and lm_head in int8 and the blocks in int4.
  legacy-int8  ``torch.ao.quantization.quantize_dynamic`` (deprecated): the comparison baseline.
The q-head (2 outputs: halt / continue) stays fp32 in every scheme: it decides ACT's depth, and its
256 weights are nothing to save.

QAT (``qat_steps > 0``, int4 and mixed): torchao ``QATConfig(base, step="prepare")`` swaps the
policy's modules for fake-quantized ones, the project's trainer runs ``qat_steps`` optimizer steps
on the run's training data (``Trainer.train_step``, the real loop: ACT carry, deep supervision,
clipping, schedule, monitors), then ``QATConfig(base, step="convert")`` produces the real int4
weights.

The quantized run directory (format ``hrmcode-quant/1``):
    config.yaml        the source run's resolved config (the architecture is unchanged)
    tokenizer.json     the source run's tokenizer
    quant.json         scheme, group size, the policy and the precision given to every module,
                       storage kind, source checkpoint (path, step, sha256), QAT record, versions
    model.safetensors  storage "torchao": torchao's own flattening of its quantized tensors (qdata,
                       scale, zero point + JSON metadata in the safetensors header), loaded back as
                       the same tensor subclasses — bit-exact, no pickle, the quantized bytes on disk.
                       storage "bf16": plain bf16 tensors. storage "requantize" (legacy-int8 only):
                       the fp32 weights, re-quantized deterministically by quantize_dynamic on load,
                       because its packed modules have no safetensors form.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import shutil
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hrmcode.records import atomic_write_bytes, atomic_write_json
from hrmcode.runs import QUANT_FORMAT as FORMAT
from hrmcode.runs import LoadedRun
from hrmcode.runs import load_quantized as load_quantized  # re-exported: `quantize` writes, runs reads
from hrmcode.runs import module_matches as _matches
from hrmcode.runs import quantize_dynamic_legacy as quantize_dynamic_legacy
from hrmcode.train.checkpoint import sha256_file

log = logging.getLogger(__name__)

SCHEMES = ("int8", "int4", "bf16", "mixed", "legacy-int8")
PRECISIONS = ("fp32", "int8", "int8wo", "int4")  # what a policy may give one module
DEFAULT_MIXED_POLICY = "q_head=fp32,embed=int8,lm_head=int8,*=int4"


class QuantError(ValueError):
    """A quantization request that cannot be done; the message names the option to change."""


# ---- the policy: module-name patterns → precision ---------------------------------------------


def parse_policy(text: str) -> tuple[tuple[str, str], ...]:
    """``"embed=fp32,lm_head=int8,*=int4"`` → ((pattern, precision), …), in order (first match wins)."""
    rules = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        pattern, sep, prec = part.partition("=")
        if not sep or not pattern.strip():
            raise QuantError(f"--policy: {part!r} is not PATTERN=PRECISION (e.g. 'embed=fp32,*=int4')")
        if prec.strip() not in PRECISIONS:
            raise QuantError(f"--policy: {part!r}: precision must be one of {', '.join(PRECISIONS)}")
        rules.append((pattern.strip(), prec.strip()))
    if not rules:
        raise QuantError("--policy: empty")
    return tuple(rules)


@dataclass(frozen=True)
class QuantSpec:
    scheme: str
    group_size: int = 32
    policy: str | None = None  # mixed only; None = DEFAULT_MIXED_POLICY

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise QuantError(f"--scheme {self.scheme!r}: expected one of {', '.join(SCHEMES)}")
        if self.group_size < 1:
            raise QuantError(f"--group-size must be ≥ 1, got {self.group_size}")
        if self.policy is not None and self.scheme != "mixed":
            raise QuantError(f"--policy applies to --scheme mixed, not {self.scheme}")

    def rules(self) -> tuple[tuple[str, str], ...]:
        """The per-module policy this scheme means (bf16 and legacy-int8 are whole-model casts)."""
        if self.scheme == "int8":
            return (("q_head", "fp32"), ("*", "int8"))
        if self.scheme == "int4":
            return (("q_head", "fp32"), ("*", "int4"))
        if self.scheme == "mixed":
            return parse_policy(self.policy or DEFAULT_MIXED_POLICY)
        return ()

    @property
    def name(self) -> str:
        return f"int4-g{self.group_size}" if self.scheme == "int4" else self.scheme


def assign_precisions(model: nn.Module, rules: Sequence[tuple[str, str]]) -> dict[str, str]:
    """{module name: precision} for every Linear and Embedding (unmatched ones stay fp32)."""
    out = {}
    for fqn, m in model.named_modules():
        if isinstance(m, nn.Linear | nn.Embedding):
            out[fqn] = next((prec for pat, prec in rules if _matches(fqn, pat)), "fp32")
    return out


# ---- applying torchao ----------------------------------------------------------------------------


def _torchao_config(precision: str, module: nn.Module, group_size: int) -> Any:
    from torchao.quantization import (
        Int8DynamicActivationInt8WeightConfig,
        Int8WeightOnlyConfig,
        IntxWeightOnlyConfig,
        PerAxis,
        PerGroup,
    )

    is_embedding = isinstance(module, nn.Embedding)
    if precision == "int4":
        return IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(group_size))
    if precision == "int8" and not is_embedding:
        return Int8DynamicActivationInt8WeightConfig()
    if precision in ("int8", "int8wo"):
        if is_embedding:
            return IntxWeightOnlyConfig(weight_dtype=torch.int8, granularity=PerAxis(0))
        return Int8WeightOnlyConfig()
    raise QuantError(f"no torchao config for precision {precision!r}")


def _check_groups(model: nn.Module, assignment: dict[str, str], group_size: int) -> None:
    mods = dict(model.named_modules())
    bad = [f"{n} ({mods[n].weight.shape[1]} columns)" for n, p in assignment.items()
           if p == "int4" and mods[n].weight.shape[1] % group_size]
    if bad:
        raise QuantError(f"--group-size {group_size} does not divide the input width of {', '.join(bad)}")


def _config_groups(model: nn.Module, assignment: dict[str, str], group_size: int,
                   ) -> list[tuple[Any, set[str]]]:
    """One (torchao config, module names) per distinct config, so quantize_ runs once per group."""
    mods = dict(model.named_modules())
    groups: dict[tuple[str, bool], set[str]] = {}
    for fqn, prec in assignment.items():
        if prec != "fp32":
            groups.setdefault((prec, isinstance(mods[fqn], nn.Embedding)), set()).add(fqn)
    return [(_torchao_config(prec, mods[next(iter(names))], group_size), names)
            for (prec, _), names in sorted(groups.items())]


def apply_torchao(model: nn.Module, assignment: dict[str, str], group_size: int) -> nn.Module:
    from torchao.quantization import quantize_

    _check_groups(model, assignment, group_size)
    for config, names in _config_groups(model, assignment, group_size):
        quantize_(model, config, filter_fn=lambda m, fqn, names=names: fqn in names)
    return model


def quantize_model(model: nn.Module, spec: QuantSpec) -> nn.Module:
    """Post-training quantization of an eval-mode model; returns the model to use."""
    model.eval()
    if spec.scheme == "bf16":
        return model.to(torch.bfloat16)
    if spec.scheme == "legacy-int8":
        return quantize_dynamic_legacy(model)
    return apply_torchao(model, assign_precisions(model, spec.rules()), spec.group_size)


# ---- sizes: computed bits and bytes --------------------------------------------------------------


def _tensor_bits(t: Any) -> int:
    from torchao.quantization import IntxUnpackedToInt8Tensor

    if isinstance(t, tuple | list):  # legacy packed params: (weight, bias)
        return sum(_tensor_bits(x) for x in t if isinstance(x, torch.Tensor))
    if isinstance(t, IntxUnpackedToInt8Tensor):
        # int4 values sit in int8 storage; what they need is their target width.
        bits = torch.iinfo(t.target_dtype).bits if t.target_dtype != torch.int4 else 4
        extra = sum(getattr(t, n).numel() * getattr(t, n).element_size() * 8 for n in t.tensor_data_names
                    if n != "qdata")
        return t.qdata.numel() * bits + extra
    if hasattr(t, "tensor_data_names"):  # other torchao tensors (Int8Tensor): every stored component
        names = list(t.tensor_data_names) + list(getattr(t, "optional_tensor_data_names", []) or [])
        return sum(getattr(t, n).numel() * getattr(t, n).element_size() * 8 for n in names
                   if getattr(t, n, None) is not None)
    if t.is_quantized:
        if t.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
            scales = t.q_per_channel_scales().numel() * (64 + 64)
        else:
            scales = 64 + 64
        return t.numel() * t.element_size() * 8 + scales
    return t.numel() * t.element_size() * 8


def size_report(model: nn.Module, n_params: int) -> dict[str, Any]:
    """Computed size of the weights that matter (persistent state), vs the same count in fp32."""
    bits = 0
    for k, v in model.state_dict().items():
        if k.endswith("_packed_params.dtype"):
            continue
        bits += _tensor_bits(v)
    return {"bits": bits, "bytes": bits / 8, "fp32_bytes": n_params * 4, "ratio_vs_fp32": n_params * 32 / bits,
            "bits_per_param": bits / n_params}


# ---- save / load ---------------------------------------------------------------------------------


def _state_bytes(model: nn.Module, storage: str) -> bytes:
    from safetensors.torch import save

    sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if storage == "torchao":
        from torchao.prototype.safetensors.safetensors_support import flatten_tensor_state_dict

        tensors, metadata = flatten_tensor_state_dict(sd)
        return save({k: v.contiguous() for k, v in tensors.items()}, metadata=metadata)
    return save({k: v.contiguous().clone() for k, v in sd.items()})


def storage_of(spec: QuantSpec) -> str:
    return {"bf16": "bf16", "legacy-int8": "requantize"}.get(spec.scheme, "torchao")


def save_quantized(run: LoadedRun, model: nn.Module, spec: QuantSpec, out_dir: str | Path, *,
                   fp32_model: nn.Module | None = None, qat: dict[str, Any] | None = None,
                   assignment: dict[str, str] | None = None) -> Path:
    """Write a quantized run directory (format in the module docstring). ``fp32_model`` is needed
    for legacy-int8, whose file holds the fp32 weights it is re-quantized from."""
    from hrmcode import __version__
    from hrmcode.config import save_config

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    storage = storage_of(spec)
    if storage == "requantize":
        if fp32_model is None:
            raise QuantError("legacy-int8 is stored as fp32 weights: pass fp32_model")
        blob = _state_bytes(fp32_model, "plain")
    else:
        blob = _state_bytes(model, storage)
    atomic_write_bytes(out / "model.safetensors", blob)
    save_config(run.cfg, out / "config.yaml")
    if (run.run_dir / "tokenizer.json").resolve() != (out / "tokenizer.json").resolve():
        shutil.copyfile(run.run_dir / "tokenizer.json", out / "tokenizer.json")
    if assignment is None:
        assignment = assign_precisions(model, spec.rules()) if spec.rules() else {}
    src = Path(run.checkpoint)
    src_file = src / "model.safetensors" if src.is_dir() else src
    meta = {
        "format": FORMAT, "scheme": spec.scheme, "group_size": spec.group_size,
        "policy": [list(r) for r in spec.rules()], "assignment": assignment or {}, "storage": storage,
        "source": {"run_dir": str(run.run_dir), "checkpoint": str(run.checkpoint), "step": run.step,
                   "weights": run.weights, "sha256": sha256_file(src_file) if src_file.is_file() else None},
        "qat": qat, "versions": {"hrmcode": __version__, "torch": torch.__version__, "torchao": _torchao_version()},
        "model_sha256": hashlib.sha256(blob).hexdigest(),
        "label": spec.name + ("-qat" if qat else ""),
    }
    atomic_write_json(out / "quant.json", meta)
    return out


def _torchao_version() -> str:
    import torchao

    return torchao.__version__


def is_quantized_run(path: str | Path) -> bool:
    return (Path(path) / "quant.json").is_file()


# ---- QAT through the trainer ---------------------------------------------------------------------


def qat_finetune(run: LoadedRun, spec: QuantSpec, steps: int, work_dir: Path, *, lr: float | None = None,
                 tasks: Sequence[Any] | None = None, seed: int | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """prepare → ``steps`` trainer steps with fake int4 → convert. Returns (quantized model, record).

    The trainer is the project's own (``Trainer.train_step``); the QAT pass only replaces its model
    (the run's weights, fake-quantized) and rebuilds its optimizer over the swapped modules. The
    fine-tuning log lands in ``work_dir`` (config.yaml, tokenizer.json, metrics.jsonl).
    """
    from torchao.quantization import quantize_
    from torchao.quantization.qat import QATConfig

    from hrmcode.data.batching import load_tasks
    from hrmcode.train import distributed as D
    from hrmcode.train.optim import build_optimizer
    from hrmcode.train.trainer import Trainer, prepare_run

    if spec.scheme not in ("int4", "mixed"):
        raise QuantError(f"--qat-steps needs --scheme int4 or mixed (torchao QAT has no fake-quantized form "
                         f"of {spec.scheme})")
    cfg = run.cfg
    tc = cfg.train.model_copy(update={
        "steps": steps, "warmup_steps": min(10, steps // 5), "lr": lr if lr is not None else cfg.train.lr * 0.1,
        "time_budget_minutes": None, "ema": None, "rollback": False, "plots": False, "debug_inject": [],
        "log_every": 1, "eval_every": 10**9, "ckpt_every": 10**9, "seed": cfg.train.seed if seed is None else seed,
        "device": "cpu"})
    cfg = cfg.model_copy(update={"train": tc})
    if tasks is None:
        if not cfg.data.path or not Path(cfg.data.path).exists():
            raise QuantError(f"QAT needs the run's training tasks: data.path={cfg.data.path!r} is missing "
                             "(pass --data DIR)")
        tasks = load_tasks(cfg.data.path)
    info = D.init_distributed("cpu")
    cfg, tok, examples, probe = prepare_run(cfg, work_dir, resume=False, tasks=tasks, tokenizer=run.tokenizer,
                                            info=info)
    tr = Trainer(cfg, work_dir, info, tokenizer=tok, train_examples=examples, probe=probe)
    try:
        tr.model.load_state_dict(_plain_state(run.model))
        assignment = assign_precisions(tr.model, spec.rules())
        _check_groups(tr.model, assignment, spec.group_size)
        configs = _config_groups(tr.model, assignment, spec.group_size)
        for base, names in configs:
            if base.__class__.__name__ == "Int8DynamicActivationInt8WeightConfig":
                # QATConfig rejects it ("Unexpected base config"); those modules get PTQ at convert.
                continue
            quantize_(tr.model, QATConfig(base, step="prepare"), filter_fn=lambda m, fqn, names=names: fqn in names)
        tr.ddp = tr.model  # one process: no DDP wrapper
        tr.opt = build_optimizer(tr.model, tc)  # the swapped modules own the parameters now
        losses = []
        t0 = time.perf_counter()
        while tr.state.step < steps:
            rec = tr.train_step()
            if rec is not None:
                tr.sinks.record(rec)
                losses.append(rec["loss"])
        elapsed = time.perf_counter() - t0
        model = tr.model.eval()
        for base, names in configs:
            if base.__class__.__name__ == "Int8DynamicActivationInt8WeightConfig":
                quantize_(model, base, filter_fn=lambda m, fqn, names=names: fqn in names)
            else:
                quantize_(model, QATConfig(base, step="convert"), filter_fn=lambda m, fqn, names=names: fqn in names)
    finally:
        tr.sinks.close()
        D.shutdown(info)
    record = {"steps": steps, "lr": tc.lr, "seed": tc.seed, "elapsed_s": elapsed,
              "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
              "log": str(work_dir / "metrics.jsonl")}
    return model, record


def _plain_state(model: nn.Module) -> dict[str, torch.Tensor]:
    sd = model.state_dict()
    bad = [k for k, v in sd.items() if type(v) is not torch.Tensor and not isinstance(v, nn.Parameter)]
    if bad:
        raise QuantError(f"QAT starts from an fp32 model; {bad[0]} is already quantized")
    return {k: v.detach().float() if v.is_floating_point() else v for k, v in sd.items()}


# ---- the one-command path ------------------------------------------------------------------------


def quantize_run(run_dir: str | Path, spec: QuantSpec, out_dir: str | Path, *, qat_steps: int = 0,
                 qat_lr: float | None = None, data: str | None = None) -> tuple[LoadedRun, dict[str, Any]]:
    """Load a trained run, quantize it (PTQ or QAT), save the quantized run dir, load it back."""
    from hrmcode.data.batching import load_tasks
    from hrmcode.model import count_parameters
    from hrmcode.runs import load_run

    run = load_run(run_dir)
    out = Path(out_dir)
    n_params = count_parameters(run.model)["total"]
    fp32 = copy.deepcopy(run.model)
    qat = None
    if qat_steps > 0:
        tasks = load_tasks(data) if data else None
        model, qat = qat_finetune(run, spec, qat_steps, out / "qat", lr=qat_lr, tasks=tasks)
    else:
        model = quantize_model(run.model, spec)
    assignment = assign_precisions(fp32, spec.rules()) if spec.rules() else None
    save_quantized(run, model, spec, out, fp32_model=fp32, qat=qat, assignment=assignment)
    loaded = load_quantized(out)
    info = {"scheme": spec.scheme, "group_size": spec.group_size, "out": str(out),
            "size": size_report(loaded.model, n_params), "disk_bytes": (out / "model.safetensors").stat().st_size,
            "fp32_disk_bytes": _disk_of(run), "qat": qat}
    return loaded, info


def _disk_of(run: LoadedRun) -> int | None:
    p = Path(run.checkpoint)
    f = p / "model.safetensors" if p.is_dir() else p
    return f.stat().st_size if f.is_file() else None


# ---- speed: decode tokens/s and prefill latency --------------------------------------------------


@dataclass
class Speed:
    prefill_ms: float  # median latency of one prefill of the prompt batch
    decode_tok_s: float  # generated tokens per second (all rows), KV-cached steps
    batch: int
    prompt_len: int
    new_tokens: int
    segments: float  # mean segments per row (the depth the timing ran at)
    reps: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@torch.inference_mode()
def measure_speed(model: nn.Module, prompts: Sequence[Sequence[int]], pad_id: int, *, new_tokens: int = 32,
                  reps: int = 3) -> Speed:
    """Median over ``reps`` of one prefill and ``new_tokens`` greedy cached decode steps (no early stop)."""
    from hrmcode.model.batch import prompt_batch

    batch = prompt_batch(prompts, pad_id)
    P = batch.length
    # stay within the model's positions (a long prompt leaves fewer tokens to time)
    new_tokens = max(2, min(new_tokens, model.cfg.max_seq_len - P))  # type: ignore[union-attr]
    prefill, decode = [], []
    seg = 0.0
    for i in range(reps + 1):  # the first is a warm-up
        t0 = time.perf_counter()
        logits, state = model.start_decode(batch, P + new_tokens)  # type: ignore[operator]
        t1 = time.perf_counter()
        for _ in range(new_tokens - 1):
            logits = model.decode_step(state, logits.argmax(-1))  # type: ignore[operator]
        t2 = time.perf_counter()
        if i:
            prefill.append(t1 - t0)
            decode.append(t2 - t1)
        seg = float(state.prefill_segments.float().mean())
    med_p, med_d = statistics.median(prefill), statistics.median(decode)
    return Speed(prefill_ms=1000 * med_p, decode_tok_s=batch.size * (new_tokens - 1) / med_d, batch=batch.size,
                 prompt_len=P, new_tokens=new_tokens, segments=seg, reps=decode)


# ---- teacher-forced loss (the QAT-vs-PTQ comparison) ---------------------------------------------


@torch.no_grad()
def teacher_forced_loss(model: nn.Module, examples: Sequence[Any], pad_id: int, *, batch_size: int = 16) -> float:
    """Mean per-sequence code loss after the full depth (halt_max_steps segments, as the trainer's
    probe), for any model: fp32, fake-quantized or quantized."""
    from hrmcode.data.batching import batch_length, collate
    from hrmcode.model.common import lm_stats

    cfg = model.cfg  # type: ignore[attr-defined]
    n_seg = cfg.act.halt_max_steps if cfg.recurrent else 1
    length = batch_length(list(examples))
    model.eval()
    total, n = 0.0, 0
    for i in range(0, len(examples), batch_size):
        chunk = list(examples[i:i + batch_size])
        batch = collate(chunk, pad_id, length)
        carry = model.initial_carry(batch)  # type: ignore[operator]
        for _ in range(n_seg):
            out = model(carry, batch)
            carry = out.carry
        total += float(lm_stats(out.outputs["logits"].float(), batch.targets, cfg.loss).loss) * len(chunk)
        n += len(chunk)
    return total / max(1, n)
