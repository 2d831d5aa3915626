"""Java 17. A solution is a static method; the harness places it in a class."""

from __future__ import annotations

from typing import Any, ClassVar

from hrmcode.languages.base import Language, VType, c_string_literal, camel_case

_SCALAR = {"int": "long", "bool": "boolean", "str": "String"}
_BOXED = {"int": "Long", "bool": "Boolean", "str": "String"}


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

    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
