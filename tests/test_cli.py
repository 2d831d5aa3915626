import json

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from hrmcode.cli import app
from hrmcode.cli_options import with_options

runner = CliRunner()


def test_help_lists_commands():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    assert "doctor" in res.output


def test_doctor_reports_packages_toolchains_and_bubblewrap():
    res = runner.invoke(app, ["doctor", "--json"])
    assert res.exit_code == 0
    checks = json.loads(res.stdout)
    names = {c["name"] for c in checks}
    assert {"torch", "tokenizers", "node", "javac", "g++", "go", "rustc", "bubblewrap"} <= names
    torch = next(c for c in checks if c["name"] == "torch")
    assert torch["version"].startswith("2.13.0")


# ---- the CLI surface (issue 17): each eval verb has only the options that apply to it -------------

MODEL = {"--run", "--backend", "--model", "--base-url", "--api", "--api-key-env", "--concurrency", "--max-retries",
         "--request-timeout", "--batch-size", "--device", "--gen-cache", "--act", "--act-threshold", "--max-segments",
         "--cycles"}
SAMPLING = {"--temperature", "--top-p", "--seed", "--max-new-tokens"}
OUTPUT = {"--out", "--workers", "--skip-bad", "--no-progress"}
EVAL_SURFACE = {
    "files": {"--tasks", "--samples", "--isolated", "--cache", "--k"} | OUTPUT,
    "builtin": {"--data", "--split", "--max-tasks", "--max-depth", "--prefill-signature", "--languages", "--n", "--k"}
               | MODEL | SAMPLING | OUTPUT,
    "livecodebench": {"--data", "--samples", "--grading", "--release", "--start-date", "--end-date", "--platform",
                      "--difficulty", "--float-tol", "--languages", "--n", "--k"} | MODEL | SAMPLING | OUTPUT,
    "humaneval": {"--data", "--samples", "--n", "--k"} | MODEL | SAMPLING | OUTPUT,
    "polyglot": {"--data", "--samples", "--reference", "--stubs", "--exclude-unavailable", "--deps", "--languages"}
                | MODEL | SAMPLING | OUTPUT,
}


def _options(command) -> set[str]:
    return {name for p in command.params for name in p.opts if name.startswith("--") and name != "--help"}


def test_the_eval_verbs_and_their_options_are_pinned():
    """Adding or removing an option is a deliberate change of this table."""
    root = typer.main.get_command(app)
    eval_group = root.commands["eval"]
    assert set(eval_group.commands) == set(EVAL_SURFACE)
    for verb, expected in EVAL_SURFACE.items():
        assert _options(eval_group.commands[verb]) == expected, verb
    # generate shares the HRM inference and sampling groups with eval (one place to add a knob)
    assert _options(root.commands["generate"]) == {"--run", "--lang", "--n", "--json", "--act", "--act-threshold",
                                                   "--max-segments", "--cycles"} | SAMPLING


def test_option_groups_build_records_and_errors_name_the_flag():
    def pair(a: int = typer.Option(1, "--a"), b: int = typer.Option(2, "--b")) -> tuple[int, int]:
        if a > b:
            raise ValueError(f"--a {a} must not exceed --b {b}")
        return (a, b)

    toy = typer.Typer()

    @toy.command()
    @with_options(span=pair)
    def show(name: str = typer.Option("x", "--name"), *, span: tuple[int, int]) -> None:
        typer.echo(f"{name} {span}")

    @toy.command()
    def other() -> None:  # two commands: `show` stays a named sub-command
        pass

    res = runner.invoke(toy, ["show", "--a", "3", "--b", "4"])
    assert res.exit_code == 0 and res.output == "x (3, 4)\n"
    res = runner.invoke(toy, ["show", "--a", "5"])
    assert res.exit_code == 2 and "--a 5 must not exceed --b 2" in res.output
    with pytest.raises(TypeError, match=r"\['a'\] given twice"):  # a clash of option names fails at import time
        with_options(span=pair)(lambda a=typer.Option(0, "--a"), *, span=None: None)
