"""Rust (rustc from rustup)."""

from __future__ import annotations

from typing import Any, ClassVar

from hrmcode.languages.base import Language, VType, c_string_literal, snake_case

_OWNED = {"int": "i64", "bool": "bool", "str": "String"}


class Rust(Language):
    name = "rust"
    extension = "rs"
    fence = "rust"
    version_commands: ClassVar[dict[str, list[str]]] = {"rustc": ["rustc", "--version"]}

    def ident(self, name: str) -> str:
        return snake_case(name)

    def type_name(self, t: VType, *, param: bool = False) -> str:
        if param:
            # Idiomatic Rust borrows its inputs: &[i64], &[String], &str.
            if t.is_list:
                return f"&[{_OWNED[t.base]}]"
            return "&str" if t.base == "str" else _OWNED[t.base]
        return f"Vec<{_OWNED[t.base]}>" if t.is_list else _OWNED[t.base]

    def literal(self, value: Any, t: VType, *, param: bool = False) -> str:
        if t.is_list:
            items = ", ".join(self.literal(v, t.elem) for v in self.check_list(value))
            return f"&[{items}]" if param else f"vec![{items}]"
        if t.base == "int":
            return str(self.check_int(value))
        if t.base == "bool":
            return "true" if value else "false"
        s = c_string_literal(str(value))
        return s if param and not t.is_list else f"{s}.to_string()"

    def signature(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        args = ", ".join(f"{self.ident(p)}: {self.type_name(t, param=True)}" for p, t in params)
        return f"fn {self.ident(name)}({args}) -> {self.type_name(returns)} {{"

    def starter(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        return self.signature(name, params, returns) + "\n    todo!()\n}\n"

    # ---- toolchain and test drivers (execution harness, issue 4) ---------------------------

    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
