"""Aider Polyglot and Exercism tracks: the exercise tree of a local checkout → Exercise records.

Two layouts are accepted (see docs/polyglot.md):

* the Polyglot benchmark (Aider-AI/polyglot-benchmark, ``shared/specs/polyglot.md``):
  ``<root>/<lang>/exercises/practice/<exercise>/`` for lang in cpp, go, java, javascript,
  python, rust;
* one Exercism track checkout (``git clone https://github.com/exercism/python``):
  ``<root>/exercises/{practice,concept}/<exercise>/``, the language read from the track's
  ``config.json`` (``slug``), else from the directory's name. The Polyglot layout may hold
  ``concept`` exercises too.

Each exercise names its files in ``.meta/config.json`` → ``files`` (a list, or one path as a
string): ``solution`` (what the model edits), ``test``, ``example`` (the reference solution;
concept exercises: ``exemplar``), ``editor`` (read-only helpers the tests import) and
``invalidator``. A field the exercise leaves out comes from the track's ``config.json`` →
``files``, whose ``%{kebab_slug}``, ``%{snake_slug}``, ``%{camel_slug}`` and ``%{pascal_slug}``
placeholders are the exercise's name. The instructions are ``.docs/introduction.md`` +
``.docs/instructions.md`` + ``.docs/instructions.append.md`` concatenated as upstream does (plain
concatenation, missing optional parts skipped). As the tracks' own CI does, a Rust
``.meta/Cargo-example.toml`` is the reference's ``Cargo.toml`` and a JavaScript reference's
``from '../x'`` imports (written from ``.meta/``) become ``from './x'``. hrmcode never ships the
benchmark: the user points at a checkout.

Every error names the exercise (``<lang>/<exercise>``), the file and the field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hrmcode.languages import LANGUAGES
from hrmcode.languages.toolchain import PolyglotTrack
from hrmcode.records import Task

log = logging.getLogger(__name__)

DOC_PARTS = (".docs/introduction.md", ".docs/instructions.md", ".docs/instructions.append.md")
FILE_FIELDS = ("solution", "test", "example", "exemplar", "editor", "invalidator")
EXERCISE_KINDS = ("practice", "concept")



def polyglot_languages() -> tuple[str, ...]:
    """The registered languages that have a Polyglot track (``Language.polyglot``), by name."""
    return tuple(sorted(name for name, lang in LANGUAGES.items() if lang.polyglot is not None))


def polyglot_track(language: str) -> PolyglotTrack:
    track = LANGUAGES[language].polyglot if language in LANGUAGES else None
    if track is None:
        raise ValueError(f"{language!r} is not a Polyglot language ({', '.join(polyglot_languages())})")
    return track


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
    kind: str = "practice"  # practice | concept (Exercism's two exercise directories)

    @property
    def task_id(self) -> str:
        return f"{self.language}/{self.name}"

    @property
    def editable(self) -> tuple[str, ...]:
        """The solution files the model sees and may edit (build files excluded, as upstream)."""
        build_files = polyglot_track(self.language).build_files
        return tuple(f for f in self.solution if PurePosixPath(f).name not in build_files)

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
        extension under its own name (Java's extra reference classes). JavaScript references import
        their siblings as ``'../x'`` (they live in ``.meta/``): rewritten to ``'./x'``, as the
        JavaScript track's CI does.
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
            text = self.read(ex)
            out[dest] = polyglot_track(self.language).reference_text(ex, text)
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
    if isinstance(raw, str) and raw:
        raw = [raw]  # Exercism allows one path as a plain string
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise PolyglotFormatError(f"{where}: expected a list of relative paths (or one path), got {raw!r}")
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


def _slug_forms(name: str) -> dict[str, str]:
    words = [w for w in name.split("-") if w]
    pascal = "".join(w[:1].upper() + w[1:] for w in words)
    return {"%{kebab_slug}": name, "%{snake_slug}": name.replace("-", "_"), "%{pascal_slug}": pascal,
            "%{camel_slug}": pascal[:1].lower() + pascal[1:]}


def _expand(raw: object, name: str) -> object:
    """A track default's placeholders (``%{snake_slug}``…) filled in with the exercise's name."""
    if isinstance(raw, str):
        for k, v in _slug_forms(name).items():
            raw = raw.replace(k, v)
        return raw
    if isinstance(raw, list):
        return [_expand(x, name) for x in raw]
    return raw


def load_exercise(exdir: str | Path, language: str, *, defaults: dict[str, object] | None = None,
                  kind: str = "practice") -> Exercise:
    """One exercise directory; raises :class:`PolyglotFormatError` naming the exercise and field.

    ``defaults`` are the track's ``config.json`` → ``files`` (used for fields the exercise leaves
    out); ``kind`` is ``practice`` or ``concept`` (a concept exercise's reference is ``exemplar``).
    """
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
    if files is None and defaults:
        files = {}
    if not isinstance(files, dict):
        raise PolyglotFormatError(f"polyglot {ex_id}: .meta/config.json: files: missing or not an object")
    files = {**{k: _expand(v, exdir.name) for k, v in (defaults or {}).items() if k not in files}, **files}
    if not (exdir / ".docs" / "instructions.md").is_file():
        raise PolyglotFormatError(f"polyglot {ex_id}: .docs/instructions.md: missing")
    # The reference: practice exercises name it `example`, concept exercises `exemplar`.
    ref_field = "exemplar" if kind == "concept" or (files.get("example") is None and files.get("exemplar")) \
        else "example"
    lists = {f: _file_list(files.get(f), ex_id, f, exdir, required=f in ("solution", "test", ref_field))
             for f in ("solution", "test", ref_field, "editor", "invalidator")}
    example = lists.pop(ref_field)
    example = (*example, *(f for f in polyglot_track(language).extra_reference(exdir) if f not in example))
    return Exercise(language=language, name=exdir.name, path=exdir, example=example, kind=kind, **lists)


def _track_defaults(track: Path) -> dict[str, object]:
    """The track's ``config.json`` → ``files`` (defaults with placeholders), or nothing."""
    cfg_path = track / "config.json"
    if not cfg_path.is_file():
        return {}
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PolyglotFormatError(f"polyglot {cfg_path}: <json>: {e}") from None
    files = cfg.get("files") if isinstance(cfg, dict) else None
    return files if isinstance(files, dict) else {}


def track_dirs(root: str | Path, languages: Sequence[str]) -> dict[str, Path]:
    """Where each language's ``exercises/`` lives: ``root/<lang>`` (Polyglot), or ``root`` itself when
    it is one Exercism track checkout (its ``config.json`` slug, else its name, says the language)."""
    root = Path(root)
    if (root / "exercises").is_dir():
        slug = ""
        try:
            cfg = json.loads((root / "config.json").read_text(encoding="utf-8"))
            if isinstance(cfg, dict):
                slug = str(cfg.get("slug") or "").lower()
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            pass
        lang = slug or root.resolve().name.lower()
        if lang not in polyglot_languages():
            raise ValueError(f"--data {root}: an Exercism track checkout of {lang!r}, not one of "
                             f"{', '.join(polyglot_languages())}")
        return {lang: root} if lang in languages else {}
    return {lang: root / lang for lang in languages if (root / lang / "exercises").is_dir()}


@dataclass
class LoadReport:
    """What :func:`load_exercises` set aside with ``skip_bad=True`` (else it raises)."""

    skipped: list[str]


def load_exercises(root: str | Path, languages: Sequence[str] | None = None, *, names: Sequence[str] = (),
                   skip_bad: bool = False) -> tuple[list[Exercise], LoadReport]:
    """Every exercise of the checkout ``root`` for ``languages`` (default: all six): Polyglot's
    ``root/<lang>/exercises/{practice,concept}/`` or one track's ``root/exercises/…``.

    ``names`` keeps only those exercises (``name`` or ``lang/name``). Returns the exercises sorted by
    (language, name) and the report of skipped ones.
    """
    root = Path(root)
    langs = list(languages or polyglot_languages())
    for lang in langs:
        if lang not in polyglot_languages():
            raise ValueError(f"--languages: {lang!r} is not a Polyglot language ({', '.join(polyglot_languages())})")
    if not root.is_dir():
        raise FileNotFoundError(f"--data {root}: not a directory (clone Aider-AI/polyglot-benchmark there)")
    tracks = track_dirs(root, langs)
    single = (root / "exercises").is_dir()  # one track: the other languages are simply not there
    exercises: list[Exercise] = []
    report = LoadReport([])
    wanted = set(names)
    for lang in langs:
        track = tracks.get(lang)
        kinds = [k for k in EXERCISE_KINDS if track is not None and (track / "exercises" / k).is_dir()]
        if not kinds:
            if not single or languages:
                log.warning("polyglot: %s has no %s exercises (no %s/exercises/practice)", root, lang, lang)
            continue
        try:
            defaults = _track_defaults(track)  # type: ignore[arg-type]
        except PolyglotFormatError as e:
            if not skip_bad:
                raise
            report.skipped.append(str(e))
            defaults = {}
        seen: dict[str, str] = {}
        for kind in kinds:
            for exdir in sorted(p for p in (track / "exercises" / kind).iterdir()  # type: ignore[operator]
                                if p.is_dir() and not p.name.startswith(".")):
                if wanted and exdir.name not in wanted and f"{lang}/{exdir.name}" not in wanted:
                    continue
                try:
                    if exdir.name in seen:
                        raise PolyglotFormatError(f"polyglot {lang}/{exdir.name}: exercises/{kind}: the name is "
                                                  f"also an exercise in exercises/{seen[exdir.name]}")
                    exercises.append(load_exercise(exdir, lang, defaults=defaults, kind=kind))
                    seen[exdir.name] = kind
                except PolyglotFormatError as e:
                    if not skip_bad:
                        raise
                    report.skipped.append(str(e))
    if not any(tracks.get(lang) and any((tracks[lang] / "exercises" / k).is_dir() for k in EXERCISE_KINDS)
               for lang in langs):
        raise FileNotFoundError(f"--data {root}: no <lang>/exercises/practice directories for "
                                f"{', '.join(langs)} (is it a polyglot-benchmark or Exercism track checkout?)")
    exercises.sort(key=lambda e: (e.language, e.name))
    return exercises, report


__all__ = ["EXERCISE_KINDS", "INSTRUCTIONS_ADDENDUM", "TEST_FAILURES", "Exercise", "LoadReport", "PolyglotFormatError",
           "load_exercise", "load_exercises", "polyglot_languages", "polyglot_track", "track_dirs"]
