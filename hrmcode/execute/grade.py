"""One entry for grading samples of any kind: each task goes to the driver that owns its kind.

* ``function`` (typed signature), ``stdin`` compared by ``exact`` or ``numeric``, ``project``: the
  runner (:func:`hrmcode.execute.runner.evaluate`: batched builds, one process per candidate);
* ``method`` (LeetCode-style), ``script`` (HumanEval-style) and ``stdin`` compared by ``lcb``: the
  LiveCodeBench/HumanEval driver (:func:`hrmcode.execute.lcb.grade`: a jailed Python driver whose
  forks run each test), with the options the record names: ``meta.grading`` (robust | faithful),
  ``meta.float_tol``, ``meta.timeout_s``.

Both sides share what a caller sees: the comparison rules (:mod:`hrmcode.execute.compare`), the
outcome cache (``cache_dir``: keyed by the code, the task record, the grading options, the drivers'
source and the jail mode), ``batched=False`` (one jail per sample) and the Result record.

Nothing is inferred from where a task came from (``source``): the record says how it is graded, so a
tasks.jsonl that ``hrmcode eval livecodebench`` or ``hrmcode eval humaneval`` exported grades through
:func:`grade_samples` (``hrmcode eval files``) with the verdicts the benchmark command gave. The
benchmark commands grade through :func:`grade_in_jail` too.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hrmcode.execute import lcb, sandbox
from hrmcode.execute.lcb import GradeConfig, Graded, GradeJob, GradeProblem, grade
from hrmcode.execute.runner import (
    ExecConfig,
    Outcome,
    ResultCache,
    driver_digest,
    evaluate,
    rules_digest,
    source_digest,
)
from hrmcode.records import Result, Sample, Task, Verdict

RUNNER = "runner"
JAIL = "method-script"  # the LiveCodeBench/HumanEval grader
DEFAULT_TIMEOUT_S = {"script": 3.0, "method": 6.0, "stdin": 6.0}  # HumanEval's and LiveCodeBench's per test

Progress = Callable[[int, int], None]
Item = tuple[Sample, int, str]  # a sample, its index among its (task, language)'s, the code graded


def grader_of(task: Task) -> str:
    """Which grader owns ``task`` (:data:`RUNNER` or :data:`JAIL`), by its kind and ``meta.compare``."""
    if task.kind in ("method", "script") or (task.kind == "stdin" and task.meta.get("compare") == "lcb"):
        return JAIL
    return RUNNER


def with_grading(task: Task, *, grading: str = "robust", timeout: float, float_tol: float | None = None) -> Task:
    """``task`` with the grading options in its record (what a benchmark command exports)."""
    meta = {**task.meta, "grading": grading, "timeout_s": timeout}
    if float_tol is not None:
        meta["float_tol"] = float_tol
    return task.model_copy(update={"meta": meta})


def grade_config(task: Task, workers: int | None = None, *, batched: bool = True,
                 cache_dir: Path | None = None) -> GradeConfig:
    """The grader's settings for a task of :data:`JAIL`, from its record (defaults: robust, the kind's
    timeout); ``batched=False`` grades each sample in a jail of its own."""
    return GradeConfig(mode=task.meta.get("grading", "robust"),
                       timeout=float(task.meta.get("timeout_s", DEFAULT_TIMEOUT_S[task.kind])),
                       float_tol=task.meta.get("float_tol"), workers=workers, cache_dir=cache_dir,
                       batch_samples=lcb.BATCH_SAMPLES if batched else 1)


def jail_cache_key(task: Task, language: str, code: str, cfg: GradeConfig, mode: str) -> str:
    """What a method/script/lcb-stdin grade depends on: the code graded, the task's tests and record,
    the grading options, the jail (``mode``), the drivers' source (execute/drivers and the language
    file), execute/lcb.py and the comparison rules (execute/compare.py)."""
    payload = {"v": 1, "lang": language, "code": code, "task": task.model_dump(mode="json"),
               "grading": [cfg.mode, cfg.timeout, cfg.float_tol, cfg.memory_mb, cfg.output_cap],
               "sandbox": mode, "driver": driver_digest(language), "host": source_digest(lcb.__file__),
               "rules": rules_digest()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _to_outcome(g: Graded) -> Outcome:
    return Outcome(g.verdict, g.tests_passed, g.n_tests, {"verdicts": g.verdicts, "codes": g.codes, **g.detail})


def _from_outcome(out: Outcome) -> Graded:
    detail = dict(out.detail)
    verdicts, codes = detail.pop("verdicts", []), detail.pop("codes", None)
    return Graded(verdicts=list(verdicts), n_tests=out.tests_total, codes=codes, detail={**detail, "mode": "cache"})


def grade_problem(task: Task) -> GradeProblem:
    """A method, script or stdin Task as the grader's driver needs it (its ``function`` is a method)."""
    if task.kind == "script":
        return GradeProblem(task.task_id, "script", [None], [None])
    if task.kind == "method":
        return GradeProblem(task.task_id, "function", [t.input for t in task.tests], [t.output for t in task.tests],
                            func_name=task.meta["func_name"])
    if task.kind == "stdin":
        return GradeProblem(task.task_id, "stdin", [str(t.input) for t in task.tests],
                            [str(t.output) for t in task.tests])
    raise ValueError(f"task {task.task_id}: a {task.kind} task is not graded by the method/script grader")


def script_program(task: Task, solution: str) -> str:
    """The program a sample of a ``script`` task (HumanEval's, or any task of that kind) is graded by:
    it passes iff its last statement, ``check(<entry_point>)``,
    returns — which the grading driver runs and reports itself, so that exiting early (``sys.exit(0)``,
    ``os._exit(0)``) is a failure as upstream (see ``lcb_driver.SCRIPT_PASSED``)."""
    entry = task.meta["entry_point"]
    if re.search(rf"^(async\s+)?def\s+{re.escape(entry)}\s*\(", solution, re.M):
        body = task.prompt + "\n\n" + solution  # a whole definition: it replaces the prompt's stub
    else:
        body = task.prompt + solution  # a completion of the prompt, as the benchmark defines it
    return body + "\n" + task.meta["test"] + "\n" + f"check({entry})\n"


def graded_code(task: Task, solution: str) -> str:
    """What runs: a script task's whole program (prompt, solution, check), else the solution itself."""
    return script_program(task, solution) if task.kind == "script" else solution


def result_of(s: Sample, index: int, g: Graded, grading: str, code: str) -> Result:
    """The Result record of one graded sample (``code``: what was graded; empty means no code was found)."""
    extra: dict[str, Any] = {"grading": grading, "test_verdicts": g.verdicts, **g.detail}
    if g.codes is not None:
        extra["upstream_codes"] = g.codes
    if not code.strip():
        extra["error"] = extra.get("error") or "no code: the output has fewer than two ``` fences"
    return Result(task_id=s.task_id, language=s.language, sample_index=index, passed=g.passed, verdict=g.verdict,
                  tests_passed=g.tests_passed, tests_total=g.n_tests, **extra)


def grade_in_jail(tasks: Mapping[str, Task], items: Sequence[Item], *, workers: int | None = None,
                  progress: Progress | None = None, batched: bool = True,
                  cache_dir: Path | None = None) -> list[Result]:
    """Grade samples of method, script and lcb-compared stdin tasks; one Result per item, in order.

    Samples are grouped by the settings their tasks' records name (one :func:`grade` call each). A
    method or script task is graded in Python only: another language's sample is a harness_error.
    ``batched=False``: each sample in a jail of its own; ``cache_dir``: grades kept by
    :func:`jail_cache_key` (timeouts and harness errors are never kept), and the toolchain caches."""
    results: list[Result | None] = [None] * len(items)
    groups: dict[GradeConfig, list[int]] = defaultdict(list)
    cache = ResultCache(cache_dir)
    mode = sandbox.detect_layers().mode
    keys: dict[int, str] = {}
    for i, (s, index, code) in enumerate(items):
        task = tasks[s.task_id]
        cfg = grade_config(task, workers, batched=batched, cache_dir=cache_dir)
        if cache_dir is not None:
            keys[i] = jail_cache_key(task, s.language, code, cfg, mode)
            hit = cache.get(keys[i])
            if hit is not None:
                results[i] = result_of(s, index, _from_outcome(hit), cfg.mode, code)
                continue
        if s.language != "python" and task.kind != "stdin":
            results[i] = Result(task_id=s.task_id, language=s.language, sample_index=index, passed=False,
                                verdict=Verdict.HARNESS_ERROR, tests_passed=0,
                                tests_total=grade_problem(task).n_tests, grading=cfg.mode,
                                error=f"{task.kind} tasks (LeetCode-style methods, HumanEval scripts) are graded "
                                      "in Python only")
            continue
        groups[cfg].append(i)
    done = sum(r is not None for r in results)
    for cfg, idx in groups.items():
        problems = {items[i][0].task_id: grade_problem(tasks[items[i][0].task_id]) for i in idx}
        jobs = [GradeJob(i, items[i][0].task_id, items[i][0].language, items[i][2]) for i in idx]

        def tick(d: int, _t: int, base: int = done) -> None:
            if progress:
                progress(base + d, len(items))

        graded = grade(problems, jobs, cfg, progress=tick)
        for j in jobs:
            s, index, code = items[j.key]
            results[j.key] = result_of(s, index, graded[j.key], cfg.mode, code)
            if j.key in keys:
                cache.put(keys[j.key], _to_outcome(graded[j.key]))
        done += len(jobs)
    return [r for r in results if r is not None]


def grade_samples(tasks: Sequence[Task], samples: Sequence[Sample], *, batched: bool = True,
                  workers: int | None = None, progress: Progress | None = None, cache_dir: Path | None = None,
                  config: ExecConfig | None = None) -> list[Result]:
    """Grade every sample against its task, each task by the grader that owns its kind (:func:`grader_of`);
    one Result per sample, in the order of ``samples``. ``batched`` and ``cache_dir`` apply to every
    kind; ``config`` holds the runner's limits (the method/script driver takes its settings from the
    task records). A sample of an unknown task is the runner's harness_error."""
    by_id = {t.task_id: t for t in tasks}
    if len(by_id) != len(tasks):
        raise ValueError("grade_samples: duplicate task_id in tasks")
    jail = [i for i, s in enumerate(samples) if s.task_id in by_id and grader_of(by_id[s.task_id]) == JAIL]
    in_jail = set(jail)
    rest = [i for i in range(len(samples)) if i not in in_jail]
    total = len(samples)

    def runner_tick(d: int, _t: int) -> None:
        if progress:
            progress(d, total)

    def jail_tick(d: int, _t: int) -> None:
        if progress:
            progress(len(rest) + d, total)

    out: list[Result | None] = [None] * total
    if rest:
        got = evaluate(tasks, [samples[i] for i in rest], batched=batched, workers=workers,
                       progress=runner_tick, cache_dir=cache_dir, config=config)
        for i, r in zip(rest, got, strict=True):
            out[i] = r
    if jail:
        counters: dict[tuple[str, str], int] = defaultdict(int)
        index_of: dict[int, int] = {}
        for i, s in enumerate(samples):  # the sample's index among its (task, language)'s, as the runner counts
            index_of[i] = counters[(s.task_id, s.language)]
            counters[(s.task_id, s.language)] += 1
        items = [(samples[i], index_of[i], graded_code(by_id[samples[i].task_id], samples[i].solution)) for i in jail]
        graded = grade_in_jail(by_id, items, workers=workers, progress=jail_tick, batched=batched, cache_dir=cache_dir)
        for i, r in zip(jail, graded, strict=True):
            out[i] = r
    return [r for r in out if r is not None]


__all__ = ["JAIL", "RUNNER", "grade_config", "grade_in_jail", "grade_problem", "grade_samples", "graded_code", "grader_of",
           "jail_cache_key", "result_of", "script_program", "with_grading"]
