"""Any model on every benchmark: one generation interface, three backends, a resumable cache.

    backend = open_backend(BackendSpec("hrm", "runs/tiny"))                      # our run (fp32 or quantized)
    backend = open_backend(BackendSpec("openai", "qwen", base_url="http://127.0.0.1:8000/v1"))
    backend = open_backend(BackendSpec("hf", "/models/my-gpt2"))                  # a local HF causal LM
    completions, stats = run_jobs(backend, jobs, sampling, GenerationCache("out/generations.jsonl"))

See :mod:`hrmcode.backends.base` for the records, :mod:`hrmcode.backends.cache` for resuming, and
:mod:`hrmcode.benchmarks` (each benchmark's ``prompts.py``) for each benchmark's prompts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hrmcode.backends.base import Backend, BackendError, Completion, Job, Prompt, Style
from hrmcode.backends.cache import GenerationCache, GenerationStats, run_jobs
from hrmcode.backends.hf import HFBackend
from hrmcode.backends.hrm import HrmBackend, InferenceOptions
from hrmcode.backends.openai import OpenAIBackend
from hrmcode.runs import RunError, load_run

BACKENDS: tuple[str, ...] = ("hrm", "openai", "hf")


@dataclass(frozen=True)
class BackendSpec:
    """What the ``--backend`` family of flags says; :func:`open_backend` builds it."""

    kind: str  # hrm | openai | hf
    model: str  # hrm: a run directory; openai: the served model's name; hf: a local model directory
    base_url: str | None = None
    api: str = "auto"  # openai: auto | chat | completions | native; hf: auto | chat | completions
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 8
    max_retries: int = 5
    timeout: float = 600.0
    batch_size: int | None = None  # hrm (default 32) and hf (default 8)
    device: str = "cpu"
    options: InferenceOptions = field(default_factory=InferenceOptions)  # ACT knobs: local runs, or our server over HTTP


def open_backend(spec: BackendSpec) -> Backend:
    """The backend ``spec`` names; errors name the flag to fix."""
    if spec.kind == "hrm":
        if spec.base_url:
            raise ValueError("--base-url is for --backend openai; --backend hrm loads the run directory itself")
        try:
            run = load_run(spec.model, device=spec.device)
        except RunError as e:
            raise ValueError(f"--model: {e}") from None
        return HrmBackend(run, batch_size=spec.batch_size or 32, options=spec.options)
    if spec.kind == "openai":
        return OpenAIBackend(spec.model, spec.base_url or "", api=spec.api, api_key_env=spec.api_key_env,  # type: ignore[arg-type]
                             concurrency=spec.concurrency, max_retries=spec.max_retries, timeout=spec.timeout,
                             native_options=spec.options.given())
    if spec.kind == "hf":
        if spec.base_url:
            raise ValueError("--base-url is for --backend openai; --backend hf loads a local model directory")
        return HFBackend(spec.model, api=spec.api, device=spec.device, batch_size=spec.batch_size or 8)  # type: ignore[arg-type]
    raise ValueError(f"--backend {spec.kind!r}: expected one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "BackendError", "BackendSpec", "Completion", "GenerationCache", "GenerationStats",
           "HFBackend", "HrmBackend", "InferenceOptions", "Job", "OpenAIBackend", "Prompt", "Style", "open_backend",
           "run_jobs"]
