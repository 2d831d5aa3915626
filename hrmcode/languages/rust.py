"""Rust (rustc from rustup)."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hrmcode.languages.base import Language, VType, c_string_literal, snake_case

_OWNED = {"int": "i64", "bool": "bool", "str": "String"}
if TYPE_CHECKING:
    from hrmcode.execute.units import FunctionUnit

# opt-level 1: most of -O's speed for a fraction of its compile time (compilation dominates here).
_RUSTC = ["rustc", "--edition", "2021", "-C", "opt-level=1", "-C", "debuginfo=0", "--cap-lints", "allow"]


@functools.cache
def _sysroot() -> str | None:
    """The real toolchain directory (rustup's proxies need ~/.rustup state the jail does not have)."""
    exe = shutil.which("rustc")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--print", "sysroot"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    root = out.stdout.strip()
    return root if root and Path(root, "bin", "rustc").exists() else None


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
    compiled = True

    def toolchain_paths(self) -> list[str]:
        root = _sysroot()
        return [root] if root else []

    def jail_env(self) -> dict[str, str]:
        root = _sysroot() or ""
        return {"PATH": f"{root}/bin:/usr/bin:/bin"}

    def render_function_program(self, units: Sequence[FunctionUnit]) -> dict[str, str]:
        files = {"hrmh.rs": self.driver_source("hrmh.rs")}
        mods, cases = [], []
        for u in units:
            tests = "\n".join(f"    hrmh::test({u.key}, {i}, || {u.call(self, args)});" for i, args in enumerate(u.tests))
            # Each candidate is its own module file: errors name hrmc<key>.rs, and nothing leaks between them.
            files[f"hrmc{u.key}.rs"] = (f"use crate::hrmh;\n{u.solution}\n\npub fn hrmc_run() {{\n"
                                        f"    hrmh::begin({u.key});\n{tests}\n    hrmh::end({u.key});\n}}\n")
            mods.append(f"mod hrmc{u.key};")
            cases.append(f"            {u.key} => hrmc{u.key}::hrmc_run(),")
        files["main.rs"] = (
            "#![allow(warnings)]\nmod hrmh;\n" + "\n".join(mods) + "\n\nfn main() {\n    hrmh::init();\n"
            "    for a in std::env::args().skip(1) {\n        match a.parse::<usize>().unwrap_or(usize::MAX) {\n"
            + "\n".join(cases) + "\n            _ => {}\n        }\n    }\n    std::process::exit(0);\n}\n")
        return files

    def build_commands(self, units: Sequence[FunctionUnit]) -> list[list[str]]:
        return [[*_RUSTC, "-o", "prog", "main.rs"]]

    def run_command(self, keys: Sequence[int], memory_mb: int) -> list[str]:
        return ["./prog", *map(str, keys)]

    def stdin_build_commands(self, files: dict[str, str]) -> list[list[str]]:
        return [[*_RUSTC, "-o", "prog", "main.rs"]]

    def stdin_run_command(self, files: dict[str, str], memory_mb: int) -> list[str]:
        return ["./prog"]


    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
