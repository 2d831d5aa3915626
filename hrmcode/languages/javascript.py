"""JavaScript (Node.js 20)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from hrmcode.languages.base import Language, VType, camel_case

_JS_TYPES = {"int": "number", "bool": "boolean", "str": "string"}


class JavaScript(Language):
    name = "javascript"
    extension = "js"
    fence = "javascript"
    version_commands: ClassVar[dict[str, list[str]]] = {"node": ["node", "--version"]}

    def ident(self, name: str) -> str:
        return camel_case(name)

    def type_name(self, t: VType, *, param: bool = False) -> str:
        base = _JS_TYPES[t.base]
        return f"{base}[]" if t.is_list else base

    def literal(self, value: Any, t: VType, *, param: bool = False) -> str:
        if t.is_list:
            return "[" + ", ".join(self.literal(v, t.elem) for v in self.check_list(value)) + "]"
        if t.base == "int":
            return str(self.check_int(value))
        if t.base == "bool":
            return "true" if value else "false"
        return json.dumps(str(value), ensure_ascii=False)

    def signature(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        args = ", ".join(self.ident(p) for p, _ in params)
        return f"function {self.ident(name)}({args}) {{"

    def starter(self, name: str, params: list[tuple[str, VType]], returns: VType) -> str:
        doc = ["/**"]
        doc += [f" * @param {{{self.type_name(t)}}} {self.ident(p)}" for p, t in params]
        doc += [f" * @returns {{{self.type_name(returns)}}}", " */"]
        return "\n".join(doc) + "\n" + self.signature(name, params, returns) + "\n}\n"

    # ---- toolchain and test drivers (execution harness, issue 4) ---------------------------

    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
