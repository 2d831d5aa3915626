"""One entry point for `hrmcode eval --benchmark …`: which driver, which source of code.

Sources: a samples file (any model's outputs), our model (a loaded run, generating), or for
Polyglot the exercises' reference solutions. The CLI fills an :class:`EvalRequest`; this module
turns it into the right driver call, so the CLI stays a thin layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def run_benchmark(req: EvalRequest, run: LoadedRun | None, *, progress: Progress | None = None) -> dict[str, Any]:
    """Evaluate as ``req`` says; ``run`` is our model when the code is to be generated."""
    if req.benchmark == "builtin":
        return _builtin(req, run, progress)
    if req.benchmark in ("livecodebench", "humaneval"):
        return _lcb_humaneval(req, run, progress)
    if req.benchmark == "polyglot":
        return _polyglot(req, run, progress)
    raise ValueError(f"--benchmark: unknown {req.benchmark!r}; expected builtin, livecodebench, humaneval or polyglot")


def _builtin(req: EvalRequest, run: LoadedRun | None, progress: Progress | None) -> dict[str, Any]:
    from hrmcode.data.batching import load_tasks
    from hrmcode.evaluate.model_eval import GenerationPlan, evaluate_run, select_tasks
    from hrmcode.evaluate.run import evaluate_files

    if run is None:  # any model's outputs on the built-in suite
        path = req.tasks or (Path(req.data) / "tasks.jsonl" if req.data else None)
        if path is None or req.samples is None:
            raise ValueError("--data: the built-in suite directory (or --tasks tasks.jsonl) is needed with --samples")
        return evaluate_files(path, req.samples, req.out, k=req.ks, skip_bad=req.skip_bad, workers=req.workers,
                              progress=progress)
    # The demo keeps the suite beside its runs (runs/demo/{data,hrm,baseline}).
    data_dir = Path(req.data) if req.data else run.run_dir.parent / "data"
    if not (data_dir / "tasks.jsonl").exists():
        raise ValueError(f"--data: {data_dir / 'tasks.jsonl'} not found; build the suite with "
                         "`hrmcode data build --suite builtin --out DIR` and pass --data DIR")
    chosen = select_tasks(load_tasks(data_dir / "tasks.jsonl"), req.splits, max_per_split=req.max_tasks,
                          seed=req.sampling.seed, max_depth=req.max_depth)
    if not chosen:
        depth = f" of depth ≤ {req.max_depth}" if req.max_depth is not None else ""
        raise ValueError(f"--split: no tasks{depth} in {req.splits} under {data_dir}")
    plan = GenerationPlan(languages=tuple(req.languages or LANGUAGES), n=req.n, sampling=req.sampling)
    return evaluate_run(run, chosen, req.out, plan, ks=req.ks, splits=req.splits, progress=progress,
                        exec_kwargs={"workers": req.workers})


def _lcb_humaneval(req: EvalRequest, run: LoadedRun | None, progress: Progress | None) -> dict[str, Any]:
    from hrmcode.evaluate.benchmarks import eval_humaneval, eval_livecodebench
    from hrmcode.evaluate.model_eval import text_generator

    common: dict[str, Any] = dict(samples=req.samples, generate=text_generator(run, req.sampling) if run else None,
                                  k=tuple(req.ks), n=req.n, skip_bad=req.skip_bad, workers=req.workers,
                                  progress=progress)
    if run is not None:  # our model was trained on hrmcode's prompt text and writes bare code
        common["extract"] = "none"
    if req.benchmark == "humaneval":
        return eval_humaneval(req.out, data=req.data, **common)
    if not req.data:
        raise ValueError("--data: the LiveCodeBench JSONL shards (a directory or files) are needed")
    if run is not None:
        common["prompt_style"] = "hrmcode"
    return eval_livecodebench(req.data, req.out, release=req.release, start_date=req.start_date,
                              end_date=req.end_date, platforms=tuple(req.platforms),
                              difficulties=tuple(req.difficulties), grading=req.grading, float_tol=req.float_tol,
                              languages=tuple(req.languages or ("python",)), **common)


def _polyglot(req: EvalRequest, run: LoadedRun | None, progress: Progress | None) -> dict[str, Any]:
    from hrmcode.evaluate.polyglot import eval_polyglot

    if not req.data:
        raise ValueError("--data: a local checkout of the Polyglot benchmark is needed (see docs/polyglot.md)")
    source: Any
    if req.reference:
        source = "reference"
    elif req.samples:
        source = req.samples
    else:
        assert run is not None
        source = polyglot_editor(run, req.sampling)
    return eval_polyglot(req.data, req.out, source=source, languages=req.languages, workers=req.workers,
                         progress=progress, skip_bad=req.skip_bad)


_EXT_LANGUAGE = {".py": "python", ".js": "javascript", ".java": "java", ".cpp": "cpp", ".h": "cpp", ".go": "go",
                 ".rs": "rust"}


def polyglot_editor(run: LoadedRun, sampling: SamplingConfig) -> Callable[[str, dict[str, str]], str]:
    """Our model as a Polyglot editor: it writes one file (the first editable source file) whole.

    The language comes from that file's extension; the reply is the file name and one fenced
    block, upstream's whole-file format.
    """
    from hrmcode.evaluate.model_eval import text_generator

    gen = text_generator(run, sampling, batch_size=1)

    def edit(prompt: str, files: dict[str, str]) -> str:
        target = next((f for f in files if Path(f).suffix in _EXT_LANGUAGE and Path(f).suffix != ".h"),
                      next(iter(files), None))
        if target is None:
            return ""
        language = _EXT_LANGUAGE.get(Path(target).suffix, "python")
        code = gen([prompt], language, 1)[0][0]
        return f"{target}\n```{language}\n{code.rstrip()}\n```\n"

    return edit
