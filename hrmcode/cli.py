"""The command line: one typer app, thin over library functions. Docstrings are the --help."""

from __future__ import annotations

import json
import logging

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="hrmcode",
    help="Hierarchical reasoning models for code: train, generate, evaluate in a sandbox, quantize.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a user-facing error (no traceback) and return the Exit to raise."""
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


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
    """Total and non-embedding parameter counts of HRM and the same-size baseline for a preset."""
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
    hrm, base = info["hrm"], info["baseline"]
    table.add_row("HRM", f"H{cfg.h_layers}+L{cfg.l_layers} × cycles {cfg.h_cycles}/{cfg.l_cycles}",
                  f"{hrm['total'] / 1e6:.3f}M", f"{hrm['non_embedding'] / 1e6:.3f}M")
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
    n: int = typer.Option(3000, "--n", help="number of tasks"),
    out: str = typer.Option(..., help="output directory (tasks.jsonl, <split>.jsonl, manifest.json)"),
) -> None:
    """Generate the built-in compositional benchmark: tasks with tests and six reference solutions."""
    from hrmcode.data.builtin.generate import build

    if suite != "builtin":
        raise fail(f"--suite {suite!r}: only `builtin` can be built; other suites are read with their adapters")
    if n < 1:
        raise fail(f"--n must be at least 1, got {n}")
    try:
        manifest = build(seed, n, out)
    except ValueError as e:
        raise fail(str(e)) from None
    counts = ", ".join(f"{k} {v}" for k, v in manifest["counts"]["split"].items())
    console.print(f"wrote {manifest['n_tasks']} tasks to {out} ({counts})", highlight=False)


@data_app.command("stats")
def data_stats(
    directory: str = typer.Argument(..., help="a suite built by `hrmcode data build`"),
    tokenizer: str | None = typer.Option(None, help="tokenizer.json; default: train one on the train split"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Tasks per depth, family, split and language; prompt and solution lengths in tokens."""
    from hrmcode.data.builtin.stats import load_suite, suite_stats
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

# ---- eval (issue 4, 6, 7, 8) --------------------------------------------------------------------


@app.command("eval")
def eval_cmd(
    tasks: str = typer.Option(..., "--tasks", help="tasks.jsonl (Task records)"),
    samples: str = typer.Option(..., "--samples", help="samples.jsonl (Sample records: task_id, language, solution)"),
    out: str = typer.Option(..., "--out", help="directory for results.jsonl, summary.json, report.md"),
    k: str = typer.Option("1", "--k", help="pass@k values, comma-separated (e.g. 1,5)"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="skip bad records (counted and reported) instead of failing"),
    isolated: bool = typer.Option(False, "--isolated", help="one build and process per sample (no batching)"),
    workers: int = typer.Option(0, "--workers", help="parallel jobs (0: the number of usable cores)"),
    cache: str = typer.Option(None, "--cache", help="directory caching outcomes by code hash across runs"),
    no_progress: bool = typer.Option(False, "--no-progress", help="no progress bar"),
) -> None:
    """Run every sample's code against its task's tests in the sandbox; write results, summary and report."""
    from pathlib import Path

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from hrmcode.evaluate.run import evaluate_files, parse_ks
    from hrmcode.records import RecordError

    try:
        ks = parse_ks(k)
    except ValueError as e:
        raise fail(str(e)) from None
    progress = Progress(TextColumn("[bold]eval[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("samples"),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=no_progress)
    with progress:
        bar = progress.add_task("eval", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)

        try:
            summary = evaluate_files(tasks, samples, out, k=ks, skip_bad=skip_bad, batched=not isolated,
                                     workers=workers or None, cache_dir=Path(cache) if cache else None,
                                     progress=on_progress)
        except (RecordError, FileNotFoundError, ValueError) as e:
            raise fail(str(e)) from None
    if summary["sandbox"]["degraded"]:
        console.print(f"[bold yellow]sandbox degraded ({summary['sandbox']['mode']}):[/] "
                      + " ".join(summary["sandbox"]["notes"]), highlight=False)
    sk = summary["skipped"]
    if sk["tasks"] or sk["samples"]:
        console.print(f"[yellow]skipped[/] {sk['tasks']} tasks, {sk['samples']} samples (see summary.json)")
    table = Table(title=f"hrmcode eval → {out}")
    for col in ("language", "samples", *(f"pass@{x}" for x in ks)):
        table.add_column(col, justify="right")
    for lang, row in summary["per_language"].items():
        table.add_row(lang, str(row["samples"]),
                      *("–" if row[f"pass@{x}"] is None else f"{row[f'pass@{x}']:.3f}" for x in ks))
    table.add_row("all", str(summary["samples"]),
                  *("–" if summary[f"pass@{x}"] is None else f"{summary[f'pass@{x}']:.3f}" for x in ks))
    Console().print(table)

# ---- train (issue 5) ----------------------------------------------------------------------------


@app.command("train")
def train_cmd(
    config: str = typer.Argument(None, help="run config YAML (optional with --resume: the run's own is used)"),
    out: str = typer.Option(None, "--out", help="run directory (default runs/<name>)"),
    resume: str = typer.Option(None, "--resume", help="continue this run directory from its newest good checkpoint"),
    no_progress: bool = typer.Option(False, "--no-progress", help="no progress bar"),
) -> None:
    """Train a model (HRM or baseline) as CONFIG says; also under `torchrun --nproc-per-node N -m hrmcode train`."""
    from pathlib import Path

    from hrmcode.config import ConfigError, load_config
    from hrmcode.train.trainer import TrainingError, load_run_config, train

    try:
        new = load_config(config) if config else None
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


# ---- generate / compare / demo (issue 6) --------------------------------------------------------
