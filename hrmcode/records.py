"""The shared vocabulary between stages: Task, Sample, Result records and their JSONL I/O.

Formats are described in DESIGN.md ("Interchange formats"). Extra fields are allowed and preserved.
Readers reject a bad line with ``file:line: field: problem``; ``skip_bad=True`` counts and reports
skipped lines instead of raising. Writers are atomic (temp file + rename).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, field_validator, model_validator

FORMAT_VERSION = 1



class LanguageNames(Sequence[str]):
    """The names of the registered languages, in their order: a live view.

    The languages themselves (``hrmcode/languages/<name>.py``) sit above the records; each one adds its
    name here when ``hrmcode.languages`` registers it (``hrmcode/__init__.py`` imports that package, so
    any reader of records sees every language), and records validate ``language`` fields against it.
    """

    def __init__(self) -> None:
        self._names: list[str] = []

    def add(self, name: str) -> None:
        if name not in self._names:
            self._names.append(name)

    def remove(self, name: str) -> None:
        if name in self._names:
            self._names.remove(name)

    def __getitem__(self, i: Any) -> Any:
        return tuple(self._names)[i]

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._names))

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __repr__(self) -> str:
        return repr(tuple(self._names))


LANGUAGES = LanguageNames()


def _known_language(name: str) -> str:
    if name not in LANGUAGES:
        raise ValueError(f"unknown language {name!r}: expected one of {', '.join(LANGUAGES)}")
    return name


Language = Annotated[str, AfterValidator(_known_language)]

# Value types of typed function tests: a scalar or a list of one (parse_type reads these strings).
VALUE_TYPES: tuple[str, ...] = ("int", "bool", "str", "list[int]", "list[str]", "list[bool]")
SCALARS = ("int", "bool", "str")
_LIST_RE = re.compile(r"^list\[(\w+)\]$")


@dataclass(frozen=True)
class VType:
    """A value type of typed function tests: a scalar (int, bool, str) or list[scalar]."""

    base: str  # "int" | "bool" | "str"
    is_list: bool = False

    def __str__(self) -> str:
        return f"list[{self.base}]" if self.is_list else self.base

    @property
    def elem(self) -> VType:
        if not self.is_list:
            raise ValueError(f"type {self} has no element type")
        return VType(self.base)


def parse_type(t: str | VType) -> VType:
    """Parse a type string such as ``int`` or ``list[str]``; raise ValueError naming it if unknown."""
    if isinstance(t, VType):
        return t
    t = t.strip()
    if t in SCALARS:
        return VType(t)
    m = _LIST_RE.match(t)
    if m and m.group(1) in SCALARS:
        return VType(m.group(1), is_list=True)
    raise ValueError(f"unknown value type {t!r}: expected one of int, bool, str, list[int], list[str], list[bool]")


class Verdict(StrEnum):
    """Closed set of outcomes. Anything unknown is a harness_error, which counts as a failure."""

    PASS = "pass"
    WRONG_ANSWER = "wrong_answer"
    COMPILE_ERROR = "compile_error"
    RUNTIME_ERROR = "runtime_error"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    SANDBOX_VIOLATION = "sandbox_violation"
    HARNESS_ERROR = "harness_error"
    # Not run: a toolchain or a declared library is missing offline (Polyglot); counted apart.
    UNAVAILABLE = "unavailable"


class Record(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Param(Record):
    name: str
    type: str

    @field_validator("type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        parse_type(v)  # raises ValueError naming the type
        return v


class Signature(Record):
    name: str
    params: list[Param]
    returns: str

    @field_validator("returns")
    @classmethod
    def _known_type(cls, v: str) -> str:
        parse_type(v)
        return v


class TestCase(Record):
    input: Any
    output: Any


# What a task is, one meaning each (docs/layout.md, "Task kinds"); how each is graded is in the record:
# * function — a typed signature (``signature``), tests of argument lists and return values;
# * method   — a LeetCode-style method ``meta.func_name`` of ``class Solution`` (or a top-level function
#              of that name), tests of JSON argument lists and JSON return values (LiveCodeBench's functional
#              problems);
# * script   — HumanEval-style: the program ``prompt + solution + meta.test + check(meta.entry_point)``
#              passes iff that last call returns;
# * stdin    — a whole program per test: stdin in, stdout compared by ``meta.compare`` (STDIN_RULES);
# * project  — a directory with its own build and test commands (``meta.project``).
KINDS: tuple[str, ...] = ("function", "method", "script", "stdin", "project")
Kind = Literal["function", "method", "script", "stdin", "project"]
STDIN_RULES: tuple[str, ...] = ("exact", "numeric", "lcb")  # meta.compare of a stdin task (default exact)
GRADINGS: tuple[str, ...] = ("robust", "faithful")  # meta.grading of a method task or a stdin task compared by lcb


def _number(meta: dict[str, Any], key: str, *, positive: bool) -> None:
    v = meta.get(key)
    if v is None:
        return
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise ValueError(f"meta.{key}: {v!r} is not a {'positive' if positive else 'non-negative'} number")


def check_kind_fields(kind: str, meta: dict[str, Any]) -> None:
    """The fields a kind needs and the grading options it allows; ValueError naming the field."""
    compare = meta.get("compare")
    if kind == "method":
        name = meta.get("func_name")
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"meta.func_name: a method task needs the method's name, got {name!r}")
    if kind == "script":
        entry = meta.get("entry_point")
        if not isinstance(entry, str) or not entry.isidentifier():
            raise ValueError(f"meta.entry_point: a script task needs the checked function's name, got {entry!r}")
        if not isinstance(meta.get("test"), str):
            raise ValueError("meta.test: a script task needs its check program (a string defining check())")
    if kind == "stdin" and compare is not None and compare not in STDIN_RULES:
        raise ValueError(f"meta.compare: {compare!r} is not a stdin rule; expected one of {', '.join(STDIN_RULES)}")
    lcb_graded = kind in ("method", "script") or (kind == "stdin" and compare == "lcb")
    grading = meta.get("grading")
    if grading is not None:
        if grading not in GRADINGS:
            raise ValueError(f"meta.grading: {grading!r}: expected robust or faithful")
        if not lcb_graded or (grading == "faithful" and kind == "script"):
            raise ValueError(f"meta.grading: {grading!r} applies to method tasks and stdin tasks compared by lcb"
                             + (" (robust also to script tasks)" if grading == "robust" else ""))
    _number(meta, "float_tol", positive=False)
    _number(meta, "timeout_s", positive=True)
    if meta.get("float_tol") is not None:
        if kind not in ("method", "stdin") or not lcb_graded:
            raise ValueError("meta.float_tol: a tolerance applies to method tasks and stdin tasks compared by lcb "
                             "(compare numeric has its own)")
        if grading == "faithful":
            raise ValueError("meta.float_tol: faithful grading has no tolerance (upstream has none)")
    if meta.get("timeout_s") is not None and not lcb_graded:
        raise ValueError("meta.timeout_s: a per-test timeout of the method/script/lcb grader; other kinds take "
                         "the evaluation's limits")


class Task(Record):
    task_id: str
    source: Literal["builtin", "livecodebench", "polyglot", "humaneval", "custom"] = "custom"
    kind: Kind = "function"
    prompt: str
    tests: list[TestCase] = []
    signature: Signature | None = None
    starter_code: dict[str, str] = {}
    reference: dict[str, str] = {}
    difficulty: str | int | None = None
    license: str | None = None
    meta: dict[str, Any] = {}
    version: int = FORMAT_VERSION

    @model_validator(mode="after")
    def _kind_fields(self) -> Task:
        check_kind_fields(self.kind, self.meta)
        return self


class Sample(Record):
    task_id: str
    language: Language
    solution: str
    attempt: int | None = None
    model: str | None = None
    version: int = FORMAT_VERSION


class Result(Record):
    task_id: str
    language: Language
    sample_index: int
    passed: bool
    verdict: Verdict
    tests_passed: int
    tests_total: int
    version: int = FORMAT_VERSION


R = TypeVar("R", bound=BaseModel)


class RecordError(ValueError):
    """A bad record: the message is ``file:line: field: problem``."""


@dataclass
class ReadReport:
    """What a reader skipped (only non-empty with skip_bad=True)."""

    path: str
    read: int = 0
    skipped: list[str] = field(default_factory=list)


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "<record>"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def parse_json_line(line: str, where: str) -> Any:
    """One JSONL line; a syntax error becomes ``where: <json>: problem at column N``."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as e:
        raise RecordError(f"{where}: <json>: {e.msg} at column {e.colno}") from None


def iter_jsonl(
    path: str | Path, model: type[R], *, skip_bad: bool = False, report: ReadReport | None = None
) -> Iterator[R]:
    """Stream records of ``model`` from a JSONL file, one per non-empty line."""
    path = Path(path)
    rep = report if report is not None else ReadReport(str(path))
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = parse_json_line(line, f"{path}:{lineno}")
                if not isinstance(obj, dict):
                    raise RecordError(f"{path}:{lineno}: <record>: expected a JSON object, got {type(obj).__name__}")
                try:
                    rec = model.model_validate(obj)
                except ValidationError as e:
                    raise RecordError(f"{path}:{lineno}: {_describe(e)}") from None
            except RecordError as e:
                if not skip_bad:
                    raise
                rep.skipped.append(str(e))
                continue
            rep.read += 1
            yield rec


def read_jsonl(path: str | Path, model: type[R], *, skip_bad: bool = False) -> tuple[list[R], ReadReport]:
    rep = ReadReport(str(path))
    return list(iter_jsonl(path, model, skip_bad=skip_bad, report=rep)), rep


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write via a temp file in the same directory, fsync, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def dumps_record(rec: BaseModel | dict[str, Any]) -> str:
    obj = rec.model_dump(mode="json", exclude_none=True) if isinstance(rec, BaseModel) else rec
    return json.dumps(obj, ensure_ascii=False, sort_keys=False, separators=(",", ":"))


def write_jsonl(path: str | Path, records: Iterable[BaseModel | dict[str, Any]]) -> int:
    """Atomically write records as JSONL; returns the count."""
    lines = [dumps_record(r) for r in records]
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


class JsonlWriter:
    """Records appended as JSONL to a temp file beside ``path``, renamed over it when the ``with`` block
    ends without an error (removed if it raises): for files written in parts, too large to hold at once."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.count = 0
        self._fh: Any = None
        self._tmp = ""

    def __enter__(self) -> JsonlWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        self._fh = os.fdopen(fd, "w", encoding="utf-8")
        return self

    def write_all(self, records: Iterable[BaseModel | dict[str, Any]]) -> None:
        for rec in records:
            self._fh.write(dumps_record(rec) + "\n")
            self.count += 1

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        renamed = False
        try:
            if exc_type is None:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            self._fh.close()
            if exc_type is None:
                os.replace(self._tmp, self.path)
                renamed = True
        finally:
            if not renamed:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._tmp)
