"""Python 3.11."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from hrmcode.languages.base import Language, VType, count_params, definition_arities, snake_case
from hrmcode.languages.toolchain import (
    PolyglotTrack,
    ProjectExercise,
    Toolchain,
    ToolchainContext,
    files_with,
    python_for_jail,
)
from hrmcode.languages.units import FunctionUnit

PYTEST_MODULES = ("pytest", "_pytest", "pluggy", "iniconfig", "packaging", "py")


def _pytest_paths() -> tuple[list[str], str | None]:
    paths, site = [], None
    for mod in PYTEST_MODULES:
        spec = importlib.util.find_spec(mod)
        if spec is None:
            if mod in ("pytest", "_pytest", "pluggy"):
                return [], f"python: the `{mod}` package is missing from hrmcode's environment (pip install pytest)"
            continue
        loc = (next(iter(spec.submodule_search_locations)) if spec.submodule_search_locations else spec.origin)
        if loc:
            paths.append(loc)
            site = str(Path(loc).parent)
    return paths, None if site else "python: pytest not found"


class PythonPolyglot(PolyglotTrack):
    """build: ``python -m py_compile`` of the solution files; test: ``python -m pytest`` with the base
    interpreter; only pytest and its dependencies are on ``PYTHONPATH`` inside the jail (bound one by
    one from the venv), not the rest of the venv. Python exercises have no skipped tests."""

    language = "python"
    expected_s = 0.6
    ran = re.compile(r"\b(\d+) (?:passed|failed|error)")
    none_ran = re.compile(r"\bno tests ran\b")

    def toolchain(self, ctx: ToolchainContext, exercises: Sequence[ProjectExercise] = ()) -> Toolchain:
        mods, missing = _pytest_paths()
        py = python_for_jail()
        site = str(Path(mods[0]).parent) if mods else ""

        def build(ex: ProjectExercise) -> str | None:
            # The solution files must compile (a SyntaxError is a compile_error; upstream counts them).
            files = files_with(ex, (".py",))
            return f"exec {py} -m py_compile {files}" if files else None

        return Toolchain("python", f"exec {py} -m pytest", paths=[sys.base_prefix, *mods],
                         # No PYTHONPYCACHEPREFIX: it would hide pytest's own compiled modules (every run
                         # would compile pytest from source, ~2.5x the time). py_compile writes its .pyc
                         # into the job's own copy.
                         env={"PYTHONPATH": site, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
                              # Plugins installed beside pytest (hypothesis, benchmark…) stay out of the run.
                              "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
                         missing=missing, build=build)


# zip_with operators: the element of the list is x, the element of others is y.
_PY_ZIP = {"add": "x + y", "sub": "x - y", "mul": "x * y", "max": "max(x, y)", "min": "min(x, y)"}


class Python(Language):
    name = "python"
    extension = "py"
    fence = "python"
    order = 0
    display = "Python"
    comment = "#"
    suffixes = (".py",)
    fence_aliases = ("py",)
    completion_stops = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#")
    body_close = "\n"
    polyglot = PythonPolyglot()
    version_commands: ClassVar[dict[str, list[str]]] = {"python": [sys.executable, "--version"]}

    def ident(self, name: str) -> str:
        return snake_case(name)

    def type_name(self, t: VType, *, param: bool = False) -> str:
        return f"list[{t.base}]" if t.is_list else t.base

    def literal(self, value: Any, t: VType, *, param: bool = False) -> str:
        if t.is_list:
            return "[" + ", ".join(self.literal(v, t.elem) for v in self.check_list(value)) + "]"
        if t.base == "int":
            return str(self.check_int(value))
        if t.base == "bool":
            return "True" if value else "False"
        return repr(str(value))

    def signature(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        args = ", ".join(f"{self.ident(p)}: {self.type_name(t)}" for p, t in params)
        return f"def {self.ident(name)}({args}) -> {self.type_name(returns)}:"

    def starter(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        return self.signature(name, params, returns) + "\n    pass\n"

    def defined_arities(self, solution: str, name: str) -> list[int]:
        """Top-level ``def name(...)`` (the driver reads module attributes, so a nested or class-level def
        does not count) or ``name = lambda ...:``; ``*`` and ``/`` markers are not parameters."""
        n = re.escape(name)
        arities = definition_arities(solution, re.compile(rf"^(?:async[ \t]+)?def[ \t]+{n}[ \t]*\(", re.M),
                                     skip=("*", "/"))
        for m in re.finditer(rf"^{n}[ \t]*=[ \t]*lambda\b([^:\n]*):", solution, re.M):
            arities.append(count_params(m.group(1), skip=("*", "/")))
        return arities

    # ---- toolchain and test drivers (execution harness, issue 4) ---------------------------
    def toolchain_paths(self) -> list[str]:
        return [sys.base_prefix]

    def render_function_program(self, units: Sequence[FunctionUnit]) -> dict[str, str]:
        files = {"driver.py": self.driver_source("python_driver.py")}
        cases = []
        for u in units:
            files[f"hrmc{u.key}.py"] = u.solution
            cases.append({"k": u.key, "file": f"hrmc{u.key}.py", "fn": self.ident(u.name),
                          "tests": [json.dumps(list(args)) for args in u.tests]})
        files["cases.json"] = json.dumps(cases)
        return files

    fork_driver = "driver.py"  # the supervisor forks itself per candidate after loading it

    def stdin_run_command(self, files: dict[str, str], memory_mb: int) -> list[str]:
        return [python_for_jail(), "-I", "-B", "main.py"]


    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
    def builtin_return(self, var: str) -> list[str]:
        return [f"return {var}"]

    def builtin_close(self) -> list[str]:
        return []

    def builtin_step(self, v: Any, t: Callable[[str], str]) -> list[str]:
        a, s, d = v.args, v.src, v.dst
        p = self.builtin_pred
        one = {
            "filter": lambda: f"[x for x in {s} if {p('x', a)}]",
            "map_add": lambda: f"[{self.builtin_plus('x', a.get('k', 0))} for x in {s}]",
            "map_mul": lambda: f"[x * {a.get('k')} for x in {s}]",
            "map_mod": lambda: f"[x % {a.get('k')} for x in {s}]",
            "map_abs": lambda: f"[abs(x) for x in {s}]",
            "clamp": lambda: f"[max({a.get('lo')}, min({a.get('hi')}, x)) for x in {s}]",
            "sort": lambda: f"sorted({s}, reverse=True)" if a.get("desc") else f"sorted({s})",
            "reverse": lambda: f"{s}[::-1]",
            "take": lambda: f"{s}[:{a.get('k')}]",
            "drop": lambda: f"{s}[{a.get('k')}:]",
            "dedupe": lambda: f"list(dict.fromkeys({s}))",
            "zip_with": lambda: f"[{_PY_ZIP[a.get('op', '')]} for x, y in zip({s}, {v.other})]",
            "adjacent_diff": lambda: f"[b - a for a, b in zip({s}, {s}[1:])]",
            "sum": lambda: f"sum({s})",
            "count": lambda: f"sum(1 for x in {s} if {p('x', a)})",
            "max": lambda: f"max({s}, default=0)",
            "min": lambda: f"min({s}, default=0)",
            "length": lambda: f"len({s})",
            "any": lambda: f"any({p('x', a)} for x in {s})",
            "all": lambda: f"all({p('x', a)} for x in {s})",
            "is_sorted": lambda: f"all(a <= b for a, b in zip({s}, {s}[1:]))",
            "join_ints": lambda: f"{a.get('sep')!r}.join(str(x) for x in {s})",
            "mark": lambda: f"[{p('x', a)} for x in {s}]",
            "count_true": lambda: f"sum(1 for b in {s} if b)",
            "digit_sum": lambda: f"sum(int(c) for c in str(abs({s})))",
            "pow_mod": lambda: f"pow({s}, {a.get('e')}, {a.get('m')})",
            "is_prime": lambda: f"{s} > 1 and all({s} % k != 0 for k in range(2, int({s} ** 0.5) + 1))",
            "digits": lambda: f"[int(c) for c in str(abs({s}))]",
            "range": lambda: f"list(range(1, {s} + 1))",
            "reverse_str": lambda: f"{s}[::-1]",
            "case": lambda: f"{s}.upper()" if a.get("upper") else f"{s}.lower()",
            "caesar": lambda: f"\"\".join(chr((ord(c) - ord(\"a\") + {a.get('k')}) % 26 + ord(\"a\"))"
                              f" if \"a\" <= c <= \"z\" else c for c in {s})",
            "remove_char": lambda: f"{s}.replace({a.get('c')!r}, \"\")",
            "count_char": lambda: f"{s}.count({a.get('c')!r})",
            "palindrome": lambda: f"{s} == {s}[::-1]",
            "split_words": lambda: f"{s}.split()",
            "filter_len": lambda: f"[w for w in {s} if {p('len(w)', a)}]",
            "join_words": lambda: f"{a.get('sep')!r}.join({s})",
            "word_lengths": lambda: f"[len(w) for w in {s}]",
        }
        if v.family in one:
            return [f"{d} = {one[v.family]()}"]
        acc, i = t("acc"), self.builtin_indent
        if v.family == "prefix_sum":
            return [f"{d} = []", f"{acc} = 0", f"for x in {s}:", f"{i}{acc} += x", f"{i}{d}.append({acc})"]
        if v.family == "fizzbuzz":
            fa, fb = a["a"], a["b"]
            return [f"{d} = []", f"for x in {s}:",
                    f"{i}if x % {fa} == 0 and x % {fb} == 0:", f"{i}{i}{d}.append(\"FizzBuzz\")",
                    f"{i}elif x % {fa} == 0:", f"{i}{i}{d}.append(\"Fizz\")",
                    f"{i}elif x % {fb} == 0:", f"{i}{i}{d}.append(\"Buzz\")",
                    f"{i}else:", f"{i}{i}{d}.append(str(x))"]
        if v.family == "gcd":
            x, y = t("a"), t("b")
            return [f"{x}, {y} = abs({s}), {a['k']}", f"while {y}:", f"{i}{x}, {y} = {y}, {x} % {y}", f"{d} = {x}"]
        if v.family == "collatz":
            m = t("m")
            return [f"{d} = 0", f"{m} = {s}", f"while {m} > 1:",
                    f"{i}{m} = {m} // 2 if {m} % 2 == 0 else 3 * {m} + 1", f"{i}{d} += 1"]
        raise ValueError(f"python: no rendering for family {v.family!r}")
