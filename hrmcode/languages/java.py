"""Java 17. A solution is a static method; the harness places it in a class."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from hrmcode.languages.base import Language, VType, c_string_literal, camel_case, definition_arities
from hrmcode.languages.polyglot_deps import Needs, OfflineDeps, jar_classes, resolve_java
from hrmcode.languages.toolchain import (
    Mount,
    PolyglotTrack,
    ProjectExercise,
    Toolchain,
    ToolchainContext,
    trusted_log,
)
from hrmcode.languages.units import INPUTS_FILE, FunctionUnit, inputs_file

log = logging.getLogger(__name__)

_SCALAR = {"int": "long", "bool": "boolean", "str": "String"}
_BOXED = {"int": "Long", "bool": "Boolean", "str": "String"}
# Per test value type: the type of the driver's variable and its reader (HrmH.java In).
_JAVA_READ = {"int": ("long", "i"), "bool": ("boolean", "b"), "str": ("String", "s"), "list[int]": ("List<Long>", "li"),
              "list[bool]": ("List<Boolean>", "lb"), "list[str]": ("List<String>", "ls")}


# What a method-only solution may use without importing it.
_DEFAULT_IMPORTS = ("import java.util.*;\nimport java.util.function.*;\nimport java.util.stream.*;\n"
                    "import java.math.*;\n")
_IMPORT_RE = re.compile(r"^\s*import\s+(static\s+)?[\w.]+(\.\*)?\s*;[ \t]*$", re.M)
_PUBLIC_CLASS_RE = re.compile(r"\bpublic\s+(?:final\s+|abstract\s+)*class\s+(\w+)")
_CLASS_RE = re.compile(r"\bclass\s+(\w+)")


# The driver's classes; every other class file of a batch must be a candidate's class or nested in it.
_DRIVER_CLASSES = {"HrmH.class", "HrmH$In.class", "HrmMain.class"}
_CANDIDATE_CLASS_RE = re.compile(r"^Hrmc(\d+)(?:\$.*)?\.class$")


def _split_imports(solution: str) -> tuple[str, str]:
    """Move a solution's import lines above the class the harness wraps it in."""
    imports = "".join(m.group(0).strip() + "\n" for m in _IMPORT_RE.finditer(solution))
    return imports, _IMPORT_RE.sub("", solution)


def _main_class(program: str) -> str:
    """The file name a whole program needs: its public class, else its first class, else Main."""
    m = _PUBLIC_CLASS_RE.search(program) or _CLASS_RE.search(program)
    return m.group(1) if m else "Main"


def _javac(sources: list[str]) -> list[str]:
    # A client-compiler JVM starts faster; javac runs no annotation processors (no code at build time).
    # String concatenation compiled inline (StringBuilder), not as invokedynamic: the same strings,
    # without the bootstrap that cost every candidate's JVM ~25 ms of CPU at its first concatenation.
    return ["javac", "-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC", "-J-XX:-UsePerfData", "-J-Xss16m",
            "-XDstringConcat=inline", "-nowarn", "-proc:none", "-encoding", "UTF-8", "-d", "out", *sources]


def _heap_mb(memory_mb: int) -> int:
    return max(64, memory_mb * 3 // 4)  # below the cgroup cap: an OutOfMemoryError, not an OOM kill


# Address space the JVM reserves beyond its heap (code cache, metaspace, thread stacks): with less
# RLIMIT_DATA it cannot start its threads. Measured with a 256 MB cap (heap 192 MB): an RLIMIT_DATA
# of 768 MB failed every candidate, 896 MB ran them (the heap + ~650 MB); 2 × the cap is enough from
# a ~600 MB cap up.
JVM_RESERVED_MB = 768


def _java(memory_mb: int) -> list[str]:
    heap = _heap_mb(memory_mb)
    return ["java", f"-Xmx{heap}m", "-Xss64m", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1",
            "-Dfile.encoding=UTF-8", "-cp", "out"]
# zip_with operators over the elements {x} and {y}; Math.max/min on two Longs resolve to the long overloads.
_JAVA_ZIP = {"add": "{x} + {y}", "sub": "{x} - {y}", "mul": "{x} * {y}", "max": "Math.max({x}, {y})",
             "min": "Math.min({x}, {y})"}


# ---- Aider Polyglot ---------------------------------------------------------------------------------
# build: ``javac``; test: the JUnit console launcher (upstream's Gradle wrapper downloads Gradle at test
# time and cannot run offline); the classpath holds the libraries ``build.gradle`` declares, from
# ``--deps`` directories or Debian (hrmcode.languages.polyglot_deps).
#
# The JUnit console launcher's JVM loads the same few thousand classes every run. A trusted run of
# one exercise's stub dumps them into a dynamic class-data archive (``-XX:ArchiveClassesAtExit``,
# keyed by the JVM and the launcher jar); test JVMs map it read-only (about 30 % less CPU per run).
# Test classes come from the launcher's own class loader and are never archived.

JAVA_JARS = Path("/usr/share/java")
JUNIT_CONSOLE = JAVA_JARS / "junit-platform-console-standalone.jar"
ASSERTJ = JAVA_JARS / "assertj-core.jar"
JAVA_JVM = "-XX:+UseSerialGC -XX:-UsePerfData"
# javac is short-lived: C1 only starts faster. The tests keep the full JIT (java/alphametics takes
# 40 s at C1 only, 13 s with C2); their JVM maps a class-data archive of the JUnit launcher.
JAVAC_JVM = "-J-XX:+UseSerialGC -J-XX:TieredStopAtLevel=1 -J-XX:-UsePerfData"
_CDS_QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"  # a stale archive is ignored, silently
_JAVA_DISABLED = re.compile(r"^[ \t]*@Disabled(?:\s*\([^)]*\))?[ \t]*\r?\n", re.M)
_JAVAC_SYMBOL = re.compile(r"^(?P<file>[^\s:]+\.java):\d+: error: cannot find symbol\n(?:.*\n){0,3}?\s*symbol:\s+"
                           r"(?P<kind>\w+)\s+(?P<sym>[^\n]+)\n\s*location:\s+(?:class|interface|variable \w+ of type)\s+"
                           r"(?P<type>[\w.$]+)", re.M)
_java_lock = threading.Lock()


def _junit_cmd(cds_flags: str) -> str:
    return (f'exec java {JAVA_JVM}{cds_flags} -jar {JUNIT_CONSOLE} -cp "out:$HRMCODE_CP" --scan-class-path '
            "--disable-banner --disable-ansi-colors")


JAVA_BUILD = ("mkdir -p out && javac " + JAVAC_JVM + ' -nowarn -encoding UTF-8 -d out -cp "$HRMCODE_CP" '
              "$(find src -name '*.java')")


def java_toolchain(deps: OfflineDeps | None = None, cds: Path | None = None) -> Toolchain:
    """javac, then the JUnit console launcher; ``cds`` is the trusted class-data archive of the
    launcher's own classes (:func:`warm_java_cds`): the JVM starts ~40 % cheaper with it."""
    deps = deps or OfflineDeps()
    missing = None
    if shutil.which("javac") is None:
        missing = "java: javac is not installed"
    elif not JUNIT_CONSOLE.is_file():
        missing = "java: Debian's junit5 is needed for its JUnit console launcher (`make setup` as root installs it)"
    paths = deps.jail_paths()
    flags = ""
    if cds is not None:
        flags = f" -XX:SharedArchiveFile={cds} {_CDS_QUIET}"
        paths = [*paths, str(cds.parent)]
    return Toolchain("java", _junit_cmd(flags), env={"PATH": "/usr/local/bin:/usr/bin:/bin"}, missing=missing,
                     paths=paths, build=lambda ex: JAVA_BUILD,
                     resolve=lambda ex, declared, work: resolve_java(deps, declared, [JUNIT_CONSOLE], [ASSERTJ]))


def _java_key() -> str:
    """The JVM and the launcher a class-data archive was made with (an upgrade makes a new one)."""
    java = shutil.which("java")
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=60)
        version = out.stdout + out.stderr
    except (OSError, subprocess.TimeoutExpired):
        version = "unknown"
    parts = [version]
    for p in (Path(os.path.realpath(java)) if java else None, JUNIT_CONSOLE):
        if p is not None and p.exists():
            st = p.stat()
            parts.append(f"{p}:{st.st_size}:{int(st.st_mtime)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def warm_java_cds(exercises: Sequence[ProjectExercise], ctx: ToolchainContext) -> Path | None:
    """A dynamic class-data archive of the JUnit console launcher, dumped by a trusted run of one
    exercise's pristine stub and tests (no candidate code; test classes come from a separate class
    loader and are never archived). Returns None when Java is missing or the dump failed."""
    tc0 = java_toolchain(ctx.deps)
    if tc0.missing or ctx.cache_root is None or ctx.tmp_root is None or ctx.run_trusted is None:
        return None
    root = ctx.cache_root / "polyglot-java"
    jsa = root / f"junit-{_java_key()}.jsa"
    with _java_lock:
        if jsa.is_file():
            return jsa
        for ex in exercises:
            declared = {f: ex.read(f) for f in ("build.gradle",) if (ex.path / f).is_file()}
            needs = resolve_java(ctx.deps, declared, [JUNIT_CONSOLE], [ASSERTJ])
            if not needs.unavailable:
                break
        else:
            return None
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        tmp = root / f".{jsa.name}.{os.getpid()}.tmp"
        work = Path(tempfile.mkdtemp(prefix="java-warm-", dir=ctx.tmp_root)) / ex.name
        try:
            shutil.copytree(ex.path, work, ignore=shutil.ignore_patterns(".meta", "build", "out"))
            cmd = (JAVA_BUILD + "; " + _junit_cmd(f" -XX:ArchiveClassesAtExit={tmp} {_CDS_QUIET}")
                   .replace("exec java", "java") + "; test -s " + shlex.quote(str(tmp)))
            log.info("polyglot: dumping the JUnit launcher's class-data archive with %s (once per JVM)", ex.task_id)
            res = ctx.run_trusted(tc0.argv(ex.name, cmd), work.parent, tc0, [Mount(str(root), str(root), writable=True)],
                                  needs.env)
            if res.ok and tmp.is_file():
                tmp.chmod(0o644)
                os.replace(tmp, jsa)
                return jsa
            log.warning("polyglot: the JUnit class-data archive could not be made (Java jobs start slower): %s",
                        trusted_log(res, 800))
            return None
        finally:
            tmp.unlink(missing_ok=True)
            shutil.rmtree(work.parent, ignore_errors=True)


class JavaPolyglot(PolyglotTrack):
    language = "java"
    deviations = (
        "java: javac + the JUnit console launcher instead of ./gradlew test (Gradle downloads itself at test "
        "time); the libraries build.gradle declares come from --deps directories or Debian, possibly at another "
        "version (each substitute is listed per exercise)",
        "java: a bare @Disabled is removed too (upstream's regex only removes @Disabled(...))",
    )
    expected_s = 5.0
    warms = True
    ran = re.compile(r"\[\s*(\d+) tests started\s*\]")
    none_ran = re.compile(r"\[\s*0 tests found\s*\]")

    def toolchain(self, ctx: ToolchainContext, exercises: Sequence[ProjectExercise] = ()) -> Toolchain:
        cds = warm_java_cds([e for e in exercises if e.language == "java"], ctx) if ctx.warm else None
        return java_toolchain(ctx.deps, cds)

    def reenable_skipped(self, rel: str, text: str) -> str:
        return _JAVA_DISABLED.sub("", text) if rel.endswith(".java") else text

    def candidate_classes(self, ex: ProjectExercise, work: Path) -> tuple[str, ...]:
        return tuple([PurePosixPath(f).stem for f in ex.solution if f.endswith(".java")] + [
            p.stem for p in work.glob("src/main/java/**/*.java")])

    def explain_build_failure(self, log_text: str, needs: Needs, pristine: Sequence[str],
                              candidate_classes: Sequence[str] = ()) -> str | None:
        """javac cannot find a symbol that the pristine test or editor files use on a class of a library
        substituted by an *older* version."""
        if not needs.older_jars:
            return None
        for m in _JAVAC_SYMBOL.finditer(log_text):
            if m.group("file") not in pristine:
                continue
            cls = m.group("type").split("<")[0].rsplit(".", 1)[-1]
            if cls in candidate_classes:
                continue
            for coord, used, jar in needs.older_jars:
                if cls in jar_classes(jar):
                    return (f"{coord}: the offline {used} lacks {cls}.{m.group('sym').split('(')[0]} "
                            "(the tests use it); put the declared version's jar in a --deps directory")
        return None


class Java(Language):
    name = "java"
    extension = "java"
    fence = "java"
    order = 2
    display = "Java"
    suffixes = (".java",)
    function_note = " (the harness puts it inside a class: write a static method)"
    polyglot = JavaPolyglot()
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

    def defined_arities(self, solution: str, name: str) -> list[int]:
        """A method header: a type before the name, and after the ")" (``throws …``) the body's "{" (which
        tells it from a call)."""
        n = re.escape(name)
        return definition_arities(solution, re.compile(rf"[\w>\]]\s+{n}\s*\("),
                                  after=re.compile(r"\s*(?:throws\s[^{;]*)?\{"), angle=True)

    # ---- toolchain and test drivers (execution harness, issue 4) ---------------------------
    compiled = True

    def render_function_program(self, units: Sequence[FunctionUnit]) -> dict[str, str]:
        files = {"HrmH.java": self.driver_source("HrmH.java"), INPUTS_FILE: inputs_file(units)}
        cases = []
        for u in units:
            imports, body = _split_imports(u.solution)
            # One call wrapper per candidate (not one per test), over inputs read at run time: an
            # anonymous class, not a lambda, because a JVM starts per candidate and a lambda's first
            # use costs it ~30 ms of CPU (invokedynamic bootstrap) when the candidate uses none. Arguments
            # have the old literals' static types (long, boolean, String, a fresh ArrayList), so
            # the same candidate signatures compile.
            reads = "".join(f"            final {_JAVA_READ[str(t)][0]} hrmv{j} = hrmin.{_JAVA_READ[str(t)][1]}();\n"
                            for j, (_, t) in enumerate(u.params))
            args = ", ".join(f"new ArrayList<>(hrmv{j})" if t.is_list else f"hrmv{j}" for j, (_, t) in enumerate(u.params))
            files[f"Hrmc{u.key}.java"] = (
                f"{_DEFAULT_IMPORTS}{imports}\nfinal class Hrmc{u.key} {{\n{body}\n"
                f"    static void hrmcRun(HrmH.In hrmin) {{\n        HrmH.begin({u.key});\n"
                "        for (int hrmt = 0, hrmn = hrmin.count(); hrmt < hrmn; hrmt++) {\n"
                f"{reads}            HrmH.test({u.key}, hrmt, new java.util.function.Supplier<java.lang.Object>() {{ "
                f"public java.lang.Object get() {{ "
                f"return Hrmc{u.key}.{self.ident(u.name)}({args}); }} }});\n        }}\n"
                f"        HrmH.end({u.key});\n    }}\n}}\n")
            cases.append(f"                case {u.key}: Hrmc{u.key}.hrmcRun(HrmH.section({u.key})); break;")
        files["HrmMain.java"] = (
            "public class HrmMain {\n    public static void main(String[] args) throws Exception {\n"
            "        HrmH.open();\n        HrmH.load();\n        for (String a : args) {\n"
            "            switch (Integer.parseInt(a)) {\n"
            + "\n".join(cases) + "\n                default: break;\n            }\n        }\n"
            # halt: a candidate's shutdown hooks or stray threads cannot keep the JVM alive.
            "        System.out.flush();\n        Runtime.getRuntime().halt(0);\n    }\n}\n")
        return files

    def build_commands(self, units: Sequence[FunctionUnit]) -> list[list[str]]:
        sources = ["HrmH.java", "HrmMain.java", *(f"Hrmc{u.key}.java" for u in units)]
        # Every error of a batch, not javac's first 100: each one names a candidate to set aside, and
        # a culprit left unnamed costs the whole batch another failed build.
        return [_javac(["-Xmaxerrs", "100000", *sources])]

    def candidate_command(self, memory_mb: int) -> list[str]:
        return [*_java(memory_mb), "HrmMain"]

    def run_data_mb(self, memory_mb: int) -> int:
        return max(2 * memory_mb, _heap_mb(memory_mb) + JVM_RESERVED_MB)

    def invasive_keys(self, workdir: Path, units: Sequence[FunctionUnit]) -> set[int] | None:
        """Candidates that closed their class and declared top-level classes of their own: in the
        default package such a class shadows an imported one (``ArrayList``) in every batch-mate's
        code, including the harness's wrapper, and would run in their processes."""
        keys = {u.key for u in units}
        strangers = []
        for f in (workdir / "out").rglob("*.class"):
            m = _CANDIDATE_CLASS_RE.match(f.name)
            if f.parent != workdir / "out" or not (f.name in _DRIVER_CLASSES or (m and int(m.group(1)) in keys)):
                strangers.append(f.name.removesuffix(".class").split("$")[0])
        if not strangers:
            return set()
        named = {u.key for u in units for n in strangers if re.search(rf"\b{re.escape(n)}\b", u.solution)}
        return named or None

    def render_stdin_program(self, solution: str) -> dict[str, str]:
        return {f"{_main_class(solution)}.java": solution}

    def stdin_build_commands(self, files: dict[str, str]) -> list[list[str]]:
        return [_javac(list(files))]

    def stdin_run_command(self, files: dict[str, str], memory_mb: int) -> list[str]:
        return [*_java(memory_mb), next(iter(files)).removesuffix(".java")]


    # ---- built-in suite IR rendering (issue 3) ---------------------------------------------
    def builtin_step(self, v: Any, t: Callable[[str], str]) -> list[str]:
        a, s, d, o = v.args, self.builtin_ident(v.src), self.builtin_ident(v.dst), self.builtin_ident(v.other or "")
        p, i, q = self.builtin_pred, self.builtin_indent, c_string_literal
        k = a.get("k")
        decl = f"{self.type_name(v.out_type)} {d}"
        one = {
            "filter": lambda: f"{s}.stream().filter(x -> {p('x', a)}).toList()",
            "map_add": lambda: f"{s}.stream().map(x -> {self.builtin_plus('x', a.get('k', 0))}).toList()",
            "map_mul": lambda: f"{s}.stream().map(x -> x * {k}).toList()",
            "map_mod": lambda: f"{s}.stream().map(x -> Math.floorMod(x, {k}L)).toList()",
            "map_abs": lambda: f"{s}.stream().map(x -> Math.abs(x)).toList()",
            "clamp": lambda: f"{s}.stream().map(x -> Math.max({a.get('lo')}L, Math.min({a.get('hi')}L, x))).toList()",
            "sort": lambda: f"{s}.stream().sorted(Comparator.reverseOrder()).toList()" if a.get("desc")
            else f"{s}.stream().sorted().toList()",
            "take": lambda: f"{s}.stream().limit({k}).toList()",
            "drop": lambda: f"{s}.stream().skip({k}).toList()",
            "dedupe": lambda: f"{s}.stream().distinct().toList()",
            "sum": lambda: f"{s}.stream().mapToLong(Long::longValue).sum()",
            "count": lambda: f"{s}.stream().filter(x -> {p('x', a)}).count()",
            "max": lambda: f"{s}.stream().mapToLong(Long::longValue).max().orElse(0)",
            "min": lambda: f"{s}.stream().mapToLong(Long::longValue).min().orElse(0)",
            "length": lambda: f"{s}.size()",
            "any": lambda: f"{s}.stream().anyMatch(x -> {p('x', a)})",
            "all": lambda: f"{s}.stream().allMatch(x -> {p('x', a)})",
            "join_ints": lambda: f"String.join({q(a.get('sep', ''))}, {s}.stream().map(x -> String.valueOf(x)).toList())",
            "mark": lambda: f"{s}.stream().map(x -> {p('x', a)}).toList()",
            "count_true": lambda: f"{s}.stream().filter(Boolean::booleanValue).count()",
            "digit_sum": lambda: f"String.valueOf(Math.abs({s})).chars().map(c -> c - '0').sum()",
            "digits": lambda: f"String.valueOf(Math.abs({s})).chars().mapToObj(c -> (long) (c - '0')).toList()",
            "reverse_str": lambda: f"new StringBuilder({s}).reverse().toString()",
            "case": lambda: f"{s}.toUpperCase()" if a.get("upper") else f"{s}.toLowerCase()",
            "remove_char": lambda: f"{s}.replace({q(a.get('c', ''))}, \"\")",
            "count_char": lambda: f"{s}.chars().filter(c -> c == '{a.get('c')}').count()",
            "palindrome": lambda: f"{s}.equals(new StringBuilder({s}).reverse().toString())",
            "split_words": lambda: f"Arrays.stream({s}.split(\" \")).filter(w -> !w.isEmpty()).toList()",
            "filter_len": lambda: f"{s}.stream().filter(w -> {p('w.length()', a)}).toList()",
            "join_words": lambda: f"String.join({q(a.get('sep', ''))}, {s})",
            "word_lengths": lambda: f"{s}.stream().map(w -> (long) w.length()).toList()",
        }
        if v.family in one:
            return [f"{decl} = {one[v.family]()};"]
        if v.family == "reverse":
            return [f"{decl} = new ArrayList<>({s});", f"Collections.reverse({d});"]
        if v.family == "prefix_sum":
            acc = t("acc")
            return [f"{decl} = new ArrayList<>();", f"long {acc} = 0;", f"for (long x : {s}) {{",
                    f"{i}{acc} += x;", f"{i}{d}.add({acc});", "}"]
        if v.family == "zip_with":
            expr = _JAVA_ZIP[a["op"]].format(x=f"{s}.get(i)", y=f"{o}.get(i)")
            return [f"{decl} = new ArrayList<>();", f"for (int i = 0; i < Math.min({s}.size(), {o}.size()); i++) {{",
                    f"{i}{d}.add({expr});", "}"]
        if v.family == "adjacent_diff":
            return [f"{decl} = new ArrayList<>();", f"for (int i = 1; i < {s}.size(); i++) {{",
                    f"{i}{d}.add({s}.get(i) - {s}.get(i - 1));", "}"]
        if v.family == "is_sorted":
            return [f"{decl} = true;", f"for (int i = 1; i < {s}.size(); i++) {{",
                    f"{i}if ({s}.get(i - 1) > {s}.get(i)) {{", f"{i}{i}{d} = false;", f"{i}{i}break;", f"{i}}}", "}"]
        if v.family == "fizzbuzz":
            fa, fb = a["a"], a["b"]
            return [f"{decl} = new ArrayList<>();", f"for (long x : {s}) {{",
                    f"{i}if (x % {fa} == 0 && x % {fb} == 0) {{", f"{i}{i}{d}.add(\"FizzBuzz\");",
                    f"{i}}} else if (x % {fa} == 0) {{", f"{i}{i}{d}.add(\"Fizz\");",
                    f"{i}}} else if (x % {fb} == 0) {{", f"{i}{i}{d}.add(\"Buzz\");",
                    f"{i}}} else {{", f"{i}{i}{d}.add(String.valueOf(x));", f"{i}}}", "}"]
        if v.family == "gcd":
            x, y, r = t("a"), t("b"), t("r")
            return [f"long {x} = Math.abs({s});", f"long {y} = {k};", f"while ({y} != 0) {{",
                    f"{i}long {r} = {x} % {y};", f"{i}{x} = {y};", f"{i}{y} = {r};", "}", f"{decl} = {x};"]
        if v.family == "pow_mod":
            base, m, e = t("base"), a["m"], a["e"]
            return [f"long {base} = Math.floorMod({s}, {m}L);", f"{decl} = 1;",
                    f"for (int i = 0; i < {e}; i++) {{", f"{i}{d} = {d} * {base} % {m};", "}"]
        if v.family == "collatz":
            m = t("m")
            return [f"{decl} = 0;", f"long {m} = {s};", f"while ({m} > 1) {{",
                    f"{i}{m} = {m} % 2 == 0 ? {m} / 2 : 3 * {m} + 1;", f"{i}{d}++;", "}"]
        if v.family == "is_prime":
            return [f"{decl} = {s} > 1;", f"for (long k = 2; k * k <= {s}; k++) {{", f"{i}if ({s} % k == 0) {{",
                    f"{i}{i}{d} = false;", f"{i}{i}break;", f"{i}}}", "}"]
        if v.family == "range":
            return [f"{decl} = new ArrayList<>();", f"for (long i = 1; i <= {s}; i++) {{", f"{i}{d}.add(i);", "}"]
        if v.family == "caesar":
            sb = t("sb")
            return [f"StringBuilder {sb} = new StringBuilder();", f"for (char c : {s}.toCharArray()) {{",
                    f"{i}{sb}.append(c >= 'a' && c <= 'z' ? (char) ('a' + (c - 'a' + {k}) % 26) : c);", "}",
                    f"{decl} = {sb}.toString();"]
        raise ValueError(f"java: no rendering for family {v.family!r}")
