"""The Language protocol: everything language-specific lives in one file per language.

A language file provides
  * naming and types: identifiers in the language's convention, type names, literals of values
    (used by the test drivers of typed function tests and by the built-in suite's renderers);
  * the toolchain: compile and run commands, version detection (used by the execution harness);
  * test-driver rendering for typed function tests (shared by the harness and the built-in suite);
  * rendering of the built-in suite's IR into idiomatic code;
  * what the benchmarks' prompts and the server need to know (display name, comment, file suffixes,
    fence aliases) and, optionally, its Aider Polyglot track (hrmcode/languages/toolchain.py).

A seventh language is one new file, ``hrmcode/languages/<name>.py``: ``hrmcode/languages/__init__.py``
registers every Language a module of the package defines.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from hrmcode.languages.toolchain import JAIL_CACHE as JAIL_CACHE  # re-exported: the jail's toolchain facts
from hrmcode.languages.toolchain import Mount as Mount
from hrmcode.languages.toolchain import PolyglotTrack
from hrmcode.languages.toolchain import command_version as command_version
from hrmcode.languages.toolchain import python_for_jail as python_for_jail
from hrmcode.languages.toolchain import venv_bin as venv_bin
from hrmcode.languages.units import FunctionUnit
from hrmcode.records import SCALARS as SCALARS  # re-exported: the value types belong to the records
from hrmcode.records import VType as VType
from hrmcode.records import parse_type as parse_type

_UNIT_RE = re.compile(r"\b[Hh]rmc(\d+)\b")
_DRIVERS = Path(__file__).resolve().parent.parent / "execute" / "drivers"


def split_words(name: str) -> list[str]:
    """``sum_of_digits`` / ``sumOfDigits`` / ``SumOfDigits`` → ["sum", "of", "digits"]."""
    parts = re.split(r"[_\W]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name))
    return [p.lower() for p in parts if p]


def snake_case(name: str) -> str:
    return "_".join(split_words(name))


def camel_case(name: str) -> str:
    words = split_words(name)
    return words[0] + "".join(w.capitalize() for w in words[1:]) if words else name


def pascal_case(name: str) -> str:
    return "".join(w.capitalize() for w in split_words(name))


def c_string_literal(s: str) -> str:
    """A double-quoted literal with C-style escapes, valid in C++, Java, Go, Rust and JavaScript.

    Non-ASCII characters are written as UTF-8 text (all six languages accept UTF-8 source); control
    characters are escaped with ``\\n``, ``\\t``, ``\\r``, ``\\\\``, ``\\"`` or a unicode escape given
    by the caller's language through ``unicode_escape``.
    """
    return '"' + "".join(_escape_char(c) for c in s) + '"'


_SIMPLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_char(c: str) -> str:
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c]
    if ord(c) < 0x20 or ord(c) == 0x7F:
        # \x escapes differ per language; u-escapes are written by each language if it needs them.
        raise ValueError(f"control character {c!r} in a string literal is not supported")
    return c


# ---- signature adherence: which functions a solution defines ------------------------------------
# A reading of the text, not a parse: a model's output is often not valid code, and the question is
# only whether it defines the function the task names, with how many parameters. Each language file
# gives the pattern of a definition header ending at its "(" (and what may follow the ")"); these
# helpers find the matching ")" and count the parameters between. Comments and string literals are
# not removed: a commented-out definition counts (rare in model output; documented in docs/benchmarks.md).

_OPEN, _CLOSE = "([{", ")]}"


def closing_paren(text: str, start: int) -> int | None:
    """Index of the ")" matching the "(" at ``start``; None if the text ends first."""
    depth = 0
    for i in range(start, len(text)):
        c = text[i]
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
            if depth == 0:
                return i
    return None


def count_params(params: str, *, angle: bool = False, skip: tuple[str, ...] = ()) -> int:
    """Parameters in a parameter list: its top-level comma-separated items that are not empty or in ``skip``.

    ``angle`` counts <…> as brackets (C++, Java and Rust generic types hold commas: ``Map<K, V> m``); an
    unmatched ">" (Rust's ``impl Fn(i64) -> i64``) is ignored.
    """
    depth, angles, items, cur = 0, 0, [], []
    for c in params:
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        elif angle and c == "<":
            angles += 1
        elif angle and c == ">" and angles:
            angles -= 1
        elif c == "," and depth == 0 and angles == 0:
            items.append("".join(cur))
            cur = []
            continue
        cur.append(c)
    items.append("".join(cur))
    return sum(1 for it in items if it.strip() and it.strip() not in skip)


def definition_arities(text: str, header: re.Pattern[str], *, after: re.Pattern[str] | None = None,
                       angle: bool = False, skip: tuple[str, ...] = ()) -> list[int]:
    """The parameter count of every match of ``header`` (a pattern ending at the parameter list's "(")
    whose ")" is followed by ``after`` (e.g. a body's "{", which tells a definition from a call)."""
    out = []
    for m in header.finditer(text):
        close = closing_paren(text, m.end() - 1)
        if close is None or (after is not None and not after.match(text, close + 1)):
            continue
        out.append(count_params(text[m.end() : close], angle=angle, skip=skip))
    return out


class Language(ABC):
    """One programming language. Subclasses live in ``hrmcode/languages/<name>.py``."""

    name: ClassVar[str]
    extension: ClassVar[str]  # source file extension, without the dot
    fence: ClassVar[str]  # the info string of a markdown code fence (```rust)
    # ---- what the benchmarks, prompts and the server need to know --------------------------
    order: ClassVar[int] = 100  # place in every listing (the six: 0-5, the tokenizer's order)
    display: ClassVar[str] = ""  # the name in prompts ("C++"); the name itself when empty
    comment: ClassVar[str] = "//"  # a line comment's opener
    # File suffixes of its source files (a Polyglot file's or a served file's language) and other
    # info strings of a fence that name it (```py, ```golang).
    suffixes: ClassVar[tuple[str, ...]] = ()
    fence_aliases: ClassVar[tuple[str, ...]] = ()
    function_note: ClassVar[str] = ""  # said in a built-in prompt after "the function" (Java: static method)
    completion_stops: ClassVar[tuple[str, ...]] = ("\n}",)  # where a base model's function ends
    body_close: ClassVar[str] = "\n}\n"  # what closes a function body a completion wrote
    # Aider Polyglot's build and test toolchain (hrmcode/languages/toolchain.py); None: no track.
    polyglot: ClassVar[PolyglotTrack | None] = None

    # tool → argv printing its version; `hrmcode doctor` and the harness's summaries report them.
    version_commands: ClassVar[dict[str, list[str]]]

    @property
    def display_name(self) -> str:
        return self.display or self.name

    # ---- toolchain --------------------------------------------------------------------------
    def versions(self) -> dict[str, str | None]:
        """Version of each tool of this language's toolchain; None when it is missing."""
        return {tool: command_version(argv) for tool, argv in self.version_commands.items()}

    # ---- naming and types -------------------------------------------------------------------
    @abstractmethod
    def ident(self, name: str) -> str:
        """A function or variable name in this language's convention (from snake_case)."""

    @abstractmethod
    def type_name(self, t: VType, *, param: bool = False) -> str:
        """The type as written in source. ``param=True`` for a parameter (Rust borrows: &[i64], &str)."""

    @abstractmethod
    def literal(self, value: Any, t: VType, *, param: bool = False) -> str:
        """A source literal of ``value`` (a JSON value) of type ``t``; ``param=True`` for an argument."""

    @abstractmethod
    def signature(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        """The function header line(s) up to and including the opening of the body."""

    @abstractmethod
    def starter(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        """Starter code shown to a model: the signature with an empty body."""

    def check_int(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{self.name}: expected an int, got {value!r}")
        return value

    def check_list(self, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ValueError(f"{self.name}: expected a list, got {value!r}")
        return value

    # ---- signature adherence -------------------------------------------------------------------
    def defined_arities(self, solution: str, name: str) -> list[int]:
        """The parameter counts of every definition of the function ``name`` (already in this language's
        convention) that ``solution`` contains, where the test driver could call it."""
        raise NotImplementedError(f"{self.name}: no signature check")

    def defines_function(self, solution: str, name: str, arity: int) -> bool:
        """Whether ``solution`` defines the task's function ``name`` (snake_case, as in a Task's signature)
        with ``arity`` parameters: the name the test driver calls, in this language's convention."""
        return arity in self.defined_arities(solution, self.ident(name))

    # ---- toolchain and test drivers (execution harness, issue 4) ---------------------------
    # The harness (hrmcode/execute) renders every candidate of a batch into its own namespace named
    # hrmc<key> (module, class, package or file), so compiler errors name the candidate they belong to.
    compiled: ClassVar[bool] = False
    # Candidates per compilation unit. Every build pays a fixed cost (compiler start-up, the C++
    # precompiled header, javac's JVM warming up, Go's and Rust's link), and a batch with a broken
    # candidate pays it twice: 150 per build instead of 50 cut the CPU of 300 candidates by 35% (C++,
    # Java) and 16-19% (Go, Rust) here (bench/harness_throughput.py). Larger only makes a failed
    # build redo more; the pool still makes at least one batch per worker.
    batch_limit: ClassVar[int] = 200

    def toolchain_paths(self) -> list[str]:
        """Host directories the jail must see read-only besides /usr and /etc (interpreters, SDKs)."""
        return []

    def jail_env(self) -> dict[str, str]:
        """Environment of every build and run inside the jail (the jail starts from an empty one)."""
        return {}

    def cache_mounts(self, cache_dir: Path) -> list[Mount]:
        """Persistent toolchain caches mounted writable during builds (e.g. Go's build cache)."""
        return []

    def batchable(self, solution: str) -> bool:
        """Whether a candidate can share a compilation unit without changing another's meaning."""
        return True

    def render_function_program(self, units: Sequence[FunctionUnit]) -> dict[str, str]:
        """Files (relative path → text) of one program that tests every unit; each run tests one of them."""
        raise NotImplementedError(f"{self.name}: no typed-function test driver")

    def build_commands(self, units: Sequence[FunctionUnit]) -> list[list[str]]:
        """Compile commands for the function program (run in the workdir); [] for interpreted languages."""
        return []

    # Each candidate of a built function program runs in a process of its own, started by the
    # supervisor (hrmcode/execute/drivers/hrmsup.py): a fork of a warm driver loaded once (the
    # Python module named by fork_driver), or else candidate_command with the candidate's key appended.
    fork_driver: ClassVar[str | None] = None

    def candidate_command(self, memory_mb: int) -> list[str]:
        """The argv running one candidate of the function program (the supervisor appends its key)."""
        raise NotImplementedError(f"{self.name}: no typed-function test driver")

    def run_data_mb(self, memory_mb: int) -> int:
        """RLIMIT_DATA of a candidate's run under a memory cap of ``memory_mb`` (when the limits set
        none): address space reserved but never used counts against it; the cgroup caps what is used."""
        return 2 * memory_mb

    def invasive_keys(self, workdir: Path, units: Sequence[FunctionUnit]) -> set[int] | None:
        """After a successful build: the candidates whose code would run in, or change, a batch-mate's
        process (code before main, symbols that replace the runtime's): they are built alone. None
        when some candidate is but the build does not say which (the batch is then split)."""
        return set()

    def render_stdin_program(self, solution: str) -> dict[str, str]:
        """Files of a whole program that reads stdin and writes stdout."""
        return {f"main.{self.extension}": solution}

    def stdin_build_commands(self, files: dict[str, str]) -> list[list[str]]:
        return []

    def stdin_run_command(self, files: dict[str, str], memory_mb: int) -> list[str]:
        raise NotImplementedError(f"{self.name}: no stdin runner")

    @staticmethod
    def error_keys(log: str) -> set[int]:
        """Candidates a failed build's log mentions (their namespaces are named hrmc<key>)."""
        return {int(m) for m in _UNIT_RE.findall(log)}

    @staticmethod
    def driver_source(name: str) -> str:
        """A static test-driver file shipped in hrmcode/execute/drivers."""
        return (_DRIVERS / name).read_text(encoding="utf-8")


    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
    # A pipeline (hrmcode.benchmarks.builtin.ir.Pipeline) renders as its signature, one block per step that
    # declares the step's fresh result variable, and a return. Each language implements builtin_step.
    builtin_indent: ClassVar[str] = "    "
    _builtin_idents: ClassVar[dict[tuple[str, str], str]] = {}

    def builtin_ident(self, name: str) -> str:
        """``ident`` memoised: rendering thousands of tasks converts the same few names over and over."""
        key = (self.name, name)
        got = self._builtin_idents.get(key)
        if got is None:
            got = self._builtin_idents[key] = self.ident(name)
        return got

    def render_builtin(self, pipeline: Any) -> str:
        """The reference solution of a built-in task: the function definition, as a model should write it."""
        ind = self.builtin_indent
        # Temporaries (acc, seen, m, ...) share one namespace with parameters and results: a second use
        # of a name anywhere in the function is numbered (m, m2), as results are (kept, kept2).
        taken = {p for p, _ in pipeline.params} | {v.dst for v in pipeline.views_}

        def tmp(name: str) -> str:
            fresh, n = name, 2
            while fresh in taken:
                fresh, n = f"{name}{n}", n + 1
            taken.add(fresh)
            return self.builtin_ident(fresh)

        lines = [self.signature(pipeline.name, pipeline.params, pipeline.returns)]
        for view in pipeline.views_:
            lines += [ind + line for line in self.builtin_step(view, tmp)]
        lines += [ind + line for line in self.builtin_return(self.builtin_ident(pipeline.result_var))]
        lines += self.builtin_close()
        return "\n".join(lines) + "\n"

    def builtin_step(self, v: Any, t: Callable[[str], str]) -> list[str]:
        """Lines (relative indentation) computing ``v.dst`` from ``v.src``; ``v`` is an ir.StepView and
        ``t(name)`` gives a temporary's name, unique in the function and in this language's convention."""
        raise NotImplementedError(f"{self.name} does not render the built-in suite")

    def builtin_return(self, var: str) -> list[str]:
        return [f"return {var};"]

    def builtin_close(self) -> list[str]:
        return ["}"]

    def builtin_pred(self, x: str, a: dict[str, Any]) -> str:
        """A predicate over the integer ``x`` (see families.PRED_OPS); the C syntax is shared by five languages."""
        op, k = a["op"], a.get("k")
        cmp = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "==", "ne": "!="}
        if op in cmp:
            return f"{x} {cmp[op]} {k}"
        if op == "even":
            return f"{x} % 2 == 0"
        if op == "odd":
            return f"{x} % 2 != 0"
        return f"{x} % {k} == 0"

    @staticmethod
    def builtin_plus(x: str, k: int) -> str:
        """``x + 3`` or ``x - 3``: adding a negative constant reads as a subtraction."""
        return f"{x} + {k}" if k >= 0 else f"{x} - {-k}"
