"""One entry point for `hrmcode eval <benchmark> …`: which driver, which source of code.

Sources: a samples file (any model's outputs), a model behind a backend (our run, an
OpenAI-compatible server, a local Hugging Face model: generating with the benchmark's prompts,
resumably), or for Polyglot the exercises' reference solutions. The CLI fills an
:class:`EvalRequest`; this module turns it into the right driver call, so the CLI stays a thin layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hrmcode.backends.base import Backend
from hrmcode.backends.hrm import HrmBackend
from hrmcode.benchmarks.builtin.protocol import GenerationPlan, evaluate_run, select_tasks
from hrmcode.benchmarks.common import default_cache
from hrmcode.benchmarks.humaneval.protocol import eval_humaneval, humaneval_with_backend
from hrmcode.benchmarks.livecodebench.protocol import eval_livecodebench, livecodebench_with_backend
from hrmcode.benchmarks.polyglot.protocol import eval_polyglot, polyglot_with_backend
from hrmcode.data.batching import load_tasks
from hrmcode.evaluate.run import evaluate_files
from hrmcode.generate import SamplingConfig
from hrmcode.records import LANGUAGES
from hrmcode.runs import LoadedRun

Progress = Callable[..., None]


@dataclass
class EvalRequest:
    benchmark: str  # builtin | livecodebench | humaneval | polyglot
    out: str | Path
    ks: list[int] = field(default_factory=lambda: [1])
    n: int = 1
    languages: list[str] | None = None
    samples: str | None = None
    tasks: str | None = None
    data: str | None = None
    reference: bool = False
    splits: list[str] = field(default_factory=lambda: ["test"])
    max_tasks: int | None = None
    max_depth: int | None = None  # builtin: only tasks of composition depth ≤ this
    prefill_signature: bool = False  # builtin: our model's answers start from the task's signature line
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    grading: str = "robust"
    release: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    platforms: list[str] = field(default_factory=list)
    difficulties: list[str] = field(default_factory=list)
    float_tol: float | None = None
    skip_bad: bool = False
    workers: int | None = None
    gen_cache: str | None = None  # generations JSONL (default OUT/generations.jsonl)
    stubs: bool = False  # polyglot: run the unedited stubs (the check that the tests run)
    exclude_unavailable: bool = False  # polyglot: unavailable exercises leave the pass rates
    deps: list[str] = field(default_factory=list)  # polyglot: directories of jars / vendored crates


def run_benchmark(req: EvalRequest, model: LoadedRun | Backend | None, *,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Evaluate as ``req`` says; ``model`` generates the code (a LoadedRun is our run, batched)."""
    backend = HrmBackend(model) if isinstance(model, LoadedRun) else model
    if req.benchmark == "builtin":
        return _builtin(req, backend, progress)
    if req.benchmark in ("livecodebench", "humaneval"):
        return _lcb_humaneval(req, backend, progress)
    if req.benchmark == "polyglot":
        return _polyglot(req, backend, progress)
    raise ValueError(f"unknown benchmark {req.benchmark!r}; expected builtin, livecodebench, humaneval or polyglot")


def _builtin(req: EvalRequest, backend: Backend | None, progress: Progress | None) -> dict[str, Any]:
    if backend is None:  # any model's outputs on the built-in suite
        path = req.tasks or (Path(req.data) / "tasks.jsonl" if req.data else None)
        if path is None or req.samples is None:
            raise ValueError("--data: the built-in suite directory (or --tasks tasks.jsonl) is needed with --samples")
        return evaluate_files(path, req.samples, req.out, k=req.ks, skip_bad=req.skip_bad, workers=req.workers,
                              progress=progress)
    # The demo keeps the suite beside its runs (runs/demo/{data,hrm,baseline}).
    if req.data:
        data_dir = Path(req.data)
    elif isinstance(backend, HrmBackend):
        data_dir = backend.run.run_dir.parent / "data"
    else:
        raise ValueError("--data: the built-in suite directory is needed (build one with `hrmcode data build`)")
    if not (data_dir / "tasks.jsonl").exists():
        raise ValueError(f"--data: {data_dir / 'tasks.jsonl'} not found; build the suite with "
                         "`hrmcode data build --suite builtin --out DIR` and pass --data DIR")
    chosen = select_tasks(load_tasks(data_dir / "tasks.jsonl"), req.splits, max_per_split=req.max_tasks,
                          seed=req.sampling.seed, max_depth=req.max_depth)
    if not chosen:
        depth = f" of depth ≤ {req.max_depth}" if req.max_depth is not None else ""
        raise ValueError(f"--split: no tasks{depth} in {req.splits} under {data_dir}")
    plan = GenerationPlan(languages=tuple(req.languages or LANGUAGES), n=req.n, sampling=req.sampling,
                          prefill_signature=req.prefill_signature)
    return evaluate_run(backend, chosen, req.out, plan, ks=req.ks, splits=req.splits, progress=progress,
                        exec_kwargs={"workers": req.workers}, gen_cache=default_cache(req.out, req.gen_cache))


def _lcb_humaneval(req: EvalRequest, backend: Backend | None, progress: Progress | None) -> dict[str, Any]:
    grade: dict[str, Any] = dict(k=tuple(req.ks), skip_bad=req.skip_bad, workers=req.workers)
    if req.benchmark == "humaneval":
        if backend is not None:
            return humaneval_with_backend(backend, req.out, data=req.data, sampling=req.sampling, n=req.n,
                                          gen_cache=req.gen_cache, progress=progress, **grade)
        return eval_humaneval(req.out, data=req.data, samples=req.samples, n=req.n, progress=progress, **grade)
    if not req.data:
        raise ValueError("--data: the LiveCodeBench JSONL shards (a directory or files) are needed")
    window: dict[str, Any] = dict(release=req.release, start_date=req.start_date, end_date=req.end_date,
                                  platforms=tuple(req.platforms), difficulties=tuple(req.difficulties))
    grade.update(grading=req.grading, float_tol=req.float_tol)
    languages = tuple(req.languages or ("python",))
    if backend is not None:
        return livecodebench_with_backend(backend, req.data, req.out, sampling=req.sampling, n=req.n,
                                          languages=languages, gen_cache=req.gen_cache, progress=progress,
                                          **window, **grade)
    return eval_livecodebench(req.data, req.out, samples=req.samples, n=req.n, languages=languages, progress=progress,
                              **window, **grade)


def _polyglot(req: EvalRequest, backend: Backend | None, progress: Progress | None) -> dict[str, Any]:
    if not req.data:
        raise ValueError("--data: a local checkout of the Polyglot benchmark is needed (see docs/polyglot.md)")
    common: dict[str, Any] = dict(languages=req.languages, workers=req.workers, skip_bad=req.skip_bad,
                                  deps=req.deps, exclude_unavailable=req.exclude_unavailable)
    if backend is not None:
        return polyglot_with_backend(backend, req.data, req.out, sampling=req.sampling, gen_cache=req.gen_cache,
                                     progress=progress, **common)
    source = "reference" if req.reference else "stubs" if req.stubs else req.samples
    if source is None:
        raise ValueError("give exactly one of --samples FILE, --model/--run DIR, --reference or --stubs")
    return eval_polyglot(req.data, req.out, source=source, progress=progress, **common)
