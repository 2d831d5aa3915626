"""Aider Polyglot: the exercise tree of a local checkout → Exercise records.

The layout (Aider-AI/polyglot-benchmark, see ``shared/specs/polyglot.md``) is
``<root>/<lang>/exercises/practice/<exercise>/`` for lang in cpp, go, java, javascript, python,
rust. Each exercise names its files in ``.meta/config.json`` → ``files``: ``solution`` (what the
model edits), ``test``, ``example`` (the reference solution), ``editor`` (read-only helpers) and
``invalidator``. The instructions are ``.docs/introduction.md`` + ``.docs/instructions.md`` +
``.docs/instructions.append.md`` concatenated as upstream does (plain concatenation, missing
optional parts skipped). hrmcode never ships the benchmark: the user points at a checkout.

Every error names the exercise (``<lang>/<exercise>``), the file and the field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hrmcode.records import Task

log = logging.getLogger(__name__)

POLYGLOT_LANGUAGES: tuple[str, ...] = ("cpp", "go", "java", "javascript", "python", "rust")
# Upstream never shows these to the model nor lists them in the prompt (they are build files).
BUILD_FILES = frozenset({"Cargo.toml", "CMakeLists.txt"})
DOC_PARTS = (".docs/introduction.md", ".docs/instructions.md", ".docs/instructions.append.md")
FILE_FIELDS = ("solution", "test", "example", "editor", "invalidator")

# Upstream's prompts (aider/benchmark/prompts.py), reproduced as text: they are the benchmark's data.
INSTRUCTIONS_ADDENDUM = """
####

Use the above instructions to modify the supplied files: {file_list}
Don't change the names of existing functions or classes, as they may be referenced from other code like unit tests, etc.
Only use standard libraries, don't suggest installing any packages.
"""
TEST_FAILURES = """
####

See the testing errors above.
The tests are correct, don't try and change them.
Fix the code in {file_list} to resolve the errors.
"""


class PolyglotFormatError(ValueError):
    """A malformed exercise: the message starts with ``polyglot <lang>/<exercise>: <file>: <field>:``."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of the checkout; file lists are paths relative to ``path`` (POSIX style)."""

    language: str
    name: str
    path: Path
    solution: tuple[str, ...]
    test: tuple[str, ...]
    example: tuple[str, ...]
    editor: tuple[str, ...] = ()
    invalidator: tuple[str, ...] = ()

    @property
    def task_id(self) -> str:
        return f"{self.language}/{self.name}"

    @property
    def editable(self) -> tuple[str, ...]:
        """The solution files the model sees and may edit (build files excluded, as upstream)."""
        return tuple(f for f in self.solution if PurePosixPath(f).name not in BUILD_FILES)

    @property
    def file_list(self) -> str:
        """Upstream's ``{file_list}``: the editable files' base names, space separated."""
        return " ".join(PurePosixPath(f).name for f in self.editable)

    def read(self, rel: str) -> str:
        return (self.path / rel).read_text(encoding="utf-8")

    def instructions(self) -> str:
        """introduction + instructions + instructions.append, concatenated as upstream (no separator)."""
        return "".join((self.path / p).read_text(encoding="utf-8") for p in DOC_PARTS if (self.path / p).is_file())

    def prompt(self) -> str:
        """The first message of upstream's conversation."""
        return self.instructions() + INSTRUCTIONS_ADDENDUM.format(file_list=self.file_list)

    def followup(self, test_output: str) -> str:
        """The message after a failing try: the cleaned test output, then upstream's request."""
        return test_output + TEST_FAILURES.format(file_list=self.file_list)

    def stub_files(self) -> dict[str, str]:
        """The editable files as the model first sees them."""
        return {f: self.read(f) for f in self.editable}

    def reference_files(self) -> dict[str, str]:
        """The example files written where the solution files go (the ``--reference`` oracle).

        An example file lands on the solution file with the same base name, else on the only solution
        file with the same extension (``.meta/example.py`` → ``name.py``; rust's
        ``.meta/Cargo-example.toml`` → ``Cargo.toml``), else beside the first solution file of that
        extension under its own name (Java's extra reference classes).
        """
        out: dict[str, str] = {}
        for ex in self.example:
            p = PurePosixPath(ex)
            name = "Cargo.toml" if p.name == "Cargo-example.toml" else p.name
            same_name = [s for s in self.solution if PurePosixPath(s).name == name]
            same_ext = [s for s in self.solution if PurePosixPath(s).suffix == p.suffix]
            if same_name:
                dest = same_name[0]
            elif len(same_ext) == 1 and not any(PurePosixPath(e).suffix == p.suffix for e in self.example if e != ex):
                dest = same_ext[0]
            elif same_ext:
                dest = str(PurePosixPath(same_ext[0]).parent / name)
            else:
                raise PolyglotFormatError(f"polyglot {self.task_id}: .meta/config.json: files.example: {ex!r} "
                                          "matches no solution file (by name or extension)")
            out[dest] = self.read(ex)
        return out

    def to_task(self) -> Task:
        """The exercise as a Task record (``kind=project``), for the interchange files."""
        main = self.editable[0] if self.editable else self.solution[0]
        return Task(task_id=self.task_id, source="polyglot", kind="project", prompt=self.prompt(),
                    starter_code={self.language: self.read(main)},
                    reference={self.language: self.reference_files().get(main, "")},
                    license="MIT", meta={"polyglot": {"dir": str(self.path), "solution": list(self.solution),
                                                      "test": list(self.test), "editor": list(self.editor)}})


def _file_list(raw: object, ex_id: str, fieldname: str, exdir: Path, *, required: bool) -> tuple[str, ...]:
    where = f"polyglot {ex_id}: .meta/config.json: files.{fieldname}"
    if raw is None:
        if required:
            raise PolyglotFormatError(f"{where}: missing")
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise PolyglotFormatError(f"{where}: expected a list of relative paths, got {raw!r}")
    if required and not raw:
        raise PolyglotFormatError(f"{where}: empty")
    out = []
    for rel in raw:
        p = PurePosixPath(rel)
        if p.is_absolute() or ".." in p.parts:
            raise PolyglotFormatError(f"{where}: {rel!r} leaves the exercise directory")
        if fieldname != "invalidator" and not (exdir / rel).is_file():
            raise PolyglotFormatError(f"{where}: {rel!r} does not exist")
        out.append(str(p))
    return tuple(out)


def load_exercise(exdir: str | Path, language: str) -> Exercise:
    """One exercise directory; raises :class:`PolyglotFormatError` naming the exercise and field."""
    exdir = Path(exdir)
    ex_id = f"{language}/{exdir.name}"
    cfg_path = exdir / ".meta" / "config.json"
    if not cfg_path.is_file():
        raise PolyglotFormatError(f"polyglot {ex_id}: .meta/config.json: missing")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PolyglotFormatError(f"polyglot {ex_id}: .meta/config.json: <json>: {e}") from None
    files = cfg.get("files") if isinstance(cfg, dict) else None
    if not isinstance(files, dict):
        raise PolyglotFormatError(f"polyglot {ex_id}: .meta/config.json: files: missing or not an object")
    if not (exdir / ".docs" / "instructions.md").is_file():
        raise PolyglotFormatError(f"polyglot {ex_id}: .docs/instructions.md: missing")
    lists = {f: _file_list(files.get(f), ex_id, f, exdir, required=f in ("solution", "test", "example"))
             for f in FILE_FIELDS}
    return Exercise(language=language, name=exdir.name, path=exdir, **lists)


@dataclass
class LoadReport:
    """What :func:`load_exercises` set aside with ``skip_bad=True`` (else it raises)."""

    skipped: list[str]


def load_exercises(root: str | Path, languages: Sequence[str] | None = None, *, names: Sequence[str] = (),
                   skip_bad: bool = False) -> tuple[list[Exercise], LoadReport]:
    """Every exercise under ``root/<lang>/exercises/practice/`` for ``languages`` (default: all six).

    ``names`` keeps only those exercises (``name`` or ``lang/name``). Returns the exercises sorted by
    (language, name) and the report of skipped ones.
    """
    root = Path(root)
    langs = list(languages or POLYGLOT_LANGUAGES)
    for lang in langs:
        if lang not in POLYGLOT_LANGUAGES:
            raise ValueError(f"--languages: {lang!r} is not a Polyglot language ({', '.join(POLYGLOT_LANGUAGES)})")
    if not root.is_dir():
        raise FileNotFoundError(f"--data {root}: not a directory (clone Aider-AI/polyglot-benchmark there)")
    found_any = False
    exercises: list[Exercise] = []
    report = LoadReport([])
    wanted = set(names)
    for lang in langs:
        practice = root / lang / "exercises" / "practice"
        if not practice.is_dir():
            log.warning("polyglot: %s has no %s exercises (%s missing)", root, lang, practice)
            continue
        found_any = True
        for exdir in sorted(p for p in practice.iterdir() if p.is_dir()):
            if wanted and exdir.name not in wanted and f"{lang}/{exdir.name}" not in wanted:
                continue
            try:
                exercises.append(load_exercise(exdir, lang))
            except PolyglotFormatError as e:
                if not skip_bad:
                    raise
                report.skipped.append(str(e))
    if not found_any:
        raise FileNotFoundError(f"--data {root}: no <lang>/exercises/practice directories for "
                                f"{', '.join(langs)} (is it a polyglot-benchmark checkout?)")
    return exercises, report


__all__ = ["INSTRUCTIONS_ADDENDUM", "POLYGLOT_LANGUAGES", "TEST_FAILURES", "Exercise", "LoadReport",
           "PolyglotFormatError", "load_exercise", "load_exercises"]
