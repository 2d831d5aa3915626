"""C++17 (g++)."""

from __future__ import annotations

from typing import Any, ClassVar

from hrmcode.languages.base import Language, VType, c_string_literal, snake_case

_SCALAR = {"int": "long long", "bool": "bool", "str": "std::string"}
_INT32_MAX = 2**31 - 1


class Cpp(Language):
    name = "cpp"
    extension = "cpp"
    fence = "cpp"
    version_commands: ClassVar[dict[str, list[str]]] = {"g++": ["g++", "--version"]}

    def ident(self, name: str) -> str:
        return snake_case(name)

    def type_name(self, t: VType, *, param: bool = False) -> str:
        base = f"std::vector<{_SCALAR[t.base]}>" if t.is_list else _SCALAR[t.base]
        # Idiomatic C++ takes containers and strings by const reference.
        if param and (t.is_list or t.base == "str"):
            return f"const {base}&"
        return base

    def literal(self, value: Any, t: VType, *, param: bool = False) -> str:
        if t.is_list:
            items = ", ".join(self.literal(v, t.elem) for v in self.check_list(value))
            return f"std::vector<{_SCALAR[t.base]}>{{{items}}}"
        if t.base == "int":
            v = self.check_int(value)
            return f"{v}LL" if abs(v) > _INT32_MAX else str(v)
        if t.base == "bool":
            return "true" if value else "false"
        return f"std::string({c_string_literal(str(value))})"

    def signature(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        args = ", ".join(f"{self.type_name(t, param=True)} {self.ident(p)}" for p, t in params)
        return f"{self.type_name(returns)} {self.ident(name)}({args}) {{"

    def starter(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        return self.signature(name, params, returns) + "\n}\n"

    # ---- toolchain and test drivers (execution harness, issue 4) ---------------------------

    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
