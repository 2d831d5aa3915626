"""LiveCodeBench code generation (``code_generation`` / ``code_generation_lite``): local files → problems → Tasks.

Format facts are in ``shared/specs/livecodebench.md``. The dataset comes as cumulative JSONL shards
(``test.jsonl``, ``test2.jsonl`` … ``test6.jsonl``) whose private tests make them large, so:

* files are streamed line by line; a problem keeps only a reference (file, byte offset) to its line and
  decodes its private tests when they are needed (:meth:`Problem.private_tests`);
* private tests are plain JSON or base64 → zlib → pickle (protocol 4) of ONE str holding that JSON. The
  unpickler refuses every class: a real file never needs one and a hostile one must not run anything.

Every malformed record is reported as ``file:line: field: problem``; with ``skip_bad`` it is counted
and listed instead. Problems upstream knows to be defective (ERRATA) are kept and flagged, so a
summary can report them separately rather than drop them silently.

The prompt and extraction functions reproduce upstream's generic chat format exactly for Python and
name the target language for the other five (stdin problems are language-neutral).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import pickle
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hrmcode.languages import get_language
from hrmcode.records import RecordError, Task, TestCase

log = logging.getLogger(__name__)

LATEST_SHARD = 6
PLATFORMS = ("leetcode", "codeforces", "atcoder")
DIFFICULTIES = ("easy", "medium", "hard")
TESTTYPES = ("stdin", "functional")
STRING_FIELDS = ("question_title", "question_content", "platform", "question_id", "contest_id",
                 "contest_date", "starter_code", "difficulty", "public_test_cases", "private_test_cases",
                 "metadata")

# Problems upstream lists as defective (its ERRATA). Kept, graded and reported apart: a model cannot be
# blamed for them, but hiding them would make our numbers incomparable with upstream's.
ERRATA: dict[str, str] = {
    "abc311_c": "multiple valid outputs",
    "abc326_d": "multiple valid outputs",
    "abc337_e": "interactive",
    "abc355_e": "interactive",
    "abc350_c": "erroneous tests",
    "arc189_a": "erroneous tests",
}


class LCBFormatError(RecordError):
    """A malformed LiveCodeBench record: ``file:line: field: problem``."""


# ---- shards and releases ------------------------------------------------------------------------


def shard_name(n: int, ext: str = "jsonl") -> str:
    """``test.jsonl`` for shard 1, ``testN.jsonl`` after it."""
    return f"test{'' if n == 1 else n}.{ext}"


_REL = re.compile(r"^(?:release_v(\d+)|v(\d+)|v(\d+)_v(\d+)|release_latest)$")


def parse_release(release: str | None) -> list[int]:
    """Shard numbers of a release: ``release_vN`` = 1..N, ``vN`` = N, ``vA_vB`` = A..B, ``release_latest``."""
    rel = (release or "release_latest").strip()
    m = _REL.match(rel)
    if not m:
        raise ValueError(f"--release {release!r}: expected release_vN, vN, vA_vB or release_latest")
    if rel == "release_latest":
        first, last = 1, LATEST_SHARD
    elif m.group(1):
        first, last = 1, int(m.group(1))
    elif m.group(2):
        first = last = int(m.group(2))
    else:
        first, last = int(m.group(3)), int(m.group(4))
    if not 1 <= first <= last:
        raise ValueError(f"--release {release!r}: shard numbers must satisfy 1 <= A <= B")
    return list(range(first, last + 1))


def resolve_files(data: str | Path | Sequence[str | Path], release: str | None = None) -> list[Path]:
    """The shard files to read: a directory plus a release, or explicit files (read as given).

    In a directory, shard N is ``testN.jsonl`` or, failing that, ``testN.parquet``.
    """
    paths = [Path(data)] if isinstance(data, str | Path) else [Path(p) for p in data]
    if len(paths) == 1 and paths[0].is_dir():
        root = paths[0]
        out = []
        for n in parse_release(release):
            cands = [root / shard_name(n, "jsonl"), root / shard_name(n, "parquet")]
            found = next((c for c in cands if c.is_file()), None)
            if found is None:
                raise FileNotFoundError(f"{root}: release {release or 'release_latest'} needs shard {n} "
                                        f"({cands[0].name} or {cands[1].name}), which is missing")
            out.append(found)
        return out
    if release is not None:
        raise ValueError("--release selects shards in a directory; with explicit files, pass the files you want")
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such file")
    return paths


# ---- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrivateRef:
    """Where a problem's private tests live: re-read on demand, so a shard is never held in memory."""

    path: str
    offset: int | None = None  # JSONL: byte offset of the record's line
    text: str | None = None  # parquet (and in-memory records): the raw field itself


@dataclass(frozen=True)
class Problem:
    question_id: str
    question_title: str
    question_content: str
    platform: str
    contest_id: str
    contest_date: datetime
    starter_code: str
    difficulty: str
    public_tests: tuple[dict[str, str], ...]
    metadata: dict[str, Any]
    where: str  # "file:line" of the record, for every later error message
    private: PrivateRef = field(repr=False, compare=False)

    @property
    def func_name(self) -> str | None:
        """Upstream decides stdin vs functional by metadata.func_name alone."""
        name = self.metadata.get("func_name")
        return name if isinstance(name, str) and name else None

    @property
    def kind(self) -> str:
        return "function" if self.func_name else "stdin"

    @property
    def errata(self) -> str | None:
        return ERRATA.get(self.question_id)

    def private_tests(self) -> list[dict[str, str]]:
        """Decode the private tests (raises LCBFormatError naming the record)."""
        raw = self.private.text
        if raw is None:
            raw = _reread_field(self.private, "private_test_cases", self.where)
        return decode_private_tests(raw, self.where)

    def tests(self) -> list[dict[str, str]]:
        """Grading order, as upstream: public tests first, then private."""
        return [*self.public_tests, *self.private_tests()]


def _err(where: str, fld: str, problem: str) -> LCBFormatError:
    return LCBFormatError(f"{where}: {fld}: {problem}")


def _reread_field(ref: PrivateRef, fld: str, where: str) -> str:
    assert ref.offset is not None
    with open(ref.path, "rb") as fh:
        fh.seek(ref.offset)
        line = fh.readline()
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _err(where, "<json>", f"the record changed on disk since it was read ({e})") from None
    value = obj.get(fld) if isinstance(obj, dict) else None
    if not isinstance(value, str):
        raise _err(where, fld, "the record changed on disk since it was read")
    return value


class _RefusingUnpickler(pickle.Unpickler):
    """Loads only plain data: any class or function reference is refused before it is resolved."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused to load class {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refused a persistent id")


def _check_tests(value: Any, where: str, fld: str) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise _err(where, fld, f"expected a JSON list of tests, got {type(value).__name__}")
    out = []
    for i, t in enumerate(value):
        if not isinstance(t, dict):
            raise _err(where, f"{fld}[{i}]", f"expected an object, got {type(t).__name__}")
        for key in ("input", "output"):
            if not isinstance(t.get(key), str):
                raise _err(where, f"{fld}[{i}].{key}", "missing or not a string")
        tt = t.get("testtype", "stdin")
        if tt not in TESTTYPES:
            raise _err(where, f"{fld}[{i}].testtype", f"{tt!r} is not one of {', '.join(TESTTYPES)}")
        out.append({"input": t["input"], "output": t["output"], "testtype": tt})
    return out


def decode_private_tests(raw: str, where: str = "<record>") -> list[dict[str, str]]:
    """Plain JSON, or base64 → zlib → pickle of one str holding JSON (never anything else)."""
    fld = "private_test_cases"
    text = raw.strip()
    if text.startswith("["):
        try:
            return _check_tests(json.loads(text), where, fld)
        except json.JSONDecodeError as e:
            raise _err(where, fld, f"bad JSON: {e.msg} at column {e.colno}") from None
    try:
        packed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise _err(where, fld, f"neither a JSON list nor valid base64 ({e})") from None
    try:
        pickled = zlib.decompress(packed)
    except zlib.error as e:
        raise _err(where, fld, f"bad zlib data ({e})") from None
    try:
        payload = _RefusingUnpickler(io.BytesIO(pickled)).load()
    except pickle.UnpicklingError as e:
        raise _err(where, fld, f"bad pickle: {e}") from None
    except Exception as e:  # truncated or garbled pickles raise many types; all mean the same here
        raise _err(where, fld, f"bad pickle: {type(e).__name__}: {e}") from None
    if not isinstance(payload, str):
        raise _err(where, fld, f"the pickle holds a {type(payload).__name__}, expected one str of JSON")
    try:
        return _check_tests(json.loads(payload), where, fld)
    except json.JSONDecodeError as e:
        raise _err(where, fld, f"the pickled text is bad JSON: {e.msg} at column {e.colno}") from None


def encode_private_tests(tests: list[dict[str, str]]) -> str:
    """The upstream encoding (base64(zlib(pickle(json str)))): for fixtures and synthetic benchmarks."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests), protocol=4))).decode("ascii")


def _parse_record(obj: Any, where: str, ref: PrivateRef) -> Problem:
    if not isinstance(obj, dict):
        raise _err(where, "<record>", f"expected a JSON object, got {type(obj).__name__}")
    for fld in STRING_FIELDS:
        if fld not in obj:
            raise _err(where, fld, "missing")
        if not isinstance(obj[fld], str):
            raise _err(where, fld, f"expected a string, got {type(obj[fld]).__name__}")
    qid = obj["question_id"].strip()
    if not qid:
        raise _err(where, "question_id", "empty")
    try:
        date = datetime.fromisoformat(obj["contest_date"])
    except ValueError:
        raise _err(where, "contest_date", f"{obj['contest_date']!r} is not an ISO datetime") from None
    # Upstream compares naive datetimes; an offset would make every comparison raise.
    date = date.replace(tzinfo=None)
    try:
        public = json.loads(obj["public_test_cases"])
    except json.JSONDecodeError as e:
        raise _err(where, "public_test_cases", f"bad JSON: {e.msg} at column {e.colno}") from None
    public_tests = _check_tests(public, where, "public_test_cases")
    try:
        meta = json.loads(obj["metadata"])
    except json.JSONDecodeError as e:
        raise _err(where, "metadata", f"bad JSON: {e.msg} at column {e.colno}") from None
    if not isinstance(meta, dict):
        raise _err(where, "metadata", f"expected a JSON object, got {type(meta).__name__}")
    fn = meta.get("func_name")
    if fn is not None and (not isinstance(fn, str) or not fn.isidentifier()):
        raise _err(where, "metadata.func_name", f"{fn!r} is not a function name")
    if not obj["private_test_cases"].strip():
        raise _err(where, "private_test_cases", "empty")
    return Problem(question_id=qid, question_title=obj["question_title"],
                   question_content=obj["question_content"], platform=obj["platform"].strip().lower(),
                   contest_id=obj["contest_id"], contest_date=date, starter_code=obj["starter_code"],
                   difficulty=obj["difficulty"].strip().lower(), public_tests=tuple(public_tests),
                   metadata=meta, where=where, private=ref)


@dataclass
class LoadReport:
    """What a reader read and skipped (skipped is non-empty only with skip_bad=True)."""

    files: list[str] = field(default_factory=list)
    read: int = 0
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "read": self.read, "skipped": len(self.skipped),
                "skipped_records": self.skipped}


def _iter_jsonl(path: Path) -> Iterator[tuple[str, int, Any | LCBFormatError]]:
    offset = 0
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                yield where, start, json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                msg = f"bad JSON: {e.msg} at column {e.colno}" if isinstance(e, json.JSONDecodeError) else str(e)
                yield where, start, _err(where, "<json>", msg)


def _iter_parquet(path: Path) -> Iterator[tuple[str, int, Any | LCBFormatError]]:
    try:
        import pyarrow.parquet as pq  # optional: only parquet conversions of the dataset need it
    except ImportError:
        raise RuntimeError(f"{path}: reading parquet needs pyarrow (pip install pyarrow), "
                           "or use the dataset's JSONL shards") from None
    row = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=64):
        for rec in batch.to_pylist():
            row += 1
            yield f"{path}:{row}", -1, rec


def iter_problems(files: Iterable[str | Path], *, skip_bad: bool = False,
                  report: LoadReport | None = None) -> Iterator[Problem]:
    """Stream problems from JSONL (or parquet) files; ``file:line`` is the row number for parquet."""
    rep = report if report is not None else LoadReport()
    for f in files:
        path = Path(f)
        rep.files.append(str(path))
        rows = _iter_parquet(path) if path.suffix == ".parquet" else _iter_jsonl(path)
        for where, offset, obj in rows:
            try:
                if isinstance(obj, LCBFormatError):
                    raise obj
                if offset >= 0:
                    ref = PrivateRef(str(path), offset=offset)
                else:
                    priv = obj.get("private_test_cases") if isinstance(obj, dict) else None
                    ref = PrivateRef(str(path), text=priv if isinstance(priv, str) else None)
                prob = _parse_record(obj, where, ref)
            except LCBFormatError as e:
                if not skip_bad:
                    raise
                rep.skipped.append(str(e))
                continue
            rep.read += 1
            yield prob


# ---- selection ----------------------------------------------------------------------------------


def parse_day(value: str | None, flag: str) -> datetime | None:
    """``YYYY-MM-DD`` → that day's midnight (upstream's semantics: the end day is cut at 00:00)."""
    if value is None or value == "":
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise ValueError(f"{flag} {value!r}: expected a date as YYYY-MM-DD") from None


@dataclass(frozen=True)
class Window:
    """Problem filters. Both dates are inclusive at midnight, as upstream: a problem dated 18:30 on
    the end day is outside the window."""

    start_date: str | None = None
    end_date: str | None = None
    platforms: tuple[str, ...] = ()
    difficulties: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        start, end = parse_day(self.start_date, "--start-date"), parse_day(self.end_date, "--end-date")
        if start and end and start > end:
            raise ValueError(f"--start-date {self.start_date} is after --end-date {self.end_date}")
        for p in self.platforms:
            if p not in PLATFORMS:
                raise ValueError(f"--platform {p!r}: expected one of {', '.join(PLATFORMS)}")
        for d in self.difficulties:
            if d not in DIFFICULTIES:
                raise ValueError(f"--difficulty {d!r}: expected one of {', '.join(DIFFICULTIES)}")

    def accepts(self, p: Problem) -> bool:
        start, end = parse_day(self.start_date, "--start-date"), parse_day(self.end_date, "--end-date")
        if start is not None and p.contest_date < start:
            return False
        if end is not None and p.contest_date > end:
            return False
        if self.platforms and p.platform not in self.platforms:
            return False
        return not (self.difficulties and p.difficulty not in self.difficulties)

    def describe(self) -> dict[str, Any]:
        return {"start_date": self.start_date, "end_date": self.end_date,
                "dates": "inclusive, each parsed to midnight (upstream's semantics)",
                "platforms": list(self.platforms) or "all", "difficulties": list(self.difficulties) or "all"}


@dataclass
class Selection:
    problems: list[Problem]
    report: LoadReport
    window: Window
    release: str | None
    duplicates: list[str] = field(default_factory=list)

    @property
    def errata(self) -> dict[str, str]:
        return {p.question_id: p.errata for p in self.problems if p.errata}


def load_problems(data: str | Path | Sequence[str | Path], *, release: str | None = None,
                  window: Window | None = None, skip_bad: bool = False) -> Selection:
    """Read the selected shards, keep the problems inside ``window`` (private tests stay on disk)."""
    window = window or Window()
    files = resolve_files(data, release)
    rep = LoadReport()
    seen: dict[str, str] = {}
    out: list[Problem] = []
    dups: list[str] = []
    for p in iter_problems(files, skip_bad=skip_bad, report=rep):
        if p.question_id in seen:
            # Shards are disjoint upstream; a repeat means overlapping files were passed.
            msg = f"{p.where}: question_id: {p.question_id!r} repeats {seen[p.question_id]}"
            if not skip_bad:
                raise LCBFormatError(msg)
            rep.skipped.append(msg)
            dups.append(p.question_id)
            continue
        seen[p.question_id] = p.where
        if window.accepts(p):
            out.append(p)
    if rep.skipped:
        log.warning("livecodebench: skipped %d bad records (first: %s)", len(rep.skipped), rep.skipped[0])
    return Selection(out, rep, window, release if len(files) > 0 else None, dups)


# ---- conversion to Task records -----------------------------------------------------------------


def _functional_args(text: str, where: str, fld: str) -> list[Any]:
    args = []
    for j, line in enumerate(text.split("\n")):
        try:
            args.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise _err(where, f"{fld}.input", f"line {j + 1} is not JSON ({e.msg})") from None
    return args


def to_task(p: Problem, *, with_private: bool = True) -> Task:
    """A Task record: task id = question_id, kind ``stdin`` (``meta.compare`` lcb) or ``method``
    (``meta.func_name``; upstream's "functional" test type).

    Functional tests become ``input`` = the JSON argument list (one line per argument upstream) and
    ``output`` = the JSON value; stdin tests keep their strings.
    """
    raw = p.tests() if with_private else list(p.public_tests)
    tests = []
    for i, t in enumerate(raw):
        fld = f"tests[{i}]"
        if p.func_name:
            try:
                expected = json.loads(t["output"])
            except json.JSONDecodeError as e:
                raise _err(p.where, f"{fld}.output", f"not JSON ({e.msg})") from None
            tests.append(TestCase(input=_functional_args(t["input"], p.where, fld), output=expected))
        else:
            tests.append(TestCase(input=t["input"], output=t["output"]))
    meta: dict[str, Any] = {
        "platform": p.platform, "contest_id": p.contest_id, "contest_date": p.contest_date.isoformat(),
        "question_title": p.question_title, "public_tests": len(p.public_tests), "record": p.where,
    }
    if p.func_name:
        meta["func_name"] = p.func_name
    else:
        meta["compare"] = "lcb"  # lcb_runner's line rule (execute/compare.py)
    if p.errata:
        meta["errata"] = p.errata
    return Task(task_id=p.question_id, source="livecodebench", kind="method" if p.func_name else "stdin",
                prompt=p.question_content, tests=tests,
                starter_code={UPSTREAM_LANGUAGE: p.starter_code} if p.starter_code else {},
                difficulty=p.difficulty, meta=meta)


# ---- prompts and extraction (upstream's generic chat format) -------------------------------------

UPSTREAM_LANGUAGE = "python"  # LiveCodeBench's own prompts and functional problems are Python's


def system_message(language: str = UPSTREAM_LANGUAGE) -> str:
    name = get_language(language).display_name
    return (f"You are an expert {name} programmer. You will be given a question (problem specification) and "
            f"will generate a correct {name} program that matches the specification and passes all tests.")


def user_message(question_content: str, starter_code: str = "", language: str = UPSTREAM_LANGUAGE) -> str:
    """Upstream's user turn; for Python byte-identical, for the others naming the language and its fence.

    Starter code exists only for LeetCode (functional) problems and only in Python upstream.
    """
    lang = get_language(language)
    fence = lang.fence
    text = f"### Question:\n{question_content}\n\n"
    if starter_code:
        if language != UPSTREAM_LANGUAGE:
            raise ValueError(f"functional (LeetCode) problems have Python starter code only; "
                             f"cannot prompt for {language}")
        text += ("### Format: You will use the following starter code to write the solution to the problem "
                 f"and enclose your code within delimiters.\n```{fence}\n{starter_code}\n```\n\n")
    else:
        # Upstream writes the language in lower case here ("the python program").
        prog = language if language == UPSTREAM_LANGUAGE else lang.display_name
        comment = lang.comment
        text += ("### Format: Read the inputs from stdin solve the problem and write the answer to stdout "
                 "(do not directly test on the sample inputs). Enclose your code within delimiters as follows. "
                 f"Ensure that when the {prog} program runs, it reads the inputs, runs the algorithm and writes "
                 f"output to STDOUT.\n```{fence}\n{comment} YOUR CODE HERE\n```\n\n")
    text += "### Answer: (use the provided format with backticks)\n\n"
    return text


def chat_messages(p: Problem, language: str = UPSTREAM_LANGUAGE) -> list[dict[str, str]]:
    return [{"role": "system", "content": system_message(language)},
            {"role": "user", "content": user_message(p.question_content, p.starter_code, language)}]


def prompt_text(p: Problem, language: str = UPSTREAM_LANGUAGE) -> str:
    """System and user turns as one text, for models without a chat template."""
    return system_message(language) + "\n\n" + user_message(p.question_content, p.starter_code, language)


def extract_code(output: str) -> str:
    """Upstream's extraction: the lines between the LAST two lines containing ```; "" if fewer than two."""
    lines = output.split("\n")
    fences = [i for i, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return ""
    return "\n".join(lines[fences[-2] + 1: fences[-1]])


def supports(p: Problem, language: str) -> bool:
    """Functional problems are Python-only (starter code and call convention); stdin ones are neutral."""
    return language == UPSTREAM_LANGUAGE or p.kind == "stdin"
