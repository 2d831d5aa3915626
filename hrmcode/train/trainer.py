"""The training loop: one loop for HRM (deep supervision with ACT, both modes) and the baseline.

    summary = train(cfg, run_dir)                      # a RunConfig; returns a TrainSummary
    summary = train(cfg, run_dir, resume=True)         # continue exactly from the newest good checkpoint

One step = one call of the model (one ACT segment for every slot of the global batch), backward,
clip, optimizer step. Slots whose sample halted take a new example (``SlotSampler``). The monitors
watch every step; a NaN/inf loss or a loss spike is never applied: the trainer rolls back to the
newest checkpoint that verifies, multiplies the LR by ``train.rollback_lr_factor`` and continues.

The run directory:
    config.yaml        the resolved config (model.vocab_size = the tokenizer's)
    tokenizer.json     the tokenizer the run used
    metrics.jsonl      {"type": "step"|"eval"|"alarm"|"rollback"|"info", ...}, one per line
    tb/                TensorBoard events
    checkpoints/       step_XXXXXXXX/ (see checkpoint.py), keep-last-K + best
    plots/             loss.png grad_norms.png act_steps.png throughput.png
    summary.json, train_report.md
The time budget (``train.time_budget_minutes``) counts the training loop (evals and checkpoints
included) over all sessions of a run, not the data preparation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from hrmcode.config import RunConfig, dump_config, load_saved_config, save_config
from hrmcode.data.batching import (
    Example,
    SlotSampler,
    batch_length,
    build_examples,
    collate,
    load_tasks,
    split_of,
)
from hrmcode.data.names import renamed_copies
from hrmcode.records import Task, atomic_write_json, atomic_write_text
from hrmcode.tokenizer import CodeTokenizer
from hrmcode.train import checkpoint as ck
from hrmcode.train import distributed as D
from hrmcode.train import monitors as M
from hrmcode.train.optim import EMA, build_optimizer, lr_at, set_lr

log = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    """Training cannot go on (no checkpoint to roll back to, too many rollbacks, bad data…)."""


@dataclass
class TrainSummary:
    run_dir: Path
    steps: int
    tokens_seen: int
    elapsed_s: float
    stopped_by: str  # "steps" | "time_budget"
    final_loss: float | None
    tokens_per_s: float
    probe: dict[str, Any]  # the last quick eval: loss, exact_match, per_language
    best_probe_loss: float | None
    parameters: dict[str, int]
    alarms: list[dict[str, Any]]
    rollbacks: list[dict[str, Any]]
    checkpoint: Path | None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["run_dir"] = str(self.run_dir)
        d["checkpoint"] = str(self.checkpoint) if self.checkpoint else None
        return d


# ---- data preparation ---------------------------------------------------------------------------


def split_tasks(tasks: Sequence[Task], max_depth: int | None = None) -> tuple[list[Task], list[Task]]:
    """(train, probe) tasks. Probe = the ``val`` split; without one, every 20th task is held out."""
    tasks = [t for t in tasks if max_depth is None or _depth(t) <= max_depth]
    train = [t for t in tasks if split_of(t) == "train"]
    val = [t for t in tasks if split_of(t) == "val"]
    if not val:
        val = [t for i, t in enumerate(train) if i % 20 == 19]
        held = {t.task_id for t in val}
        train = [t for t in train if t.task_id not in held]
    return train, val


def _depth(task: Task) -> int:
    from hrmcode.data.batching import difficulty_of

    return difficulty_of(task)


def train_tokenizer(tasks: Sequence[Task], languages: Sequence[str], vocab_size: int) -> CodeTokenizer:
    """A tokenizer from the training tasks' prompts and reference solutions."""
    from hrmcode.prompts import prompt_text

    texts = []
    for t in tasks:
        for lang in languages:
            if (t.reference or {}).get(lang):
                texts += [prompt_text(t, lang), t.reference[lang]]
    return CodeTokenizer.train(texts, vocab_size)


def probe_examples(examples: Sequence[Example], n: int) -> list[Example]:
    """A fixed, language-balanced probe set: round-robin over languages in example order."""
    by_lang: dict[str, list[Example]] = {}
    for e in examples:
        by_lang.setdefault(e.language, []).append(e)
    out: list[Example] = []
    i = 0
    while len(out) < n and any(i < len(v) for v in by_lang.values()):
        for lang in sorted(by_lang):
            if i < len(by_lang[lang]) and len(out) < n:
                out.append(by_lang[lang][i])
        i += 1
    return out


# ---- carry (de)serialisation: any dataclass tree of per-slot tensors ---------------------------


def _carry_tensors(obj: Any, prefix: str, out: dict[str, torch.Tensor]) -> None:
    if isinstance(obj, torch.Tensor):
        out[prefix] = obj
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            _carry_tensors(getattr(obj, f.name), f"{prefix}.{f.name}", out)


def _carry_restore(template: Any, prefix: str, tensors: dict[str, torch.Tensor], rows: range,
                   device: torch.device) -> Any:
    if isinstance(template, torch.Tensor):
        return tensors[prefix][rows.start:rows.stop].to(device)
    if dataclasses.is_dataclass(template):
        return dataclasses.replace(template, **{  # type: ignore[type-var]
            f.name: _carry_restore(getattr(template, f.name), f"{prefix}.{f.name}", tensors, rows, device)
            for f in dataclasses.fields(template)})
    return template


# ---- sinks: metrics.jsonl, TensorBoard, console ------------------------------------------------


class Sinks:
    """Where records go. Only rank 0 has one; other ranks get a silent instance."""

    def __init__(self, run_dir: Path | None, console: Any = None) -> None:
        self.run_dir = run_dir
        self.console = console
        self.tb = None
        self._fh = None
        if run_dir is not None:
            self._fh = (run_dir / "metrics.jsonl").open("a", encoding="utf-8")
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run_dir / "tb"))
            except ImportError:  # tensorboard is a dependency, but a broken install must not stop training
                log.warning("tensorboard unavailable: no TensorBoard events")

    def record(self, rec: dict[str, Any]) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps(_finite(rec)) + "\n")
        self._fh.flush()
        if self.tb is None:
            return
        step = int(rec.get("step", 0))
        kind = rec.get("type")
        if kind in ("step", "eval"):
            for k, v in _flat(rec).items():
                if isinstance(v, int | float) and k not in ("step", "type") and math.isfinite(float(v)):
                    self.tb.add_scalar(f"{kind}/{k}", v, step)
        elif kind in ("alarm", "rollback"):
            self.tb.add_text(f"{kind}/{rec.get('kind', kind)}", json.dumps(rec), step)

    def alarm(self, a: M.Alarm) -> None:
        self.record(a.to_dict())
        if self.console is not None:
            color = "red" if a.severity == "critical" else "yellow"
            self.console.print(f"[{color}]alarm[/] step {a.step} {a.monitor}/{a.kind}: {a.message}", highlight=False)
        else:
            log.warning("alarm step %d %s/%s: %s", a.step, a.monitor, a.kind, a.message)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        if self.tb is not None:
            self.tb.close()


def _finite(obj: Any) -> Any:
    """NaN/inf → null, so metrics.jsonl is strict JSON that any reader accepts."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}/"))
        else:
            out[f"{prefix}{k}"] = v
    return out


def truncate_metrics(path: Path, max_step: int) -> None:
    """Drop records after ``max_step`` (steps a killed run did past its last checkpoint)."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a line cut by the kill
            continue
        if int(rec.get("step", 0)) <= max_step:
            keep.append(line)
    atomic_write_text(path, "".join(s + "\n" for s in keep))


# ---- the trainer -------------------------------------------------------------------------------


@dataclass
class TrainerState:
    """The trainer's own state; checkpointed like any component."""

    step: int = 0
    tokens_seen: int = 0
    elapsed_s: float = 0.0
    lr_scale: float = 1.0
    best_probe_loss: float | None = None
    last_probe: dict[str, Any] = field(default_factory=dict)
    # Survive a rollback (they describe the run, not the weights):
    rollbacks: list[dict[str, Any]] = field(default_factory=list)
    injected: list[int] = field(default_factory=list)  # indices of debug_inject entries that fired
    alarms: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    def __init__(self, cfg: RunConfig, run_dir: Path, info: D.DistInfo, *, tokenizer: CodeTokenizer,
                 train_examples: list[Example], probe: list[Example], console: Any = None) -> None:
        self.cfg = cfg
        self.tc = cfg.train
        self.run_dir = run_dir
        self.ckpt_dir = run_dir / "checkpoints"
        self.info = info
        self.tokenizer = tokenizer
        self.examples = train_examples
        self.probe = probe
        self.device = info.device
        self.seq_len = min(batch_length(train_examples + probe), cfg.model.max_seq_len
                           + (cfg.model.canvas_slots if cfg.model.mode == "canvas" else 0))
        self.slots = D.local_slots(self.tc.batch_size, info)
        self.sinks = Sinks(run_dir if info.is_main else None, console if info.is_main else None)

        from hrmcode.model import build_model, count_parameters, sample_cycles

        self._sample_cycles = sample_cycles

        torch.manual_seed(self.tc.seed)  # identical initial weights on every rank
        self.model = build_model(cfg.model, tokenizer.pad_id).to(self.device)
        self.parameters = count_parameters(self.model)
        self._apply_freeze()
        self.ddp = D.wrap_ddp(self.model, info, find_unused=self._needs_find_unused())
        self.opt = build_optimizer(self.model, self.tc)
        self.ema = EMA(self.model, self.tc.ema) if self.tc.ema else None
        self.sampler = SlotSampler(train_examples, self.tc.batch_size, self.tc.seed,
                                   schedule=cfg.data.curriculum_schedule if cfg.data.curriculum else None,
                                   group=cfg.data.group_by_length)
        self.slot_examples: list[int] = [-1] * self.tc.batch_size
        self.halted = [True] * self.tc.batch_size
        self.carry: Any = None
        self.state = TrainerState()
        mc = self.tc.monitors
        self.loss_mon = M.LossMonitor(window=mc.loss_window, spike_factor=mc.spike_factor,
                                      diverge_ratio=mc.diverge_ratio, min_delta=mc.loss_min_delta)
        self.grad_mon = M.GradNormMonitor(explode_abs=mc.grad_explode, explode_min=mc.grad_explode_min,
                                          vanish_abs=mc.grad_vanish)
        self.act_mon = M.ACTMonitor(halt_max_steps=cfg.model.act.halt_max_steps, window=mc.act_window,
                                    warmup=mc.act_warmup, min_accuracy=mc.act_min_accuracy)
        self.plateau_mon = M.PlateauMonitor(patience=mc.plateau_patience)
        self.mem_mon = M.MemoryMonitor(limit_mb=mc.memory_limit_mb)
        self.time_mon = M.TimeMonitor(total_steps=self.tc.steps, estimate_s=(
            mc.time_estimate_minutes * 60 if mc.time_estimate_minutes else None))
        # Per-rank stream for ACT exploration; seeded after the weights so the init is shared.
        torch.manual_seed(self.tc.seed * 1000 + 1 + info.rank)

    @property
    def uses_act(self) -> bool:
        return self.cfg.model.recurrent

    def _needs_find_unused(self) -> bool:
        # An untrained q-head, or a truncation window that may hold only H calls, leaves parameters
        # without a gradient on some steps.
        m = self.cfg.model
        return self.uses_act and (not m.act.trains_q_head or m.grad_mode.startswith("truncated"))

    def _apply_freeze(self) -> None:
        for inj in self.tc.debug_inject:
            if inj.kind == "freeze":
                names = [n for n, p in self.model.named_parameters() if inj.prefix in n]
                if not names:
                    raise ValueError(f"train.debug_inject: freeze prefix {inj.prefix!r} matches no parameter")
                for n, p in self.model.named_parameters():
                    if inj.prefix in n:
                        p.requires_grad_(False)
                log.warning("debug_inject: frozen %d parameters matching %r", len(names), inj.prefix)

    def monitors(self) -> dict[str, Any]:
        return {"loss": self.loss_mon, "grad": self.grad_mon, "act": self.act_mon, "plateau": self.plateau_mon,
                "memory": self.mem_mon, "time": self.time_mon}

    # ---- checkpoints -----------------------------------------------------------------------------

    def _global_carry(self) -> dict[str, torch.Tensor]:
        local: dict[str, torch.Tensor] = {}
        _carry_tensors(self.carry, "carry", local)
        return {k: D.all_gather_slots(v, self.info).cpu() for k, v in sorted(local.items())}

    def _gather_rng(self) -> list[dict[str, Any]]:
        mine = ck.rng_state()
        if not self.info.enabled:
            return [mine]
        out: list[Any] = [None] * self.info.world_size
        dist.all_gather_object(out, mine)
        return out

    def save(self) -> Path | None:
        """Checkpoint now (every rank takes part in the gathers; rank 0 writes)."""
        carry = self._global_carry() if self.carry is not None else {}
        rng = self._gather_rng()
        path = None
        if self.info.is_main:
            tensors: dict[str, torch.Tensor] = dict(carry)
            st = self.state
            state = {
                "trainer": dataclasses.asdict(st),
                "optimizer": ck.optimizer_state(self.opt, tensors),
                "scheduler": {"lr_scale": st.lr_scale, "step": st.step},
                "rng": ck.split_tensors(rng, "rng", tensors),
                "data": {"sampler": self.sampler.state_dict(), "slot_examples": self.slot_examples,
                         "halted": self.halted, "has_carry": self.carry is not None},
                "monitors": {k: m.state_dict() for k, m in self.monitors().items()},
                "world_size": self.info.world_size,
                "config": json.loads(json.dumps(self.cfg.model_dump(mode="json"))),
            }
            if self.ema is not None:
                tensors.update({f"ema.{k}": v for k, v in self.ema.shadow.items()})
            metric = st.last_probe.get("loss") if st.last_probe.get("step") == st.step else None
            path = ck.save_checkpoint(self.ckpt_dir, st.step, self.model.state_dict(), tensors, state,
                                      metric=metric, keep_last=self.tc.keep_last, keep_best=self.tc.keep_best)
        D.barrier(self.info)
        return path

    def restore(self, c: ck.Checkpoint) -> None:
        """Load a checkpoint written at any world size."""
        self.model.load_state_dict(c.model)
        ck.load_optimizer_state(self.opt, c.state["optimizer"], c.tensors)
        if self.ema is not None:
            self.ema.shadow = {k[4:]: v.clone() for k, v in c.tensors.items() if k.startswith("ema.")}
        t = c.state["trainer"]
        self.state = TrainerState(**t)
        data = c.state["data"]
        self.sampler.load_state_dict(data["sampler"])
        self.slot_examples = [int(i) for i in data["slot_examples"]]
        self.halted = [bool(h) for h in data["halted"]]
        self.carry = None
        if data["has_carry"]:
            template = self.model.initial_carry(self._local_batch())
            self.carry = _carry_restore(template, "carry", c.tensors, self.slots, self.device)
        for k, m in self.monitors().items():
            m.load_state_dict(c.state["monitors"][k])
        rng = ck.join_tensors(c.state["rng"], c.tensors)
        saved_world = int(c.state.get("world_size", 1))
        if saved_world != self.info.world_size:
            log.warning("checkpoint from %d ranks resumed on %d: weights, optimizer and data position are "
                        "exact; per-rank random streams (ACT exploration) restart from rank %d's",
                        saved_world, self.info.world_size, self.info.rank % saved_world)
        ck.set_rng_state(rng[self.info.rank % len(rng)])

    # ---- one step --------------------------------------------------------------------------------

    def _fraction(self) -> float:
        """How far training is (0..1): the LR schedule's clock, so the curriculum and the truncation
        window follow the time budget in a time-budgeted run (step/steps would stay near 0 there)."""
        st = self.state
        budget_s = self.tc.time_budget_minutes * 60 if self.tc.time_budget_minutes else None
        if budget_s:
            return min(1.0, max(st.elapsed_s / budget_s, st.step / max(1, self.tc.steps)))
        return st.step / max(1, self.tc.steps)

    def _local_batch(self) -> Any:
        rows = [self.examples[max(0, self.slot_examples[s])] for s in self.slots]
        return collate(rows, self.tokenizer.pad_id, self._length()).to(self.device)

    def _length(self) -> int:
        # The longest example in the global batch (every rank agrees). With ACT the slots that keep
        # their sample are in slot_examples too, so the carry is never cut before a kept row's end.
        return self._fit_length([self.examples[i] for i in self.slot_examples])

    def _fit_length(self, rows: Sequence[Example]) -> int:
        """The longest of ``rows`` rounded up to 8 (padding is masked out of attention)."""
        longest = max(len(e.ids) for e in rows)
        return min(self.seq_len, -(-longest // 8) * 8)

    def _refill_slots(self) -> None:
        frac = self._fraction()
        for s in range(self.tc.batch_size):
            if self.halted[s]:
                self.slot_examples[s] = self.sampler.next_for_slot(s, frac)

    def _inject(self, kind: str) -> Any:
        """The debug_inject entry of ``kind`` that fires at this step (once-only kinds fire once)."""
        for i, inj in enumerate(self.tc.debug_inject):
            if inj.kind != kind:
                continue
            if kind in ("nan_loss", "loss_spike"):
                if inj.step == self.state.step and i not in self.state.injected:
                    self.state.injected.append(i)
                    return inj
            elif inj.step <= self.state.step and (inj.until is None or self.state.step <= inj.until):
                return inj
        return None

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.tc.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _global_mean(self, values: list[float]) -> list[float]:
        t = torch.tensor(values, dtype=torch.float64)
        if self.info.enabled:
            t = t.to(self.device) if self.device.type == "cuda" else t
            D.all_reduce_sum(t, self.info)
            t = t.cpu() / self.info.world_size
        return t.tolist()

    def train_step(self) -> dict[str, Any] | None:
        """One optimizer step; None when the step was rolled back instead."""
        st = self.state
        self._refill_slots()
        batch = self._local_batch()
        if self.carry is None and self.uses_act:
            self.carry = self.model.initial_carry(batch)
        budget_s = self.tc.time_budget_minutes * 60 if self.tc.time_budget_minutes else None
        lr = lr_at(st.step, self.tc, time_fraction=st.elapsed_s / budget_s if budget_s else None) * st.lr_scale
        set_lr(self.opt, lr)
        cycles = None
        if self.uses_act:
            self.model.set_progress(self._fraction())
            # The depth of this step: a function of the seed and the step only (its own generator),
            # so every rank, a rollback and a resumed run draw the same, and the data order is untouched.
            cycles = self._sample_cycles(self.cfg.model, self.tc.seed, st.step)
            self.model.set_cycles(cycles)
        self.ddp.train()
        with self._autocast():
            out = self.ddp(self.carry, batch)
        loss = out.loss
        if (inj := self._inject("nan_loss")) is not None:
            loss = loss * float("nan")
            log.warning("debug_inject: NaN loss at step %d", st.step)
        if (inj := self._inject("loss_spike")) is not None:
            loss = loss * inj.factor
            log.warning("debug_inject: loss × %g at step %d", inj.factor, st.step)

        data = out.carry.data if self.uses_act else batch
        n_tok = float((data.end - data.start).sum())
        q_halt = float(out.outputs["q_halt"].detach().float().mean()) if "q_halt" in out.outputs else float("nan")
        local = [float(loss.detach()), n_tok, q_halt] + [float(v) for v in out.metrics.values()]
        glob = self._global_mean(local)
        g_loss, g_tok, g_q = glob[0], glob[1] * self.info.world_size, glob[2]
        metrics = dict(zip(out.metrics.keys(), glob[3:], strict=True))

        critical = self.loss_mon.check(st.step, g_loss)
        if critical:
            for a in critical:
                self._alarm(a)
            if self.tc.rollback:
                self.rollback(critical[0])
                return None
            if critical[0].kind == "nonfinite":
                raise TrainingError(f"step {st.step}: loss is {g_loss} and train.rollback is off")

        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self._inject("zero_grads") is not None:
            for p in self.model.parameters():
                if p.grad is not None:
                    p.grad.zero_()
        norms = M.grad_norms(self.model.named_parameters())
        if self.tc.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.tc.grad_clip)
        self.opt.step()
        if self.ema is not None:
            self.ema.update(self.model)

        if self.uses_act:
            self.carry = out.carry
            halted = D.all_gather_slots(out.carry.halted.to(torch.int64), self.info).cpu()
            self.halted = [bool(h) for h in halted]
        else:
            self.halted = [True] * self.tc.batch_size
        st.step += 1
        st.tokens_seen += int(g_tok)

        alarms = self.loss_mon.update(st.step, g_loss) + self.grad_mon.update(st.step, norms)
        act_metrics = {}
        if self.uses_act and self.cfg.model.act.trains_q_head:
            act_metrics = {"q_halt_logits": g_q, "q_halt_accuracy": metrics.get("q_halt_accuracy", float("nan")),
                           "steps": metrics.get("mean_steps", float("nan")),
                           "halted": metrics.get("halting_rate", 0.0)}
            alarms += self.act_mon.update(st.step, act_metrics)
        mem = M.memory_usage()
        alarms += self.mem_mon.update(st.step, mem)
        for a in alarms:
            self._alarm(a)
        rec = {"type": "step", "step": st.step, "loss": g_loss, "lr": lr, "tokens": g_tok,
               "grad_norm": norms, "metrics": metrics, "act": act_metrics, "memory": mem}
        if cycles is not None:
            rec["cycles"] = cycles  # the H cycles this step trained with (model.cycles_sampling)
        return rec

    def _alarm(self, a: M.Alarm) -> None:
        self.state.alarms.append(a.to_dict())
        self.sinks.alarm(a)

    # ---- rollback --------------------------------------------------------------------------------

    def rollback(self, cause: M.Alarm) -> None:
        st = self.state
        if len(st.rollbacks) >= self.tc.max_rollbacks:
            raise TrainingError(f"step {st.step}: {cause.kind} after {len(st.rollbacks)} rollbacks "
                                f"(train.max_rollbacks={self.tc.max_rollbacks}); lower train.lr")
        D.barrier(self.info)
        c, skipped = ck.load_latest(self.ckpt_dir, max_step=st.step)
        if c is None:
            raise TrainingError(f"step {st.step}: {cause.kind} and no checkpoint verifies in {self.ckpt_dir}"
                                + (f" (skipped: {'; '.join(skipped)})" if skipped else ""))
        keep = (st.rollbacks, st.injected, st.alarms, st.lr_scale, st.elapsed_s)
        self.restore(c)
        st = self.state
        st.rollbacks, st.injected, st.alarms, lr_scale, st.elapsed_s = keep
        st.lr_scale = lr_scale * self.tc.rollback_lr_factor
        event = {"type": "rollback", "step": st.step, "from_step": cause.step, "cause": cause.kind,
                 "checkpoint": c.path.name, "lr_scale": st.lr_scale, "skipped_checkpoints": skipped}
        st.rollbacks.append(event)
        self.sinks.record(event)
        msg = (f"rollback: {cause.kind} at step {cause.step} → {c.path.name}, LR × {self.tc.rollback_lr_factor} "
               f"(scale now {st.lr_scale:.3g})")
        if self.sinks.console is not None:
            self.sinks.console.print(f"[bold red]{msg}[/]", highlight=False)
        log.warning(msg)

    # ---- quick eval on the probe set -------------------------------------------------------------

    @torch.no_grad()
    def probe_eval(self) -> dict[str, Any]:
        """Teacher-forced loss and exact match (every target token right) on the fixed probe set,
        after the full halt_max_steps segments (HRM evaluates that way), EMA weights if enabled."""
        from hrmcode.model.common import lm_stats

        if not self.probe:
            return {}
        backup = None
        if self.ema is not None:
            backup = {k: v.clone() for k, v in self.model.state_dict().items()}
            self.ema.copy_to(self.model)
        self.model.eval()
        rows = self.probe[self.info.rank::self.info.world_size]
        n_seg = self.cfg.model.act.halt_max_steps if self.uses_act else 1
        loss_sum, exact_sum, per_lang = 0.0, 0.0, {}
        for i in range(0, len(rows), 16):
            chunk = rows[i:i + 16]
            batch = collate(chunk, self.tokenizer.pad_id, self._fit_length(chunk)).to(self.device)
            carry = self.model.initial_carry(batch)
            with self._autocast():
                for _ in range(n_seg):
                    out = self.model(carry, batch)
                    carry = out.carry
            stats = lm_stats(out.outputs["logits"].float(), batch.targets, self.cfg.model.loss)
            loss_sum += float(stats.loss) * len(chunk)
            for e, ok in zip(chunk, stats.exact.tolist(), strict=True):
                exact_sum += ok
                n, k = per_lang.get(e.language, (0, 0))
                per_lang[e.language] = (n + 1, k + int(ok))
        self.model.train()
        if backup is not None:
            self.model.load_state_dict(backup)
        langs = sorted(set(per_lang) | {e.language for e in self.probe})
        vec = [loss_sum, exact_sum, float(len(rows))] + [float(per_lang.get(lg, (0, 0))[j])
                                                         for lg in langs for j in (0, 1)]
        tot = self._global_mean(vec)
        tot = [v * self.info.world_size for v in tot]
        n = max(1.0, tot[2])
        per = {lg: tot[3 + 2 * i + 1] / max(1.0, tot[3 + 2 * i]) for i, lg in enumerate(langs)}
        return {"loss": tot[0] / n, "exact_match": tot[1] / n, "per_language": per, "n": int(tot[2])}

    def run_eval(self) -> list[M.Alarm]:
        st = self.state
        res = self.probe_eval()
        if not res:
            return []
        res["step"] = st.step
        st.last_probe = res
        if st.best_probe_loss is None or res["loss"] < st.best_probe_loss:
            st.best_probe_loss = res["loss"]
        self.sinks.record({"type": "eval", **res})
        alarms = self.plateau_mon.update(st.step, res["loss"], res["exact_match"])
        for a in alarms:
            self._alarm(a)
        return alarms


# ---- the public entry point --------------------------------------------------------------------


def prepare_run(cfg: RunConfig, run_dir: Path, *, resume: bool, tasks: Sequence[Task] | None,
                tokenizer: CodeTokenizer | None, info: D.DistInfo) -> tuple[RunConfig, CodeTokenizer, list[Example],
                                                                             list[Example]]:
    """Load tasks, get a tokenizer, tokenise; the resolved config and tokenizer go to the run dir."""
    tok_path = run_dir / "tokenizer.json"
    if tasks is None:
        if not cfg.data.path:
            raise TrainingError("data.path: not set; build tasks first (`hrmcode data build --suite builtin "
                                "--out DIR`) and set data.path to DIR")
        tasks = load_tasks(cfg.data.path)
    train_tasks, probe_tasks = split_tasks(tasks, cfg.data.max_depth)
    if not train_tasks:
        raise TrainingError(f"no training tasks (split 'train', difficulty ≤ data.max_depth={cfg.data.max_depth})")
    if resume and tok_path.exists():
        tokenizer = CodeTokenizer.load(tok_path)
    elif tokenizer is None:
        if cfg.tokenizer.path:
            tokenizer = CodeTokenizer.load(cfg.tokenizer.path)
        else:
            # Rank 0 trains it and the others read it: every rank must hold the very same merges.
            if info.is_main:
                tokenizer = train_tokenizer(train_tasks, cfg.data.languages, cfg.tokenizer.vocab_size)
                tokenizer.save(tok_path)
            D.barrier(info)
            if not info.is_main:
                tokenizer = CodeTokenizer.load(tok_path)
    assert tokenizer is not None
    if tokenizer.vocab_size > cfg.model.vocab_size and cfg.model.vocab_size != cfg.tokenizer.vocab_size:
        raise TrainingError(f"model.vocab_size={cfg.model.vocab_size} is smaller than the tokenizer's "
                            f"{tokenizer.vocab_size}")
    # Resolve: the embedding has exactly the tokenizer's rows.
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"vocab_size": tokenizer.vocab_size})})
    m = cfg.model
    max_len = m.max_seq_len + (m.canvas_slots if m.mode == "canvas" else 0)
    kw = dict(mode=m.mode, max_len=max_len, canvas_slots=m.canvas_slots)
    if cfg.data.rename_copies:  # after the tokenizer: it learns the suite's text, not the made-up names
        train_tasks = [*train_tasks, *renamed_copies(train_tasks, cfg.data.rename_copies, cfg.train.seed,
                                                    cfg.data.rename_names)]
    examples, rep = build_examples(train_tasks, tokenizer, cfg.data.languages, **kw)
    probe_all, _ = build_examples(probe_tasks, tokenizer, cfg.data.languages, **kw)
    probe = probe_examples(probe_all, cfg.train.probe_size)
    if info.is_main:
        log.info("training data: %s; probe: %d examples", rep.summary(), len(probe))
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, run_dir / "config.yaml")
        if not (resume and tok_path.exists()):
            tokenizer.save(tok_path)
    if not examples:
        raise TrainingError(f"no training examples fit model.max_seq_len={m.max_seq_len}: {rep.summary()}")
    return cfg, tokenizer, examples, probe


def _progress(info: D.DistInfo, enabled: bool, timed: bool) -> Any:
    """Step bar; a run that a time budget ends shows the budget left instead of a step-rate ETA."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    eta = [] if timed else [TimeRemainingColumn()]
    return Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                    *eta, disable=not (enabled and info.is_main), transient=False)


def train(cfg: RunConfig, run_dir: str | Path, *, resume: bool = False, tasks: Sequence[Task] | None = None,
          tokenizer: CodeTokenizer | None = None, progress: bool = True) -> TrainSummary:
    """Train a model as ``cfg`` says, in ``run_dir``; works alone and under torchrun.

    ``tasks`` / ``tokenizer`` skip loading them from ``cfg.data.path`` / ``cfg.tokenizer.path``
    (the demo passes its own). With ``resume`` the newest checkpoint that verifies is loaded and
    training continues exactly; without, ``run_dir`` must not hold checkpoints already.
    """
    from rich.console import Console

    run_dir = Path(run_dir)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    info = D.init_distributed(cfg.train.device)
    try:
        ckpts = ck.list_checkpoints(run_dir / "checkpoints")
        if ckpts and not resume:
            raise TrainingError(f"{run_dir}: holds checkpoints already; pass --resume to continue or a new --out")
        cfg, tok, examples, probe = prepare_run(cfg, run_dir, resume=resume, tasks=tasks, tokenizer=tokenizer,
                                                info=info)
        start, skipped = None, []
        if resume:
            start, skipped = ck.load_latest(run_dir / "checkpoints")
            if start is None:
                raise TrainingError(f"{run_dir / 'checkpoints'}: no checkpoint verifies"
                                    + (f": {'; '.join(skipped)}" if skipped else ""))
            if info.is_main:  # before the log is opened for appending
                truncate_metrics(run_dir / "metrics.jsonl", start.step)
        D.barrier(info)
        console = Console(stderr=True)
        trainer = Trainer(cfg, run_dir, info, tokenizer=tok, train_examples=examples, probe=probe,
                          console=console)
        try:
            if start is not None and skipped:
                trainer.sinks.record({"type": "info", "step": start.step, "skipped_checkpoints": skipped})
            return _loop(trainer, start=start, progress=progress)
        finally:
            trainer.sinks.close()
    finally:
        D.shutdown(info)


def _loop(tr: Trainer, *, start: ck.Checkpoint | None, progress: bool) -> TrainSummary:
    tc, info = tr.tc, tr.info
    if start is not None:
        tr.restore(start)
        log.info("resumed from %s (step %d)", start.path, start.step)
    else:
        tr.sinks.record({"type": "info", "step": 0, "parameters": tr.parameters, "seq_len": tr.seq_len,
                         "world_size": info.world_size, "config": json.loads(json.dumps(
                             tr.cfg.model_dump(mode="json")))})
        tr.run_eval()  # the probe at step 0: the baseline the curve falls from
        tr.save()  # step 0: rollback always has a target
    session_start, session_steps0 = time.perf_counter(), tr.state.step
    elapsed0 = tr.state.elapsed_s
    win_t, win_tok = time.perf_counter(), 0.0
    budget = tc.time_budget_minutes * 60 if tc.time_budget_minutes else None
    stopped_by, last_loss, tok_rate = "steps", None, 0.0
    with _progress(info, progress, budget is not None) as bar:
        task = bar.add_task("train", total=tc.steps, completed=tr.state.step, info="")
        while tr.state.step < tc.steps:
            rec = tr.train_step()
            now = time.perf_counter()
            tr.state.elapsed_s = elapsed0 + (now - session_start)
            if rec is None:  # rolled back: the clock keeps running, the step counter went back
                session_start, session_steps0, elapsed0 = now, tr.state.step, tr.state.elapsed_s
                bar.update(task, completed=tr.state.step)
                continue
            step = tr.state.step
            last_loss = rec["loss"]
            win_tok += rec["tokens"]
            for a in tr.time_mon.update(step, tr.state.elapsed_s, step - session_steps0, now - session_start):
                tr._alarm(a)
            if step % tc.log_every == 0 or step == tc.steps:
                dt = max(1e-9, now - win_t)
                tok_rate = win_tok / dt
                rec.update(tokens_per_s=tok_rate, tokens_seen=tr.state.tokens_seen, elapsed_s=tr.state.elapsed_s,
                           lr_scale=tr.state.lr_scale)
                tr.sinks.record(rec)
                win_t, win_tok = now, 0.0
            if step % tc.eval_every == 0 or step == tc.steps:
                tr.run_eval()
            out_of_time = budget is not None and tr.state.elapsed_s >= budget
            out_of_time = D.broadcast_flag(out_of_time, info)
            if step % tc.ckpt_every == 0 or step == tc.steps or out_of_time:
                if out_of_time and tr.state.last_probe.get("step") != step:
                    tr.run_eval()
                tr.save()
            left = "" if budget is None else f" · {max(0.0, budget - tr.state.elapsed_s) / 60:.1f} min of budget left"
            bar.update(task, completed=step, info=f"loss {last_loss:.3f} · {tok_rate:,.0f} tok/s{left}")
            if out_of_time:
                stopped_by = "time_budget"
                log.info("time budget of %.1f min reached at step %d", tc.time_budget_minutes, step)
                break
    return _finish(tr, stopped_by, last_loss, tok_rate)


def _finish(tr: Trainer, stopped_by: str, last_loss: float | None, tok_rate: float) -> TrainSummary:
    st = tr.state
    ckpts = ck.list_checkpoints(tr.ckpt_dir)
    summary = TrainSummary(
        run_dir=tr.run_dir, steps=st.step, tokens_seen=st.tokens_seen, elapsed_s=st.elapsed_s,
        stopped_by=stopped_by, final_loss=last_loss,
        tokens_per_s=st.tokens_seen / st.elapsed_s if st.elapsed_s > 0 else 0.0,
        probe=st.last_probe, best_probe_loss=st.best_probe_loss, parameters=tr.parameters,
        alarms=st.alarms, rollbacks=st.rollbacks, checkpoint=ckpts[0][1] if ckpts else None)
    if tr.info.is_main:
        atomic_write_json(tr.run_dir / "summary.json", summary.to_dict())
        atomic_write_text(tr.run_dir / "train_report.md", report_markdown(summary))
        if tr.tc.plots:
            try:
                from hrmcode.train.plots import plot_run

                plot_run(tr.run_dir)
            except Exception as e:  # plots are a convenience: never lose a finished run over one
                log.warning("plots failed: %s", e)
    D.barrier(tr.info)
    return summary


def report_markdown(s: TrainSummary) -> str:
    lines = [f"# Training report: {s.run_dir.name}", "",
             f"- steps: {s.steps} (stopped by {s.stopped_by}), tokens seen: {s.tokens_seen:,}, "
             f"time: {s.elapsed_s / 60:.1f} min, {s.tokens_per_s:,.0f} tokens/s",
             f"- parameters: {s.parameters.get('total', 0):,} total, {s.parameters.get('non_embedding', 0):,} "
             "non-embedding"]
    if s.final_loss is not None:
        lines.append(f"- final training loss: {s.final_loss:.4f}")
    if s.probe:
        per = ", ".join(f"{k} {v:.3f}" for k, v in s.probe.get("per_language", {}).items())
        lines.append(f"- probe (n={s.probe.get('n')}): loss {s.probe['loss']:.4f}, exact match "
                     f"{s.probe['exact_match']:.3f} ({per})")
    lines += ["", f"## Alarms ({len(s.alarms)})", ""]
    if s.alarms:
        lines += ["| step | monitor | kind | severity | message |", "|---|---|---|---|---|"]
        lines += [f"| {a['step']} | {a['monitor']} | {a['kind']} | {a['severity']} | {a['message']} |"
                  for a in s.alarms]
    else:
        lines.append("none")
    lines += ["", f"## Rollbacks ({len(s.rollbacks)})", ""]
    lines += [f"- step {r['from_step']} ({r['cause']}) → {r['checkpoint']}, LR scale {r['lr_scale']:.3g}"
              for r in s.rollbacks] or ["none"]
    return "\n".join(lines) + "\n"


def load_run_config(run_dir: Path, new: RunConfig | None = None) -> RunConfig:
    """The config to resume ``run_dir`` with: the saved one; a new one may change only ``train``."""
    saved = load_saved_config(run_dir / "config.yaml")
    if new is None:
        return saved
    for section in ("model", "data", "tokenizer"):
        a = getattr(saved, section).model_dump(mode="json")
        b = getattr(new, section).model_dump(mode="json")
        if section == "model":
            b["vocab_size"] = a["vocab_size"]  # resolved from the tokenizer
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        if diff:
            raise TrainingError(f"{run_dir / 'config.yaml'}: cannot resume with a different {section} section "
                                f"(fields {', '.join(f'{section}.{k}' for k in diff)}); only train.* may change")
    return saved.model_copy(update={"train": new.train})


__all__ = ["TrainSummary", "Trainer", "TrainingError", "dump_config", "load_run_config", "train"]
