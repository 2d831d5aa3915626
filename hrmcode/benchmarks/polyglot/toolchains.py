"""Offline Polyglot test runners: each registered language's track, run through the harness's ``project`` kind.

Every exercise runs in two sandboxed steps: a *build* (its failure is a ``compile_error``, its
log what the model sees) and upstream's *test* command (exit 0 = pass). What each step is, per
language, is the language's own :class:`~hrmcode.languages.toolchain.PolyglotTrack` (in
``hrmcode/languages/<name>.py``: python's pytest, go's ``go test``, javascript's shared jest
install, java's JUnit console launcher, cpp's cmake and Catch2, rust's offline cargo). This
module schedules them: tracks that fill a warm cache (Go's build cache, Catch2's main object for
C++, the JUnit launcher's class-data archive for Java), all filled only by trusted jobs (no
candidate code), warm up in the background while the other languages' exercises run.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from hrmcode.benchmarks.polyglot.data import Exercise
from hrmcode.execute import sandbox
from hrmcode.execute.runner import ExecConfig
from hrmcode.execute.sandbox import Layers, Mount
from hrmcode.languages import LANGUAGES
from hrmcode.languages.polyglot_deps import Needs, OfflineDeps
from hrmcode.languages.toolchain import PolyglotTrack, Toolchain, ToolchainContext

log = logging.getLogger(__name__)

JS_PACKAGE_DIR = Path(__file__).parent / "polyglot_js"  # the pinned package.json + lock `make` installs


def track(language: str) -> PolyglotTrack:
    """The language's Polyglot track; a ValueError for a language without one."""
    lang = LANGUAGES.get(language)
    if lang is None or lang.polyglot is None:
        raise ValueError(f"{language!r} is not a Polyglot language")
    return lang.polyglot


def reenable_skipped(language: str, rel: str, text: str) -> str:
    """A test file with its skipped tests turned back on (Java and JavaScript edit the file; C++
    defines EXERCISM_RUN_ALL_TESTS at configure time and Rust passes ``--include-ignored``)."""
    return track(language).reenable_skipped(rel, text)


def tests_ran(language: str, output: str) -> bool | None:
    """Whether the test output shows tests running (True), none at all (False), or cannot tell (None)
    — from each runner's own summary line (pytest's counts, ``go test``'s ``[no tests to run]``,
    jest's ``Tests:``, the JUnit launcher's ``tests started``, Catch2's test cases, libtest's results)."""
    return track(language).tests_ran(output)


def explain_build_failure(language: str, log_text: str, needs: Needs, pristine: Sequence[str],
                          candidate_classes: Sequence[str] = ()) -> str | None:
    """Why a build failed for want of an offline dependency (→ ``unavailable``), or None (Rust: a crate
    cargo cannot find; Java: a symbol missing from an older substitute of a declared jar)."""
    return track(language).explain_build_failure(log_text, needs, pristine, candidate_classes)


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


def _long(cfg: ExecConfig) -> ExecConfig:
    return dataclasses.replace(cfg, build=dataclasses.replace(cfg.build, wall_s=max(cfg.build.wall_s, 600.0),
                                                              cpu_s=600.0))


def trusted_runner(layers: Layers, cfg: ExecConfig) -> Callable[..., sandbox.ProcResult]:
    """How the tracks' warm-ups run their trusted jobs: in the sandbox, with long build limits."""
    def run(argv: list[str], workdir: Path, tc: Toolchain, mounts: list[Mount],
            env: dict[str, str]) -> sandbox.ProcResult:
        return sandbox.run(argv, workdir, _long(cfg).build, work_writable=True, ro_paths=tc.toolchain_paths(),
                           mounts=mounts, env={**tc.jail_env(), **env}, layers=layers)
    return run


class Toolchains:
    """The runner of every language among ``exercises``. Warm caches (the tracks with ``warms``) fill
    in the background (trusted jobs, side by side); :meth:`get` waits for a language's own warm-up
    only, so the other languages' exercises run meanwhile."""

    def __init__(self, exercises: Sequence[Exercise], cache_root: Path, layers: Layers, cfg: ExecConfig,
                 tmp_root: Path, deps: OfflineDeps | None = None):
        self.langs = {ex.language for ex in exercises}
        self.deps = deps or OfflineDeps()
        self._ready = {lang: threading.Event() for lang in self.langs}
        self._tcs: dict[str, Toolchain] = {}
        self.warm_s: dict[str, float] = {}
        ctx = ToolchainContext(deps=self.deps, cache_root=cache_root, tmp_root=tmp_root,
                               run_trusted=trusted_runner(layers, cfg))
        warming = {lang for lang in self.langs if track(lang).warms}
        for lang in sorted(self.langs - warming):
            self._set(lang, track(lang).toolchain(ctx, exercises))
        for lang in sorted(warming):
            threading.Thread(target=self._warm, args=(lang, ctx, exercises), daemon=True,
                             name=f"polyglot-warm-{lang}").start()

    def _set(self, lang: str, tc: Toolchain) -> None:
        self._tcs[lang] = tc
        self._ready[lang].set()

    def _warm(self, lang: str, ctx: ToolchainContext, exercises: Sequence[Exercise]) -> None:
        t0 = time.monotonic()
        try:
            tc = track(lang).toolchain(ctx, exercises)
        except Exception:  # a failed warm-up leaves the language runnable, only slower
            log.exception("polyglot: the %s warm-up failed", lang)
            tc = track(lang).toolchain(ctx.cold())
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
    out = {}
    for lang in languages:
        reason = track(lang).toolchain(ToolchainContext()).missing
        if reason:
            out[lang] = reason
    return out


def relpath_ok(rel: str) -> bool:
    """A path an edit may write: relative, inside the exercise, not into .meta."""
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and "\\" not in rel and (
        not p.parts or p.parts[0] != ".meta")


__all__ = ["JS_PACKAGE_DIR", "POLYGLOT_PIDS", "Toolchain", "Toolchains", "explain_build_failure", "missing_toolchains",
           "polyglot_limits", "reenable_skipped", "relpath_ok", "tests_ran", "toolchains", "track", "trusted_runner"]
