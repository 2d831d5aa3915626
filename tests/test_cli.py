import json

from typer.testing import CliRunner

from hrmcode.cli import app

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
