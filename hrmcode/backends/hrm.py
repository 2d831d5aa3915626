"""Our own trained runs (fp32 or quantized) as a backend: batched decoding in this process.

Batches are planned as :func:`hrmcode.generate.generate` runs best: the jobs of one sample index
(one seed) together, sorted by prompt length (less padding), ``batch_size`` rows at a time. A
resumed run plans over all jobs and drops the rows already answered, so it decodes the remaining
batches exactly as an uninterrupted run would.

:func:`inference_overrides` applies the ACT / recurrence knobs (``act``, ``act_threshold``,
``max_segments``, ``h_cycles``, ``l_cycles``) to a loaded model for the duration of a call; the
HTTP server (``hrmcode serve``) uses it per batch of requests.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from hrmcode.backends.base import Backend, Completion, Job, Style
from hrmcode.config import ModelConfig, threshold_field
from hrmcode.generate import Generation, SamplingConfig, generate
from hrmcode.model import CodeModel
from hrmcode.runs import LoadedRun

PROMPT_TOO_LONG = "prompt too long"


@dataclass(frozen=True)
class InferenceOptions:
    """Knobs a request may turn on an HRM run at inference (None = the run's own setting)."""

    act: str | None = None  # max | per_sequence | per_token | converge
    # the exit's threshold: act.converge_threshold (a KL) under converge, else act.halt_threshold
    act_threshold: float | None = None
    max_segments: int | None = None  # act.halt_max_steps: the most segments a sequence runs
    h_cycles: int | None = None  # any depth at inference (`--cycles N`), whatever the training mean
    l_cycles: int | None = None

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def overridden_config(cfg: ModelConfig, opts: InferenceOptions) -> ModelConfig:
    """``cfg`` with the options applied, validated; the error names the option."""
    given = opts.given()
    if not given:
        return cfg
    if not cfg.recurrent:
        raise ValueError(f"{', '.join(sorted(given))}: the {cfg.arch} model has no ACT or recurrence to set")
    data = cfg.model_dump()
    act_keys = {"act": "inference", "act_threshold": threshold_field(opts.act or cfg.act.inference),
                "max_segments": "halt_max_steps"}
    for key, value in given.items():
        if key in act_keys:
            data["act"][act_keys[key]] = value
        else:
            data[key] = value
    if "h_cycles" in given:  # inference runs exactly this depth: the training distribution no longer applies
        data.update(cycles_sampling="fixed", cycles_max=None)
    try:
        new = ModelConfig.model_validate(data)
    except ValidationError as e:
        names = {v: k for k, v in act_keys.items()}
        problems = []
        for err in e.errors():
            loc = [str(p) for p in err["loc"]]
            name = names.get(loc[-1], loc[-1]) if loc else "options"
            problems.append(f"{name}: {err['msg']}")
        raise ValueError("; ".join(problems)) from None
    if new.act.inference in ("per_token", "converge") and new.mode == "canvas":
        raise ValueError(f"act: {new.act.inference} needs a causal model (canvas models halt per sequence)")
    return new


def call_counts(gen: Generation, row: int) -> dict[str, Any]:
    """A row's module-call counters as a sample's extra: ``prompt_calls`` (per prompt position),
    ``token_calls`` (mean per generated token) and ``max_token_calls`` (per token at full depth)."""
    return {"prompt_calls": gen.prefill_calls[row], "token_calls": gen.token_calls[row],
            "max_token_calls": gen.max_token_calls}


@contextlib.contextmanager
def inference_overrides(model: CodeModel, opts: InferenceOptions) -> Iterator[None]:
    """Run ``model`` with ``opts`` inside the block; the run's own config comes back after it.

    The HRM model reads ACT and cycle counts from its config on every call, so swapping the config
    is all it takes. Not thread-safe: one generation at a time per model (the server's worker).
    """
    new = overridden_config(model.cfg, opts)
    if new is model.cfg:
        yield
        return
    old = model.cfg
    core = getattr(model, "core", None)
    model.cfg = new
    if core is not None:
        core.cfg = new
    try:
        yield
    finally:
        model.cfg = old
        if core is not None:
            core.cfg = old


class HrmBackend(Backend):
    """A loaded run (``hrmcode.runs.load_run``) generating hrmcode-native prompts."""

    kind = "hrm"

    def __init__(self, run: LoadedRun, *, batch_size: int = 32, options: InferenceOptions | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"--batch-size must be ≥ 1, got {batch_size}")
        self.run = run
        self.batch_size = batch_size
        self.options = options or InferenceOptions()
        overridden_config(run.cfg.model, self.options)  # a bad option fails here, before any work

    @property
    def style(self) -> Style:
        return "native"

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def max_segments(self) -> int:
        cfg = overridden_config(self.run.cfg.model, self.options)
        return cfg.act.halt_max_steps if cfg.recurrent else 1

    def identity(self) -> dict[str, Any]:
        cfg = overridden_config(self.run.cfg.model, self.options)
        return {"backend": "hrm", "run": str(self.run.run_dir.resolve()), "checkpoint": str(self.run.checkpoint),
                "step": self.run.step, "weights": self.run.weights, "act": cfg.act.model_dump(),
                "h_cycles": cfg.h_cycles, "l_cycles": cfg.l_cycles}

    def describe(self) -> dict[str, Any]:
        cfg = overridden_config(self.run.cfg.model, self.options)
        return {**super().describe(), "run_dir": str(self.run.run_dir), "checkpoint": str(self.run.checkpoint),
                "step": self.run.step, "weights": self.run.weights, "act_inference": cfg.act.inference,
                "arch": cfg.arch, "mode": cfg.mode}

    def generate(self, jobs: Sequence[Job], sampling: SamplingConfig, *,
                 skip: Container[int] = ()) -> Iterator[tuple[int, Completion]]:
        tok, cfg = self.run.tokenizer, self.run.cfg.model
        max_segments = self.max_segments
        by_index: dict[int, list[tuple[int, list[int]]]] = defaultdict(list)
        for pos, job in enumerate(jobs):
            ids = tok.prompt_ids(job.prompt.language, job.prompt.native) + tok.encode(job.prompt.prefill)
            if len(ids) >= cfg.max_seq_len:
                if pos not in skip:  # nothing can be generated: an empty solution fails honestly
                    yield pos, Completion("", len(ids), 0, 0.0, False, PROMPT_TOO_LONG,
                                          {"segments": 0, "token_segments": 0.0, "max_segments": max_segments,
                                           "prompt_calls": 0, "token_calls": 0.0, "skipped": PROMPT_TOO_LONG})
                continue
            by_index[job.sample_index].append((pos, ids))
        with inference_overrides(self.run.model, self.options):
            for _index, group in sorted(by_index.items()):
                group.sort(key=lambda row: len(row[1]))  # stable: equal lengths keep job order
                job_sampling = jobs[group[0][0]].sampling(sampling)
                for start in range(0, len(group), self.batch_size):
                    chunk = [row for row in group[start:start + self.batch_size] if row[0] not in skip]
                    if not chunk:
                        continue
                    t0 = time.monotonic()
                    gen = generate(self.run.model, [ids for _, ids in chunk], eos_id=tok.eos_id, pad_id=tok.pad_id,
                                   mask_id=tok.mask_id, sampling=job_sampling)
                    share = (time.monotonic() - t0) / len(chunk)
                    for row, (pos, ids) in enumerate(chunk):
                        yield pos, Completion(
                            jobs[pos].prompt.prefill + tok.decode(gen.tokens[row]), len(ids), len(gen.tokens[row]), share, gen.finished[row],
                            None, {"segments": gen.prefill_segments[row], "token_segments": gen.token_segments[row],
                                   "max_segments": max_segments, **call_counts(gen, row)})


__all__ = ["PROMPT_TOO_LONG", "HrmBackend", "InferenceOptions", "call_counts", "inference_overrides",
           "overridden_config"]
