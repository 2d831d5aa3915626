"""PNG plots of a run from its metrics.jsonl: loss, grad norms, ACT steps, throughput."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def read_metrics(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a kill: skip it, the rest is fine
            continue
    return out


def _series(recs: list[dict[str, Any]], *keys: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for r in recs:
        v: Any = r
        for k in keys:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, int | float) and math.isfinite(v):
            xs.append(int(r["step"]))
            ys.append(float(v))
    return xs, ys


def plot_run(run_dir: Path) -> list[Path]:
    """Write plots/*.png for ``run_dir``; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = read_metrics(run_dir / "metrics.jsonl")
    steps = [r for r in recs if r.get("type") == "step"]
    evals = [r for r in recs if r.get("type") == "eval"]
    rollbacks = [r for r in recs if r.get("type") == "rollback"]
    out_dir = run_dir / "plots"
    out_dir.mkdir(exist_ok=True)
    written = []

    def save(fig: Any, name: str) -> None:
        path = out_dir / name
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(*_series(steps, "loss"), label="train loss")
    ax.plot(*_series(evals, "loss"), "o-", label="probe loss")
    for r in rollbacks:
        ax.axvline(r["from_step"], color="red", alpha=0.4, linestyle="--")
    ax.set_xlabel("step")
    ax.set_yscale("log")
    ax2 = ax.twinx()
    ax2.plot(*_series(evals, "exact_match"), "g^:", label="probe exact match")
    ax2.set_ylabel("exact match")
    ax.legend(loc="upper right")
    ax.set_title("loss (dashed red: rollbacks)")
    save(fig, "loss.png")

    fig, ax = plt.subplots(figsize=(7, 4))
    groups = sorted({g for r in steps for g in (r.get("grad_norm") or {})})
    for g in groups:
        ax.plot(*_series(steps, "grad_norm", g), label=g)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_title("gradient norm per module (before clipping)")
    if groups:  # a run stopped before its first logged step has no curves
        ax.legend()
    save(fig, "grad_norms.png")

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(*_series(steps, "metrics", "mean_steps"), label="mean segments of halted samples")
    ax.plot(*_series(steps, "metrics", "halting_rate"), label="halting rate")
    ax.plot(*_series(steps, "metrics", "q_halt_accuracy"), label="q-halt accuracy")
    ax.set_xlabel("step")
    ax.set_title("ACT")
    ax.legend()
    save(fig, "act_steps.png")

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(*_series(steps, "tokens_per_s"))
    ax.set_xlabel("step")
    ax.set_ylabel("tokens/s")
    ax.set_title("throughput")
    save(fig, "throughput.png")
    return written
