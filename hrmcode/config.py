"""Configuration: pydantic models that validate themselves, YAML load/save, named presets.

Every run saves its resolved config. Errors name the field to change, and the file it came from.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hrmcode.records import LANGUAGES, atomic_write_text

log = logging.getLogger(__name__)

_GRAD_MODE_RE = re.compile(r"^(one_step|last_cycle|truncated:([1-9][0-9]*))$")


class StrictModel(BaseModel):
    """Unknown keys and wrong types are errors (a typo in a YAML file must not pass silently)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ACTConfig(StrictModel):
    """Adaptive computation time: Q-learning halting in training, real early exit at inference.

    ``enabled`` and ``halt_max_steps`` default from the model's recipe (``model.recipe``): the
    causal-LM recipe runs one segment per sequence with ACT off; the original HRM recipe runs up to
    ``halt_max_steps`` segments of deep supervision with Q-learning halting.
    """

    enabled: bool = True
    halt_max_steps: int = Field(4, ge=1, description="maximum segments per sample (1 = no deep supervision)")
    exploration_prob: float = Field(0.1, ge=0.0, le=1.0, description="prob. of a random minimum step count")
    q_loss_weight: float = Field(0.5, ge=0.0)
    # "bootstrap": HRM's Q-learning (q_continue from a second no-grad segment; halt when q_halt > q_continue).
    # "correctness": TRM's simplification (BCE on correctness only, halt when q_halt > 0): no second
    # segment, so a training step costs about 40% less.
    q_target: Literal["bootstrap", "correctness"] = "bootstrap"
    # The q-head reads a detached z_H, so its halting loss trains the head only, never the trunk. The
    # original HRM lets it flow into the trunk; measured on code (tiny-quick, 300 steps) the q-loss
    # there was as large as the LM loss and 63 % of steps hit the gradient clip.
    q_detach: bool = False
    # Inference: "max" always runs halt_max_steps (the original HRM); "per_sequence" decides from the
    # prompt; "per_token" (causal mode only) lets each generated token halt on its own q-head;
    # "converge" (causal mode only, no q-head needed) stops iterating a generated token once its
    # next-token distribution stops changing between H cycles (see converge_threshold).
    inference: Literal["max", "per_sequence", "per_token", "converge"] = "per_sequence"
    # With the correctness Q target a sequence, and in per-token exit (either target) a token, halts
    # when the q-head's probability of being right exceeds this. Higher → fewer early exits.
    halt_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    # inference: converge — a generated token stops after an H cycle (an H update; one loop of a
    # looped model) when KL(p_this ‖ p_previous) of its next-token distributions is below this (nats).
    # The distribution before the first cycle is the one read from the initial state, so 0 runs every
    # cycle and a huge value runs exactly one. Lower → more cycles, closer to always running the max.
    converge_threshold: float = Field(1e-3, ge=0.0)

    @property
    def trains_q_head(self) -> bool:
        """Whether training adds halting losses at all: ACT on and more than one segment to halt in."""
        return self.enabled and self.halt_max_steps > 1


# The two HRM recipes: the defaults a model config takes for every field it does not set.
#   lm   the causal-LM recipe (default for mode: causal), after HRM-Text: one pass of the recurrence
#        per sequence (no deep supervision, no carry, ACT off), HRM's fixed random initial states
#        (with pre-norm they learned fastest; zeros next; HRM-Text's z_H := embeddings slowest, measured
#        in docs/training.md), pre-norm with a parameter-free norm at each module exit, truncated
#        backprop through the last k module calls with k warmed from 2 to 5 over the first 20 % of
#        training, and a q-head (if ACT is switched on) that never sends gradient into the trunk.
#        Depth: h_cycles per step, or drawn per step around it (cycles_sampling, cycles_max), the
#        truncation window bounding the backward cost at any depth (docs/training.md, "Sampled depth").
#   hrm  the original HRM (default for mode: canvas, the seed's fallback): post-norm, fixed random
#        initial states, one-step gradient, ACT with Q-learning over deep-supervision segments.
# Measured (docs/training.md, bench/recipe_parity.py): the lm recipe learns per step as fast as the
# same-size transformer on code; the hrm recipe in causal mode learned at about half the speed.
def recipe_of(model: dict[str, Any]) -> str:
    """The recipe a raw model section asks for: its own, else lm for causal and hrm for canvas."""
    return model.get("recipe") or ("hrm" if model.get("mode") == "canvas" else "lm")


RECIPES: dict[str, dict[str, Any]] = {
    "lm": {"norm": "pre", "z_init": "random", "grad_mode": "truncated:5", "grad_warmup_from": 2,
           "act": {"enabled": False, "halt_max_steps": 1, "q_detach": True}},
    "hrm": {"norm": "post", "z_init": "random", "grad_mode": "one_step", "grad_warmup_from": None,
            "act": {"enabled": True, "q_detach": False}},
}


CYCLES_SAMPLING = ("fixed", "uniform", "poisson")


RenameNames = Literal["pseudo", "words"]  # data.rename_names (hrmcode/data/names.py)
OutputGrad = Literal["all", "present"]  # model.output_grad (hrmcode/model/copy_head.py, present_rows)
CopyMatchWeights = Literal["state", "fixed"]  # model.copy_match_weights (hrmcode/model/copy_head.py)


class ModelConfig(StrictModel):
    # hrm: the H/L recurrence; baseline: a plain transformer; looped: one weight-shared module of
    # h_layers + l_layers blocks iterated (no H/L split; hrmcode/model/looped.py).
    arch: Literal["hrm", "baseline", "looped"] = "hrm"
    mode: Literal["causal", "canvas"] = "causal"
    # Which recipe fills the fields left unset (see RECIPES): lm for causal, hrm for canvas by default.
    recipe: Literal["lm", "hrm"] = "lm"
    vocab_size: int = Field(4096, ge=16)
    hidden: int = Field(128, ge=8)
    heads: int = Field(4, ge=1)
    expansion: float = Field(4.0, gt=0)
    h_layers: int = Field(2, ge=1)
    l_layers: int = Field(2, ge=1)
    h_cycles: int = Field(2, ge=1, description="H cycles per segment (the training mean when sampled)")
    l_cycles: int = Field(2, ge=1)
    # Sampled depth in training (hrmcode.model.hrm.sample_cycles): each optimizer step draws the H
    # cycles of the whole batch. fixed = always h_cycles; uniform = an integer uniform on
    # [2·h_cycles − hi, hi] with hi = min(cycles_max, 2·h_cycles − 1) (mean exactly h_cycles);
    # poisson = 1 + Poisson(λ), λ log-normal with mean h_cycles − 1 and σ 0.5 (Huginn's heavy tail),
    # clipped at cycles_max. The draw depends only on train.seed and the step (exact on resume).
    cycles_sampling: Literal["fixed", "uniform", "poisson"] = "fixed"
    # The most cycles a training step ever draws; None is filled with 2 × h_cycles on validation.
    cycles_max: int | None = Field(None, ge=1)
    # The baseline's depth; None = h_layers + l_layers, which matches HRM's parameter count.
    baseline_layers: int | None = Field(None, ge=1)
    max_seq_len: int = Field(512, ge=8, description="prompt + code tokens (causal mode)")
    canvas_slots: int = Field(192, ge=1, description="output slots in canvas mode")
    rope_theta: float = Field(10000.0, gt=0)
    norm: Literal["post", "pre"] = "pre"
    # Initial recurrent states: "random" (HRM: fixed std-1 buffers, the same vector at every
    # position), "zeros", or "embed" (HRM-Text: z_H starts as the token embeddings, z_L as zeros).
    z_init: Literal["random", "zeros", "embed"] = "random"
    grad_mode: str = Field("truncated:5", description="one_step | last_cycle | truncated:K")
    # truncated:K only: k grows linearly from this many calls to K over the first
    # grad_warmup_fraction of training (None = K from the start).
    grad_warmup_from: int | None = Field(2, ge=1)
    grad_warmup_fraction: float = Field(0.2, gt=0.0, le=1.0)
    loss: Literal["softmax", "stablemax"] = "softmax"
    # The output projection shares the token embedding's table (lm_head.weight is embed.weight):
    # a token the model attends to can be written back out through the same vectors, which is
    # what copying a name it never produced in training needs (docs/benchmarks.md, name copying).
    tie_embeddings: bool = False
    # A copy (pointer) head beside the output layer: the next token may be copied from any earlier
    # position of the prompt or the code (hrmcode/model/copy_head.py). Causal mode, softmax loss.
    copy_head: bool = False
    # With the copy head: add the induction rule "the position of the token just written offers what
    # followed it" as two learned per-query weights on exact token matches (off: the learned pointer alone).
    copy_match: bool = True
    # How many match weights: one per length of the run of matching tokens, 1 ≤ k ≤ copy_match_len
    # (2: the token, and the token with the one before it).
    copy_match_len: int = Field(2, ge=1, le=8)
    # Where the match weights come from: "state" — computed from the query's hidden state (a linear
    # map), so a state the model never saw in training can turn copying down; "fixed" — one learned
    # scalar per run length, the same at every position (docs/benchmarks.md, "Match weights a state
    # cannot turn down").
    copy_match_weights: CopyMatchWeights = "state"
    # The learned pointer score q·k/√d soft-capped to (−cap, cap) (None: not capped), so that match
    # terms can outweigh a q·k that grew confident on the training names (docs/benchmarks.md).
    copy_score_cap: float | None = Field(None, gt=0)
    # The learned pointer score bounded below, softly: floor + softplus(score − floor) (None: not
    # bounded), so the learned part cannot push an exact match down (docs/benchmarks.md).
    copy_score_floor: float | None = None
    # Which rows of the output projection a training step updates: "all", or "present" — only the
    # rows of tokens among the batch's targets (the others' logits still enter the softmax, detached).
    # Under Adam every row of a token that is never a target still moves by about lr each step, all
    # in one direction (pushed down in the states training visits), and in a state it never visited
    # such tokens outbid everything (docs/benchmarks.md, "Rows that training only pushes down").
    output_grad: OutputGrad = "all"
    act: ACTConfig = ACTConfig()

    @model_validator(mode="before")
    @classmethod
    def _recipe_defaults(cls, data: Any) -> Any:
        """Fill every field the config leaves unset from its recipe (lm for causal, hrm for canvas)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        recipe = recipe_of(data)
        if recipe not in RECIPES:
            return data  # the field validator names the allowed values
        data["recipe"] = recipe
        defaults = RECIPES[recipe]
        for key, value in defaults.items():
            if key != "act":
                data.setdefault(key, value)
        act = data.get("act", {})
        if isinstance(act, ACTConfig):
            act = {k: getattr(act, k) for k in act.model_fields_set}
        if isinstance(act, dict):
            data["act"] = {**defaults["act"], **act}
        return data

    @model_validator(mode="before")
    @classmethod
    def _cycles_max_default(cls, data: Any) -> Any:
        """cycles_max: None means twice the mean (h_cycles)."""
        if isinstance(data, dict) and data.get("cycles_max") is None:
            h = data.get("h_cycles", 2)
            if isinstance(h, int) and not isinstance(h, bool):
                data = {**data, "cycles_max": 2 * h}
        return data

    @field_validator("grad_mode")
    @classmethod
    def _grad_mode(cls, v: str) -> str:
        if not _GRAD_MODE_RE.match(v):
            raise ValueError(f"must be one_step, last_cycle or truncated:K with K ≥ 1, got {v!r}")
        return v

    @model_validator(mode="after")
    def _shapes(self) -> ModelConfig:
        if self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        if (self.hidden // self.heads) % 2:
            raise ValueError(f"head size hidden/heads = {self.hidden // self.heads} must be even for RoPE")
        if self.copy_head and (self.mode != "causal" or self.loss != "softmax"):
            raise ValueError("model.copy_head needs model.mode = 'causal' and model.loss = 'softmax' "
                             f"(got mode {self.mode!r}, loss {self.loss!r})")
        if self.cycles_max is not None and self.cycles_max < self.h_cycles:
            raise ValueError(f"cycles_max ({self.cycles_max}) must be ≥ h_cycles ({self.h_cycles}), the mean "
                             "of the sampled training depth")
        return self

    @property
    def recurrent(self) -> bool:
        """HRM and the looped model: a recurrence with cycles, ACT segments and the early exits."""
        return self.arch != "baseline"

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def ffn_hidden(self) -> int:
        """SwiGLU width: round(expansion·d·2/3) rounded up to a multiple of 256 (as in HRM)."""
        raw = round(self.expansion * self.hidden * 2 / 3)
        return -(-raw // 256) * 256

    @property
    def truncated_k(self) -> int | None:
        m = _GRAD_MODE_RE.match(self.grad_mode)
        return int(m.group(2)) if m and m.group(2) else None

    @property
    def n_baseline_layers(self) -> int:
        return self.baseline_layers or (self.h_layers + self.l_layers)


class TokenizerConfig(StrictModel):
    path: str | None = Field(None, description="tokenizer.json; None = train one on the training data")
    vocab_size: int = Field(4096, ge=300)


# Keys a config once had that never did anything: configs (and saved runs, checkpoints) that carry
# them still load; the key is dropped with one warning per process.
REMOVED_DATA_KEYS = {
    "suite": "data.path names the tasks (any tasks.jsonl, or a directory of them)",
    "n_tasks": "a suite's size is `hrmcode data build --n`; training uses every task under data.path",
}
_warned: set[str] = set()


class DataConfig(StrictModel):
    path: str | None = Field(None, description="tasks.jsonl, or a directory of them (the built-in suite: the "
                                               "output of `hrmcode data build`)")
    languages: list[str] = Field(default_factory=lambda: list(LANGUAGES))
    max_depth: int = Field(6, ge=1)
    curriculum: bool = False
    # Each training task is also trained under this many pseudo-word names (hrmcode.data.names):
    # the name is then had only by copying it from the prompt, not by recalling the training one.
    rename_copies: int = Field(0, ge=0)
    # Where those names come from: pseudo-words ("pseudo", ``vokira_stelum``) or two to four words of
    # the training statements ("words", ``largest_even_digits``; hrmcode.data.names).
    rename_names: RenameNames = "pseudo"
    # Batches padded to their longest row waste compute on padding; with G > 1 each window of G
    # global batches is drawn sorted by length (hrmcode.data.batching, "Length grouping"). 0/1: off.
    group_by_length: int = Field(0, ge=0)
    curriculum_schedule: list[tuple[float, int]] = Field(
        default_factory=lambda: [(0.0, 2), (0.3, 4), (0.6, 6)],
        description="(fraction of training, max depth allowed from then on)",
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_removed(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not REMOVED_DATA_KEYS.keys() & data.keys():
            return data
        for key in sorted(REMOVED_DATA_KEYS.keys() & data.keys()):
            if key not in _warned:
                _warned.add(key)
                log.warning("data.%s: no longer used, ignored (%s)", key, REMOVED_DATA_KEYS[key])
        return {k: v for k, v in data.items() if k not in REMOVED_DATA_KEYS}

    @field_validator("languages")
    @classmethod
    def _langs(cls, v: list[str]) -> list[str]:
        bad = [x for x in v if x not in LANGUAGES]
        if bad:
            raise ValueError(f"unknown languages {bad}: expected a subset of {list(LANGUAGES)}")
        if not v:
            raise ValueError("at least one language is needed")
        return v


class MonitorConfig(StrictModel):
    """Thresholds of the early-warning monitors (hrmcode/train/monitors.py)."""

    loss_window: int = Field(50, ge=4, description="steps of rolling loss statistics")
    spike_factor: float = Field(4.0, gt=1, description="loss > factor × rolling median is a spike (rollback)")
    diverge_ratio: float = Field(1.5, gt=1, description="newer/older half-window mean loss ratio that alarms")
    loss_min_delta: float = Field(0.1, ge=0, description="loss changes below this (nats) never alarm: near zero "
                                  "loss, a relative spike is noise")
    grad_explode: float = Field(1e3, gt=0, description="absolute per-module grad norm that alarms")
    grad_explode_min: float = Field(1.0, ge=0, description="a jump to 20× the median norm alarms only above this")
    grad_vanish: float = Field(1e-7, ge=0, description="per-module grad norm below this for 3 steps alarms")
    act_window: int = Field(50, ge=2, description="steps over which ACT health is judged")
    act_warmup: int = Field(50, ge=0, description="steps before ACT alarms may fire")
    act_min_accuracy: float = Field(0.5, ge=0, le=1)
    plateau_patience: int = Field(5, ge=1, description="probe evals without improvement that alarm")
    memory_limit_mb: float | None = Field(None, gt=0)
    time_estimate_minutes: float | None = Field(None, gt=0, description="None = projected after 20 steps")


class DebugInject(StrictModel):
    """A fault injected on purpose, to see the monitors and rollback work (``train.debug_inject``).

    nan_loss / loss_spike fire once, at ``step`` (a rollback does not re-fire them); zero_grads
    zeroes every gradient from ``step`` to ``until``; freeze stops training the parameters whose
    name contains ``prefix`` (e.g. ``q_head``) for the whole run.
    """

    kind: Literal["nan_loss", "loss_spike", "zero_grads", "freeze"]
    step: int = Field(0, ge=0)
    until: int | None = Field(None, ge=0)
    factor: float = Field(1000.0, gt=1, description="loss_spike: the loss is multiplied by this")
    prefix: str = "q_head"


class TrainConfig(StrictModel):
    seed: int = 0
    steps: int = Field(2000, ge=1)
    batch_size: int = Field(16, ge=1, description="global batch (sequences per optimizer step)")
    lr: float = Field(1e-3, gt=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1)
    warmup_steps: int = Field(100, ge=0)
    weight_decay: float = Field(0.1, ge=0)
    betas: tuple[float, float] = (0.9, 0.95)
    optimizer: Literal["adamw", "adam_atan2"] = "adamw"
    grad_clip: float | None = Field(1.0, gt=0)
    ema: float | None = Field(None, gt=0, lt=1)
    precision: Literal["fp32", "bf16"] = "fp32"
    device: str = Field("auto", description="auto | cpu | cuda | mps")
    threads: int | None = Field(None, ge=1)
    time_budget_minutes: float | None = Field(None, gt=0)
    log_every: int = Field(10, ge=1)
    eval_every: int = Field(200, ge=1)
    ckpt_every: int = Field(200, ge=1)
    keep_last: int = Field(2, ge=1)
    keep_best: bool = Field(True, description="also keep the checkpoint with the best probe loss")
    probe_size: int = Field(64, ge=1, description="fixed validation examples of the periodic quick eval")
    rollback: bool = Field(True, description="on a NaN/inf or a loss spike, go back to the last good checkpoint")
    rollback_lr_factor: float = Field(0.5, gt=0, lt=1, description="the LR is multiplied by this per rollback")
    max_rollbacks: int = Field(5, ge=0)
    monitors: MonitorConfig = MonitorConfig()
    debug_inject: list[DebugInject] = Field(default_factory=list)
    plots: bool = Field(True, description="write PNG plots into the run directory at the end")


class RunConfig(StrictModel):
    """Everything a run needs; saved resolved in the run directory."""

    name: str = "run"
    model: ModelConfig = ModelConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    data: DataConfig = DataConfig()
    train: TrainConfig = TrainConfig()


# ---- presets ------------------------------------------------------------------------------------

PRESETS: dict[str, dict[str, Any]] = {
    # The demo's CPU model (~0.5M parameters with a 2k vocabulary): compute-optimal for minutes of a
    # 2-core CPU, where tiny (4× the non-embedding parameters) sees too few programs to learn them.
    # One H cycle of two L steps per segment (3 module calls; the one-step gradient covers 2 of them):
    # at equal minutes it reached a lower loss than H/L cycles 2/2 (6 calls, gradient through 2).
    # Demo recipe, seed 0, one thread per run, two runs side by side; probe loss: cycles 2/2 1.53
    # (300 steps, 4.6 min), 1/2 1.24 (374 steps in 4 min), 1/1 1.09 (401 steps in 4 min); the
    # 4-layer baseline 0.88 (300 steps, 3.0 min).
    "micro": dict(hidden=64, heads=2, expansion=4.0, h_layers=2, l_layers=2, h_cycles=1, l_cycles=2,
                  vocab_size=2048, max_seq_len=384),
    # CPU default: ~1.5M parameters with a 4k vocabulary.
    "tiny": dict(hidden=128, heads=4, expansion=4.0, h_layers=2, l_layers=2, h_cycles=2, l_cycles=2,
                 vocab_size=4096, max_seq_len=512),
    # TRM-sized: ~7M parameters with a 4k vocabulary.
    "small": dict(hidden=256, heads=8, expansion=4.0, h_layers=3, l_layers=3, h_cycles=2, l_cycles=2,
                  vocab_size=4096, max_seq_len=768),
    # The paper's configuration: 8 blocks × 3.41M = 27.26M non-embedding parameters.
    "hrm-27m": dict(hidden=512, heads=8, expansion=4.0, h_layers=4, l_layers=4, h_cycles=2, l_cycles=2,
                    vocab_size=16384, max_seq_len=1024),
}

# Each preset's ACT segments under the original HRM recipe (the lm recipe runs one pass per sequence).
PRESET_HALT_MAX_STEPS: dict[str, int] = {"micro": 2, "tiny": 4, "small": 8, "hrm-27m": 16}


def _expand_preset(name: str, model: dict[str, Any], source: str) -> dict[str, Any]:
    """A preset's fields under ``model``'s own; under the hrm recipe also the preset's ACT segments."""
    if name not in PRESETS:
        raise ConfigError(f"{source}: invalid config\n  model.preset: unknown preset {name!r}"
                          f" (expected one of {', '.join(PRESETS)})")
    data = {**PRESETS[name], **model}
    recipe = recipe_of(model)
    if recipe == "hrm":
        act = model.get("act", {})
        data["act"] = {"halt_max_steps": PRESET_HALT_MAX_STEPS[name], **(act if isinstance(act, dict) else {})}
    return data


def with_act(cfg: RunConfig, *, inference: str | None = None, threshold: float | None = None) -> RunConfig:
    """``cfg`` with ACT's inference policy and/or threshold replaced (validated). The threshold is
    the exit's: ``act.converge_threshold`` (a KL) when the policy is converge, else ``act.halt_threshold``."""
    update: dict[str, Any] = {}
    if inference is not None:
        _check_trained_for(cfg.model, inference)
        update["inference"] = inference
    if threshold is not None:
        update[threshold_field(inference or cfg.model.act.inference)] = threshold
    if not update:
        return cfg
    data = cfg.model_dump()
    data["model"]["act"].update(update)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_errors(e, "ACT override")) from None


def threshold_field(inference: str) -> str:
    """The ACTConfig field a threshold flag (``--act-threshold``) sets under an inference policy."""
    return "converge_threshold" if inference == "converge" else "halt_threshold"


def _check_trained_for(m: ModelConfig, inference: str) -> None:
    """Early exit follows the q-head, so it needs one that training taught: say so when it did not."""
    if not m.recurrent or inference in ("max", "converge") or inference == m.act.inference:
        return
    if not m.act.trains_q_head:
        raise ConfigError(f"ACT override: act.inference={inference!r} needs a trained q-head, but this run never "
                          f"trained one (model.recipe={m.recipe}, act.enabled={m.act.enabled}, "
                          f"act.halt_max_steps={m.act.halt_max_steps}); use 'max'")
    if inference == "per_token":
        raise ConfigError(f"ACT override: act.inference='per_token' needs the per-token q-head, which is trained "
                          f"only with act.inference: per_token; this run trained with {m.act.inference!r}")


def preset(name: str, **overrides: Any) -> ModelConfig:
    """A ModelConfig from a named preset, with field overrides (e.g. arch="baseline", mode="canvas")."""
    return ModelConfig.model_validate(_expand_preset(name, overrides, "preset"))


# ---- YAML ---------------------------------------------------------------------------------------

class ConfigError(ValueError):
    """A config that does not validate; the message names the file and every bad field."""


def format_errors(err: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid config"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "<root>"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def validate_config(data: dict[str, Any], source: str = "<config>") -> RunConfig:
    """Validate a config dict. A top-level ``model.preset`` key expands to that preset first."""
    data = dict(data or {})
    model = data.get("model")
    if isinstance(model, dict) and "preset" in model:
        model = dict(model)
        data["model"] = _expand_preset(model.pop("preset"), model, source)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_errors(e, source)) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data or {}


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_recipe(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A config file as a dict, with its ``base:`` chain merged in (paths relative to the file).

    A recipe names the file it derives from and states only what differs, so two recipes that
    should differ by one switch (e.g. ``model.arch``) say exactly that.
    """
    path = Path(path)
    if path.resolve() in _seen:
        chain = " → ".join(str(p) for p in (*_seen, path.resolve()))
        raise ConfigError(f"{path}: base: the recipes derive from each other in a cycle ({chain})")
    data = _read_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base: expected a file name, got {type(base).__name__}")
    base_path = path.parent / base
    if not base_path.is_file():
        raise ConfigError(f"{path}: base: {base_path} does not exist")
    return deep_merge(read_recipe(base_path, (*_seen, path.resolve())), data)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """A run config from YAML (its ``base:`` chain merged), with optional nested overrides."""
    data = read_recipe(path)
    if overrides:
        data = deep_merge(data, overrides)
    return validate_config(data, str(path))


def parse_override(text: str) -> dict[str, Any]:
    """``model.arch=baseline`` → {"model": {"arch": "baseline"}} (the value parsed as YAML)."""
    key, sep, raw = text.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE with a dotted key, e.g. model.arch=baseline")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {text!r}: the value is not valid YAML: {e}") from None
    out: dict[str, Any] = {}
    node = out
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def load_saved_config(path: str | Path) -> RunConfig:
    """A run directory's resolved config.yaml. Runs saved before recipes existed were trained with
    the original HRM's initial states and gradient, so those fields are filled the old way."""
    path = Path(path)
    data = _read_yaml(path)
    model = data.get("model")
    if isinstance(model, dict) and "recipe" not in model:
        model = {"z_init": "random", "grad_warmup_from": None, **model, "recipe": "hrm"}
        act = model.get("act")
        if isinstance(act, dict):
            model["act"] = {"q_detach": False, **act}
        data = {**data, "model": model}
    return validate_config(data, str(path))


def dump_config(cfg: BaseModel) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)


def save_config(cfg: BaseModel, path: str | Path) -> None:
    atomic_write_text(path, dump_config(cfg))
