"""Python 3.11."""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from hrmcode.languages.base import Language, VType, snake_case


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

    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
