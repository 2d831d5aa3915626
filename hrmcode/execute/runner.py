"""(task, code) → Result: test drivers, batched builds with fault isolation, a worker pool, a cache.

How a batch of typed-function candidates of one language is evaluated:

1. render every candidate into its own namespace (``hrmc<key>``) of one program and build it once;
2. if the build fails, the candidates the compiler log names are set aside for isolated runs and
   the rest is rebuilt; a failure naming nobody splits the batch in halves. A candidate whose code
   would run in a batch-mate's process (code before main, symbols replacing the runtime's: see
   ``Language.invasive_keys``) is set aside the same way, before anything runs;
3. run the built program with one process per candidate: the supervisor (drivers/hrmsup.py) forks a
   warm driver (Python) or executes the built program (the other languages) for each candidate in
   turn, kills whatever the candidate left behind and empties the scratch space before the next
   one starts. A candidate's process holds only its own token, its own interpreter or runtime and
   its own copy of the driver: nothing it does (patched builtins, a replaced ``JSON.stringify``, a
   forged result line) reaches a batch-mate's process. Every line streams back as it is written
   (fd 3), so a crash, a hang (a per-candidate deadline) or an output flood loses nothing reported;
4. every line on the channel starts with a token the runner drew for that candidate and that run;
   the supervisor hands each candidate's process only its own. The runner accepts a line only with
   the token of the candidate it names, and only in sequence (the supervisor's begin line, the
   driver's lines, the supervisor's exit line, then the next candidate), so no candidate can
   write another's results; the candidate running when a rejected line arrived is re-run alone;
5. a candidate whose batch run was not clean (its process did not exit 0 after its driver finished,
   it ran out of memory, it overran its time, the batch printed too much) is re-run alone: an
   *isolated* run is the same supervisor and driver with a batch of one, so its verdict is by
   construction the verdict the candidate gets without batching. When the supervisor itself dies,
   the remaining candidates continue in a fresh jail.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import logging
import math
import os
import re
import secrets
import shutil
import signal
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hrmcode.execute import compare, sandbox
from hrmcode.execute.compare import VALUES, compare_stdout, values_equal
from hrmcode.execute.sandbox import Layers, Limits, ProcResult
from hrmcode.execute.units import FunctionUnit, encode_tests
from hrmcode.languages import LANGUAGES, Language, parse_type
from hrmcode.records import Result, Sample, Task, Verdict

log = logging.getLogger(__name__)

# 2: compiled drivers read inputs at run time (hrmtests.txt); new build flags. 3: result lines carry
# per-candidate tokens (a verdict cached before may have been forged by a batch-mate). 4: one process
# per candidate (a verdict cached before may have been changed by a batch-mate's tampering). 5: one
# value rule for every grader (3.0 equals 3), named in results; the rules' source is in the key too.
# 6: a Java run's RLIMIT_DATA makes room for the JVM (below a ~600 MB cap every Java candidate was a
# runtime error before).
HARNESS_VERSION = 6
RUNNER_KINDS = ("function", "stdin", "project")  # the kinds this runner grades (method/script: execute/grade.py)
DRIVERS_DIR = Path(__file__).resolve().parent / "drivers"
TRIM = 2000  # characters of stdout/stderr/compile log kept in a result
TRIM_VALUE = 300  # characters of an input/expected/got value kept in a failure record


@dataclass(frozen=True)
class ExecConfig:
    """Limits and batching knobs. ``run`` limits apply per sample (all its tests), ``build`` per build."""

    run: Limits = field(default_factory=Limits)
    build: Limits = field(default_factory=lambda: Limits(wall_s=120.0, memory_mb=4096, pids=512, fsize_mb=1024,
                                                         nofile=4096, tmpfs_mb=512))
    build_s_per_unit: float = 1.0  # extra build wall time per candidate in a batch
    # A batch build that runs out of time changes no verdict: its candidates are built again in smaller
    # groups and, at the end, alone under the limit above. So once a language has built in a call, its
    # batches are held to max(floor, factor × the median of its finished builds so far): a compiler
    # stall costs seconds instead of minutes. The first builds keep the full limit (a cold Go build
    # cache compiles the standard library, 50–100 s); the median forgets them, and a slow batch too.
    batch_build_floor_s: float = 20.0
    batch_build_factor: float = 4.0
    batch_size: int | None = None  # None: the language's batch_limit


@dataclass
class Outcome:
    """The evaluation of one sample, before it becomes a Result record."""

    verdict: Verdict
    tests_passed: int
    tests_total: int
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict.value, "tests_passed": self.tests_passed,
                "tests_total": self.tests_total, "detail": self.detail}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Outcome:
        return cls(Verdict(obj["verdict"]), obj["tests_passed"], obj["tests_total"], obj.get("detail", {}))


def trim(text: str | bytes, limit: int = TRIM) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if len(text) <= limit:
        return text
    return text[: limit // 2] + f"\n…[{len(text) - limit} characters trimmed]…\n" + text[-limit // 2:]


def _trim_value(v: Any) -> Any:
    s = json.dumps(v, ensure_ascii=False)
    return v if len(s) <= TRIM_VALUE else s[:TRIM_VALUE] + "…"


# ---- process fate → verdict ---------------------------------------------------------------------

_MEMORY_PATTERNS = re.compile(
    r"out of memory|OutOfMemoryError|MemoryError|memory allocation of \d+ bytes failed|std::bad_alloc"
    r"|Cannot allocate memory|heap out of memory|Allocation failed", re.I)


def fate(proc: ProcResult) -> tuple[Verdict, str]:
    """Why a process stopped before its driver finished: the verdict and a short reason."""
    if proc.launch_error:
        return Verdict.HARNESS_ERROR, f"could not start: {proc.launch_error}"
    if proc.killed_reason == "output_limit":
        return Verdict.OUTPUT_LIMIT, "output exceeded the cap"
    if proc.pids_limited:
        return Verdict.SANDBOX_VIOLATION, "process limit reached (fork bomb?)"
    if proc.signal in (signal.SIGSYS, signal.SIGXFSZ):
        return Verdict.SANDBOX_VIOLATION, f"killed by {signal.Signals(proc.signal).name}"
    if proc.oom or _MEMORY_PATTERNS.search(proc.stderr.decode("utf-8", "replace")):
        return Verdict.MEMORY_LIMIT, "memory limit exceeded"
    if proc.timed_out or proc.killed_reason == "candidate_timeout" or proc.signal == signal.SIGXCPU:
        return Verdict.TIMEOUT, "time limit exceeded"
    if proc.signal is not None:
        return Verdict.RUNTIME_ERROR, f"killed by {signal.Signals(proc.signal).name}"
    if proc.returncode == 121:
        return Verdict.HARNESS_ERROR, "could not join the cgroup"
    return Verdict.RUNTIME_ERROR, f"exited with status {proc.returncode} before finishing the tests"


# ---- the driver's channel -----------------------------------------------------------------------


class Tracker:
    """Parses the channel's lines as they stream in; enforces a per-candidate deadline in batches.

    A line is ``<token> <json>``; it counts only if the token is the one drawn for the candidate the
    JSON names, and only in sequence: the supervisor's ``{"b": k}`` for the next candidate in
    ``order`` (none running), then that candidate's test lines and its driver's ``{"e": k}``, then the
    supervisor's ``{"x": k, …}`` (its process's exit). Rejected lines are counted, and the candidate
    running when one arrived (between candidates: the one before and the one after) is *tainted*: a
    partial line written to fd 3 can swallow a real one, so a tainted candidate's batch verdict is
    not trusted.
    """

    def __init__(self, per_candidate_s: float | None, tokens: dict[int, str] | None = None,
                 order: Sequence[int] | None = None):
        self.per_candidate_s = per_candidate_s
        self.tokens = {k: t.encode() for k, t in (tokens or {}).items()}
        self.order = list(order) if order is not None else list(self.tokens)
        self.events: dict[int, list[dict[str, Any]]] = {}
        self.started: list[int] = []
        self.ended: set[int] = set()  # its driver finished its tests
        self.exits: dict[int, dict[str, Any]] = {}  # its process ended: the supervisor's report
        self.begin_time: dict[int, float] = {}
        self.end_time: dict[int, float] = {}
        self.current: int | None = None
        self.last_ended: int | None = None
        self.rejected = 0
        self.tainted: set[int] = set()
        self._taint_next = False
        self._seen: set[tuple[Any, ...]] = set()

    def _reject(self) -> None:
        self.rejected += 1
        if self.current is not None:
            self.tainted.add(self.current)
            return
        if self.last_ended is not None:
            self.tainted.add(self.last_ended)
        self._taint_next = True

    def feed(self, raw: bytes) -> None:
        token, _, body = raw.partition(b" ")
        try:
            ev = json.loads(body.decode("utf-8", errors="replace"))
            if not isinstance(ev, dict):
                raise TypeError("not an object")
            tag = next(t for t in ("b", "e", "x", "k") if t in ev)
            k = int(ev[tag])
        except (ValueError, TypeError, KeyError, OverflowError, StopIteration):  # JSONDecodeError is a ValueError
            self._reject()
            return
        expected = self.tokens.get(k)
        if expected is None or not secrets.compare_digest(token, expected):
            self._reject()
            return
        # In sequence: a line for anyone but the running candidate, or a begin out of turn, is not
        # the supervisor's or that candidate's driver's.
        if tag == "b":
            nxt = len(self.started)
            if self.current is not None or nxt >= len(self.order) or self.order[nxt] != k:
                self._reject()
                return
        elif self.current != k:
            self._reject()
            return
        now = time.monotonic()
        # A genuine line seen twice was read off the pipe by someone else (/proc/self/fd/3 reopened)
        # and written back: the candidate's lines are no longer known to be all the driver's.
        seen = (tag, k) if tag != "k" else ("t", k, repr(ev.get("t", ev.get("s"))))
        if seen in self._seen:
            self.tainted.add(k)
        self._seen.add(seen)
        if tag == "b":
            self.started.append(k)
            self.begin_time[k] = now
            self.current = k
            if self._taint_next:
                self.tainted.add(k)
                self._taint_next = False
        elif tag == "e":
            self.ended.add(k)
            self.end_time[k] = now
        elif tag == "x":
            self.exits[k] = ev
            self.current = None
            self.last_ended = k
        else:
            self.events.setdefault(k, []).append(ev)

    def exited_cleanly(self, k: int) -> bool:
        """Its process ended with status 0 (not by a signal) after its driver finished."""
        x = self.exits.get(k)
        return k in self.ended and x is not None and x.get("c") == 0 and x.get("g") is None

    def check(self) -> str | None:
        if self.per_candidate_s is None or self.current is None:
            return None
        if time.monotonic() - self.begin_time[self.current] > self.per_candidate_s:
            return "candidate_timeout"
        return None

    def elapsed(self, k: int) -> float | None:
        if k in self.begin_time and k in self.end_time:
            return round(self.end_time[k] - self.begin_time[k], 4)
        return None


def outcome_from_events(events: list[dict[str, Any]], tests: Sequence[Any], expected: Sequence[Any],
                        finished: bool, proc: ProcResult | None) -> Outcome:
    """Per-test verdicts from the driver's events; tests never reached take the process's fate."""
    n = len(expected)
    by_test: dict[int, dict[str, Any]] = {}
    for ev in events:
        status = ev.get("s")
        if status == "ce":
            return Outcome(Verdict.COMPILE_ERROR, 0, n, {"compile_log": trim(str(ev.get("m", "")))})
        if status in ("loaderr", "loadmem"):
            v = Verdict.MEMORY_LIMIT if status == "loadmem" else Verdict.RUNTIME_ERROR
            return Outcome(v, 0, n, {"error": trim(str(ev.get("m", ""))), "test_verdicts": [v.value] * n})
        if "t" in ev:
            by_test[int(ev["t"])] = ev
    verdicts: list[Verdict] = []
    failure: dict[str, Any] | None = None
    for i in range(n):
        ev = by_test.get(i)
        if ev is None:
            break
        status = ev.get("s")
        if status == "ok":
            v = Verdict.PASS if values_equal(ev.get("v"), expected[i]) else Verdict.WRONG_ANSWER
        elif status == "mem":
            v = Verdict.MEMORY_LIMIT
        elif status == "bad":
            v = Verdict.WRONG_ANSWER
        else:
            v = Verdict.RUNTIME_ERROR
        verdicts.append(v)
        if v is not Verdict.PASS and failure is None:
            failure = {"test": i, "input": _trim_value(list(tests[i])), "expected": _trim_value(expected[i])}
            if status == "ok":
                failure["got"] = _trim_value(ev.get("v"))
            else:
                failure["error"] = trim(str(ev.get("m", "")), TRIM_VALUE)
    detail: dict[str, Any] = {}
    if len(verdicts) < n:
        if finished or proc is None:
            v, why = Verdict.HARNESS_ERROR, "the driver skipped tests"
        else:
            v, why = fate(proc)
        verdicts.append(v)
        if failure is None:
            failure = {"test": len(verdicts) - 1, "input": _trim_value(list(tests[len(verdicts) - 1])),
                       "expected": _trim_value(expected[len(verdicts) - 1]), "error": why}
    passed = sum(v is Verdict.PASS for v in verdicts)
    first_bad = next((v for v in verdicts if v is not Verdict.PASS), Verdict.PASS)
    detail["test_verdicts"] = [v.value for v in verdicts]
    detail["compare"] = VALUES
    if failure is not None:
        detail["failure"] = failure
    return Outcome(first_bad, passed, n, detail)


# ---- building and running in a workdir ----------------------------------------------------------


@dataclass
class Ctx:
    """What every job of one evaluate_samples call shares."""

    cfg: ExecConfig
    layers: Layers
    toolchain_cache: Path
    tmp_root: Path
    build_s: dict[str, list[float]] = field(default_factory=dict)  # per language: its finished builds
    lock: threading.Lock = field(default_factory=threading.Lock)

    def batch_build_s(self, lang: str, configured: float) -> float:
        """The wall limit of a batch build of ``lang`` (a single candidate's is always ``configured``)."""
        with self.lock:
            seen = list(self.build_s.get(lang, ()))
        if not seen:
            return configured
        typical = statistics.median(seen)
        return min(configured, max(self.cfg.batch_build_floor_s, self.cfg.batch_build_factor * typical))

    def built(self, lang: str, wall_s: float) -> None:
        with self.lock:
            self.build_s.setdefault(lang, []).append(wall_s)


def _write_files(workdir: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = workdir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def _new_workdir(ctx: Ctx, tag: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=ctx.tmp_root))


def _build(ctx: Ctx, lang: Language, cmds: list[list[str]], workdir: Path, n_units: int) -> ProcResult | None:
    """Run the build commands; None when there is nothing to build, else the first failure or the last.
    A batch (``n_units`` > 1) may get less time than configured: see ExecConfig.batch_build_floor_s."""
    wall = ctx.cfg.build.wall_s + ctx.cfg.build_s_per_unit * n_units
    if n_units > 1:
        wall = ctx.batch_build_s(lang.name, wall)
    limits = replace(ctx.cfg.build, wall_s=wall, cpu_s=wall)
    res = None
    spent = 0.0
    for cmd in cmds:
        res = sandbox.run(cmd, workdir, limits, work_writable=True, ro_paths=lang.toolchain_paths(),
                          mounts=lang.cache_mounts(ctx.toolchain_cache), env=lang.jail_env(), layers=ctx.layers)
        spent += res.wall_s
        if res.timed_out:
            return res
        if not res.ok:
            break
    if res is not None:
        ctx.built(lang.name, spent)  # a finished build, failed or not: how long this compiler takes
    return res


def _build_log(res: ProcResult) -> str:
    text = (res.stdout + res.stderr).decode("utf-8", errors="replace")
    if res.timed_out:
        text += "\n[the compiler ran out of time]"
    return text


def _run_program(ctx: Ctx, lang: Language, argv: list[str], workdir: Path, limits: Limits,
                 tracker: Tracker | None = None, stdin: bytes | None = None,
                 extra_ro: Sequence[str] = ()) -> ProcResult:
    if limits.data_mb is None:
        limits = replace(limits, data_mb=lang.run_data_mb(limits.memory_mb))
    return sandbox.run(argv, workdir, limits, ro_paths=[*lang.toolchain_paths(), *extra_ro], env=lang.jail_env(),
                       stdin=stdin, channel=tracker is not None,
                       on_channel_line=tracker.feed if tracker else None,
                       should_kill=tracker.check if tracker else None, layers=ctx.layers)


SUPERVISOR = "hrmsup.py"  # written beside every function program (see drivers/hrmsup.py)


def supervisor_command(layers: Layers, lang: Language, keys: Sequence[int], memory_mb: int) -> list[str]:
    """The jail's command line: the supervisor, running each of ``keys`` in a process of its own."""
    opts = ["--keys", ",".join(map(str, keys))]
    if layers.mode != "rlimits-only":
        opts.insert(0, "--pidns")  # the jail has its own pid namespace: kill(-1) reaches only it
    if layers.private_tmp:
        opts += ["--scratch", "/tmp"]
    py = sandbox.python_for_jail()
    if lang.fork_driver:
        # The same interpreter flags Python candidates always had (site included: exit() exists).
        return [py, "-I", "-B", SUPERVISOR, *opts, "--fork", lang.fork_driver]
    return [py, "-I", "-S", "-B", SUPERVISOR, *opts, "--", *lang.candidate_command(memory_mb)]


@dataclass
class FnJob:
    """One typed-function candidate to evaluate (its key is unique within the call)."""

    unit: FunctionUnit
    expected: list[Any]


def _compile_error(job: FnJob, log_text: str, mode: str) -> Outcome:
    n = len(job.expected)
    return Outcome(Verdict.COMPILE_ERROR, 0, n, {"compile_log": trim(log_text), "mode": mode})


def evaluate_function_group(ctx: Ctx, lang: Language, jobs: list[FnJob], *, isolated: bool = False,
                            split: bool = False) -> dict[int, Outcome]:
    """Evaluate candidates of one language; a group of one is an isolated run. ``split``: this group
    is part of a batch whose build ran out of time (if its own does too, each candidate is built alone)."""
    if len(jobs) == 1:
        isolated = True
    results: dict[int, Outcome] = {}
    alone: list[FnJob] = []
    pending = list(jobs)
    while pending:
        workdir = _new_workdir(ctx, f"{lang.name}-fn")
        try:
            units = [j.unit for j in pending]
            _write_files(workdir, {**lang.render_function_program(units), SUPERVISOR: supervisor_source()})
            built = _build(ctx, lang, lang.build_commands(units), workdir, len(units))
            if built is not None and not built.ok:
                text = _build_log(built)
                if len(pending) == 1:
                    results[pending[0].unit.key] = _compile_error(pending[0], text, "isolated")
                    break
                if built.timed_out:
                    # A candidate stalls the compiler (e.g. a generated `std::string(std::string(…`
                    # 30 deep: minutes of GCC's tentative parsing). Groups of ~√n are built next and
                    # a group that runs out of time builds each of its candidates alone, so the stall
                    # costs three time-outs (two of them short, see ExecConfig.batch_build_floor_s)
                    # and ~2√n builds, where halving cost one time-out per level.
                    log.info("%s batch build of %d candidates ran out of time (%.0f s)", lang.name,
                             len(pending), built.wall_s)
                    if split or len(pending) <= 4:
                        alone += pending
                        break
                    size = math.ceil(math.sqrt(len(pending)))
                    for a in range(0, len(pending), size):
                        results.update(evaluate_function_group(ctx, lang, pending[a:a + size], split=True))
                    break
                named = lang.error_keys(text) & {j.unit.key for j in pending}
                if named:
                    alone += [j for j in pending if j.unit.key in named]
                    pending = [j for j in pending if j.unit.key not in named]
                    log.debug("%s batch build failed; %d candidates set aside", lang.name, len(named))
                    continue
                # Nobody named: split, so one culprit costs log2(n) builds.
                half = len(pending) // 2
                for part in (pending[:half], pending[half:]):
                    results.update(evaluate_function_group(ctx, lang, part))
                break
            if len(pending) > 1:
                # Code that would run in a batch-mate's process is built alone, before anything runs.
                invasive = lang.invasive_keys(workdir, units)
                if invasive is None:
                    half = len(pending) // 2
                    for part in (pending[:half], pending[half:]):
                        results.update(evaluate_function_group(ctx, lang, part))
                    break
                invasive &= {j.unit.key for j in pending}
                if invasive:
                    alone += [j for j in pending if j.unit.key in invasive]
                    pending = [j for j in pending if j.unit.key not in invasive]
                    log.debug("%s batch: %d candidates with code outside their own process set aside",
                              lang.name, len(invasive))
                    continue
            compile_log = _build_log(built) if built is not None else ""
            done, suspects = _run_built(ctx, lang, workdir, pending, isolated=isolated)
            for k, out in done.items():
                out.detail.setdefault("mode", "isolated" if isolated else "batched")
                if compile_log.strip() and isolated:
                    out.detail.setdefault("compile_log", trim(compile_log))
                results[k] = out
            alone += suspects
            break
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    for job in alone:
        results.update(evaluate_function_group(ctx, lang, [job], isolated=True))
    return results


def _run_built(ctx: Ctx, lang: Language, workdir: Path, jobs: list[FnJob], *,
               isolated: bool) -> tuple[dict[int, Outcome], list[FnJob]]:
    """Run a built program over its candidates; returns accepted outcomes and the candidates to isolate."""
    by_key = {j.unit.key: j for j in jobs}
    remaining = [j.unit.key for j in jobs]
    results: dict[int, Outcome] = {}
    suspects: list[FnJob] = []
    run = ctx.cfg.run
    while remaining:
        n = len(remaining)
        # A batch gets each candidate's budget (plus start-up); each candidate is held to its own.
        limits = run if isolated else replace(
            run, wall_s=run.wall_s * n + 5, cpu_s=(run.cpu_s or run.wall_s) * n + 5,
            stdout_bytes=run.stdout_bytes * n, stderr_bytes=run.stderr_bytes * n)
        # Fresh tokens per process: one candidate's, once seen, is worth nothing in the next run.
        tokens = {k: secrets.token_hex(16) for k in remaining}
        tracker = Tracker(None if isolated else run.wall_s, tokens, remaining)
        proc = _run_program(ctx, lang, supervisor_command(ctx.layers, lang, remaining, run.memory_mb), workdir,
                            limits, tracker, stdin="".join(f"{k} {tokens[k]}\n" for k in remaining).encode(),
                            extra_ro=sandbox.python_paths())
        if isolated:
            k = remaining[0]
            job = by_key[k]
            out = outcome_from_events(tracker.events.get(k, []), job.unit.tests, job.expected,
                                      k in tracker.ended, proc)
            if k not in tracker.started and not proc.ok:
                v, why = fate(proc)
                out = Outcome(v, 0, len(job.expected), {"error": why, "test_verdicts": [v.value]})
            out.detail.update(_proc_detail(proc))
            if tracker.rejected:
                out.detail["channel_rejected_lines"] = tracker.rejected
            results[k] = out
            return results, suspects
        # Output is not attributable to one candidate in a shared process: more than one
        # candidate's cap in total sends everyone in this run to an isolated re-run.
        flooded = (len(proc.stdout) > run.stdout_bytes or len(proc.stderr) > run.stderr_bytes
                   or proc.killed_reason == "output_limit")
        for k in tracker.started:
            if k not in by_key:
                continue
            job = by_key[k]
            events = tracker.events.get(k, [])
            clean = tracker.exited_cleanly(k) and not flooded and k not in tracker.tainted and not any(
                ev.get("s") in ("mem", "loadmem") for ev in events)
            if clean:
                out = outcome_from_events(events, job.unit.tests, job.expected, True, proc)
                out.detail["time_s"] = tracker.elapsed(k)
                results[k] = out
            elif (proc.killed_reason == "candidate_timeout" and k == tracker.current and not flooded
                  and k not in tracker.tainted
                  and not any(ev.get("s") in ("mem", "loadmem") for ev in events)):
                # It overran its own budget, which in a batch includes its process's start-up: alone
                # it would time out as well, so the verdict stands and the second wait is saved. Its
                # fate is the timeout alone: the jail's memory and pids counters are the whole batch's.
                timed_out = replace(proc, timed_out=True, killed_reason=None, oom=False, pids_limited=False,
                                    signal=None, stderr=b"", launch_error=None)
                out = outcome_from_events(events, job.unit.tests, job.expected, False, timed_out)
                out.detail["time_s"] = run.wall_s
                results[k] = out
            else:
                suspects.append(job)
        started = set(tracker.started)
        rest = [k for k in remaining if k not in started]
        if len(rest) == len(remaining):
            # The program started nobody: a broken run (e.g. the runtime failed to start) → isolate all.
            log.debug("%s batch run made no progress: %s", lang.name, trim(proc.stderr, 300))
            suspects += [by_key[k] for k in rest]
            break
        if proc.ok and rest:
            suspects += [by_key[k] for k in rest]  # the driver exited early although nothing failed
            break
        remaining = rest
    return results, suspects


@functools.cache
def supervisor_source() -> str:
    return Language.driver_source(SUPERVISOR)


def _proc_detail(proc: ProcResult) -> dict[str, Any]:
    d: dict[str, Any] = {"time_s": round(proc.wall_s, 4)}
    if proc.peak_memory_mb is not None:
        d["peak_memory_mb"] = round(proc.peak_memory_mb, 1)
    if proc.stdout:
        d["stdout"] = trim(proc.stdout)
    if proc.stderr:
        d["stderr"] = trim(proc.stderr)
    return d


# ---- stdin programs and project tests -----------------------------------------------------------


def evaluate_stdin(ctx: Ctx, lang: Language, task: Task, solution: str) -> Outcome:
    """A whole program per test: stdin in, stdout compared line by line (exact or tolerant-numeric)."""
    mode = str(task.meta.get("compare", "exact"))
    n = len(task.tests)
    workdir = _new_workdir(ctx, f"{lang.name}-stdin")
    try:
        files = lang.render_stdin_program(solution)
        _write_files(workdir, files)
        built = _build(ctx, lang, lang.stdin_build_commands(files), workdir, 1)
        if built is not None and not built.ok:
            return Outcome(Verdict.COMPILE_ERROR, 0, n, {"compile_log": trim(_build_log(built)), "mode": "isolated"})
        verdicts: list[Verdict] = []
        detail: dict[str, Any] = {"mode": "isolated", "compare": mode}
        total_time = 0.0
        peak = 0.0
        for i, tc in enumerate(task.tests):
            proc = _run_program(ctx, lang, lang.stdin_run_command(files, ctx.cfg.run.memory_mb), workdir,
                                ctx.cfg.run, stdin=str(tc.input).encode())
            total_time += proc.wall_s
            peak = max(peak, proc.peak_memory_mb or 0.0)
            if proc.ok:
                got = proc.stdout.decode("utf-8", errors="replace")
                v = Verdict.PASS if compare_stdout(got, str(tc.output), mode) else Verdict.WRONG_ANSWER
                why = ""
            else:
                v, why = fate(proc)
            verdicts.append(v)
            if v is not Verdict.PASS and "failure" not in detail:
                detail["failure"] = {"test": i, "input": trim(str(tc.input), TRIM_VALUE),
                                     "expected": trim(str(tc.output), TRIM_VALUE),
                                     "got": trim(proc.stdout, TRIM_VALUE), **({"error": why} if why else {})}
                if proc.stderr:
                    detail["stderr"] = trim(proc.stderr)
        detail.update({"test_verdicts": [v.value for v in verdicts], "time_s": round(total_time, 4),
                       "peak_memory_mb": round(peak, 1) if peak else None})
        first_bad = next((v for v in verdicts if v is not Verdict.PASS), Verdict.PASS)
        return Outcome(first_bad, sum(v is Verdict.PASS for v in verdicts), n, detail)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class ProjectError(ValueError):
    """A project task that cannot be set up; the message names the task and the field."""


def confined(workdir: Path, rel: Any, field: str) -> Path:
    """``workdir / rel`` for a relative path that stays inside ``workdir``; ProjectError naming
    ``field`` otherwise (absolute, ``..``, empty, or through a symlink that leads out)."""
    if not isinstance(rel, str) or not rel or "\0" in rel:
        raise ProjectError(f"{field}: {rel!r} is not a file path")
    if Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise ProjectError(f"{field}: {rel!r} is not a relative path inside the work directory")
    root = workdir.resolve()
    target = (workdir / rel).resolve()
    if target == root or root not in target.parents:
        raise ProjectError(f"{field}: {rel!r} leads outside the work directory")
    return target


def _write_project(workdir: Path, spec: dict[str, Any], solution: str) -> None:
    """The project's files and the solution, each confined to the workdir before anything is written."""
    files = spec.get("files", {})
    if not isinstance(files, dict):
        raise ProjectError(f"meta.project.files: expected an object of relative path → text, got {type(files).__name__}")
    writes = [(confined(workdir, rel, f"meta.project.files[{rel!r}]"), text) for rel, text in files.items()]
    writes.append((confined(workdir, spec["solution_path"], "meta.project.solution_path"), solution))
    for path, text in writes:
        if not isinstance(text, str):
            raise ProjectError(f"meta.project.files: the text of {path.relative_to(workdir.resolve())} is not a string")
    for path, text in writes:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def evaluate_project(ctx: Ctx, lang: Language, task: Task, solution: str) -> Outcome:
    """A directory with its own test command (Polyglot): pass iff the test command exits 0.

    ``task.meta["project"]`` (the format the Polyglot adapter writes):

    * ``dir`` — a directory copied into the workdir first (optional);
    * ``files`` — ``{relative path: text}`` written on top of it (optional: tests, helpers);
    * ``solution_path`` — where the sample's ``solution`` is written (required);
      these paths must stay inside the workdir (no absolute path, no ``..``): a harness_error names
      the field otherwise, and nothing is written;
    * ``build`` — argv run first (optional); a non-zero exit is a compile_error;
    * ``test`` — argv (required); exit 0 is pass, another exit status wrong_answer, a timeout,
      memory kill, output flood or fork bomb their own verdicts;
    * ``timeout_s`` — wall limit of each step (default: the build limit), ``env`` — extra
      environment (e.g. ``{"GOFLAGS": "-count=1"}``).

    Both commands run in the jail with the workdir writable (at /w) and the language's ``jail_env``
    (its toolchain on PATH). Test commands run candidate code, so toolchain caches (Go's build
    cache) are a private copy per job: a candidate can never poison what later builds reuse.
    """
    spec = task.meta.get("project")
    if not isinstance(spec, dict) or "test" not in spec or "solution_path" not in spec:
        return Outcome(Verdict.HARNESS_ERROR, 0, 1, {"error": f"task {task.task_id}: meta.project needs test "
                                                              "and solution_path"})
    workdir = _new_workdir(ctx, f"{lang.name}-project")
    private = _new_workdir(ctx, f"{lang.name}-project-cache")
    try:
        if spec.get("dir"):
            shutil.copytree(spec["dir"], workdir, dirs_exist_ok=True)
        try:
            _write_project(workdir, spec, solution)
        except ProjectError as e:
            return Outcome(Verdict.HARNESS_ERROR, 0, 1, {"error": f"task {task.task_id}: {e}"})
        detail: dict[str, Any] = {"mode": "isolated"}
        limits = replace(ctx.cfg.build, wall_s=float(spec.get("timeout_s", ctx.cfg.build.wall_s)),
                         cpu_s=float(spec.get("timeout_s", ctx.cfg.build.wall_s)))
        env = {**lang.jail_env(), **spec.get("env", {})}
        mounts = []
        for i, m in enumerate(lang.cache_mounts(ctx.toolchain_cache)):
            copy = private / str(i)
            shutil.copytree(m.host, copy, symlinks=True)
            mounts.append(sandbox.Mount(str(copy), m.jail, writable=True))
        for step in ("build", "test"):
            if not spec.get(step):
                continue
            proc = sandbox.run(list(spec[step]), workdir, limits, work_writable=True, ro_paths=lang.toolchain_paths(),
                               mounts=mounts, env=env, layers=ctx.layers)
            detail[f"{step}_output"] = trim(proc.stdout + proc.stderr)
            detail["time_s"] = round(detail.get("time_s", 0.0) + proc.wall_s, 4)
            if proc.peak_memory_mb is not None:
                detail["peak_memory_mb"] = round(max(proc.peak_memory_mb, detail.get("peak_memory_mb", 0.0)), 1)
            if proc.ok:
                continue
            clean_exit = (proc.returncode not in (0, None) and proc.signal is None and not proc.timed_out
                          and not proc.oom and not proc.killed_reason and not proc.pids_limited)
            if step == "build" and clean_exit:
                return Outcome(Verdict.COMPILE_ERROR, 0, 1, {**detail, "compile_log": detail.pop("build_output")})
            if clean_exit:
                return Outcome(Verdict.WRONG_ANSWER, 0, 1, detail)
            v, why = fate(proc)
            return Outcome(v, 0, 1, {**detail, "error": why})
        return Outcome(Verdict.PASS, 1, 1, detail)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)


# ---- the public entry point -----------------------------------------------------------------------


@functools.cache
def source_digest(path: str) -> str:
    """One source file's bytes, hashed once per process (for cache keys: its change is a change of verdicts)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def rules_digest() -> str:
    """The comparison rules' source (execute/compare.py)."""
    return source_digest(compare.__file__)


def cache_key(task: Task, sample: Sample, cfg: ExecConfig, mode: str) -> str:
    """What an outcome depends on: the code, the task (a project's directory by its contents, not its
    path), the limits, the jail (``mode``: bwrap or a degraded path) and the driver that ran it (its
    files in execute/drivers and the language file that renders it)."""
    project = task.meta.get("project")
    if isinstance(project, dict) and project.get("dir"):
        project = {**project, "dir": tree_digest(Path(project["dir"]))}
    payload = {
        "v": HARNESS_VERSION, "lang": sample.language, "kind": task.kind, "solution": sample.solution,
        "tests": [t.model_dump(mode="json") for t in task.tests],
        "signature": task.signature.model_dump(mode="json") if task.signature else None,
        "meta": {"compare": task.meta.get("compare"), "project": project},
        "limits": repr(cfg.run), "sandbox": mode, "driver": driver_digest(sample.language),
        "rules": rules_digest(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@functools.cache
def driver_digest(language: str) -> str:
    """The drivers' and the language file's source, hashed once per process."""
    h = hashlib.sha256()
    lang = LANGUAGES.get(language)
    sources = sorted(DRIVERS_DIR.iterdir()) + ([Path(inspect.getfile(type(lang)))] if lang else [])
    for path in sources:
        if path.is_file():
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def tree_digest(root: Path) -> str:
    """The contents of a directory (relative paths, symlink targets, file bytes); missing: its path."""
    if not root.is_dir():
        return f"missing:{root}"
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix().encode()
        if path.is_symlink():
            h.update(b"L" + rel + b"\0" + os.readlink(path).encode() + b"\0")
        elif path.is_file():
            h.update(b"F" + rel + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        elif path.is_dir():
            h.update(b"D" + rel + b"\0")
    return h.hexdigest()


class ResultCache:
    """Outcomes by code hash on disk (one small JSON file each, written atomically)."""

    def __init__(self, root: Path | None):
        self.root = root / "results" if root else None

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Outcome | None:
        if self.root is None:
            return None
        try:
            return Outcome.from_json(json.loads(self._path(key).read_text()))
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key: str, out: Outcome) -> None:
        # Timeouts depend on the machine's load and harness errors on its state: never cached.
        if self.root is None or out.verdict in (Verdict.TIMEOUT, Verdict.HARNESS_ERROR):
            return
        # Temp file + rename, without an fsync: an entry a crash loses or truncates reads as a miss
        # (get) and is evaluated again. An fsync per sample cost ~4 ms each on the thread that
        # collects results, i.e. a second per 300 fast samples.
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(out.to_json(), fh)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def toolchain_cache_dir(cache_dir: Path | None, mode: str) -> Path:
    """The toolchain caches (Go's build cache…) for one jail mode, created if missing.

    One per mode: the degraded path (as root) hands its writable mounts to the real nobody, while
    bubblewrap maps root to the jail's uid; a cache one of them filled is read-only to the other,
    and Go then silently rebuilds every package every time.
    """
    path = (cache_dir or default_cache_dir()) / "toolchains" / mode
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "hrmcode" / "exec"


def _function_unit(key: int, task: Task, sample: Sample) -> FnJob:
    sig = task.signature
    assert sig is not None
    params = tuple((p.name, parse_type(p.type)) for p in sig.params)
    tests = []
    for i, tc in enumerate(task.tests):
        if not isinstance(tc.input, list) or len(tc.input) != len(params):
            raise ValueError(f"task {task.task_id}: tests[{i}].input must be a list of {len(params)} arguments")
        tests.append(tuple(tc.input))
    unit = FunctionUnit(key=key, solution=sample.solution, name=sig.name, params=params,
                        returns=parse_type(sig.returns), tests=tuple(tests))
    if LANGUAGES[sample.language].compiled:
        # The compiled drivers read their inputs from a file (64-bit ints): a value that cannot be
        # written there is this task's problem, found before it can fail a whole batch's build.
        try:
            encode_tests(unit)
        except ValueError as e:
            raise ValueError(f"task {task.task_id}: a test input does not fit the {sample.language} driver: {e}") from None
    return FnJob(unit, [tc.output for tc in task.tests])


def evaluate(tasks: Sequence[Task], samples: Sequence[Sample], *, batched: bool = True, workers: int | None = None,
             progress: Callable[[int, int], None] | None = None, cache_dir: Path | None = None,
             config: ExecConfig | None = None) -> list[Result]:
    """See :func:`hrmcode.execute.evaluate_samples`."""
    cfg = config or ExecConfig()
    layers = sandbox.detect_layers()
    workers = max(1, workers or len(os.sched_getaffinity(0)))
    by_id: dict[str, Task] = {}
    for t in tasks:
        if t.task_id in by_id:
            raise ValueError(f"duplicate task_id {t.task_id!r}")
        by_id[t.task_id] = t
    counters: dict[tuple[str, str], int] = {}
    sample_index = []
    for s in samples:
        key = (s.task_id, s.language)
        sample_index.append(counters.get(key, 0))
        counters[key] = counters.get(key, 0) + 1

    outcomes: list[Outcome | None] = [None] * len(samples)
    cache = ResultCache(cache_dir)
    toolchain_cache = toolchain_cache_dir(cache_dir, layers.mode)
    keys: list[str | None] = [None] * len(samples)
    first_of: dict[str, int] = {}  # identical (task, code) in one call: evaluated once
    fn_jobs: dict[str, list[FnJob]] = {}
    singles: list[int] = []
    done = 0
    total = len(samples)
    for i, s in enumerate(samples):
        task = by_id.get(s.task_id)
        if task is None:
            outcomes[i] = Outcome(Verdict.HARNESS_ERROR, 0, 0, {"error": f"unknown task_id {s.task_id!r}"})
            continue
        lang = LANGUAGES.get(s.language)
        if lang is None:
            outcomes[i] = Outcome(Verdict.HARNESS_ERROR, 0, len(task.tests), {"error": f"unknown language {s.language}"})
            continue
        if task.kind not in RUNNER_KINDS:
            outcomes[i] = Outcome(Verdict.HARNESS_ERROR, 0, len(task.tests), {
                "error": f"task {task.task_id}: a {task.kind} task is graded by the method/script driver "
                         "(hrmcode.execute.evaluate_samples routes every kind), not by the runner"})
            continue
        k = cache_key(task, s, cfg, layers.mode)
        keys[i] = k
        hit = cache.get(k)
        if hit is not None:
            hit.detail["mode"] = "cache"
            outcomes[i] = hit
            continue
        if k in first_of:
            continue
        first_of[k] = i
        if task.kind == "function":
            if task.signature is None:
                outcomes[i] = Outcome(Verdict.HARNESS_ERROR, 0, len(task.tests),
                                      {"error": f"task {task.task_id}: a function task needs a signature"})
                continue
            try:
                job = _function_unit(i, task, s)
            except ValueError as e:
                outcomes[i] = Outcome(Verdict.HARNESS_ERROR, 0, len(task.tests), {"error": str(e)})
                continue
            fn_jobs.setdefault(s.language, []).append(job)
        else:
            singles.append(i)
    done = sum(o is not None for o in outcomes)
    if progress:
        progress(done, total)

    tmp_root = Path(tempfile.mkdtemp(prefix="hrmcode-exec-"))
    ctx = Ctx(cfg, layers, toolchain_cache, tmp_root)
    work: list[tuple[str, Any]] = []
    for lang_name, jobs in fn_jobs.items():
        lang = LANGUAGES[lang_name]
        if not batched:
            work += [("fn", (lang, [j], True)) for j in jobs]
            continue
        solo = [j for j in jobs if not lang.batchable(j.unit.solution)]
        group = [j for j in jobs if lang.batchable(j.unit.solution)]
        work += [("fn", (lang, [j], True)) for j in solo]
        if group:
            limit = cfg.batch_size or lang.batch_limit
            n_batches = max(math.ceil(len(group) / limit), min(workers, len(group)))
            # A multiple of the workers, so the last round of builds keeps every core busy
            # (300 candidates on 2 cores: 6 batches of 50, not 5 of 60 with one core idle at the end).
            n_batches = min(len(group), math.ceil(n_batches / workers) * workers)
            size = math.ceil(len(group) / n_batches)
            work += [("fn", (lang, group[a:a + size], False)) for a in range(0, len(group), size)]
    work += [("single", i) for i in singles]
    # Compiled languages' batches first: they are the long poles of the pool.
    work.sort(key=lambda w: 0 if w[0] == "fn" and w[1][0].compiled else 1)

    def do(item: tuple[str, Any]) -> dict[int, Outcome]:
        kind, arg = item
        if kind == "fn":
            lang, jobs, iso = arg
            try:
                return evaluate_function_group(ctx, lang, jobs, isolated=iso)
            except Exception as e:  # a harness bug must not take the other samples down
                log.exception("harness error on a %s batch", lang.name)
                return {j.unit.key: Outcome(Verdict.HARNESS_ERROR, 0, len(j.expected), {"error": repr(e)}) for j in jobs}
        s = samples[arg]
        task = by_id[s.task_id]
        lang = LANGUAGES[s.language]
        try:
            if task.kind == "stdin":
                return {arg: evaluate_stdin(ctx, lang, task, s.solution)}
            return {arg: evaluate_project(ctx, lang, task, s.solution)}
        except Exception as e:
            log.exception("harness error on %s", s.task_id)
            return {arg: Outcome(Verdict.HARNESS_ERROR, 0, len(task.tests), {"error": repr(e)})}

    dup_count: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k is not None and outcomes[i] is None and first_of.get(k) != i:
            dup_count[k] = dup_count.get(k, 0) + 1
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(do, w) for w in work]
            for fut in as_completed(futures):
                for i, out in fut.result().items():
                    outcomes[i] = out
                    k = keys[i]
                    if k is not None:
                        cache.put(k, out)
                    done += 1 + dup_count.get(k or "", 0)
                if progress:
                    progress(done, total)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)

    results = []
    for i, s in enumerate(samples):
        out = outcomes[i]
        if out is None:  # a duplicate of an earlier sample in this call
            k = keys[i]
            src = outcomes[first_of[k]] if k is not None and k in first_of else None
            out = Outcome(src.verdict, src.tests_passed, src.tests_total, dict(src.detail)) if src else Outcome(
                Verdict.HARNESS_ERROR, 0, 0, {"error": "not evaluated"})
            out.detail["duplicate_of_sample"] = first_of.get(k or "", -1)
        results.append(Result(task_id=s.task_id, language=s.language, sample_index=sample_index[i],
                              passed=out.verdict is Verdict.PASS, verdict=out.verdict,
                              tests_passed=out.tests_passed, tests_total=out.tests_total,
                              sandbox=layers.mode, **out.detail))
    return results
