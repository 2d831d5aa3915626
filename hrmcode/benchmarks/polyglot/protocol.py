"""Aider Polyglot, offline and without Docker: upstream's two-try protocol over a local checkout.

Library entry point (the CLI is a thin layer over it)::

    eval_polyglot(data, out_dir, *, source, languages=None, exercises=(), tries=2, timeout=180.0,
                  workers=None, progress=None, cache_dir=None, skip_bad=False, deps=(),
                  exclude_unavailable=False) -> summary dict

``source`` is where the edits come from:

* ``"reference"`` — the exercises' own reference solutions (``files.example``): the oracle check;
  one try (a deterministic oracle gains nothing from a second);
* ``"stubs"`` — the unedited stubs, one try: the check that the tests run at all (every stub
  must fail; one that passes is listed: its tests did not run, or the exercise is satisfied as given);
* a path to a samples JSONL file — any model's outputs, one record per exercise and try:
  ``{"task_id": "<lang>/<exercise>", "language": "<lang>", "attempt": 1|2, "solution": REPLY}``
  where REPLY is the model's raw reply in the whole-file format below; instead of ``solution``
  text a record may carry ``"files": {"<relative path>": "<content>"}`` (``solution`` then "");
  a reply without any fence is taken as the whole content of an exercise's only editable file;
* a callable ``edit(prompt_text: str, files: dict[str, str]) -> str`` — our model. It receives the
  prompt and the editable files' current contents (the model sees nothing else: no tests, no
  helpers) and returns its raw reply. On the second try ``prompt_text`` is the whole conversation
  as one text: the first message, then upstream's follow-up (the cleaned test output and the
  request to fix it), so a stateless model still has the instructions. Calls are serialized
  (one model, many exercise threads);
* a conversational editor (:class:`Conversational`, e.g. a backend from :mod:`hrmcode.backends`
  via :class:`hrmcode.benchmarks.polyglot.prompts.PolyglotEditor`) — ``converse(conversation, files)`` gets
  upstream's turns so far as chat messages (user, then assistant reply and user follow-up for each
  failed try), as aider sends them; with ``concurrent = True`` several exercises may ask at once.

The whole-file format (aider's ``whole`` edit format): each file the reply changes is the file's
path on its own line followed by a fenced block with the complete new content::

    leap.py
    ```python
    def leap_year(year): ...
    ```

A block without a file name is accepted when the exercise has exactly one editable file. A reply
with no usable block, or an unclosed fence, is *malformed* (upstream's well-formedness metric).

Per exercise (each on a fresh copy, in parallel): apply the try's edits; re-copy the test and
editor files from the pristine tree (a model cannot tamper with them); re-enable skipped tests;
resolve the libraries the exercise declares against what is offline (:mod:`hrmcode.languages.polyglot_deps`);
build, then run the language's test command in the sandbox
(the language's track, :mod:`hrmcode.benchmarks.polyglot.toolchains`) with a ``timeout`` per step (upstream: 180 s);
pass = exit status 0. Verdicts: ``pass``; ``wrong_answer`` (the tests ran and failed);
``compile_error`` (the build failed: its log is what the model sees next); ``timeout``;
``unavailable`` (a toolchain or a declared library is not offline here: named, reported apart,
left out of the pass rates with ``exclude_unavailable``); the sandbox's other verdicts. A failing
try's cleaned output is fed back for the next try. ``out_dir`` receives results.jsonl (one Result
per exercise, every try in ``tries``), summary.json (the common shape; upstream's metrics in its
``polyglot`` section: pass_rate_1/2, percent_cases_well_formed, syntax_errors, test_timeouts,
seconds_per_case…, also per language in ``polyglot_per_language``, plus compile_errors, the
unavailable exercises and the slowest ten) and report.md.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, runtime_checkable

from hrmcode.backends.base import Backend
from hrmcode.backends.cache import GenerationCache
from hrmcode.benchmarks.common import Progress, add_generation, default_cache, stage_progress
from hrmcode.benchmarks.polyglot.data import Exercise, load_exercises
from hrmcode.benchmarks.polyglot.prompts import PolyglotEditor
from hrmcode.benchmarks.polyglot.toolchains import (
    Toolchain,
    Toolchains,
    explain_build_failure,
    polyglot_limits,
    reenable_skipped,
    relpath_ok,
    tests_ran,
    track,
)
from hrmcode.evaluate.render import render_report
from hrmcode.evaluate.summary import build_summary
from hrmcode.execute import sandbox_layers
from hrmcode.execute.runner import Ctx, ExecConfig, default_cache_dir, evaluate_project, trim
from hrmcode.execute.sandbox import detect_layers
from hrmcode.generate import SamplingConfig
from hrmcode.languages import LANGUAGES
from hrmcode.languages.polyglot_deps import DECLARATION_FILES, OfflineDeps
from hrmcode.records import (
    RecordError,
    Result,
    Sample,
    Task,
    Verdict,
    atomic_write_json,
    atomic_write_text,
    read_jsonl,
    write_jsonl,
)

log = logging.getLogger(__name__)

EditFn = Callable[[str, dict[str, str]], str]
Message = dict[str, str]  # {"role": "user" | "assistant", "content": text}


@runtime_checkable
class Conversational(Protocol):
    """The hook for chat models: the conversation so far → the raw reply to the last user turn."""

    concurrent: bool

    def converse(self, conversation: list[Message], files: dict[str, str]) -> str: ...

TIMED_OUT_TEXT = "Tests timed out!"  # what upstream feeds back after a timeout
REPLY_KEEP = 4000  # characters of a model reply kept in results.jsonl

SLOWEST = 10  # exercises listed in the report's slowest table

# Where this harness departs from upstream, besides each language track's own (PolyglotTrack.deviations).
DEVIATIONS = (
    "every exercise is built, then tested (two sandboxed steps, each with the timeout): a build failure is a "
    "compile_error and its log is what the model sees; upstream runs one command",
    "test and editor files are re-copied before every run (upstream: test files only); .meta is not "
    "copied into the work directory",
    "each try runs on a fresh copy of the exercise (upstream reuses one directory across tries)",
    "the test output fed back is the sandbox's capture trimmed to its first and last 1000 characters",
    "seconds_per_case is wall time per exercise (model + tests); upstream times the model calls only",
    "a stateless model callable gets the conversation as one text on the second try",
)


def deviations() -> list[str]:
    """Every departure from upstream: each registered language track's, then the harness's own."""
    return [d for lang in LANGUAGES.values() if lang.polyglot for d in lang.polyglot.deviations] + list(DEVIATIONS)


_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+#.-]*)\s*$")
_TIME = re.compile(r"\bin \d+\.\d+s\b")


# ---- replies → edits ----------------------------------------------------------------------------


@dataclass
class Parsed:
    """The edits found in one reply."""

    edits: dict[str, str] = field(default_factory=dict)
    malformed: bool = False
    problems: list[str] = field(default_factory=list)


def _file_name(line: str) -> str:
    name = line.strip().strip("*`'\"").strip()
    name = re.sub(r"^(?:#+\s*|file(?:name)?:\s*)", "", name, flags=re.I).strip().strip("*`'\":").strip()
    return name if name and " " not in name else ""


def _resolve(name: str, editable: Sequence[str]) -> str | None:
    """A file name from a reply → the relative path it edits (editable files match by base name)."""
    norm = str(PurePosixPath(name.lstrip("./"))) if name else ""
    if norm in editable:
        return norm
    same = [f for f in editable if PurePosixPath(f).name == PurePosixPath(norm).name]
    if len(same) == 1:
        return same[0]
    return norm if norm and relpath_ok(norm) and ("." in PurePosixPath(norm).name) else None


def parse_whole_reply(reply: str, editable: Sequence[str], *, bare_is_file: bool = False) -> Parsed:
    """Edits from a whole-file reply (see the module docstring). ``bare_is_file``: a reply with no
    fence at all is the whole content of the only editable file (samples files of plain code)."""
    out = Parsed()
    lines = reply.splitlines()
    if bare_is_file and not any(_FENCE.match(ln) for ln in lines) and len(editable) == 1 and reply.strip():
        out.edits[editable[0]] = reply if reply.endswith("\n") else reply + "\n"
        return out
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence = m.group(1)
        prev = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        name = _file_name(prev) if i > 0 else ""
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == fence[0] * len(fence)
                    or (lines[j].strip().startswith(fence) and not lines[j].strip().strip(fence[0]))), None)
        if end is None:
            out.malformed = True
            out.problems.append(f"line {i + 1}: a fence that is never closed")
            break
        body = "\n".join(lines[i + 1:end]) + "\n"
        target = _resolve(name, editable) if name else None
        if target is None and len(editable) == 1 and not out.edits:
            target = editable[0]
        if target is None:
            out.problems.append(f"line {i + 1}: a block for no known file ({name or 'no file name'})")
        else:
            out.edits[target] = body
        i = end + 1
    if not out.edits:
        out.malformed = True
        if not out.problems:
            out.problems.append("no fenced block with a file's content")
    return out


def clean_output(text: str, exercise_name: str, workdirs: Sequence[str] = ()) -> str:
    """Upstream's cleaning: timings removed, the exercise's absolute path replaced by its name."""
    text = _TIME.sub("", text)
    text = text.replace(f"/w/{exercise_name}", exercise_name)
    for w in workdirs:
        text = text.replace(w, exercise_name)
    # In the jail the exercise lives at /w.
    return re.sub(r"(?<![\w.~/-])/w(?=/|[^\w./-]|$)", exercise_name, text, flags=re.M)


# ---- sources ------------------------------------------------------------------------------------


class _Source:
    kind = "samples"

    def edits(self, ex: Exercise, attempt: int, prompt: str, files: dict[str, str],
              conversation: Sequence[Message] = ()) -> tuple[Parsed | None, str, bool]:
        """(parsed edits or None when this try has nothing, the raw reply, whether the model errored)."""
        raise NotImplementedError

    def declared(self, ex: Exercise) -> dict[str, str]:
        """The exercise's own build files (what decides which libraries it needs): the stub's."""
        return {f: ex.read(f) for f in DECLARATION_FILES if (ex.path / f).is_file()}


class _Reference(_Source):
    kind = "reference"

    def edits(self, ex: Exercise, attempt: int, prompt: str, files: dict[str, str],
              conversation: Sequence[Message] = ()) -> tuple[Parsed | None, str, bool]:
        if attempt > 1:
            return None, "", False
        return Parsed(edits=ex.reference_files()), "", False

    def declared(self, ex: Exercise) -> dict[str, str]:
        ref = ex.reference_files()
        return {**super().declared(ex), **{f: t for f, t in ref.items() if f in DECLARATION_FILES}}


class _Stubs(_Source):
    kind = "stubs"

    def edits(self, ex: Exercise, attempt: int, prompt: str, files: dict[str, str],
              conversation: Sequence[Message] = ()) -> tuple[Parsed | None, str, bool]:
        return (Parsed(), "", False) if attempt == 1 else (None, "", False)


class _Samples(_Source):
    kind = "samples"

    def __init__(self, records: dict[tuple[str, int], Sample]):
        self.records = records

    def edits(self, ex: Exercise, attempt: int, prompt: str, files: dict[str, str],
              conversation: Sequence[Message] = ()) -> tuple[Parsed | None, str, bool]:
        rec = self.records.get((ex.task_id, attempt))
        if rec is None:
            return None, "", False
        direct = (rec.model_extra or {}).get("files")
        if direct is not None:
            return Parsed(edits=dict(direct)), "", False
        return parse_whole_reply(rec.solution, ex.editable, bare_is_file=True), rec.solution, False


class _Model(_Source):
    kind = "model"

    def __init__(self, fn: EditFn | Conversational):
        self.fn = fn
        self.converse = fn.converse if isinstance(fn, Conversational) else None
        self.lock = contextlib.nullcontext() if getattr(fn, "concurrent", False) else threading.Lock()

    def edits(self, ex: Exercise, attempt: int, prompt: str, files: dict[str, str],
              conversation: Sequence[Message] = ()) -> tuple[Parsed | None, str, bool]:
        try:
            with self.lock:
                if self.converse is not None:
                    reply = self.converse([dict(m) for m in conversation], dict(files))
                else:
                    reply = self.fn(prompt, dict(files))  # type: ignore[operator]
        except Exception:  # an API/model failure is upstream's error_outputs, not a harness crash
            log.exception("polyglot: the model failed on %s (try %d)", ex.task_id, attempt)
            return Parsed(), "", True
        if not isinstance(reply, str):
            raise TypeError(f"polyglot {ex.task_id}: the model callable returned {type(reply).__name__}, expected str")
        return parse_whole_reply(reply, ex.editable), reply, False


def read_samples(path: str | Path, *, skip_bad: bool = False) -> tuple[dict[tuple[str, int], Sample], list[str]]:
    """Samples records keyed by (task_id, attempt); ``attempt`` defaults to 1."""
    recs, rep = read_jsonl(path, Sample, skip_bad=skip_bad)
    out: dict[tuple[str, int], Sample] = {}
    bad = list(rep.skipped)
    for n, s in enumerate(recs, 1):
        attempt = s.attempt or 1
        files = (s.model_extra or {}).get("files")
        problem = None
        if "/" not in s.task_id or s.task_id.split("/", 1)[0] != s.language:
            problem = f"task_id: {s.task_id!r} is not <language>/<exercise> for language {s.language}"
        elif attempt < 1:
            problem = f"attempt: {attempt} (tries count from 1)"
        elif files is not None and not (isinstance(files, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in files.items())):
            problem = "files: expected an object of relative path → text"
        elif (s.task_id, attempt) in out:
            problem = f"a second record for {s.task_id} attempt {attempt}"
        if problem:
            msg = f"{path}: record {n}: {problem}"
            if not skip_bad:
                raise RecordError(msg)
            bad.append(msg)
            continue
        out[(s.task_id, attempt)] = s
    return out, bad


# ---- one exercise -------------------------------------------------------------------------------


def apply_edits(work: Path, edits: Mapping[str, str]) -> list[str]:
    """Write the edits under ``work``; returns the paths refused (outside the exercise, into .meta)."""
    refused = []
    for rel, text in edits.items():
        if not relpath_ok(rel):
            refused.append(rel)
            continue
        p = work / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return refused


def prepare_run(ex: Exercise, work: Path) -> None:
    """Before every test run: the pristine test and editor files back, skipped tests re-enabled."""
    for rel in (*ex.test, *ex.editor):
        dst = work / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ex.path / rel, dst)
    for rel in ex.test:
        p = work / rel
        text = p.read_text(encoding="utf-8")
        new = reenable_skipped(ex.language, rel, text)
        if new != text:
            p.write_text(new, encoding="utf-8")


@dataclass
class TryRecord:
    attempt: int
    passed: bool
    verdict: str
    seconds: float
    test_seconds: float
    output: str
    malformed: bool = False
    model_error: bool = False
    timed_out: bool = False
    syntax_errors: int = 0
    indentation_errors: int = 0
    edited: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    reply: str | None = None
    unavailable: str | None = None  # the missing toolchain or library, when verdict is unavailable
    substitutes: list[str] = field(default_factory=list)  # libraries used at another version than declared
    build_log: str | None = None  # the build step's output when it succeeded (``output`` is the tests')
    tests_ran: bool | None = None  # the runner's summary shows tests running (None: cannot tell)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if (v is not None and v != []) or k in ("edited", "problems")}


def run_exercise(ex: Exercise, source: _Source, ctx: Ctx, tc: Toolchain, *, tries: int, timeout: float) -> Result:
    """Upstream's loop for one exercise: up to ``tries`` tries, stopping at the first pass."""
    t0 = time.monotonic()
    records: list[TryRecord] = []
    work = Path(tempfile.mkdtemp(prefix=f"{ex.language}-{ex.name}-", dir=ctx.tmp_root)) / ex.name
    try:
        shutil.copytree(ex.path, work, ignore=shutil.ignore_patterns(".meta"))
        files = ex.stub_files()
        first = ex.prompt()
        prompt = first
        declared = source.declared(ex)
        conversation: list[Message] = [{"role": "user", "content": first}]
        for attempt in range(1, tries + 1):
            ts = time.monotonic()
            parsed, reply, errored = source.edits(ex, attempt, prompt, files, conversation)
            if parsed is None:  # the samples file (or the oracle) has no further try
                break
            refused = apply_edits(work, parsed.edits)
            problems = parsed.problems + [f"refused to write {r} (outside the exercise)" for r in refused]
            files = {f: (work / f).read_text(encoding="utf-8") for f in ex.editable if (work / f).is_file()}
            if tc.missing:
                records.append(TryRecord(attempt, False, Verdict.UNAVAILABLE.value, time.monotonic() - ts, 0.0,
                                         tc.missing, problems=problems, unavailable=tc.missing))
                break
            prepare_run(ex, work)
            needs = tc.needs(ex, declared, work)
            if needs.unavailable:
                why = "; ".join(needs.unavailable)
                records.append(TryRecord(attempt, False, Verdict.UNAVAILABLE.value, time.monotonic() - ts, 0.0,
                                         f"not run: {why}", problems=problems, unavailable=why,
                                         substitutes=needs.substitutes))
                break
            # The build files as the exercise declares them, before any rewrite (what a candidate left alone).
            untouched = [f for f, text in declared.items() if (work / f).is_file() and (work / f).read_text(
                encoding="utf-8") == text] + [*ex.test, *ex.editor]
            for rel, text in needs.rewrites.items():
                (work / rel).write_text(text, encoding="utf-8")
            main = ex.solution[0]
            build = tc.build_argv(ex)
            # The jail gets the exercise as /w/<name>: upstream's CMakeLists names files after its directory.
            task = Task(task_id=ex.task_id, source="polyglot", kind="project", prompt="",
                        meta={"project": {"dir": str(work.parent), "solution_path": f"{ex.name}/{main}",
                                          **({"build": build} if build else {}),
                                          "test": tc.argv(ex.name), "timeout_s": timeout, "env": needs.env}})
            out = evaluate_project(ctx, tc, task, (work / main).read_text(encoding="utf-8"))  # type: ignore[arg-type]
            verdict = out.verdict.value
            timed_out = out.verdict is Verdict.TIMEOUT
            raw = str(out.detail.get("test_output") or out.detail.get("compile_log") or "")
            # What the model sees next (the sandbox already kept the first and last 1000 characters).
            text = TIMED_OUT_TEXT if timed_out else clean_output(raw, ex.name, [str(work)])
            if out.verdict is not Verdict.PASS and out.detail.get("error") and not raw:
                text = text or str(out.detail.get("error", ""))
            unavailable = None
            if out.verdict is Verdict.COMPILE_ERROR:
                # Names the candidate's own files define: a heuristic must not blame a library for them.
                unavailable = explain_build_failure(ex.language, raw, needs, untouched,
                                                    track(ex.language).candidate_classes(ex, work))
                if unavailable:
                    verdict = Verdict.UNAVAILABLE.value
            lines = text.splitlines()
            records.append(TryRecord(
                attempt, out.verdict is Verdict.PASS, verdict, time.monotonic() - ts,
                float(out.detail.get("time_s", 0.0)), text, malformed=parsed.malformed, model_error=errored,
                timed_out=timed_out, syntax_errors=sum(ln.startswith("SyntaxError") for ln in lines),
                indentation_errors=sum(ln.startswith("IndentationError") for ln in lines),
                edited=sorted(parsed.edits), problems=problems,
                reply=reply[:REPLY_KEEP] if source.kind in ("model", "samples") else None,
                unavailable=unavailable, substitutes=needs.substitutes,
                build_log=trim(clean_output(str(out.detail["build_output"]), ex.name, [str(work)]))
                if out.detail.get("build_output") else None,
                tests_ran=tests_ran(ex.language, raw) if out.detail.get("test_output") is not None else None))
            if out.verdict is Verdict.PASS or unavailable:
                break
            # A stateless callable still needs the instructions: the conversation so far as one text.
            prompt = first + "\n" + ex.followup(text) if source.kind == "model" else ex.followup(text)
            conversation += [{"role": "assistant", "content": reply}, {"role": "user", "content": ex.followup(text)}]
    finally:
        shutil.rmtree(work.parent, ignore_errors=True)
    passed_try = next((r.attempt for r in records if r.passed), None)
    last = records[-1] if records else None
    verdict = last.verdict if last else Verdict.HARNESS_ERROR.value
    extra: dict[str, Any] = {}
    if not records:
        extra["error"] = "no edits for this exercise"
    if last is not None and last.unavailable:
        extra["unavailable"] = last.unavailable
    return Result(task_id=ex.task_id, language=ex.language, sample_index=0, passed=passed_try is not None,
                  verdict=verdict, tests_passed=int(passed_try is not None), tests_total=1, mode="isolated",
                  passed_try=passed_try, seconds=round(time.monotonic() - t0, 3),
                  tries=[r.to_json() for r in records], **extra)


# ---- metrics ------------------------------------------------------------------------------------


def _is_unavailable(r: Result) -> bool:
    return r.verdict is Verdict.UNAVAILABLE


def polyglot_metrics(results: Sequence[Result], tries: int, *, exclude_unavailable: bool = False) -> dict[str, Any]:
    """Upstream's headline numbers over completed exercises (percentages as upstream reports them).

    Unavailable exercises count as failures unless ``exclude_unavailable`` (then they leave the
    denominators); they are always counted apart (``unavailable``). ``compile_errors`` counts the
    tries whose build failed (any language; upstream's ``syntax_errors`` counts Python's
    ``SyntaxError`` lines, kept as upstream computes it).
    """
    done = [r for r in results if (r.model_extra or {}).get("tries")]
    unavailable = [r for r in done if _is_unavailable(r)]
    counted = [r for r in done if not (exclude_unavailable and _is_unavailable(r))]
    n = len(counted)
    ex = [(r.model_extra or {}) for r in counted]
    out: dict[str, Any] = {"completed_tests": n, "total_tests": len(results), "unavailable": len(unavailable)}
    for k in range(1, tries + 1):
        num = sum(1 for e in ex if e.get("passed_try") is not None and e["passed_try"] <= k)
        out[f"pass_num_{k}"] = num
        out[f"pass_rate_{k}"] = round(100.0 * num / n, 1) if n else None
    malformed_cases = sum(any(t.get("malformed") for t in e["tries"]) for e in ex)
    out.update({
        "percent_cases_well_formed": round(100.0 * (1 - malformed_cases / n), 1) if n else None,
        "num_malformed_responses": sum(sum(bool(t.get("malformed")) for t in e["tries"]) for e in ex),
        "num_with_malformed_responses": malformed_cases,
        "error_outputs": sum(sum(bool(t.get("model_error")) for t in e["tries"]) for e in ex),
        "exhausted_context_windows": 0,
        "syntax_errors": sum(sum(t.get("syntax_errors", 0) for t in e["tries"]) for e in ex),
        "indentation_errors": sum(sum(t.get("indentation_errors", 0) for t in e["tries"]) for e in ex),
        "compile_errors": sum(sum(t.get("verdict") == Verdict.COMPILE_ERROR.value for t in e["tries"]) for e in ex),
        "test_timeouts": sum(sum(bool(t.get("timed_out")) for t in e["tries"]) for e in ex),
        "seconds_per_case": round(sum(e.get("seconds", 0.0) for e in ex) / n, 3) if n else None,
        "test_seconds_per_case": round(sum(sum(t.get("test_seconds", 0.0) for t in e["tries"]) for e in ex) / n, 3)
        if n else None,
    })
    return out


def _last_try(r: Result) -> dict[str, Any]:
    tries = (r.model_extra or {}).get("tries") or [{}]
    return tries[-1]


def _outcomes(results: Sequence[Result]) -> dict[str, int]:
    """pass / fail / unavailable counts (fail: any other final verdict)."""
    unavailable = sum(_is_unavailable(r) for r in results)
    passed = sum(r.passed for r in results)
    return {"exercises": len(results), "pass": passed, "fail": len(results) - passed - unavailable,
            "unavailable": unavailable}


def polyglot_section(results: Sequence[Result]) -> Callable[[Mapping[str, Any]], list[str]]:
    """The Polyglot block of report.md (upstream's metrics, unavailable, checks, first failures)."""
    return lambda summary: _section(summary, results)


def _section(summary: Mapping[str, Any], results: Sequence[Result]) -> list[str]:
    tries = summary["tries"]
    cols = [f"pass_rate_{k}" for k in range(1, tries + 1)] + ["percent_cases_well_formed", "compile_errors",
                                                              "syntax_errors", "test_timeouts", "seconds_per_case"]
    basis = ("unavailable exercises left out (--exclude-unavailable)" if summary["exclude_unavailable"]
             else "unavailable exercises count as failures (--exclude-unavailable leaves them out)")
    lines = ["## Polyglot (upstream's metrics)", "",
             f"Source: **{summary['source']}**; tries: {tries}; timeout {summary['timeout_s']} s per step "
             f"(build, test). Rates over completed exercises, {basis}. pass@1 above is the final outcome "
             f"(= pass_rate_{tries} / 100).", "",
             "| language | exercises | pass | fail | unavailable | " + " | ".join(cols) + " |",
             "|---|---:|---:|---:|---:|" + "---:|" * len(cols)]
    rows = [*summary["polyglot_per_language"].items(), ("**all**", summary["polyglot"])]
    for lang, m in rows:
        o = summary["outcomes"]["all" if lang == "**all**" else lang]
        cells = " | ".join("–" if m.get(c) is None else str(m.get(c)) for c in cols)
        lines.append(f"| {lang} | {o['exercises']} | {o['pass']} | {o['fail']} | {o['unavailable']} | {cells} |")
    if summary["unavailable"]:
        lines += ["", "### Unavailable offline (reported apart)", ""]
        lines += [f"- {tid}: {why}" for tid, why in summary["unavailable"].items()]
    if summary["passed_without_tests"]:
        lines += ["", "Passed (exit status 0, upstream's rule) without any test running: "
                  + ", ".join(summary["passed_without_tests"]) + "."]
    if summary["substitutes"]:
        lines += ["", "### Libraries used at another version than declared", ""]
        lines += [f"- {sub}: {n} exercise{'s' if n != 1 else ''}" for sub, n in summary["substitutes"].items()]
    ref = summary.get("reference_failures")
    if ref is not None:
        lines += ["", "### Reference check", ""]
        lines.append("Every available reference solution passed." if not ref else
                     "**References that failed:** " + ", ".join(f"{t} ({v})" for t, v in ref.items()))
    stub = summary.get("stub_check")
    if stub is not None:
        lines += ["", "### Stub check", "",
                  f"{stub['failed']} of {stub['ran']} unedited stubs fail their tests ({stub['unavailable']} "
                  "unavailable)."]
        if stub["tests_did_not_run"]:
            lines.append("**Stubs that pass without any test running** (the check fails for them): "
                         + ", ".join(stub["tests_did_not_run"]) + ".")
        if stub["already_solved"]:
            lines.append("Stubs that pass with their tests running (the exercise ships a working solution, "
                         "e.g. a refactoring exercise): " + ", ".join(stub["already_solved"]) + ".")
        lines += ["", "| verdict | stubs |", "|---|---:|"] + [f"| {v} | {n} |" for v, n in stub["verdicts"].items()]
    slow = summary["timing"].get("slowest") or []
    if slow:
        lines += ["", f"### Slowest {len(slow)} exercises (seconds, wall, build + test)", "",
                  "| exercise | seconds | verdict |", "|---|---:|---|"]
        lines += [f"| {s['task_id']} | {s['seconds']} | {s['verdict']} |" for s in slow]
    failing = [r for r in results if not r.passed and not _is_unavailable(r)][:10]
    if failing and summary["source"] != "stubs":
        lines += ["", "### First failures", ""]
        for r in failing:
            t = ((r.model_extra or {}).get("tries") or [{}])[-1]
            lines += [f"#### {r.task_id} ({r.verdict.value})", "", "```", str(t.get("output", ""))[:1500], "```", ""]
    lines += ["", "### Deviations from upstream", ""] + [f"- {d}" for d in summary["deviations"]]
    return [*lines, ""]


# ---- scheduling ---------------------------------------------------------------------------------


def _durations_path(cache: Path) -> Path:
    return cache / "polyglot-durations.json"


def _load_durations(cache: Path) -> dict[str, float]:
    try:
        data = json.loads(_durations_path(cache).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(v, (int, float))} if isinstance(data, dict) else {}


def _save_durations(cache: Path, old: dict[str, float], results: Sequence[Result]) -> None:
    new = {**old, **{r.task_id: float((r.model_extra or {}).get("seconds") or 0.0) for r in results
                     if (r.model_extra or {}).get("tries")}}
    atomic_write_json(_durations_path(cache), dict(sorted(new.items())))


def _run_all(exs: Sequence[Exercise], tcs: Toolchains, src: _Source, ctx: Ctx, *, tries: int, timeout: float,
             workers: int, expected: dict[str, float],
             progress: Callable[[int, int], None] | None) -> dict[str, Result]:
    """Run every exercise on ``workers`` threads, longest expected first among those whose
    toolchain is ready (Go and C++ wait for their warm-ups; the other languages run meanwhile)."""
    # Before a first run, each track's expected seconds per exercise; later, the last run's durations.
    pending = sorted(exs, key=lambda e: (-expected.get(e.task_id, track(e.language).expected_s), e.task_id))
    results: dict[str, Result] = {}
    cond = threading.Condition()

    def take() -> Exercise | None:
        with cond:
            while pending:
                job = next((e for e in pending if tcs.is_warm(e.language)), None)
                if job is not None:
                    pending.remove(job)
                    return job
                cond.wait(timeout=0.2)
            return None

    def worker() -> None:
        while (e := take()) is not None:
            try:
                r = run_exercise(e, src, ctx, tcs.get(e.language), tries=tries, timeout=timeout)
            except Exception as err:  # a harness bug on one exercise must not lose the others
                log.exception("polyglot: harness error on %s", e.task_id)
                r = Result(task_id=e.task_id, language=e.language, sample_index=0, passed=False,
                           verdict=Verdict.HARNESS_ERROR, tests_passed=0, tests_total=1, error=repr(err), tries=[])
            with cond:
                results[e.task_id] = r
                done = len(results)
            if progress:
                progress(done, len(exs))

    threads = [threading.Thread(target=worker, name=f"polyglot-{i}", daemon=True) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ---- the entry point ----------------------------------------------------------------------------


def eval_polyglot(
    data: str | Path, out_dir: str | Path, *, source: str | Path | EditFn | Conversational, languages: Sequence[str] | None = None,
    exercises: Sequence[str] = (), tries: int = 2, timeout: float = 180.0, workers: int | None = None,
    progress: Callable[[int, int], None] | None = None, cache_dir: Path | None = None, skip_bad: bool = False,
    deps: Sequence[str | Path] = (), exclude_unavailable: bool = False,
) -> dict[str, Any]:
    """Run Polyglot exercises of the checkout ``data`` with edits from ``source`` (see the module doc).

    ``source``: ``"reference"``, ``"stubs"``, a samples JSONL path, or a model callable
    ``edit(prompt, files) -> str``. ``languages`` (default all six) and ``exercises`` (names or
    ``lang/name``) select exercises; ``tries`` (upstream: 2), ``timeout`` seconds per build and per
    test run (upstream: 180 for the one run); ``workers`` exercises at once (default: usable
    cores); ``cache_dir`` holds the warm toolchain caches and the last run's durations (default
    ``~/.cache/hrmcode/exec``); ``deps`` are directories of jars and crates for libraries Debian
    lacks; ``exclude_unavailable`` leaves unavailable exercises out of the pass rates. Returns the
    summary (also in summary.json).
    """
    if tries < 1:
        raise ValueError(f"--tries: expected at least 1, got {tries}")
    if timeout <= 0:
        raise ValueError(f"--timeout: expected seconds > 0, got {timeout}")
    offline = OfflineDeps(deps)
    exs, rep = load_exercises(data, languages, names=exercises, skip_bad=skip_bad)
    skipped_samples: list[str] = []
    src: _Source
    if callable(source) or isinstance(source, Conversational):
        src, label = _Model(source), "model"
    elif str(source) in ("reference", "stubs"):
        src, label = (_Reference() if str(source) == "reference" else _Stubs()), str(source)
        tries = 1  # a deterministic source gains nothing from a second try
    else:
        recs, skipped_samples = read_samples(source, skip_bad=skip_bad)
        known = {e.task_id for e in exs}
        outside = sorted({tid for tid, _ in recs if tid not in known})
        if outside:
            log.info("polyglot: %d samples name exercises outside the selection (not run): %s", len(outside),
                     ", ".join(outside[:5]))
        src, label = _Samples(recs), f"samples {source}"
        exs = [e for e in exs if (e.task_id, 1) in recs]
    layers = detect_layers()
    cfg = polyglot_limits(ExecConfig())  # upstream-like stack and process caps (cpp/bank-account's 1000 threads)
    cache = cache_dir or default_cache_dir()
    toolchain_cache = cache / "toolchains"
    toolchain_cache.mkdir(parents=True, exist_ok=True)
    workers = max(1, workers or len(os.sched_getaffinity(0)))
    tmp_root = Path(tempfile.mkdtemp(prefix="hrmcode-polyglot-"))
    t0 = time.monotonic()
    expected = _load_durations(cache)
    try:
        tcs = Toolchains(exs, toolchain_cache, layers, cfg, tmp_root, offline)
        ctx = Ctx(cfg, layers, toolchain_cache, tmp_root)
        results = _run_all(exs, tcs, src, ctx, tries=tries, timeout=timeout, workers=workers, expected=expected,
                           progress=progress)
        missing = {lang: tc.missing for lang, tc in tcs.wait_all().items() if tc.missing}
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    elapsed = time.monotonic() - t0
    final = [results[e.task_id] for e in exs]
    _save_durations(cache, expected, final)
    by_lang: dict[str, list[Result]] = defaultdict(list)
    for r in final:
        by_lang[r.language].append(r)
    metrics = polyglot_metrics(final, tries, exclude_unavailable=exclude_unavailable)
    unavailable = {r.task_id: str((r.model_extra or {}).get("unavailable", "")) for r in final if _is_unavailable(r)}
    substitutes: dict[str, int] = defaultdict(int)
    for r in final:
        for sub in {s for t in (r.model_extra or {}).get("tries", []) for s in t.get("substitutes", [])}:
            substitutes[sub] += 1
    slowest = sorted(final, key=lambda r: -float((r.model_extra or {}).get("seconds") or 0.0))[:SLOWEST]
    extra: dict[str, Any] = {
        "data": str(data), "source": label, "tries": tries, "timeout_s": timeout,
        "exclude_unavailable": exclude_unavailable,
        "polyglot": metrics,
        "polyglot_per_language": {lang: polyglot_metrics(rs, tries, exclude_unavailable=exclude_unavailable)
                                  for lang, rs in sorted(by_lang.items())},
        "outcomes": {"all": _outcomes(final), **{lang: _outcomes(rs) for lang, rs in sorted(by_lang.items())}},
        "unavailable": unavailable,
        # Upstream's pass is exit status 0; these passed without the runner showing any test running.
        "passed_without_tests": [r.task_id for r in final if r.passed and _last_try(r).get("tests_ran") is False],
        "substitutes": dict(sorted(substitutes.items())),
        "missing_toolchains": missing,
        "deps": [str(d) for d in offline.dirs],
        "deviations": deviations(),
    }
    if label == "reference":
        extra["reference_failures"] = {r.task_id: r.verdict.value for r in final
                                       if not r.passed and not _is_unavailable(r)}
    if label == "stubs":
        ran = [r for r in final if not _is_unavailable(r)]
        verdicts: dict[str, int] = defaultdict(int)
        for r in ran:
            verdicts[r.verdict.value] += 1
        passed = [r for r in ran if r.passed]
        extra["stub_check"] = {
            "ran": len(ran), "failed": sum(not r.passed for r in ran), "unavailable": len(final) - len(ran),
            "passed": [r.task_id for r in passed],
            # A passing stub whose runner shows no test running: the tests did not run (the check fails).
            "tests_did_not_run": [r.task_id for r in passed if _last_try(r).get("tests_ran") is not True],
            # A passing stub whose tests did run: the exercise ships a working solution (refactoring ones).
            "already_solved": [r.task_id for r in passed if _last_try(r).get("tests_ran") is True],
            "verdicts": dict(sorted(verdicts.items()))}
    counted = [r for r in final if not (exclude_unavailable and _is_unavailable(r))]
    summary = build_summary(
        counted, benchmark="polyglot", ks=[1], sandbox=sandbox_layers(), n_tasks=len(counted),
        skipped={"tasks": len(rep.skipped), "samples": len(skipped_samples),
                 "reasons": [*rep.skipped, *skipped_samples][:200]},
        timing={"elapsed_s": round(elapsed, 3), "warm_up_s": dict(tcs.warm_s), "workers": workers,
                "exercises_per_minute": round(60 * len(final) / elapsed, 2) if elapsed > 0 else None,
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "slowest": [{"task_id": r.task_id, "seconds": (r.model_extra or {}).get("seconds"),
                             "verdict": r.verdict.value} for r in slowest]},
        extra=extra)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "results.jsonl", final)
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "report.md", render_report(summary, title="Aider Polyglot",
                                                       sections=[polyglot_section(final)]))
    return summary


# ---- with any backend ---------------------------------------------------------------------------


def polyglot_with_backend(backend: Backend, data: str | Path, out_dir: str | Path, *, sampling: SamplingConfig,
                          gen_cache: str | Path | None = None, progress: Progress | None = None,
                          **kwargs: Any) -> dict[str, Any]:
    """Aider's two-try conversation: the second request carries the first try's real test output."""
    editor = PolyglotEditor(backend, sampling, GenerationCache(default_cache(out_dir, gen_cache)))
    summary = eval_polyglot(data, out_dir, source=editor, progress=stage_progress(progress, "exercises"), **kwargs)
    return add_generation(out_dir, summary, editor.stats())


__all__ = ["DEVIATIONS", "EditFn", "Parsed", "apply_edits", "clean_output", "deviations", "eval_polyglot",
           "parse_whole_reply", "polyglot_metrics", "polyglot_with_backend", "prepare_run", "read_samples", "run_exercise"]
