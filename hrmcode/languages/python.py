"""Python 3.11."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hrmcode.languages.base import Language, VType, snake_case

if TYPE_CHECKING:
    from hrmcode.execute.units import FunctionUnit


def _jail_python() -> str:
    """The base interpreter, not the venv: candidates get the standard library and nothing else."""
    v = sys.version_info
    base = Path(sys.base_prefix) / "bin" / f"python{v.major}.{v.minor}"
    return str(base) if base.exists() else sys.executable


class Python(Language):
    name = "python"
    extension = "py"
    fence = "python"
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

    def run_command(self, keys: Sequence[int], memory_mb: int) -> list[str]:
        return [_jail_python(), "-I", "-B", "driver.py", *map(str, keys)]

    def stdin_run_command(self, files: dict[str, str], memory_mb: int) -> list[str]:
        return [_jail_python(), "-I", "-B", "main.py"]


    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
