"""The early-warning signs of DESIGN.md as monitors: one object per sign, each resumable.

Every monitor has ``update(...) -> list[Alarm]`` plus ``state_dict`` / ``load_state_dict`` (plain
JSON), so a resumed run raises exactly the alarms an uninterrupted one would. Alarms are plain
records; the trainer sends them to the console, metrics.jsonl, TensorBoard and the report.

Severity ``critical`` means the trainer must not apply the step (non-finite loss, loss spike): it
rolls back to the last good checkpoint. ``warning`` is reported and training goes on.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import torch

Severity = Literal["warning", "critical"]


@dataclass(frozen=True)
class Alarm:
    step: int
    monitor: str
    kind: str
    severity: Severity
    message: str
    value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": "alarm", **asdict(self)}


def _finite_mean(xs: Iterable[float]) -> float:
    xs = [x for x in xs if math.isfinite(x)]
    return sum(xs) / len(xs) if xs else float("nan")


# ---- loss: non-finite, spike, divergence, oscillation -------------------------------------------


def may_fire(last_fired: dict[str, int], kind: str, step: int, window: int) -> bool:
    """Rate-limit an alarm kind to once per ``window`` steps, recording the step when it fires."""
    last = last_fired.get(kind)
    if last is not None and step - last < window:
        return False
    last_fired[kind] = step
    return True


@dataclass
class LossMonitor:
    """Rolling statistics of the training loss.

    - nonfinite (critical): NaN or inf.
    - spike (critical): loss > ``spike_factor`` × the median of the last ``window`` losses.
    - divergence (warning): the mean of the newer half of the window exceeds the older half by
      ``diverge_ratio`` — the loss is trending up, not just noisy.
    - oscillation (warning): the step-to-step changes flip sign and their mean size exceeds
      ``oscillation_cv`` × the mean loss — a sign of a learning rate at the edge of stability.
    Spike and divergence only fire once ``min_history`` losses have been seen; each warning kind
    fires at most once per ``window`` steps so a long bad phase is one alarm, not hundreds. No
    alarm fires for a change smaller than ``min_delta`` (nats): once a model has memorised its data
    the loss is ~0.001 and a step at 0.005 is "5× the median" but harmless (without this floor a
    tiny baseline that reached training loss 0.001 rolled back five times and stopped).
    """

    window: int = 50
    min_history: int = 10
    spike_factor: float = 4.0
    diverge_ratio: float = 1.5
    oscillation_cv: float = 0.5
    min_delta: float = 0.1
    name: str = "loss"
    history: deque[float] = field(default_factory=deque)
    last_fired: dict[str, int] = field(default_factory=dict)

    def check(self, step: int, loss: float) -> list[Alarm]:
        """Alarms for a candidate loss, before it is accepted (the trainer rolls back on critical)."""
        if not math.isfinite(loss):
            return [Alarm(step, self.name, "nonfinite", "critical", f"loss is {loss}", loss)]
        if len(self.history) >= self.min_history:
            med = statistics.median(self.history)
            if med > 0 and loss > self.spike_factor * med and loss - med > self.min_delta:
                return [Alarm(step, self.name, "spike", "critical",
                              f"loss {loss:.4g} > {self.spike_factor}× rolling median {med:.4g}", loss)]
        return []

    def update(self, step: int, loss: float) -> list[Alarm]:
        """Accept a (finite, non-spike) loss into the window and look for slow trends."""
        self.history.append(loss)
        while len(self.history) > self.window:
            self.history.popleft()
        out: list[Alarm] = []
        h = list(self.history)
        if len(h) >= max(self.min_history, 4):
            half = len(h) // 2
            old, new = _finite_mean(h[:half]), _finite_mean(h[half:])
            if (old > 0 and new > self.diverge_ratio * old and new - old > self.min_delta
                    and self._may_fire("divergence", step)):
                out.append(Alarm(step, self.name, "divergence", "warning",
                                 f"loss rising: recent mean {new:.4g} vs earlier {old:.4g}", new / old))
            diffs = [b - a for a, b in itertools.pairwise(h)]
            flips = sum(1 for a, b in itertools.pairwise(diffs) if a * b < 0)
            mean = _finite_mean(h)
            amp = _finite_mean(abs(d) for d in diffs)
            if (mean > 0 and flips >= 0.6 * (len(diffs) - 1) and amp > self.oscillation_cv * mean
                    and amp > self.min_delta and self._may_fire("oscillation", step)):
                out.append(Alarm(step, self.name, "oscillation", "warning",
                                 f"loss oscillating: mean |Δ| {amp:.4g} vs mean {mean:.4g}", amp / mean))
        return out

    def _may_fire(self, kind: str, step: int) -> bool:
        return may_fire(self.last_fired, kind, step, self.window)

    def state_dict(self) -> dict[str, Any]:
        return {"history": list(self.history), "last_fired": dict(self.last_fired)}

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        self.history = deque(float(x) for x in sd["history"])
        self.last_fired = {k: int(v) for k, v in sd["last_fired"].items()}


# ---- gradient norms per module -----------------------------------------------------------------

# Parameter-name fragments → module group. The first match wins; anything else is "other".
DEFAULT_GROUPS: tuple[tuple[str, str], ...] = (
    ("q_head", "heads"), ("lm_head", "heads"), ("head", "heads"),
    ("h_level", "H"), ("H_level", "H"), ("h_module", "H"), ("h_blocks", "H"),
    ("l_level", "L"), ("L_level", "L"), ("l_module", "L"), ("l_blocks", "L"),
    ("embed", "embed"), ("blocks", "blocks"), ("layers", "blocks"),
)


def module_group(name: str, groups: Iterable[tuple[str, str]] = DEFAULT_GROUPS) -> str:
    name = name.removeprefix("module.")  # DDP
    for frag, group in groups:
        if frag in name:
            return group
    return "other"


def grad_norms(named_params: Iterable[tuple[str, torch.nn.Parameter]],
               groups: Iterable[tuple[str, str]] = DEFAULT_GROUPS) -> dict[str, float]:
    """L2 norm of the gradient per module group, plus ``total``; parameters without grad are skipped."""
    sq: dict[str, torch.Tensor] = {}
    groups = tuple(groups)
    for name, p in named_params:
        if p.grad is None:
            continue
        g = module_group(name, groups)
        s = p.grad.detach().float().pow(2).sum()
        sq[g] = sq[g] + s if g in sq else s
    out = {g: math.sqrt(float(v)) for g, v in sorted(sq.items())}
    out["total"] = math.sqrt(sum(v * v for v in out.values()))
    return out


@dataclass
class GradNormMonitor:
    """Explosion: a group's norm above ``explode_abs``, or above ``explode_factor`` × its rolling
    median and ``explode_min`` (a memorised model's norms are ~1e-4; a jump to 0.007 is not an
    explosion — that fired 48 times in one 10-minute run). Vanishing: a group's norm below
    ``vanish_abs`` for ``patience`` consecutive steps."""

    window: int = 50
    explode_abs: float = 1e3
    explode_factor: float = 20.0
    explode_min: float = 1.0
    vanish_abs: float = 1e-7
    patience: int = 3
    min_history: int = 10
    name: str = "grad_norm"
    history: dict[str, deque[float]] = field(default_factory=dict)
    low_streak: dict[str, int] = field(default_factory=dict)

    def update(self, step: int, norms: Mapping[str, float]) -> list[Alarm]:
        out: list[Alarm] = []
        for g, v in norms.items():
            hist = self.history.setdefault(g, deque())
            if not math.isfinite(v) or v > self.explode_abs:
                out.append(Alarm(step, self.name, "explosion", "warning", f"{g} grad norm {v:.4g}", v))
            elif len(hist) >= self.min_history:
                med = statistics.median(hist)
                if med > 0 and v > self.explode_factor * med and v > self.explode_min:
                    out.append(Alarm(step, self.name, "explosion", "warning",
                                     f"{g} grad norm {v:.4g} > {self.explode_factor}× median {med:.4g}", v))
            if math.isfinite(v) and v < self.vanish_abs:
                self.low_streak[g] = self.low_streak.get(g, 0) + 1
                if self.low_streak[g] == self.patience:  # once per streak
                    out.append(Alarm(step, self.name, "vanishing", "warning",
                                     f"{g} grad norm {v:.3g} < {self.vanish_abs:g} for {self.patience} steps", v))
            else:
                self.low_streak[g] = 0
            if math.isfinite(v):
                hist.append(v)
                while len(hist) > self.window:
                    hist.popleft()
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"history": {g: list(h) for g, h in self.history.items()}, "low_streak": dict(self.low_streak)}

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        self.history = {g: deque(float(x) for x in h) for g, h in sd["history"].items()}
        self.low_streak = {g: int(v) for g, v in sd["low_streak"].items()}


# ---- ACT health ---------------------------------------------------------------------------------


@dataclass
class ACTMonitor:
    """Is adaptive computation learning? Over a window of steps (after ``warmup`` steps):

    - q_stagnant: the q-head's halting logits do not move at all (spread ≈ 0 over the window) —
      a frozen or dead q-head, halting is then decided by the step limit alone.
    - q_accuracy: q-halt accuracy (predicted "exactly right" vs actual) stays below ``min_accuracy``.
    - never_halts: every halting sample ran ``halt_max_steps`` for the whole window (never with
      ``halt_max_steps`` = 1, where every sample ends after its one segment by design).
    Metrics expected from the model (any missing one disables its check): ``q_halt_logits`` (mean),
    ``q_halt_accuracy``, ``steps`` (mean segments of the samples that halted), ``halted`` (fraction).
    """

    halt_max_steps: int
    window: int = 50
    warmup: int = 50
    min_accuracy: float = 0.5
    stagnant_eps: float = 1e-6
    name: str = "act"
    q_logits: deque[float] = field(default_factory=deque)
    q_acc: deque[float] = field(default_factory=deque)
    steps: deque[float] = field(default_factory=deque)
    seen: int = 0
    last_fired: dict[str, int] = field(default_factory=dict)

    def update(self, step: int, metrics: Mapping[str, float]) -> list[Alarm]:
        self.seen += 1
        for key, buf in (("q_halt_logits", self.q_logits), ("q_halt_accuracy", self.q_acc)):
            if key in metrics and math.isfinite(metrics[key]):
                buf.append(float(metrics[key]))
        if metrics.get("halted", 0) > 0 and "steps" in metrics:
            self.steps.append(float(metrics["steps"]))
        for buf in (self.q_logits, self.q_acc, self.steps):
            while len(buf) > self.window:
                buf.popleft()
        if self.seen < self.warmup:
            return []
        out: list[Alarm] = []
        full = self.window
        if len(self.q_logits) >= full:
            spread = max(self.q_logits) - min(self.q_logits)
            if spread < self.stagnant_eps and self._may_fire("q_stagnant", step):
                out.append(Alarm(step, self.name, "q_stagnant", "warning",
                                 f"q-halt logits unchanged over {full} steps (spread {spread:.2g}): "
                                 "is the q-head frozen?", spread))
        if len(self.q_acc) >= full:
            acc = _finite_mean(self.q_acc)
            if acc < self.min_accuracy and self._may_fire("q_accuracy", step):
                out.append(Alarm(step, self.name, "q_accuracy", "warning",
                                 f"q-halt accuracy {acc:.2f} < {self.min_accuracy} over {full} steps", acc))
        if (self.halt_max_steps > 1 and len(self.steps) >= full and min(self.steps) >= self.halt_max_steps
                and self._may_fire("never_halts", step)):
                out.append(Alarm(step, self.name, "never_halts", "warning",
                                 f"every sample ran halt_max_steps={self.halt_max_steps} for {full} steps",
                                 float(self.halt_max_steps)))
        return out

    def _may_fire(self, kind: str, step: int) -> bool:
        return may_fire(self.last_fired, kind, step, self.window)

    def state_dict(self) -> dict[str, Any]:
        return {"q_logits": list(self.q_logits), "q_acc": list(self.q_acc), "steps": list(self.steps),
                "seen": self.seen, "last_fired": dict(self.last_fired)}

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        self.q_logits = deque(float(x) for x in sd["q_logits"])
        self.q_acc = deque(float(x) for x in sd["q_acc"])
        self.steps = deque(float(x) for x in sd["steps"])
        self.seen = int(sd["seen"])
        self.last_fired = {k: int(v) for k, v in sd["last_fired"].items()}


# ---- plateau on the probe set --------------------------------------------------------------------


@dataclass
class PlateauMonitor:
    """The periodic quick eval on a fixed probe set stops improving: no new best probe loss (by more
    than ``min_delta``, relative) for ``patience`` evals in a row."""

    patience: int = 5
    min_delta: float = 0.01
    name: str = "plateau"
    best: float | None = None
    since_best: int = 0
    evals: list[tuple[int, float, float]] = field(default_factory=list)

    def update(self, step: int, probe_loss: float, exact_match: float) -> list[Alarm]:
        self.evals.append((step, probe_loss, exact_match))
        if self.best is None or probe_loss < self.best * (1 - self.min_delta):
            self.best = probe_loss
            self.since_best = 0
            return []
        self.since_best += 1
        if self.since_best == self.patience:
            return [Alarm(step, self.name, "plateau", "warning",
                          f"probe loss has not improved on {self.best:.4g} for {self.patience} evals "
                          f"(now {probe_loss:.4g}, exact match {exact_match:.3f})", probe_loss)]
        return []

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "since_best": self.since_best, "evals": [list(e) for e in self.evals]}

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        self.best = sd["best"]
        self.since_best = int(sd["since_best"])
        self.evals = [(int(a), float(b), float(c)) for a, b, c in sd["evals"]]


# ---- memory --------------------------------------------------------------------------------------


def memory_usage() -> dict[str, float]:
    """Resident set size of this process and (on CUDA) the peak allocated memory, in MiB."""
    import psutil

    out = {"rss_mb": psutil.Process().memory_info().rss / 2**20}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


@dataclass
class MemoryMonitor:
    """Peak RSS / CUDA memory per step. Alarms: above ``limit_mb`` (when set), or RSS grown by more
    than ``growth_ratio`` since the end of warm-up (a leak: our memory should be flat after step 1)."""

    limit_mb: float | None = None
    growth_ratio: float = 1.5
    warmup: int = 20
    name: str = "memory"
    baseline_mb: float | None = None
    peak_mb: float = 0.0
    seen: int = 0
    fired: list[str] = field(default_factory=list)

    def update(self, step: int, usage: Mapping[str, float]) -> list[Alarm]:
        self.seen += 1
        mb = max(usage.values()) if usage else 0.0
        self.peak_mb = max(self.peak_mb, mb)
        out: list[Alarm] = []
        if self.limit_mb is not None and mb > self.limit_mb and "limit" not in self.fired:
            self.fired.append("limit")
            out.append(Alarm(step, self.name, "limit", "warning",
                             f"memory {mb:.0f} MiB above the limit {self.limit_mb:.0f} MiB", mb))
        rss = usage.get("rss_mb")
        if rss is not None:
            if self.seen == self.warmup:
                self.baseline_mb = rss
            elif (self.baseline_mb and rss > self.growth_ratio * self.baseline_mb
                  and "growth" not in self.fired):
                self.fired.append("growth")
                out.append(Alarm(step, self.name, "growth", "warning",
                                 f"RSS grew from {self.baseline_mb:.0f} to {rss:.0f} MiB since step warm-up", rss))
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"baseline_mb": self.baseline_mb, "peak_mb": self.peak_mb, "seen": self.seen,
                "fired": list(self.fired)}

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        self.baseline_mb = sd["baseline_mb"]
        self.peak_mb = float(sd["peak_mb"])
        self.seen = int(sd["seen"])
        self.fired = list(sd["fired"])


# ---- time vs estimate ---------------------------------------------------------------------------


@dataclass
class TimeMonitor:
    """Projected total time (elapsed + ETA) against the estimate; alarm when it exceeds ``factor`` ×.

    The estimate is ``estimate_s`` when the user gave one, else the projection made after
    ``calibrate_steps`` steps (so a run that later slows down by 2× is caught).
    """

    total_steps: int
    estimate_s: float | None = None
    factor: float = 2.0
    calibrate_steps: int = 20
    name: str = "time"
    fired: bool = False

    def update(self, step: int, elapsed_s: float, steps_done_this_session: int,
               session_elapsed_s: float) -> list[Alarm]:
        if steps_done_this_session <= 0 or session_elapsed_s <= 0:
            return []
        rate = session_elapsed_s / steps_done_this_session
        projected = elapsed_s + rate * max(0, self.total_steps - step)
        if self.estimate_s is None:
            if step >= self.calibrate_steps:
                self.estimate_s = projected
            return []
        if projected > self.factor * self.estimate_s and not self.fired:
            self.fired = True
            return [Alarm(step, self.name, "over_estimate", "warning",
                          f"projected {projected / 60:.1f} min > {self.factor}× estimate "
                          f"{self.estimate_s / 60:.1f} min", projected)]
        return []

    def state_dict(self) -> dict[str, Any]:
        return {"estimate_s": self.estimate_s, "fired": self.fired}

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        self.estimate_s = sd["estimate_s"]
        self.fired = bool(sd["fired"])
