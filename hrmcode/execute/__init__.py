"""Sandboxed execution of untrusted code in six languages.

Public API:

* :func:`evaluate_samples` — evaluate samples of any kind against their tasks; one Result per sample,
  in order (:mod:`hrmcode.execute.grade` routes each kind to its driver);
* :func:`sandbox_layers` — the isolation layers in force on this machine (reported in every summary);
* :class:`ExecConfig` / :class:`Limits` — time, memory, process and output limits.

Set ``HRMCODE_SANDBOX=degraded`` to force the path without bubblewrap (user namespaces + rlimits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hrmcode.execute.grade import grade_samples
from hrmcode.execute.runner import ExecConfig
from hrmcode.execute.sandbox import Limits, detect_layers
from hrmcode.records import Result, Sample, Task


def evaluate_samples(tasks: Sequence[Task], samples: Sequence[Sample], *, batched: bool = True,
                     workers: int | None = None, progress: Callable[[int, int], None] | None = None,
                     cache_dir: Path | None = None, config: ExecConfig | None = None) -> list[Result]:
    """Run every sample's code against its task's tests in the sandbox, whatever the task's kind.

    Results come in the order of ``samples``; ``sample_index`` is the order of the sample among those
    of the same (task, language). ``batched`` builds many candidates of a language as one program
    and runs each candidate in a process of its own (falling back to isolated runs for any candidate
    that fails, crashes or hangs, so verdicts do not depend on it, nor on its batch-mates: see
    docs/sandbox.md); ``workers`` defaults to the number of usable cores; ``progress(done, total)``
    is called from the calling thread; ``cache_dir`` keeps outcomes by code hash and the toolchain
    caches (Go's build cache) across calls — without it only the toolchain caches persist, under
    ``~/.cache/hrmcode/exec``. Method, script and lcb-compared stdin tasks take their grading options
    from their records (see :mod:`hrmcode.execute.grade`); ``config`` holds the other kinds' limits.
    """
    return grade_samples(tasks, samples, batched=batched, workers=workers, progress=progress,
                         cache_dir=cache_dir, config=config)


def sandbox_layers() -> dict[str, Any]:
    """The isolation layers in force (bubblewrap or the degraded path, cgroups, rlimits, uid)."""
    return detect_layers().describe()


__all__ = ["ExecConfig", "Limits", "evaluate_samples", "sandbox_layers"]
