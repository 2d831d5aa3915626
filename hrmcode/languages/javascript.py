"""JavaScript (Node.js 20)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from hrmcode.languages.base import Language, VType, camel_case

_JS_TYPES = {"int": "number", "bool": "boolean", "str": "string"}
_ESM_EXPORT = re.compile(r"^\s*export\s+(default\s+)?(?=(async\s+)?function\b|const\b|let\b|var\b)", re.M)

if TYPE_CHECKING:
    from hrmcode.execute.units import FunctionUnit


def _heap_mb(memory_mb: int) -> int:
    """V8's heap cap under the memory limit, so a heap bomb fails inside V8 before the cgroup kills."""
    return max(64, memory_mb * 3 // 4)


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
    def render_function_program(self, units: Sequence[FunctionUnit]) -> dict[str, str]:
        files = {"driver.js": self.driver_source("js_driver.js")}
        cases = []
        for u in units:
            fn = self.ident(u.name)
            # CommonJS: the candidate is a module exporting its function; `export` keywords (ESM) are
            # dropped so a solution written as an ES module still loads.
            body = _ESM_EXPORT.sub("", u.solution)
            files[f"hrmc{u.key}.js"] = (f"{body}\n;module.exports = (typeof {fn} === 'function') ? {fn} : undefined;\n")
            cases.append({"k": u.key, "file": f"hrmc{u.key}.js", "fn": fn,
                          "tests": [json.dumps(list(args)) for args in u.tests]})
        files["cases.json"] = json.dumps(cases)
        return files

    def run_command(self, keys: Sequence[int], memory_mb: int) -> list[str]:
        return ["node", f"--max-old-space-size={_heap_mb(memory_mb)}", "--stack-size=8000", "driver.js",
                *map(str, keys)]

    def stdin_run_command(self, files: dict[str, str], memory_mb: int) -> list[str]:
        return ["node", f"--max-old-space-size={_heap_mb(memory_mb)}", "main.js"]


    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
