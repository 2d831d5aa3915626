"""Option groups of the command line, each declared once and attached to every command it applies to.

A group is a function whose parameters are typer options and whose result is the record a command
works with (a :class:`~hrmcode.backends.BackendSpec`, a :class:`~hrmcode.generate.SamplingConfig`, …)::

    @option_group("Sampling")
    def sampling_options(temperature: float = typer.Option(0.0, "--temperature"), ...) -> SamplingConfig:
        return SamplingConfig(...)

    @app.command()
    @with_options(sampling=sampling_options)
    def generate(prompt: str = typer.Argument(...), *, sampling: SamplingConfig) -> None: ...

:func:`with_options` gives the command the group's options (under the group's panel in ``--help``)
and calls it with the built record; a ``ValueError`` from a group is a user error naming the flag.
Groups nest (the model group carries the HRM inference group), so a new knob is one parameter here.
Heavy libraries (torch) are imported inside the builders: ``hrmcode --help`` stays fast.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from typer.models import ParameterInfo

if TYPE_CHECKING:
    from hrmcode.backends import BackendSpec, InferenceOptions
    from hrmcode.generate import SamplingConfig

console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a user-facing error (no traceback) and return the Exit to raise."""
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def csv_list(text: str) -> list[str]:
    """A comma-separated option's items, stripped, empty ones dropped."""
    return [x.strip() for x in text.split(",") if x.strip()]


def option_group(panel: str) -> Callable[[F], F]:
    """Mark a builder as an option group shown under ``panel`` in ``--help``."""

    def mark(build: F) -> F:
        build.panel = panel  # type: ignore[attr-defined]
        return build

    return mark


def _params(fn: Callable[..., Any], skip: Container[str] = ()) -> list[inspect.Parameter]:
    """``fn``'s parameters but ``skip``, their annotations evaluated (options have builtin types; the
    group parameters and the return type are left alone: they may name types imported lazily)."""
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.name in skip:
            continue
        ann = p.annotation
        if isinstance(ann, str):
            ann = eval(ann, fn.__globals__)  # the source's own annotation, evaluated as get_type_hints does
        out.append(p.replace(annotation=ann))
    return out


def with_options(**groups: Callable[..., Any]) -> Callable[[F], F]:
    """Give the decorated command the options of ``groups`` (name → builder); it receives each
    group's record as the keyword argument of that name."""

    def decorate(fn: F) -> F:
        own = _params(fn, skip=groups)
        merged, names, slices = list(own), {p.name for p in own}, {}
        for gname, build in groups.items():
            params = _params(build)
            clash = names & {p.name for p in params}
            if clash:
                raise TypeError(f"{fn.__name__}: options {sorted(clash)} given twice (group {gname})")
            panel = getattr(build, "panel", None)
            for p in params:
                info = p.default
                if isinstance(info, ParameterInfo) and panel and info.rich_help_panel is None:
                    info.rich_help_panel = panel
            merged += params
            names |= {p.name for p in params}
            slices[gname] = [p.name for p in params]

        def command(**kwargs: Any) -> Any:
            try:
                for gname, build in groups.items():
                    kwargs[gname] = build(**{n: kwargs.pop(n) for n in slices[gname]})
            except ValueError as e:
                raise fail(str(e)) from None
            return fn(**kwargs)

        for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
            setattr(command, attr, getattr(fn, attr))
        command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in merged])
        command.__annotations__ = {p.name: p.annotation for p in merged}
        return command  # type: ignore[return-value]

    return decorate


# ---- the groups ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    """Where results go and how the run behaves: shared by every ``hrmcode eval`` verb."""

    out: str
    workers: int | None  # None: the number of usable cores
    skip_bad: bool
    progress: bool


@option_group("Output")
def output_options(
    out: str = typer.Option(..., "--out", help="directory for results.jsonl, summary.json, report.md"),
    workers: int = typer.Option(0, "--workers", help="parallel jobs (0: the number of usable cores)"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="skip bad records (counted and reported) instead of failing"),
    no_progress: bool = typer.Option(False, "--no-progress", help="no progress bar"),
) -> Output:
    if workers < 0:
        raise ValueError(f"--workers must be ≥ 0, got {workers}")
    return Output(out, workers or None, skip_bad, not no_progress)


@option_group("Output")
def k_options(k: str = typer.Option("1", "--k", help="pass@k values, comma-separated (e.g. 1,5)")) -> list[int]:
    try:
        ks = sorted({int(part) for part in k.split(",") if part.strip()})
    except ValueError:
        ks = []
    if not ks or ks[0] < 1:
        raise ValueError(f"--k {k!r}: expected comma-separated positive integers such as 1,5")
    return ks


@option_group("Sampling")
def sampling_options(
    temperature: float = typer.Option(0.0, "--temperature", help="sampling temperature (0 = greedy)"),
    top_p: float = typer.Option(1.0, "--top-p", help="nucleus sampling: keep the tokens of this much probability"),
    seed: int = typer.Option(0, "--seed", help="sampling seed (builtin: also the seed of the task selection)"),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", help="at most this many generated tokens"),
) -> SamplingConfig:
    from hrmcode.generate import SamplingConfig

    if temperature < 0:
        raise ValueError(f"--temperature must be ≥ 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"--top-p must be in (0, 1], got {top_p}")
    if max_new_tokens < 1:
        raise ValueError(f"--max-new-tokens must be ≥ 1, got {max_new_tokens}")
    return SamplingConfig(max_new_tokens, temperature, top_p, seed)


@option_group("Sampling")
def n_options(n: int = typer.Option(None, "--n", help="samples per task (and language) when a model generates "
                                                  "(default 1)")) -> int | None:
    """None: not given (a samples file brings its own count; a model generates 1)."""
    if n is not None and n < 1:
        raise ValueError(f"--n must be ≥ 1, got {n}")
    return n


ACT_CHOICES = ("max", "per_sequence", "per_token", "converge")


@option_group("HRM inference")
def act_options(
    act: str = typer.Option(None, "--act", help="ACT at inference: max | per_sequence | per_token | converge "
                                                "(per-token exit when the next-token distribution stops changing)"),
    act_threshold: float = typer.Option(None, "--act-threshold",
                                        help="halt when the q-head's probability of being right exceeds this "
                                             "(correctness Q target and per-token exit; default: the run's, 0.5); "
                                             "with --act converge: the KL threshold (default 1e-3)"),
    max_segments: int = typer.Option(None, "--max-segments", help="at most this many ACT segments "
                                                                  "(default: the run's halt_max_steps)"),
    cycles: int = typer.Option(None, "--cycles", help="HRM/looped: H cycles per segment, any depth "
                                                      "(default: the run's h_cycles, its training mean)"),
) -> InferenceOptions:
    """The knobs of an HRM run at inference (our run, or our server over HTTP); None keeps the run's."""
    from hrmcode.backends import InferenceOptions

    if act not in (None, *ACT_CHOICES):
        raise ValueError(f"--act: expected {', '.join(ACT_CHOICES)}, got {act!r}")
    return InferenceOptions(act=act, act_threshold=act_threshold, max_segments=max_segments, h_cycles=cycles)


def _flags(inference: InferenceOptions) -> str:
    """The HRM inference flags given, as the user wrote them (``--act, --max-segments``)."""
    return ", ".join("--" + k.replace("_", "-") for k in inference.given())


@dataclass(frozen=True)
class ModelSource:
    """The model the flags name (``spec`` None: no generation) and where its generations are cached."""

    spec: BackendSpec | None
    gen_cache: str | None


@option_group("Model")
@with_options(inference=act_options)
def model_options(
    run: str = typer.Option(None, "--run", help="a trained run directory: generate with our model "
                                                "(= --backend hrm --model DIR)"),
    backend: str = typer.Option(None, "--backend", help="generate with: hrm (our run) | openai (an OpenAI-compatible "
                                                        "server) | hf (a local Hugging Face model)"),
    model: str = typer.Option(None, "--model", help="hrm: run directory; openai: the served model's name; "
                                                    "hf: model directory (never downloaded)"),
    base_url: str = typer.Option(None, "--base-url", help="openai: the server, e.g. http://127.0.0.1:8000/v1"),
    api: str = typer.Option("auto", "--api", help="openai: auto | chat | completions | native; hf: auto | chat | "
                                                  "completions (which prompts: the benchmark's chat or completion form)"),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env", help="openai: environment variable with the key"),
    concurrency: int = typer.Option(8, "--concurrency", help="openai: requests in flight at once"),
    max_retries: int = typer.Option(5, "--max-retries", help="openai: retries (with backoff) on 429/5xx/timeouts"),
    request_timeout: float = typer.Option(600.0, "--request-timeout", help="openai: seconds per request"),
    batch_size: int = typer.Option(None, "--batch-size", help="hrm/hf: prompts per batch (default 32 / 8)"),
    device: str = typer.Option("cpu", "--device", help="hrm/hf: cpu, cuda, mps"),
    gen_cache: str = typer.Option(None, "--gen-cache", help="generations JSONL for resuming and reuse "
                                                            "(default OUT/generations.jsonl)"),
    *, inference: InferenceOptions,
) -> ModelSource:
    """The model that generates (errors name the flag)."""
    from hrmcode.backends import BACKENDS, BackendSpec

    if run and model and run != model:
        raise ValueError("--run and --model name different models; --run DIR is short for --backend hrm --model DIR")
    if run and backend not in (None, "hrm"):
        raise ValueError(f"--run DIR is our run (--backend hrm), not --backend {backend}; use --model")
    model = model or run
    if backend is None and model is None:
        if base_url:
            raise ValueError("--base-url needs --backend openai --model NAME")
        if inference.given():
            raise ValueError(f"{_flags(inference)}: options of a model that generates (--run or --backend/--model)")
        return ModelSource(None, gen_cache)
    kind = backend or "hrm"
    if kind not in BACKENDS:
        raise ValueError(f"--backend {kind!r}: expected one of {', '.join(BACKENDS)}")
    if not model:
        raise ValueError(f"--model: which model --backend {kind} should use (a run directory, a served model's "
                         "name or a local model directory)")
    if kind == "hf" and inference.given():
        raise ValueError(f"{_flags(inference)}: HRM options; --backend hf has none")
    return ModelSource(BackendSpec(kind, model, base_url=base_url, api=api, api_key_env=api_key_env,
                                   concurrency=concurrency, max_retries=max_retries, timeout=request_timeout,
                                   batch_size=batch_size, device=device, options=inference), gen_cache)


def languages_options(default: str) -> Callable[..., list[str] | None]:
    """The ``--languages`` group of a benchmark whose default is ``default`` (None: the default)."""

    @option_group("Tasks")
    def languages(languages: str = typer.Option(None, "--languages",
                                                help=f"comma-separated languages (default: {default})")
                  ) -> list[str] | None:
        from hrmcode.records import LANGUAGES

        langs = csv_list(languages) if languages else None
        bad = [x for x in langs or [] if x not in LANGUAGES]
        if bad:
            raise ValueError(f"--languages: unknown {bad}; expected some of {', '.join(LANGUAGES)}")
        return langs

    return languages
