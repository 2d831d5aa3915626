"""Grading LiveCodeBench and HumanEval samples in the sandbox, in ``faithful`` or ``robust`` mode.

The isolation is the harness's (:func:`hrmcode.execute.sandbox.run`: bubblewrap, cgroups, rlimits);
this module decides what runs inside it. Python samples are graded by ``lcb_driver.py``, a
standard-library script (shipped compiled) that grades up to ``BATCH_SAMPLES`` samples in one jail:
in robust mode each test is a process forked from a lean warm interpreter (the driver's zygote), in
faithful mode each sample one forked from the driver — milliseconds per test instead of an
interpreter start (a third of a second here). Samples in the other five languages are built in the
jail and run by the same driver, which execs the built program once per test, so every language is
compared by the same code.

* ``robust``: real processes with real stdin/stdout; the upstream line comparison, plus an optional
  float tolerance; functional problems with a fresh ``Solution()`` per test and tuples as lists.
* ``faithful``: lcb_runner's grader reproduced, quirks included (see ``lcb_driver``). It exists for
  Python only; other languages have no upstream verdict and are graded robust without tolerance.

Both stop at the first failing test, as upstream does: ``tests_passed`` counts the tests before it.

Under bubblewrap a graded program can never read an expected output: they reach the driver on its
stdin, are compared there, and are never written to a file, nor held by a process that runs untrusted
code (see ``lcb_driver``). Only the inputs are in the jail's work directory.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import marshal
import math
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from hrmcode.execute import compare, sandbox
from hrmcode.execute.runner import fate, toolchain_cache_dir
from hrmcode.execute.sandbox import Layers, Limits, ProcResult
from hrmcode.languages import LANGUAGES
from hrmcode.records import Verdict

log = logging.getLogger(__name__)

DRIVER = Path(__file__).parent / "drivers" / "lcb_driver.py"
GRADING_MODES = ("faithful", "robust")
Grading = Literal["faithful", "robust"]
BATCH_SAMPLES = 128  # samples per jailed driver (a crash of the driver re-runs only its unfinished ones)
BATCH_TEST_BYTES = 128 << 20  # test data per batch directory
_STATS_LOCK = threading.Lock()


@dataclass(frozen=True)
class GradeProblem:
    """What the driver needs of a problem. ``kind``: stdin | function | script (HumanEval: the program ends
    with ``check(<entry_point>)`` and passes iff that call returns; exiting early with status 0 fails)."""

    key: str
    kind: str
    inputs: list[Any]  # stdin: str per test; function: argument list per test; script: [None]
    outputs: list[Any]  # stdin: expected stdout; function: the expected JSON value; script: [None]
    func_name: str | None = None

    @property
    def n_tests(self) -> int:
        return len(self.outputs)


@dataclass(frozen=True)
class GradeJob:
    key: int  # unique in one grade() call
    problem: str
    language: str
    code: str


@dataclass
class Graded:
    """One sample's grade: per-test verdicts up to the first failure, upstream codes in faithful mode."""

    verdicts: list[str]
    n_tests: int
    codes: list[Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return len(self.verdicts) == self.n_tests and all(v == "pass" for v in self.verdicts)

    @property
    def verdict(self) -> Verdict:
        if self.passed:
            return Verdict.PASS
        bad = next((v for v in self.verdicts if v != "pass"), "harness_error")
        try:
            return Verdict(bad)
        except ValueError:
            return Verdict.HARNESS_ERROR

    @property
    def tests_passed(self) -> int:
        n = 0
        for v in self.verdicts:
            if v != "pass":
                break
            n += 1
        return n

    @property
    def graded(self) -> list[Any]:
        """The per-test list upstream keeps (True / -2 / -3 / -4 / -1), for *_eval_all.json."""
        if self.codes is not None:
            return self.codes
        code = {"pass": True, "wrong_answer": -2, "timeout": -3}
        return [code.get(v, -4) for v in self.verdicts]


@dataclass(frozen=True)
class GradeConfig:
    mode: Grading = "robust"
    timeout: float = 6.0  # per test, seconds (upstream's default); faithful rounds down to whole seconds
    float_tol: float | None = None  # robust only: numbers equal within this absolute or relative error
    memory_mb: int = 2048  # per process; upstream applies none
    output_cap: int = 16 << 20
    workers: int | None = None
    cache_dir: Path | None = None  # toolchain caches (Go's build cache) for compiled languages
    batch_samples: int = BATCH_SAMPLES  # Python samples per jailed driver; 1: each sample in a jail of its own

    def __post_init__(self) -> None:
        if self.mode not in GRADING_MODES:
            raise ValueError(f"--grading {self.mode!r}: expected faithful or robust")
        if self.timeout <= 0:
            raise ValueError(f"--timeout {self.timeout}: must be positive")
        if self.float_tol is not None and (self.float_tol < 0 or not math.isfinite(self.float_tol)):
            raise ValueError(f"--float-tol {self.float_tol}: must be a non-negative number")
        if self.mode == "faithful" and self.float_tol is not None:
            raise ValueError("--float-tol applies to --grading robust only (upstream has no tolerance)")
        if self.batch_samples < 1:
            raise ValueError(f"batch_samples {self.batch_samples}: must be at least 1")

    def driver_config(self, *, mode: str, sweep: bool, exec_argv: list[str] | None = None) -> dict[str, Any]:
        timeout = max(1, int(self.timeout)) if mode == "faithful" else self.timeout
        return {"mode": mode, "timeout": timeout, "float_tol": self.float_tol if mode == "robust" else None,
                "output_cap": self.output_cap, "sweep": sweep, "exec_argv": exec_argv}


@functools.cache
def _pyc(path: Path) -> bytes:
    """A module compiled once (a .pyc the jail's interpreter, the same version as this one, runs or
    loads): a script given as source is parsed and compiled at every start, ~30 ms here."""
    code = compile(path.read_text(encoding="utf-8"), path.name, "exec", dont_inherit=True)
    return importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code)  # flags, mtime, size: unchecked


def _driver_pyc() -> bytes:
    return _pyc(DRIVER)


def _sample_budget(cfg: dict[str, Any], n_tests: int) -> float:
    return (math.ceil(cfg["timeout"]) + 1) * max(1, n_tests) + 5  # as lcb_driver.sample_budget


def _write_inputs(workdir: Path, idx: int, prob: GradeProblem) -> list[str | None]:
    """A stdin problem's inputs as files, each a test's real, seekable stdin. Inputs only: the graded
    program can read the work directory, so no expected output is ever written to it."""
    d = workdir / f"p{idx}"
    d.mkdir()
    files: list[str | None] = []
    for t, text in enumerate(prob.inputs):
        (d / f"{t}.in").write_text(str(text), encoding="utf-8")
        files.append(f"p{idx}/{t}.in")
    return files


def _driver_stdin(workdir: Path, jobs: list[GradeJob], problems: dict[str, GradeProblem],
                  dcfg: dict[str, Any]) -> bytes:
    """The batch as the driver reads it on its stdin (``lcb_driver.read_spec``): a JSON line of config,
    problems and jobs, then each problem's tests as JSON (inputs only where the driver needs them:
    faithful mode's in-process stdin, a function's arguments; robust stdin tests get files)."""
    faithful = dcfg["mode"] == "faithful"
    pspec: dict[str, Any] = {}
    tests: list[bytes] = []
    offset = 0
    for job in jobs:
        if job.problem in pspec:
            continue
        prob = problems[job.problem]
        robust_stdin = prob.kind == "stdin" and not faithful
        files = _write_inputs(workdir, len(pspec), prob) if robust_stdin else [None] * prob.n_tests
        data = json.dumps({"inputs": None if robust_stdin else prob.inputs, "outputs": prob.outputs}).encode()
        pspec[job.problem] = {"kind": prob.kind, "func_name": prob.func_name, "input_files": files,
                              "tests": [offset, len(data)]}
        tests.append(data)
        offset += len(data)
    head = {"config": dcfg, "problems": pspec, "jobs": [{"k": j.key, "p": j.problem, "code": j.code} for j in jobs]}
    return json.dumps(head).encode() + b"\n" + b"".join(tests)


def _parse_channel(raw: bytes, stats: dict[str, float] | None = None) -> tuple[dict[int, dict[str, Any]], list[int]]:
    results: dict[int, dict[str, Any]] = {}
    started: list[int] = []
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            continue  # a torn last line when the jail died
        if not isinstance(ev, dict):
            continue
        if "cpu_s" in ev and stats is not None:
            with _STATS_LOCK:
                stats["driver_cpu_s"] = stats.get("driver_cpu_s", 0.0) + float(ev["cpu_s"])
        elif "b" in ev:
            started.append(int(ev["b"]))
        elif "k" in ev:
            results[int(ev["k"])] = ev
    return results, started


def _graded(ev: dict[str, Any], n_tests: int) -> Graded:
    detail = {k: v for k, v in ev.items() if k not in ("k", "v", "codes")}
    return Graded(verdicts=[str(v) for v in ev.get("v", [])], n_tests=n_tests, codes=ev.get("codes"),
                  detail=detail)


@dataclass
class _Ctx:
    cfg: GradeConfig
    layers: Layers
    tmp_root: Path
    toolchains: Path
    stats: dict[str, float] = field(default_factory=dict)


def _run_driver(ctx: _Ctx, workdir: Path, jobs: list[GradeJob], problems: dict[str, GradeProblem],
                dcfg: dict[str, Any], ro_paths: Sequence[str], env: dict[str, str],
                data_mb: int | None = None) -> ProcResult:
    """Run the driver over the batch in one jail: the driver and the stdin inputs in ``workdir``, the rest
    (expected outputs above all) on the driver's stdin, which no graded program can read. ``data_mb``:
    the jail's RLIMIT_DATA (None: the sandbox's default, 2 × the memory cap)."""
    (workdir / "lcb_driver.pyc").write_bytes(_driver_pyc())
    # The output rules (hrmcode/execute/compare.py): the same code as the built-in runner's.
    (workdir / "hrm_compare.pyc").write_bytes(_pyc(Path(compare.__file__)))
    stdin = _driver_stdin(workdir, jobs, problems, dcfg)
    total = sum(_sample_budget(dcfg, problems[j.problem].n_tests) for j in jobs) + 15
    limits = Limits(wall_s=total, cpu_s=total, memory_mb=ctx.cfg.memory_mb, data_mb=data_mb, pids=256,
                    fsize_mb=max(16, ctx.cfg.output_cap >> 20), tmpfs_mb=64, stdout_bytes=1 << 20)
    argv = [sandbox.python_for_jail(), "-I", "-S", "-B", "lcb_driver.pyc"]
    return sandbox.run(argv, workdir, limits, ro_paths=[*ro_paths, sys.base_prefix], env=env, stdin=stdin,
                       channel=True, layers=ctx.layers)


def _grade_batch(ctx: _Ctx, jobs: list[GradeJob], problems: dict[str, GradeProblem],
                 dcfg: dict[str, Any], ro_paths: Sequence[str] = (), env: dict[str, str] | None = None,
                 workdir: Path | None = None, data_mb: int | None = None) -> dict[int, Graded]:
    """Grade jobs in jailed driver runs; a job the jail died on gets the jail's fate, the rest go again."""
    out: dict[int, Graded] = {}
    pending = list(jobs)
    while pending:
        wd = workdir or Path(tempfile.mkdtemp(prefix="lcb-", dir=ctx.tmp_root))
        try:
            proc = _run_driver(ctx, wd, pending, problems, dcfg, ro_paths, env or {}, data_mb)
        finally:
            if workdir is None:
                shutil.rmtree(wd, ignore_errors=True)
        results, started = _parse_channel(proc.channel, ctx.stats)
        for job in pending:
            if job.key in results:
                out[job.key] = _graded(results[job.key], problems[job.problem].n_tests)
        unfinished = [j for j in pending if j.key not in out]
        if not unfinished:
            break
        if not started or started[-1] in out:
            # Nobody was running when the jail ended: the driver itself failed (not a sample's doing).
            why = f"the grading driver failed: {fate(proc)[1]}: {proc.stderr.decode('utf-8', 'replace')[-500:]}"
            log.error("%s", why)
            for j in unfinished:
                out[j.key] = Graded(["harness_error"], problems[j.problem].n_tests, detail={"error": why})
            break
        culprit = started[-1]
        v, why = fate(proc)
        for j in unfinished:
            if j.key == culprit:
                out[j.key] = Graded([v.value], problems[j.problem].n_tests, detail={"error": why})
        pending = [j for j in unfinished if j.key != culprit]
        if workdir is not None:
            break  # a per-sample workdir (compiled languages) has only this one job
    return out


def _batches(jobs: list[GradeJob], problems: dict[str, GradeProblem], workers: int,
             limit: int = BATCH_SAMPLES) -> list[list[GradeJob]]:
    """Jobs grouped by problem (the driver decodes one problem's tests at a time), cut into batches small
    enough to spread over the workers and to bound what a crash costs and what the driver holds."""
    jobs = sorted(jobs, key=lambda j: (j.problem, j.key))
    size = max(1, min(limit, math.ceil(len(jobs) / max(1, workers))))
    out: list[list[GradeJob]] = []
    cur: list[GradeJob] = []
    cur_bytes = 0
    seen: set[str] = set()
    for j in jobs:
        add = 0
        if j.problem not in seen:
            p = problems[j.problem]
            add = sum(len(str(x)) for x in p.inputs) + sum(len(str(x)) for x in p.outputs)
        if cur and (len(cur) >= size or cur_bytes + add > BATCH_TEST_BYTES):
            out.append(cur)
            cur, cur_bytes, seen = [], 0, set()
            p = problems[j.problem]
            add = sum(len(str(x)) for x in p.inputs) + sum(len(str(x)) for x in p.outputs)
        cur.append(j)
        cur_bytes += add
        seen.add(j.problem)
    if cur:
        out.append(cur)
    return out


def _grade_compiled(ctx: _Ctx, job: GradeJob, problems: dict[str, GradeProblem]) -> Graded:
    """Another language: build in the jail, then the driver execs the program once per test."""
    lang = LANGUAGES[job.language]
    prob = problems[job.problem]
    if prob.kind != "stdin":
        return Graded(["harness_error"], prob.n_tests,
                      detail={"error": f"{prob.key} is a functional (LeetCode) problem: Python only"})
    workdir = Path(tempfile.mkdtemp(prefix=f"lcb-{lang.name}-", dir=ctx.tmp_root))
    try:
        files = lang.render_stdin_program(job.code)
        for rel, text in files.items():
            (workdir / rel).parent.mkdir(parents=True, exist_ok=True)
            (workdir / rel).write_text(text, encoding="utf-8")
        build = replace(Limits(wall_s=120.0, memory_mb=4096, pids=512, fsize_mb=1024, nofile=4096, tmpfs_mb=512),
                        cpu_s=120.0)
        for cmd in lang.stdin_build_commands(files):
            res = sandbox.run(cmd, workdir, build, work_writable=True, ro_paths=lang.toolchain_paths(),
                              mounts=lang.cache_mounts(ctx.toolchains), env=lang.jail_env(), layers=ctx.layers)
            if not res.ok:
                text = (res.stdout + res.stderr).decode("utf-8", "replace")
                return Graded(["compile_error"], prob.n_tests, detail={"compile_log": text[-2000:]})
        argv = lang.stdin_run_command(files, ctx.cfg.memory_mb)
        dcfg = ctx.cfg.driver_config(mode="robust", sweep=ctx.layers.mode != "rlimits-only", exec_argv=argv)
        dcfg["float_tol"] = ctx.cfg.float_tol if ctx.cfg.mode == "robust" else None
        # The language's own RLIMIT_DATA, as the built-in runner gives it (the JVM's reserved regions).
        got = _grade_batch(ctx, [job], problems, dcfg, ro_paths=lang.toolchain_paths(), env=lang.jail_env(),
                           workdir=workdir, data_mb=lang.run_data_mb(ctx.cfg.memory_mb))
        return got.get(job.key) or Graded(["harness_error"], prob.n_tests, detail={"error": "no result"})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def grade(problems: dict[str, GradeProblem], jobs: Sequence[GradeJob], config: GradeConfig | None = None, *,
          progress: Callable[[int, int], None] | None = None,
          stats: dict[str, float] | None = None) -> dict[int, Graded]:
    """Grade every job; returns its Graded by job key. Python samples share jailed driver processes.
    ``stats`` (optional) receives ``driver_cpu_s``: CPU seconds the jailed drivers and everything they
    ran used (the grader's cost independent of how loaded the machine is)."""
    cfg = config or GradeConfig()
    keys = [j.key for j in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("grade(): job keys must be unique")
    for j in jobs:
        if j.problem not in problems:
            raise ValueError(f"grade(): job {j.key} names an unknown problem {j.problem!r}")
        if j.language not in LANGUAGES:
            raise ValueError(f"grade(): job {j.key}: unknown language {j.language!r}")
    layers = sandbox.detect_layers()
    if layers.mode != "bwrap":
        log.warning("sandbox %s (no bubblewrap): graded programs see the host's processes, the grader's among "
                    "them, so expected outputs are not hidden from them", layers.mode)
    workers = max(1, cfg.workers or len(os.sched_getaffinity(0)))
    tmp_root = Path(tempfile.mkdtemp(prefix="hrmcode-lcb-"))
    toolchains = toolchain_cache_dir(cfg.cache_dir, layers.mode)
    ctx = _Ctx(cfg, layers, tmp_root, toolchains, stats if stats is not None else {})
    sweep = layers.mode != "rlimits-only"  # only a private pid namespace may be swept
    py = [j for j in jobs if j.language == "python"]
    other = [j for j in jobs if j.language != "python"]
    if other and cfg.mode == "faithful":
        log.info("faithful grading exists for Python only: %d samples in other languages are graded robust",
                 len(other))
    dcfg = cfg.driver_config(mode=cfg.mode, sweep=sweep)
    tol = cfg.float_tol if cfg.mode == "robust" else None  # faithful: upstream's rule, in every language
    out: dict[int, Graded] = {}
    done = 0
    total = len(jobs)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            batches = _batches(py, problems, workers, cfg.batch_samples)
            futs = [pool.submit(_grade_batch, ctx, b, problems, dcfg) for b in batches]
            futs += [pool.submit(lambda j: {j.key: _grade_compiled(ctx, j, problems)}, j) for j in other]
            for fut in as_completed(futs):
                got = fut.result()
                out.update(got)
                done += len(got)
                if progress:
                    progress(done, total)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    for j in jobs:
        if j.key not in out:  # never expected; a missing grade must still be a failure, not a gap
            out[j.key] = Graded(["harness_error"], problems[j.problem].n_tests, detail={"error": "not graded"})
        kind = problems[j.problem].kind  # the rule the outputs were compared by, named
        if kind == "stdin":
            out[j.key].detail.setdefault("compare", compare.rule_name("lcb", tol))
        elif kind == "function":
            faithful = cfg.mode == "faithful" and j.language == "python"
            out[j.key].detail.setdefault("compare", compare.UPSTREAM_EQ if faithful else compare.rule_name(
                compare.VALUES, tol))
    return out
