"""Comparison reports: several evaluations side by side (markdown + PNGs) with bootstrap CIs.

One evaluation's report.md is :mod:`hrmcode.evaluate.render`'s.

An evaluation directory holds samples.jsonl, results.jsonl and summary.json (written by
``hrmcode eval``). A comparison reads several of them, pairs their items (task, language), and
reports each run's pass@1 with a 95% bootstrap interval and the paired difference to the first
run, so a reader can tell a real difference from noise.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hrmcode.evaluate.metrics import bootstrap_ci, item_scores, paired_bootstrap
from hrmcode.records import LANGUAGES, Result, Task, atomic_write_json, atomic_write_text, read_jsonl

log = logging.getLogger(__name__)


def _pct(v: Any) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}"


def _ci(ci: Sequence[float] | None) -> str:
    if not ci or any(math.isnan(x) for x in ci):
        return ""
    return f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


# ---- comparison ---------------------------------------------------------------------------------


@dataclass
class EvalRun:
    """One evaluation directory, loaded."""

    name: str
    path: Path
    summary: dict[str, Any]
    results: list[Result]
    run_dir: Path | None  # the training run, when known (for curves)


def load_eval(path: str | Path, name: str | None = None) -> EvalRun:
    """An eval dir (summary.json + results.jsonl), or a run dir holding ``eval/``."""
    path = Path(path)
    if not (path / "summary.json").exists() and (path / "eval" / "summary.json").exists():
        path = path / "eval"
    if not (path / "summary.json").exists():
        raise FileNotFoundError(f"{path}: no summary.json (run `hrmcode eval` first)")
    summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    results, _ = read_jsonl(path / "results.jsonl", Result)
    run_dir = Path(summary["run_dir"]) if summary.get("run_dir") else None
    return EvalRun(name or summary.get("model") or path.parent.name, path, summary, results, run_dir)


def paired_difference(a: list[Result], b: list[Result], *, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """pass@1(b) − pass@1(a) on the items both evaluated, with a paired bootstrap over tasks."""
    return paired_bootstrap(item_scores(a), item_scores(b), n_boot=n_boot, seed=seed)


def _scores_by(results: list[Result], key: str, tasks: dict[str, Task]) -> dict[str, dict[str, list[float]]]:
    """Group item scores by language / depth / split."""
    groups: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        if key == "language":
            g = r.language
        else:
            t = tasks.get(r.task_id)
            g = str(t.meta.get(key, t.difficulty)) if t else "?"
        groups[g].append(r)
    return {g: item_scores(rs) for g, rs in groups.items()}


def _mean(scores: dict[str, list[float]]) -> float:
    vals = [v for vs in scores.values() for v in vs]
    return float(np.mean(vals)) if vals else float("nan")


def distinct_names(evals: Sequence[EvalRun]) -> list[EvalRun]:
    """Evaluations of one run (e.g. with different ACT settings) share its name: tell them apart by
    their directories, so no table row or difference silently replaces another."""
    shared = Counter(e.name for e in evals)
    for label in (lambda e: e.path.name, lambda e: str(e.path)):  # the leaf, else the whole path
        names = [f"{e.name} ({label(e)})" if shared[e.name] > 1 else e.name for e in evals]
        if len(set(names)) == len(names):
            return [replace(e, name=n) for e, n in zip(evals, names, strict=True)]
    raise ValueError("compare: the same evaluation directory was given twice: "
                     + ", ".join(str(e.path) for e in evals))


def compare(evals: Sequence[EvalRun], out_dir: str | Path, *, tasks: Sequence[Task] = (), seed: int = 0,
            extra_sections: Sequence[str] = ()) -> dict[str, Any]:
    """Side-by-side tables and plots; returns (and writes as results.json) the numbers."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    evals = distinct_names(evals)
    by_id = {t.task_id: t for t in tasks}
    data: dict[str, Any] = {"runs": {}, "differences": {}}
    for ev in evals:
        entry: dict[str, Any] = {"eval_dir": str(ev.path), "summary": ev.summary, "groups": {}}
        scores = item_scores(ev.results)
        entry["pass@1"] = _mean(scores)
        entry["pass@1_ci95"] = list(bootstrap_ci(scores, seed=seed))
        for key in ("language", "depth", "split"):
            entry["groups"][key] = {g: {"pass@1": _mean(s), "ci95": list(bootstrap_ci(s, seed=seed)),
                                        "tasks": len(s)}
                                    for g, s in sorted(_scores_by(ev.results, key, by_id).items())}
        data["runs"][ev.name] = entry
    base = evals[0]
    for ev in evals[1:]:
        data["differences"][f"{ev.name} − {base.name}"] = paired_difference(base.results, ev.results, seed=seed)
    plots = _plots(evals, data, out_dir)
    atomic_write_json(out_dir / "results.json", data)
    atomic_write_text(out_dir / "report.md", compare_markdown(evals, data, plots, extra_sections))
    return data


def compare_markdown(evals: Sequence[EvalRun], data: dict[str, Any], plots: list[str],
                     extra_sections: Sequence[str] = ()) -> str:
    names = [e.name for e in evals]
    lines = ["# Comparison: " + " vs ".join(names), "",
             "pass@1 in %, with 95% bootstrap intervals over tasks (items of a task resampled together).", ""]
    lines += ["## Overall", "", "| run | pass@1 | tasks | samples | syntax/compile errors | defines the function (%) "
              "| mean segments/token |", "|---|---|---|---|---|---|---|"]
    for e in evals:
        d = data["runs"][e.name]
        comp = e.summary.get("compute") or {}
        seg = comp.get("mean_token_segments")
        seg_text = "—" if seg is None else f"{seg:.2f} / {comp.get('max_segments', 0):.0f}"
        adh = e.summary.get("signature_adherence") or {}
        lines.append(f"| {e.name} | {_pct(d['pass@1'])}{_ci(d['pass@1_ci95'])} | {e.summary['tasks']} | "
                     f"{e.summary['samples']} | {e.summary.get('syntax_or_compile_errors', '—')} | "
                     f"{_pct(adh.get('rate'))} | {seg_text} |")
    lines.append("")
    adherent = [e for e in evals if (e.summary.get("signature_adherence") or {}).get("per_split")]
    if adherent:
        # The share of samples that define the function the task names, with its arity (see eval reports).
        splits = sorted({g for e in adherent for g in e.summary["signature_adherence"]["per_split"]})
        lines += ["## Signature adherence per split", "",
                  "Samples that define the function the task names, with the right arity (%).", "",
                  "| split | " + " | ".join(e.name for e in adherent) + " |", "|---|" + "---|" * len(adherent)]
        for g in splits:
            cells = []
            for e in adherent:
                row = e.summary["signature_adherence"]["per_split"].get(g)
                cells.append("—" if row is None else f"{_pct(row['rate'])} (n={row['samples']})")
            lines.append(f"| {g} | " + " | ".join(cells) + " |")
        lines.append("")
    if data["differences"]:
        lines += ["## Paired differences", "", "| difference | pass@1 points | 95% CI | tasks | beyond noise? |",
                  "|---|---|---|---|---|"]
        for k, d in data["differences"].items():
            if d.get("tasks"):
                lines.append(f"| {k} | {100 * d['diff']:+.1f} | [{100 * d['ci95'][0]:+.1f}, {100 * d['ci95'][1]:+.1f}]"
                             f" | {d['tasks']} | {'yes' if d['significant'] else 'no'} |")
        lines.append("")
    for key, title in (("language", "Per language"), ("depth", "Per depth"), ("split", "Per split")):
        groups = sorted({g for e in evals for g in data["runs"][e.name]["groups"][key]},
                        key=lambda g: (LANGUAGES.index(g) if g in LANGUAGES else 99, g.zfill(3)))
        lines += [f"## {title}", "", "| group | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for g in groups:
            cells = []
            for e in evals:
                v = data["runs"][e.name]["groups"][key].get(g)
                cells.append("—" if v is None else f"{_pct(v['pass@1'])}{_ci(v['ci95'])} (n={v['tasks']})")
            lines.append(f"| {g} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Verdicts", "", "| verdict | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    verdicts = sorted({v for e in evals for v, c in e.summary.get("verdicts", {}).items() if c})
    for v in verdicts:
        lines.append(f"| {v} | " + " | ".join(str(e.summary.get("verdicts", {}).get(v, 0)) for e in evals) + " |")
    lines.append("")
    alarms = [(e.name, a) for e in evals for a in e.summary.get("alarms", [])]
    if alarms:
        lines += ["## Alarms", ""] + [f"- {n}: **{a['monitor']}** — {a['message']}" for n, a in alarms] + [""]
    lines += list(extra_sections)
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    return "\n".join(lines)


def _plots(evals: Sequence[EvalRun], data: dict[str, Any], out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[str] = []

    def save(fig: Any, name: str) -> None:
        for ax in fig.axes:
            if ax.get_legend_handles_labels()[0]:  # no empty legends (and no matplotlib warning)
                ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=90)
        plt.close(fig)
        written.append(name)

    def bars(key: str, name: str, xlabel: str) -> None:
        groups = sorted({g for e in evals for g in data["runs"][e.name]["groups"][key]},
                        key=lambda g: (LANGUAGES.index(g) if g in LANGUAGES else 99, g.zfill(3)))
        if not groups:
            return
        fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(groups)), 4))
        width = 0.8 / len(evals)
        for i, e in enumerate(evals):
            vals, errs = [], [[], []]
            for g in groups:
                v = data["runs"][e.name]["groups"][key].get(g)
                p = v["pass@1"] if v else float("nan")
                lo, hi = (v["ci95"] if v else (float("nan"), float("nan")))
                vals.append(100 * p)
                errs[0].append(100 * max(p - lo, 0) if v and not math.isnan(lo) else 0)
                errs[1].append(100 * max(hi - p, 0) if v and not math.isnan(hi) else 0)
            xs = np.arange(len(groups)) + i * width
            ax.bar(xs, vals, width, yerr=errs, capsize=3, label=e.name)
        ax.set_xticks(np.arange(len(groups)) + width * (len(evals) - 1) / 2, groups)
        ax.set_ylabel("pass@1 (%)")
        ax.set_xlabel(xlabel)
        ax.set_ylim(0, 100)
        save(fig, name)

    bars("language", "pass1_per_language.png", "language")
    bars("split", "pass1_per_split.png", "split")

    fig, ax = plt.subplots(figsize=(6, 4))
    for e in evals:
        groups = data["runs"][e.name]["groups"]["depth"]
        ds = sorted((g for g in groups if g.isdigit()), key=int)
        if ds:
            ax.errorbar([int(d) for d in ds], [100 * groups[d]["pass@1"] for d in ds],
                        yerr=[[100 * max(groups[d]["pass@1"] - groups[d]["ci95"][0], 0) for d in ds],
                              [100 * max(groups[d]["ci95"][1] - groups[d]["pass@1"], 0) for d in ds]],
                        marker="o", capsize=3, label=e.name)
    ax.set_xlabel("composition depth")
    ax.set_ylabel("pass@1 (%)")
    ax.set_ylim(0, 100)
    save(fig, "pass1_vs_depth.png")

    with_act = [e for e in evals if (e.summary.get("compute") or {}).get("segments_histogram")]
    if with_act:
        fig, ax = plt.subplots(figsize=(6, 4))
        for e in with_act:
            h = e.summary["compute"]["segments_histogram"]
            ax.bar([int(k) + 0.1 * with_act.index(e) for k in h], list(h.values()), width=0.1 * 8 / max(len(with_act), 1),
                   label=e.name, alpha=0.8)
        ax.set_xlabel("segments run (decided from the prompt)")
        ax.set_ylabel("samples")
        save(fig, "act_steps_histogram.png")

        fig, ax = plt.subplots(figsize=(6, 4))
        names = [e.name for e in with_act]
        used = [e.summary["compute"]["mean_token_segments"] for e in with_act]
        mx = [e.summary["compute"]["max_segments"] for e in with_act]
        ax.bar(names, mx, color="lightgray", label="halt_max_steps")
        ax.bar(names, used, label="segments used (mean per token)")
        ax.set_ylabel("segments")
        save(fig, "compute_saved.png")

    curves = [(e.name, e.run_dir / "metrics.jsonl") for e in evals if e.run_dir and (e.run_dir / "metrics.jsonl").exists()]
    if curves:
        from hrmcode.train.plots import read_metrics

        fig, ax = plt.subplots(figsize=(7, 4))
        for name, path in curves:
            train_xy, probe_xy, minutes = [], [], 0.0
            for r in read_metrics(path):  # eval records carry no clock: use the last step's
                minutes = r.get("elapsed_s", minutes * 60) / 60
                if isinstance(r.get("loss"), int | float) and math.isfinite(r["loss"]):
                    (train_xy if r.get("type") == "step" else probe_xy if r.get("type") == "eval" else []).append(
                        (minutes, r["loss"]))
            if train_xy:
                ax.plot(*zip(*train_xy, strict=True), alpha=0.4, label=f"{name} train")
            if probe_xy:
                ax.plot(*zip(*probe_xy, strict=True), "o-", label=f"{name} probe")
        ax.set_xlabel("training minutes")
        ax.set_ylabel("loss")
        ax.set_yscale("log")
        save(fig, "training_curves.png")
    return written
