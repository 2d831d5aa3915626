"""Java 17. A solution is a static method; the harness places it in a class."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from hrmcode.languages.base import Language, VType, c_string_literal, camel_case

_SCALAR = {"int": "long", "bool": "boolean", "str": "String"}
_BOXED = {"int": "Long", "bool": "Boolean", "str": "String"}

if TYPE_CHECKING:
    from hrmcode.execute.units import FunctionUnit

# What a method-only solution may use without importing it.
_DEFAULT_IMPORTS = ("import java.util.*;\nimport java.util.function.*;\nimport java.util.stream.*;\n"
                    "import java.math.*;\n")
_IMPORT_RE = re.compile(r"^\s*import\s+(static\s+)?[\w.]+(\.\*)?\s*;[ \t]*$", re.M)
_PUBLIC_CLASS_RE = re.compile(r"\bpublic\s+(?:final\s+|abstract\s+)*class\s+(\w+)")
_CLASS_RE = re.compile(r"\bclass\s+(\w+)")


def _split_imports(solution: str) -> tuple[str, str]:
    """Move a solution's import lines above the class the harness wraps it in."""
    imports = "".join(m.group(0).strip() + "\n" for m in _IMPORT_RE.finditer(solution))
    return imports, _IMPORT_RE.sub("", solution)


def _main_class(program: str) -> str:
    """The file name a whole program needs: its public class, else its first class, else Main."""
    m = _PUBLIC_CLASS_RE.search(program) or _CLASS_RE.search(program)
    return m.group(1) if m else "Main"


def _javac(sources: list[str]) -> list[str]:
    # A client-compiler JVM starts faster; javac runs no annotation processors (no code at build time).
    return ["javac", "-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC", "-J-XX:-UsePerfData", "-J-Xss16m",
            "-nowarn", "-proc:none", "-encoding", "UTF-8", "-d", "out", *sources]


def _java(memory_mb: int) -> list[str]:
    heap = max(64, memory_mb * 3 // 4)  # below the cgroup cap: an OutOfMemoryError, not an OOM kill
    return ["java", f"-Xmx{heap}m", "-Xss64m", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1",
            "-Dfile.encoding=UTF-8", "-cp", "out"]
class Java(Language):
    name = "java"
    extension = "java"
    fence = "java"
    version_commands: ClassVar[dict[str, list[str]]] = {"javac": ["javac", "-version"], "java": ["java", "-version"]}

    def ident(self, name: str) -> str:
        return camel_case(name)

    def type_name(self, t: VType, *, param: bool = False) -> str:
        return f"List<{_BOXED[t.base]}>" if t.is_list else _SCALAR[t.base]

    def literal(self, value: Any, t: VType, *, param: bool = False) -> str:
        if t.is_list:
            items = ", ".join(self.literal(v, t.elem) for v in self.check_list(value))
            # A mutable list, so a solution may sort or modify its argument as Java code often does.
            return f"new ArrayList<>(List.<{_BOXED[t.base]}>of({items}))"
        if t.base == "int":
            return f"{self.check_int(value)}L"
        if t.base == "bool":
            return "true" if value else "false"
        return c_string_literal(str(value))

    def signature(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        args = ", ".join(f"{self.type_name(t)} {self.ident(p)}" for p, t in params)
        return f"public static {self.type_name(returns)} {self.ident(name)}({args}) {{"

    def starter(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        return self.signature(name, params, returns) + "\n}\n"

    # ---- toolchain and test drivers (execution harness, issue 4) ---------------------------
    compiled = True

    def render_function_program(self, units: Sequence[FunctionUnit]) -> dict[str, str]:
        files = {"HrmH.java": self.driver_source("HrmH.java")}
        cases = []
        for u in units:
            imports, body = _split_imports(u.solution)
            tests = "\n".join(f"        HrmH.test({u.key}, {i}, () -> {u.call(self, args)});"
                              for i, args in enumerate(u.tests))
            files[f"Hrmc{u.key}.java"] = (
                f"{_DEFAULT_IMPORTS}{imports}\nfinal class Hrmc{u.key} {{\n{body}\n"
                f"    static void hrmcRun() {{\n        HrmH.begin({u.key});\n{tests}\n"
                f"        HrmH.end({u.key});\n    }}\n}}\n")
            cases.append(f"                case {u.key}: Hrmc{u.key}.hrmcRun(); break;")
        files["HrmMain.java"] = (
            "public class HrmMain {\n    public static void main(String[] args) throws Exception {\n"
            "        HrmH.open();\n        for (String a : args) {\n            switch (Integer.parseInt(a)) {\n"
            + "\n".join(cases) + "\n                default: break;\n            }\n        }\n"
            # halt: a candidate's shutdown hooks or stray threads cannot keep the JVM alive.
            "        System.out.flush();\n        Runtime.getRuntime().halt(0);\n    }\n}\n")
        return files

    def build_commands(self, units: Sequence[FunctionUnit]) -> list[list[str]]:
        sources = ["HrmH.java", "HrmMain.java", *(f"Hrmc{u.key}.java" for u in units)]
        return [_javac(sources)]

    def run_command(self, keys: Sequence[int], memory_mb: int) -> list[str]:
        return [*_java(memory_mb), "HrmMain", *map(str, keys)]

    def render_stdin_program(self, solution: str) -> dict[str, str]:
        return {f"{_main_class(solution)}.java": solution}

    def stdin_build_commands(self, files: dict[str, str]) -> list[list[str]]:
        return [_javac(list(files))]

    def stdin_run_command(self, files: dict[str, str], memory_mb: int) -> list[str]:
        return [*_java(memory_mb), next(iter(files)).removesuffix(".java")]


    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
