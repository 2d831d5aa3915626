"""`hrmcode study`: does HRM's recurrence help a small model write code? One grid, one report.

    hrmcode study configs/study.yaml --out runs/study

A study config names one data recipe (the built-in suite, curriculum over composition depth), one
training recipe, and a grid of models trained on it with the same steps and seeds:

  hrm               HRM (H/L modules), sampled depth in training (``model.cycles_sampling``)
  transformer       the same-size transformer: equal parameters
  transformer-deep  a deeper transformer with HRM's layer applications per token: equal compute
  looped            one weight-shared module looped, no H/L split: equal parameters and compute

Each model is evaluated (greedy, every task in every language) on the suite's test tasks of depth
1–N, ``heldout_composition`` and ``depth_extrapolation``; recurrent models at several inference
depths (``eval.cycles``, H cycles) and with the convergence exit. The report answers three questions
with paired bootstrap intervals over tasks (results of all seeds pooled per task):

  (a) does HRM beat each transformer at depth ≥ 3 and on depth_extrapolation?
  (b) does pass@1 at depth ≥ 3 rise when inference cycles go beyond the training mean?
  (c) does the H/L split beat the single looped module?

and measures the adaptive exit: module calls per generated token against always running the
maximum depth, pass@1 on the same samples, and the rank correlation of calls with task depth.

Everything is resumable: a finished training run or evaluation is kept and the command picks up
where it stopped. The output directory holds ``data/``, ``tokenizer.json``, ``runs/MODEL-sSEED``,
``evals/MODEL-sSEED/SETTING`` (each a normal eval directory), ``study.json`` and ``report.md`` with
its plots.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, ValidationError, model_validator

from hrmcode.backends.hrm import HrmBackend, InferenceOptions, inference_overrides
from hrmcode.benchmarks.builtin.generate import build
from hrmcode.benchmarks.builtin.protocol import (
    GENERATION_FILE,
    GenerationPlan,
    generate_stage,
    grade_stage,
    select_tasks,
)
from hrmcode.config import (
    ConfigError,
    RunConfig,
    StrictModel,
    deep_merge,
    format_errors,
    read_recipe,
    validate_config,
)
from hrmcode.data.batching import batch_length, build_examples, collate, difficulty_of, load_tasks
from hrmcode.evaluate.metrics import bootstrap_ci, item_scores, paired_bootstrap
from hrmcode.evaluate.report import paired_difference
from hrmcode.generate import SamplingConfig
from hrmcode.model import equal_compute_layers
from hrmcode.model.common import lm_stats
from hrmcode.records import (
    LANGUAGES,
    Result,
    Sample,
    Task,
    atomic_write_json,
    atomic_write_text,
    read_jsonl,
    write_jsonl,
)
from hrmcode.runs import LoadedRun, load_run
from hrmcode.tokenizer import CodeTokenizer
from hrmcode.train.trainer import split_tasks, train, train_tokenizer

log = logging.getLogger(__name__)

Role = Literal["subject", "equal_params", "equal_compute", "no_hierarchy"]
RECURRENT = ("hrm", "looped")
QUESTION_GROUPS = ("test depth ≥ 3", "depth_extrapolation")  # where questions (a)-(c) are asked


class StudyModel(StrictModel):
    """One entry of the grid: a name, its role in the comparison, and the model fields it changes."""

    name: str
    role: Role
    model: dict[str, Any] = Field(default_factory=dict, description="model-section overrides; "
                                  "baseline_layers: equal_compute = HRM's layer applications per token")


class SuiteSpec(StrictModel):
    seed: int = 0
    n_tasks: int = Field(3000, ge=100)


class EvalSpec(StrictModel):
    # Tasks per split (a seeded sample; None = all). "test" is sampled per depth so every depth counts.
    test_per_depth: int | None = Field(40, ge=1)
    per_split: dict[str, int | None] = Field(default_factory=lambda: {"heldout_composition": 40,
                                                                       "depth_extrapolation": 40})
    languages: list[str] = Field(default_factory=lambda: list(LANGUAGES))
    cycles: list[int] = Field(default_factory=lambda: [1, 2, 4], description="inference H cycles of the "
                              "recurrent models; must include the training mean")
    converge_threshold: float = Field(1e-3, ge=0, description="KL threshold of the convergence exit")
    converge_cycles: int | None = Field(None, ge=1, description="the exit's maximum depth (default: max of cycles)")
    max_new_tokens: int = Field(256, ge=8)
    batch_size: int = Field(64, ge=1)
    prefill_signature: bool = Field(True, description="answers start from the task's signature line "
                                    "(the body is graded; see docs/demo.md for why)")

    @property
    def exit_cycles(self) -> int:
        """The convergence exit's maximum depth, and the fixed depth it is compared with."""
        return self.converge_cycles or max(self.cycles)


class StudyConfig(StrictModel):
    name: str = "study"
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    suite: SuiteSpec = SuiteSpec()
    recipe: dict[str, Any] = Field(description="the run config every model shares (model, tokenizer, data, train)")
    models: list[StudyModel] = Field(min_length=1)
    eval: EvalSpec = EvalSpec()

    @model_validator(mode="after")
    def _check(self) -> StudyConfig:
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError(f"models: names must be unique, got {names}")
        if sum(m.role == "subject" for m in self.models) != 1:
            raise ValueError("models: exactly one model has role: subject (the HRM the others are compared with)")
        return self


def load_study(path: str | Path) -> StudyConfig:
    """A study config from YAML (``base:`` chains allowed); errors name the file and the field."""
    data = read_recipe(path)
    try:
        cfg = StudyConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_errors(e, str(path))) from None
    for m in cfg.models:  # every run config must validate before hours are spent on the first one
        run_config(cfg, m, cfg.seeds[0], Path("."), source=f"{path}: models.{m.name}")
    return cfg


def run_config(cfg: StudyConfig, m: StudyModel, seed: int, out: Path, *, source: str = "study") -> RunConfig:
    """The run config of grid entry ``m`` at ``seed``: the shared base with the entry's model fields."""
    overrides = dict(m.model)
    if overrides.get("baseline_layers") == "equal_compute":
        subject = next(x for x in cfg.models if x.role == "subject")
        hrm = run_config(cfg, subject, seed, out, source=source).model
        overrides["baseline_layers"] = equal_compute_layers(hrm)
    data = deep_merge(cfg.recipe, {"name": f"{cfg.name}-{m.name}-s{seed}", "model": overrides,
                                 "tokenizer": {"path": str(out / "tokenizer.json")},
                                 "data": {"path": str(out / "data")}, "train": {"seed": seed}})
    return validate_config(data, source)


@dataclass(frozen=True)
class Setting:
    """One evaluation of one trained run: inference depth and exit rule."""

    name: str  # c2, converge
    options: InferenceOptions

    @property
    def teacher_forced(self) -> bool:
        """Whether reference solutions are scored at this setting (an exit rule only acts in decoding)."""
        return self.options.act is None


def settings_for(cfg: StudyConfig, run_cfg: RunConfig) -> list[Setting]:
    """Every inference depth for a recurrent model, plus the convergence exit; one setting otherwise."""
    if run_cfg.model.arch not in RECURRENT:
        return [Setting("default", InferenceOptions())]
    out = [Setting(f"c{c}", InferenceOptions(h_cycles=c)) for c in sorted(set(cfg.eval.cycles))]
    out.append(Setting("converge", InferenceOptions(h_cycles=cfg.eval.exit_cycles, act="converge",
                                                    act_threshold=cfg.eval.converge_threshold)))
    return out


def study_tasks(tasks: Sequence[Task], spec: EvalSpec, seed: int) -> list[Task]:
    """The evaluated tasks: test tasks sampled per depth, plus the held-out splits (seeded samples)."""
    chosen: list[Task] = []
    for depth in sorted({difficulty_of(t) for t in tasks if t.meta.get("split") == "test"}):
        pool = [t for t in tasks if t.meta.get("split") == "test" and difficulty_of(t) == depth]
        chosen += select_tasks(pool, ["test"], max_per_split=spec.test_per_depth, seed=seed + depth)
    for split, n in spec.per_split.items():
        chosen += select_tasks(tasks, [split], max_per_split=n, seed=seed)
    return chosen


REFERENCE_FILE = "reference_loss.jsonl"


@torch.no_grad()
def reference_scores(run: LoadedRun, tasks: Sequence[Task], languages: Sequence[str], options: InferenceOptions,
                     *, batch_size: int = 16) -> tuple[list[dict[str, Any]], int]:
    """Teacher-forced scores of each task's reference solution under ``run`` at ``options``' depth:
    per (task, language) the mean next-token NLL over the code and <eos>, and the share of those
    tokens the model's argmax gets right. A graded signal where pass@1 sits at the floor (a small
    CPU budget). A reference that runs past ``model.max_seq_len`` is scored on the part that fits
    (``truncated``), as far as generation could have written it; returns the rows and that count."""
    cfg = run.cfg.model
    full, _ = build_examples(tasks, run.tokenizer, languages, mode="causal", max_len=1 << 30)
    examples = [replace(e, ids=e.ids[:cfg.max_seq_len]) for e in full if e.prefix_len < cfg.max_seq_len - 1]
    cut = {(e.task_id, e.language) for e in full if len(e.ids) > cfg.max_seq_len}
    model = run.model
    model.eval()
    device = next(model.parameters()).device
    segments = cfg.act.halt_max_steps if cfg.recurrent else 1
    rows: list[dict[str, Any]] = []
    with inference_overrides(model, options):
        for i in range(0, len(examples), batch_size):
            chunk = examples[i:i + batch_size]
            batch = collate(chunk, run.tokenizer.pad_id, batch_length(chunk)).to(device)
            carry = model.initial_carry(batch)
            for _ in range(segments):
                out = model(carry, batch)
                carry = out.carry
            stats = lm_stats(out.outputs["logits"].float(), batch.targets, cfg.loss)
            acc = stats.token_correct.sum(-1) / stats.n_targets.clamp_min(1)
            for e, v, a, k in zip(chunk, stats.per_seq.tolist(), acc.tolist(), stats.n_targets.tolist(), strict=True):
                rows.append({"task_id": e.task_id, "language": e.language, "nll": v, "token_accuracy": a,
                             "tokens": k, "truncated": (e.task_id, e.language) in cut})
    return rows, len(cut)


# ---- running ------------------------------------------------------------------------------------


def study_device(pref: str) -> str:
    """Where a study loads its trained runs for generation: the GPU when the recipe trains on one
    (or ``auto``) and one is here, else the CPU, so a GPU study can be graded on a CPU machine."""
    return "cuda" if pref in ("auto", "cuda") and torch.cuda.is_available() else "cpu"


def prepare_study(cfg: StudyConfig, out: Path, *, say: Callable[[str], None] = print) -> tuple[list[Task], CodeTokenizer]:
    """The study's suite (``out/data``) and tokenizer (``out/tokenizer.json``), built once: a GPU
    machine can be handed a prepared directory so its minutes go to training."""
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "data" / "tasks.jsonl").exists():
        say(f"suite: {cfg.suite.n_tasks} tasks, seed {cfg.suite.seed}")
        build(cfg.suite.seed, cfg.suite.n_tasks, out / "data")
    tasks = load_tasks(out / "data" / "tasks.jsonl")
    base = validate_config(cfg.recipe, "study recipe")
    if not (out / "tokenizer.json").exists():
        train_tasks, _ = split_tasks(tasks)
        train_tokenizer(train_tasks, base.data.languages, base.tokenizer.vocab_size).save(out / "tokenizer.json")
    return tasks, CodeTokenizer.load(out / "tokenizer.json")


def run_study(cfg: StudyConfig, out: str | Path, *, command: str = "", grade: bool = True,
              say: Callable[[str], None] = print) -> Path | None:
    """Train and evaluate the grid (resuming whatever is done), then write the report; returns its path.

    ``grade=False`` stops after generation (``samples.jsonl``, ``generation.json``) and the reference
    losses, and returns None: for a machine with a GPU but without the six toolchains. The same call
    with ``grade=True`` on a machine that has them (the output directory copied there, checkpoints
    not needed) executes the samples and writes the report.
    """
    out = Path(out)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    tasks, tokenizer = prepare_study(cfg, out, say=say)
    chosen = study_tasks(tasks, cfg.eval, cfg.suite.seed)
    splits = sorted({t.meta["split"] for t in chosen})
    plan = GenerationPlan(languages=tuple(cfg.eval.languages), n=1, batch_size=cfg.eval.batch_size,
                          prefill_signature=cfg.eval.prefill_signature,
                          sampling=SamplingConfig(max_new_tokens=cfg.eval.max_new_tokens, temperature=0.0, seed=0))
    for seed in cfg.seeds:
        for m in cfg.models:
            rc = run_config(cfg, m, seed, out)
            run_dir = out / "runs" / f"{m.name}-s{seed}"
            if not (run_dir / "summary.json").exists():
                say(f"training {m.name} (seed {seed})")
                s = time.perf_counter()
                summary = train(rc, run_dir, resume=(run_dir / "checkpoints").exists(), tasks=tasks,
                                tokenizer=tokenizer, progress=False)
                timings[f"train {m.name}-s{seed}"] = time.perf_counter() - s
                say(f"  {summary.steps} steps in {summary.elapsed_s:.0f} s")
            run: LoadedRun | None = None  # loaded only when something still needs the model
            for st in settings_for(cfg, rc):
                eval_dir = out / "evals" / f"{m.name}-s{seed}" / st.name
                tag = f"{m.name}-s{seed} {st.name}"
                generated = (eval_dir / GENERATION_FILE).exists() or (eval_dir / "summary.json").exists()
                if not generated:  # (an evaluation graded before generation.json existed has only its summary)
                    run = run or load_run(run_dir, device=study_device(rc.train.device))
                    say(f"generating {m.name} (seed {seed}) {st.name} on {len(chosen)} tasks")
                    s = time.perf_counter()
                    backend = HrmBackend(run, batch_size=plan.batch_size, options=st.options)
                    generate_stage(backend, chosen, eval_dir, plan, gen_cache=eval_dir / "generations.jsonl")
                    timings[f"generate {tag}"] = time.perf_counter() - s
                if grade and not (eval_dir / "summary.json").exists():
                    say(f"grading {m.name} (seed {seed}) {st.name}")
                    s = time.perf_counter()
                    grade_stage(chosen, eval_dir, splits=splits)
                    timings[f"grade {tag}"] = time.perf_counter() - s
                if st.teacher_forced and not (eval_dir / REFERENCE_FILE).exists():
                    run = run or load_run(run_dir, device=study_device(rc.train.device))
                    s = time.perf_counter()
                    rows, cut = reference_scores(run, chosen, cfg.eval.languages, st.options)
                    write_jsonl(eval_dir / REFERENCE_FILE, rows)
                    timings[f"reference loss {tag}"] = time.perf_counter() - s
                    if cut:
                        say(f"  reference loss: {cut} of {len(rows)} references scored on the part within max_seq_len")
    timings["total"] = time.perf_counter() - t0
    _save_timings(out, timings, grade=grade)
    if not grade:
        return None
    return write_report(cfg, out, command=command, timings=timings)


# ---- analysis -----------------------------------------------------------------------------------


@dataclass
class Evals:
    """Results and samples of one (model, setting), every seed pooled."""

    results: list[Result]
    samples: list[Sample]
    reference: list[dict[str, Any]]  # reference_scores rows (none for an exit-rule setting)


def _load(cfg: StudyConfig, out: Path) -> dict[tuple[str, str], Evals]:
    found: dict[tuple[str, str], Evals] = {}
    for m in cfg.models:
        for seed in cfg.seeds:
            root = out / "evals" / f"{m.name}-s{seed}"
            for d in sorted(p for p in root.glob("*") if (p / "summary.json").exists()):
                ev = found.setdefault((m.name, d.name), Evals([], [], []))
                ev.results += read_jsonl(d / "results.jsonl", Result)[0]
                ev.samples += read_jsonl(d / "samples.jsonl", Sample)[0]
                ref = d / REFERENCE_FILE
                if ref.exists():
                    ev.reference += [json.loads(line) for line in ref.read_text(encoding="utf-8").splitlines()]
    return found


def _subset(results: Sequence[Result], ids: set[str]) -> list[Result]:
    return [r for r in results if r.task_id in ids]


def _cell(results: Sequence[Result]) -> dict[str, Any]:
    scores = item_scores(results)
    vals = [v for vs in scores.values() for v in vs]
    if not vals:
        return {"pass@1": None, "ci95": None, "tasks": 0}
    return {"pass@1": float(np.mean(vals)), "ci95": list(bootstrap_ci(scores)), "tasks": len(scores)}


def nll_scores(rows: Sequence[dict[str, Any]], ids: set[str], *, sign: float = 1.0) -> dict[str, list[float]]:
    """Per task: ``sign`` × the reference NLL of each of its languages (and seeds), on tasks in ``ids``.
    With sign −1 a paired difference reads like pass@1's: positive = the second model is better."""
    out: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["task_id"] in ids:
            out[r["task_id"]].append(sign * r["nll"])
    return dict(out)


def _nll_cell(rows: Sequence[dict[str, Any]], ids: set[str]) -> dict[str, Any]:
    scores = nll_scores(rows, ids)
    vals = [v for vs in scores.values() for v in vs]
    if not vals:
        return {"nll": None, "ci95": None, "tasks": 0}
    acc = [r["token_accuracy"] for r in rows if r["task_id"] in ids]
    return {"nll": float(np.mean(vals)), "ci95": list(bootstrap_ci(scores)), "tasks": len(scores),
            "token_accuracy": float(np.mean(acc))}


def nll_difference(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], ids: set[str]) -> dict[str, Any]:
    """NLL(a) − NLL(b) on the tasks both scored, paired bootstrap: positive = b fits the references better."""
    return paired_bootstrap(nll_scores(a, ids, sign=-1.0), nll_scores(b, ids, sign=-1.0))


def calls_per_token(s: Sample) -> float | None:
    """Module calls per generated token of one sample (recurrent models record it); None for other
    models and for samples that generated nothing (a prompt too long for the model)."""
    extra = s.model_extra or {}
    v = extra.get("token_calls")
    if v is None or not extra.get("generated_tokens") or extra.get("skipped"):  # nothing generated: no per-token compute
        return None
    return float(v)


def _ranks(v: Sequence[float]) -> np.ndarray:
    """Ranks from 0, ties sharing their mean rank."""
    a = np.asarray(v, dtype=float)
    order = a.argsort(kind="mergesort")
    r = np.empty(len(a))
    r[order] = np.arange(len(a), dtype=float)
    for value in np.unique(a):
        tie = a == value
        r[tie] = r[tie].mean()
    return r


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation (average ranks for ties)."""
    if len(x) < 3:
        return None
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def partial_spearman(x: Sequence[float], y: Sequence[float], z: Sequence[float]) -> float | None:
    """Spearman's correlation of x and y with z held fixed: the correlation of the ranks' residuals
    after each is regressed on z's ranks. Calls per token against task depth, answer length held
    fixed: later tokens of a long answer settle sooner, and deeper tasks have longer answers."""
    if len(x) < 4:
        return None
    r = {k: _ranks(v) for k, v in (("x", x), ("y", y), ("z", z))}
    if any(v.std() == 0 for v in r.values()):
        return None
    c = np.corrcoef([r["x"], r["y"], r["z"]])
    xy, xz, yz = c[0, 1], c[0, 2], c[1, 2]
    den = float(np.sqrt((1 - xz ** 2) * (1 - yz ** 2)))
    return None if den == 0 else float((xy - xz * yz) / den)


def _answer(diff: dict[str, Any]) -> str:
    if not diff.get("tasks"):
        return "not measured"
    lo, hi = diff["ci95"]
    return "yes" if lo > 0 else "no (worse)" if hi < 0 else "no difference shown"


def analyze(cfg: StudyConfig, out: Path) -> dict[str, Any]:
    """Every table of the report as numbers (what study.json holds)."""
    tasks = {t.task_id: t for t in load_tasks(out / "data" / "tasks.jsonl")}
    evals = _load(cfg, out)
    base = validate_config(cfg.recipe, "study recipe").model
    mean_cycles = base.h_cycles
    headline = f"c{mean_cycles}"
    role = {m.name: m.role for m in cfg.models}
    subject = next(m.name for m in cfg.models if m.role == "subject")

    def main_setting(name: str) -> str:
        return headline if (name, headline) in evals else "default"

    groups: dict[str, set[str]] = defaultdict(set)
    for tid in {r.task_id for ev in evals.values() for r in ev.results}:
        t = tasks[tid]
        split, depth = t.meta.get("split"), difficulty_of(t)
        if split == "test":
            groups[f"test depth {depth}"].add(tid)
            if depth >= 3:
                groups["test depth ≥ 3"].add(tid)
        else:
            groups[str(split)].add(tid)
            if split == "heldout_composition" and depth >= 3:
                groups["heldout_composition depth ≥ 3"].add(tid)
    group_order = sorted((g for g in groups if g.startswith("test depth ") and "≥" not in g),
                         key=lambda g: int(g.split()[-1])) + [g for g in ("test depth ≥ 3", "heldout_composition",
                                                                        "heldout_composition depth ≥ 3",
                                                                        "depth_extrapolation") if g in groups]
    data: dict[str, Any] = {"mean_cycles": mean_cycles, "groups": {g: len(groups[g]) for g in group_order},
                            "models": {}, "questions": {}, "cycles": {}, "adaptive": {}}
    for m in cfg.models:
        key = (m.name, main_setting(m.name))
        if key not in evals:
            continue
        ev = evals[key]
        data["models"][m.name] = {"role": m.role, "setting": key[1], "all": _cell(ev.results),
                                  **{g: _cell(_subset(ev.results, groups[g])) for g in group_order},
                                  "reference": {g: _nll_cell(ev.reference, groups[g]) for g in group_order}}

    def diff(a: str, b: str, g: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(pass@1, reference NLL) differences, both positive when b is better."""
        ka, kb = (a, main_setting(a)), (b, main_setting(b))
        if ka not in evals or kb not in evals:
            return {"tasks": 0}, {"tasks": 0}
        return (paired_difference(_subset(evals[ka].results, groups[g]), _subset(evals[kb].results, groups[g])),
                nll_difference(evals[ka].reference, evals[kb].reference, groups[g]))

    q: dict[str, Any] = {}
    for other in (n for n, r in role.items() if r != "subject"):
        for g in QUESTION_GROUPS:
            d, nd = diff(other, subject, g)  # subject − other
            q[f"{subject} − {other} | {g}"] = {**d, "role": role[other], "answer": _answer(d),
                                               "reference": {**nd, "answer": _answer(nd)}}
    data["questions"]["a_c"] = q

    for name in (n for n in role if (n, headline) in evals):
        per: dict[str, Any] = {}
        cyc = sorted(int(s[1:]) for (n, s) in evals if n == name and s.startswith("c") and s[1:].isdigit())
        for c in cyc:
            ev = evals[(name, f"c{c}")]
            per[str(c)] = {g: _cell(_subset(ev.results, groups[g])) for g in group_order}
            per[str(c)]["reference"] = {g: _nll_cell(ev.reference, groups[g]) for g in group_order}
        beyond = [c for c in cyc if c > mean_cycles]
        tests = {}
        for c in beyond:
            at_mean, deeper = evals[(name, headline)], evals[(name, f"c{c}")]
            for g in QUESTION_GROUPS:
                d = paired_difference(_subset(at_mean.results, groups[g]), _subset(deeper.results, groups[g]))
                nd = nll_difference(at_mean.reference, deeper.reference, groups[g])
                tests[f"c{c} − c{mean_cycles} | {g}"] = {**d, "answer": _answer(d),
                                                         "reference": {**nd, "answer": _answer(nd)}}
        data["cycles"][name] = {"by_cycles": per, "beyond_mean": tests}

    for name in role:
        conv = evals.get((name, "converge"))
        top = cfg.eval.exit_cycles
        full = evals.get((name, f"c{top}"))
        if conv is None or full is None:
            continue
        c_calls = [(s, calls_per_token(s)) for s in conv.samples]
        f_calls = [calls_per_token(s) for s in full.samples]
        cv = [c for _, c in c_calls if c is not None]
        fv = [c for c in f_calls if c is not None]
        depth_pairs = [(difficulty_of(tasks[s.task_id]), c) for s, c in c_calls if c is not None]
        d = paired_difference(full.results, conv.results)  # converge − full depth
        by_depth: dict[str, float] = {}
        for dep in sorted({p[0] for p in depth_pairs}):
            vs = [c for dd, c in depth_pairs if dd == dep]
            by_depth[str(dep)] = float(np.mean(vs))
        mean_c, mean_f = (float(np.mean(cv)) if cv else None), (float(np.mean(fv)) if fv else None)
        data["adaptive"][name] = {
            "max_cycles": top, "threshold": cfg.eval.converge_threshold,
            "calls_per_token": mean_c, "calls_per_token_full": mean_f,
            "saved": (1 - mean_c / mean_f) if mean_c is not None and mean_f else None,
            "pass@1_converge": _cell(conv.results)["pass@1"], "pass@1_full": _cell(full.results)["pass@1"],
            "difference": d, "within_1_point": bool(d.get("tasks")) and abs(d["diff"]) <= 0.01,
            "calls_by_depth": by_depth,
            "spearman_depth_calls": spearman([p[0] for p in depth_pairs], [p[1] for p in depth_pairs]),
            "samples": len(depth_pairs),
        }
    return data


# ---- the report ---------------------------------------------------------------------------------


def _pct(cell: dict[str, Any] | None) -> str:
    if not cell or cell.get("pass@1") is None:
        return "—"
    lo, hi = cell["ci95"]
    return f"{100 * cell['pass@1']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"


def _dpct(d: dict[str, Any]) -> str:
    if not d.get("tasks"):
        return "—"
    lo, hi = d["ci95"]
    return f"{100 * d['diff']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] (n={d['tasks']})"


def _nll(cell: dict[str, Any] | None) -> str:
    if not cell or cell.get("nll") is None:
        return "—"
    lo, hi = cell["ci95"]
    return f"{cell['nll']:.3f} [{lo:.3f}, {hi:.3f}]"


def _dnll(d: dict[str, Any] | None) -> str:
    if not d or not d.get("tasks"):
        return "—"
    lo, hi = d["ci95"]
    return f"{d['diff']:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def _plots(data: dict[str, Any], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: list[str] = []
    depth_groups = [g for g in data["groups"] if g.startswith("test depth ") and "≥" not in g]
    xs = [int(g.split()[-1]) for g in depth_groups]
    if data["models"] and xs:
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        for name, m in data["models"].items():
            ys = [100 * (m[g]["pass@1"] or 0) for g in depth_groups]
            lo = [100 * m[g]["ci95"][0] if m[g]["ci95"] else 0 for g in depth_groups]
            hi = [100 * m[g]["ci95"][1] if m[g]["ci95"] else 0 for g in depth_groups]
            ax.plot(xs, ys, marker="o", label=name)
            ax.fill_between(xs, lo, hi, alpha=0.15)
            ref = [m.get("reference", {}).get(g, {}) for g in depth_groups]
            if all(c.get("nll") is not None for c in ref):
                ax2.plot(xs, [c["nll"] for c in ref], marker="o", label=name)
                ax2.fill_between(xs, [c["ci95"][0] for c in ref], [c["ci95"][1] for c in ref], alpha=0.15)
        ax.set(xlabel="composition depth (test tasks)", ylabel="pass@1 (%)", title="pass@1 vs depth")
        ax2.set(xlabel="composition depth (test tasks)", ylabel="nats/token",
                title="reference NLL vs depth (lower is better)")
        for a in (ax, ax2):
            if a.lines:
                a.legend()
        fig.tight_layout()
        fig.savefig(out / "pass1_vs_depth.png", dpi=110)
        plt.close(fig)
        made.append("pass1_vs_depth.png")
    for name, c in data["cycles"].items():
        cyc = sorted(int(k) for k in c["by_cycles"])
        if len(cyc) < 2:
            continue
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        for g in [*depth_groups, "depth_extrapolation"]:
            cells = [c["by_cycles"][str(k)] for k in cyc]
            ax.plot(cyc, [100 * (x.get(g, {}).get("pass@1") or 0) for x in cells], marker="o",
                    label=g.replace("test ", ""))
            nll = [x.get("reference", {}).get(g, {}).get("nll") for x in cells]
            if all(v is not None for v in nll):
                ax2.plot(cyc, nll, marker="o", label=g.replace("test ", ""))
        for a in (ax, ax2):
            a.axvline(data["mean_cycles"], color="grey", linestyle=":", label="training mean")
            a.legend(fontsize=7)
        ax.set(xlabel="inference H cycles", ylabel="pass@1 (%)", title=f"{name}: pass@1 vs inference depth")
        ax2.set(xlabel="inference H cycles", ylabel="nats/token", title=f"{name}: reference NLL vs inference depth")
        fig.tight_layout()
        fig.savefig(out / f"pass1_vs_cycles_{name}.png", dpi=110)
        plt.close(fig)
        made.append(f"pass1_vs_cycles_{name}.png")
    if data["adaptive"]:
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, a in data["adaptive"].items():
            ds = sorted(int(k) for k in a["calls_by_depth"])
            ax.plot(ds, [a["calls_by_depth"][str(k)] for k in ds], marker="o", label=f"{name} (convergence exit)")
            if a["calls_per_token_full"]:
                ax.axhline(a["calls_per_token_full"], linestyle=":", label=f"{name} always {a['max_cycles']} cycles")
        ax.set(xlabel="composition depth", ylabel="module calls per generated token", title="adaptive compute")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "calls_vs_depth.png", dpi=110)
        plt.close(fig)
        made.append("calls_vs_depth.png")
    return made


def report_markdown(cfg: StudyConfig, data: dict[str, Any], plots: Sequence[str], meta: dict[str, Any]) -> str:
    lines = [f"# Study: {cfg.name}", "",
             "pass@1 in % (greedy, one sample per task and language) with 95% bootstrap intervals over tasks; "
             "differences are paired on the same tasks (all seeds pooled per task).", ""]
    lines += ["## Answers", "", "| question | comparison | tasks | pass@1 difference (points) | answer | "
              "reference NLL difference (nats/token) | answer |", "|---|---|---|---|---|---|---|"]
    labels = {"equal_params": "(a) equal parameters", "equal_compute": "(a) equal compute",
              "no_hierarchy": "(c) H/L split vs looped"}

    def row(question: str, comp: str, g: str, d: dict[str, Any]) -> str:
        ref = d.get("reference") or {}
        return (f"| {question} | {comp} | {g} | {_dpct(d)} | {d['answer']} | {_dnll(ref)} | "
                f"{ref.get('answer', 'not measured')} |")

    for k, d in data["questions"]["a_c"].items():
        comp, g = k.split(" | ")
        lines.append(row(labels.get(d["role"], d["role"]), comp, g, d))
    for name, c in data["cycles"].items():
        for k, d in c["beyond_mean"].items():
            comp, g = k.split(" | ")
            lines.append(row("(b) cycles beyond the training mean", f"{name}: {comp}", g, d))
    lines += ["", "\"yes\": the interval lies above 0; \"no difference shown\": it contains 0. Both differences "
              "read \"positive = the first-named is better\": for pass@1 it is A − B, for the reference NLL (mean "
              "next-token loss of the task's reference solution, teacher-forced; lower is better) it is "
              "NLL(B) − NLL(A). The NLL answers where pass@1 is too close to 0 to separate the models.", ""]
    groups = list(data["groups"])
    lines += ["## pass@1 by composition depth and split", "",
              "| model | role | setting | " + " | ".join(f"{g} (n={data['groups'][g]})" for g in groups) + " |",
              "|---|---|---|" + "---|" * len(groups)]
    for name, m in data["models"].items():
        lines.append(f"| {name} | {m['role']} | {m['setting']} | " + " | ".join(_pct(m.get(g)) for g in groups) + " |")
    lines += ["", "## Reference NLL by composition depth and split (nats/token, lower is better; token accuracy)", "",
              "| model | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
    for name, m in data["models"].items():
        ref = m.get("reference", {})
        lines.append(f"| {name} | " + " | ".join(
            f"{_nll(ref.get(g))}; {100 * ref[g]['token_accuracy']:.0f}%" if ref.get(g, {}).get("nll") is not None
            else "—" for g in groups) + " |")
    for name, c in data["cycles"].items():
        lines += ["", f"## {name}: pass@1 and reference NLL vs inference cycles (training mean {data['mean_cycles']})",
                  "", "| cycles | measure | " + " | ".join(groups) + " |", "|---|---|" + "---|" * len(groups)]
        for k, cells in c["by_cycles"].items():
            lines.append(f"| {k} | pass@1 | " + " | ".join(_pct(cells.get(g)) for g in groups) + " |")
            lines.append(f"| {k} | NLL | " + " | ".join(_nll(cells.get("reference", {}).get(g)) for g in groups) + " |")
    if data["adaptive"]:
        lines += ["", "## Adaptive exit (convergence of the next-token distribution)", "",
                  "| model | threshold | calls/token (exit) | calls/token (always max) | saved | pass@1 exit | "
                  "pass@1 max | exit − max (points) | within 1 pt | Spearman(depth, calls) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for name, a in data["adaptive"].items():
            def f(v: Any, spec: str = ".2f") -> str:
                return "—" if v is None else format(v, spec)
            lines.append(f"| {name} | {a['threshold']:g} | {f(a['calls_per_token'])} | {f(a['calls_per_token_full'])} | "
                         f"{f(a['saved'] and 100 * a['saved'], '.0f')}% | {f(a['pass@1_converge'] and 100 * a['pass@1_converge'], '.1f')} | "
                         f"{f(a['pass@1_full'] and 100 * a['pass@1_full'], '.1f')} | {_dpct(a['difference'])} | "
                         f"{'yes' if a['within_1_point'] else 'no'} | {f(a['spearman_depth_calls'])} (n={a['samples']}) |")
        for name, a in data["adaptive"].items():
            lines.append(f"- {name}, calls per token by depth: "
                         + ", ".join(f"depth {k}: {v:.2f}" for k, v in a["calls_by_depth"].items()))
    lines += ["", *(f"![{p}]({p})" for p in plots), "", "## Set-up", "",
              f"- command: `{meta['command']}`", f"- seeds: {cfg.seeds}; suite: {cfg.suite.n_tasks} tasks, seed "
              f"{cfg.suite.seed}", f"- training: {json.dumps(cfg.recipe.get('train', {}))}",
              "- models: " + "; ".join(f"{m.name} ({m.role}): {json.dumps(m.model)}" for m in cfg.models),
              "- runs: " + "; ".join(f"{k}: {v}" for k, v in meta["runs"].items()),
              f"- evaluation: {cfg.eval.model_dump_json()}",
              f"- report written on: {meta['machine']}",
              *(f"- invocation {i} on {v['machine']} ({'graded' if v['graded'] else 'generation only'}), "
                f"timings (s): {json.dumps(v['timings_s'])}" for i, v in enumerate(meta["invocations"], 1)), ""]
    return "\n".join(lines)


def _run_facts(cfg: StudyConfig, out: Path) -> dict[str, str]:
    facts = {}
    for seed in cfg.seeds:
        for m in cfg.models:
            p = out / "runs" / f"{m.name}-s{seed}" / "summary.json"
            if p.exists():
                s = json.loads(p.read_text(encoding="utf-8"))
                params = s.get("parameters", {}).get("non_embedding")
                facts[f"{m.name}-s{seed}"] = (f"{s.get('steps')} steps, {s.get('elapsed_s', 0):.0f} s, "
                                              f"{params:,} non-embedding parameters" if params else f"{s.get('steps')} steps")
    return facts


INVOCATIONS_FILE = "invocations.json"  # every run_study call: machine, stage and timings


def machine_line() -> str:
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return f"{platform.machine()}, {os.cpu_count()} CPUs, {gpu}, torch {torch.__version__}"


def _save_timings(out: Path, timings: dict[str, float], *, grade: bool) -> None:
    """Append this invocation (machine, whether it graded, timings) to ``invocations.json``, so a
    study generated on a GPU and graded elsewhere reports both machines."""
    path = out / INVOCATIONS_FILE
    past = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    past.append({"machine": machine_line(), "graded": grade, "timings_s": {k: round(v) for k, v in timings.items()}})
    atomic_write_json(path, past)


def write_report(cfg: StudyConfig, out: Path, *, command: str = "", timings: dict[str, float] | None = None) -> Path:
    """Analyze what ``out`` holds and write study.json, report.md and the plots."""
    data = analyze(cfg, out)
    plots = _plots(data, out)
    meta = {"command": command or f"hrmcode study CONFIG --out {out}", "timings": {k: round(v) for k, v in
                                                                                 (timings or {}).items()},
            "runs": _run_facts(cfg, out),
            "machine": machine_line(),
            "invocations": json.loads((out / INVOCATIONS_FILE).read_text(encoding="utf-8"))
            if (out / INVOCATIONS_FILE).exists() else []}
    atomic_write_json(out / "study.json", {"config": cfg.model_dump(), "meta": meta, **data})
    atomic_write_text(out / "report.md", report_markdown(cfg, data, plots, meta))
    return out / "report.md"
