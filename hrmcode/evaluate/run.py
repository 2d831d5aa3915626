"""Evaluate a samples file against a tasks file: read, run in the sandbox, write the three outputs.

``evaluate_files`` is what ``hrmcode eval files --tasks --samples --out`` runs; other benchmarks reuse its
pieces (:func:`read_inputs`, :func:`write_outputs`) around their own adapters.

Outputs in ``out_dir`` (each written atomically):

* ``results.jsonl`` — one Result per sample, in the order of the samples file;
* ``summary.json`` — pass@k overall and per language, verdict histograms, the sandbox layers in
  force, what was skipped (see :mod:`hrmcode.evaluate.summary`);
* ``report.md`` — the same for people, with the first failure of each verdict.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hrmcode.evaluate.render import failure_examples, render_report
from hrmcode.evaluate.summary import build_summary, signature_adherence
from hrmcode.execute import ExecConfig, evaluate_samples, sandbox_layers
from hrmcode.records import (
    RecordError,
    Result,
    Sample,
    Task,
    atomic_write_json,
    atomic_write_text,
    read_jsonl,
    write_jsonl,
)

log = logging.getLogger(__name__)

MAX_REASONS = 20  # skipped-record messages kept in the summary (the count is always exact)


@dataclass
class Inputs:
    tasks: list[Task]
    samples: list[Sample]
    skipped_tasks: list[str] = field(default_factory=list)
    skipped_samples: list[str] = field(default_factory=list)

    def skipped(self) -> dict[str, Any]:
        reasons = self.skipped_tasks + self.skipped_samples
        return {"tasks": len(self.skipped_tasks), "samples": len(self.skipped_samples),
                "reasons": reasons[:MAX_REASONS]}


def parse_ks(text: str) -> list[int]:
    """``"1,5"`` → [1, 5]; the error names the flag."""
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ValueError(f"--k {text!r}: expected comma-separated positive integers such as 1,5") from None
    if not ks or ks[0] < 1:
        raise ValueError(f"--k {text!r}: expected comma-separated positive integers such as 1,5")
    return ks


def _line_numbers(path: Path, key: str) -> list[tuple[int, Any]]:
    """(line, value of ``key``) of every JSON object line: for errors that must name the line."""
    out = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                out.append((lineno, obj.get(key)))
    return out


def read_inputs(tasks_path: str | Path, samples_path: str | Path, *, skip_bad: bool = False) -> Inputs:
    """Read and cross-check both files. Bad lines, duplicate task ids and samples of unknown tasks
    raise :class:`RecordError` naming ``file:line: field``; with ``skip_bad`` they are counted instead."""
    tasks_path, samples_path = Path(tasks_path), Path(samples_path)
    for p, flag in ((tasks_path, "--tasks"), (samples_path, "--samples")):
        if not p.is_file():
            raise FileNotFoundError(f"{flag} {p}: no such file")
    tasks, t_rep = read_jsonl(tasks_path, Task, skip_bad=skip_bad)
    samples, s_rep = read_jsonl(samples_path, Sample, skip_bad=skip_bad)
    inputs = Inputs([], [], list(t_rep.skipped), list(s_rep.skipped))

    counts: dict[str, int] = {}
    for t in tasks:
        counts[t.task_id] = counts.get(t.task_id, 0) + 1
    dups = {tid for tid, n in counts.items() if n > 1}
    if dups:
        first_seen: set[str] = set()
        for lineno, tid in _line_numbers(tasks_path, "task_id"):
            if tid in dups:
                if tid in first_seen:
                    msg = f"{tasks_path}:{lineno}: task_id: duplicate task {tid!r}"
                    if not skip_bad:
                        raise RecordError(msg)
                    inputs.skipped_tasks.append(msg)
                first_seen.add(tid)
    kept: set[str] = set()
    for t in tasks:
        if t.task_id not in kept:  # with skip_bad the first of duplicates is kept
            kept.add(t.task_id)
            inputs.tasks.append(t)

    unknown = {s.task_id for s in samples} - kept
    if unknown:
        for lineno, tid in _line_numbers(samples_path, "task_id"):
            if tid in unknown:
                msg = f"{samples_path}:{lineno}: task_id: unknown task {tid!r} (not in {tasks_path})"
                if not skip_bad:
                    raise RecordError(msg)
                inputs.skipped_samples.append(msg)
    inputs.samples = [s for s in samples if s.task_id in kept]
    for msg in inputs.skipped_tasks + inputs.skipped_samples:
        log.warning("skipped: %s", msg)
    return inputs


def write_outputs(out_dir: str | Path, results: Sequence[Result], summary: dict[str, Any], *,
                  title: str = "Evaluation") -> None:
    """results.jsonl, summary.json and report.md, each atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "results.jsonl", results)
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "report.md", render_report(summary, title=title, examples=failure_examples(results)))


def evaluate_files(tasks_path: str | Path, samples_path: str | Path, out_dir: str | Path, *,
                   k: Sequence[int] = (1,), skip_bad: bool = False, batched: bool = True,
                   workers: int | None = None, cache_dir: Path | None = None, config: ExecConfig | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate ``samples_path`` against ``tasks_path`` in the sandbox; write results.jsonl,
    summary.json and report.md into ``out_dir``; return the summary. Each task is graded by the
    driver of its kind (:func:`hrmcode.execute.evaluate_samples`); ``batched`` and ``cache_dir`` apply to
    every kind, ``config`` to the runner's (function, stdin by exact/numeric, project tasks)."""
    ks = sorted(set(k))
    if not ks or ks[0] < 1:
        raise ValueError(f"--k: expected positive integers, got {list(k)}")
    inputs = read_inputs(tasks_path, samples_path, skip_bad=skip_bad)
    t0 = time.monotonic()
    results = evaluate_samples(inputs.tasks, inputs.samples, batched=batched, workers=workers,
                               progress=progress, cache_dir=cache_dir, config=config)
    elapsed = time.monotonic() - t0
    summary = build_summary(
        results, benchmark="files", ks=ks, sandbox=sandbox_layers(), n_tasks=len({s.task_id for s in inputs.samples}),
        skipped=inputs.skipped(),
        timing={"elapsed_s": round(elapsed, 3),
                "samples_per_s": round(len(results) / elapsed, 3) if elapsed > 0 else None},
        extra={"tasks_in_file": len(inputs.tasks), "tasks_file": str(tasks_path), "samples_file": str(samples_path),
               "signature_adherence": signature_adherence(inputs.tasks, inputs.samples), **(extra or {})})
    write_outputs(out_dir, results, summary, title=f"Evaluation of {Path(samples_path).name}")
    return summary


__all__ = ["Inputs", "evaluate_files", "parse_ks", "read_inputs", "write_outputs"]
