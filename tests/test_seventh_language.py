"""A seventh language is one file: a language defined here, registered, and nothing else edited.

``Snake`` runs on Python's interpreter but names functions in camelCase, writes ```snake fences and
``.snk`` files, and has a Polyglot track of its own (Python's pytest under its name). Every place a
language must appear picks it up from the registry: the records, the built-in suite's renderers, the
harness's driver, the CLI's ``eval files``, the prompts, the server's file and fence rules, ``doctor``,
Polyglot's loader and runner. The driver calls the camelCase name, so a path that ignored the
registered language's own code would call a function the candidate does not define.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hrmcode.benchmarks.builtin.handwritten import handwritten_tasks
from hrmcode.benchmarks.builtin.prompts import builtin_prompt
from hrmcode.benchmarks.livecodebench.data import system_message
from hrmcode.benchmarks.polyglot.data import load_exercises, polyglot_languages
from hrmcode.benchmarks.polyglot.protocol import eval_polyglot
from hrmcode.cli import app
from hrmcode.config import DataConfig
from hrmcode.doctor import toolchain_checks
from hrmcode.execute import evaluate_samples
from hrmcode.languages import LANGUAGES, language_of_fence, language_of_path, register, unregister
from hrmcode.languages.base import camel_case
from hrmcode.languages.python import Python, PythonPolyglot
from hrmcode.languages.toolchain import ProjectExercise, Toolchain, ToolchainContext
from hrmcode.records import LANGUAGES as NAMES
from hrmcode.records import RecordError, Sample, read_jsonl

FIXTURES = Path(__file__).parent / "fixtures" / "polyglot"


class SnakePolyglot(PythonPolyglot):
    language = "snake"

    def toolchain(self, ctx: ToolchainContext, exercises: Sequence[ProjectExercise] = ()) -> Toolchain:
        tc = super().toolchain(ctx, exercises)
        tc.name = self.language
        return tc


class Snake(Python):
    """Python's runtime with camelCase names, its own fence, file suffix and Polyglot track."""

    name = "snake"
    order = 6
    display = "Snake"
    fence = "snake"
    suffixes = (".snk",)
    fence_aliases = ("snk",)
    polyglot = SnakePolyglot()

    def ident(self, name: str) -> str:
        return camel_case(name)


@pytest.fixture
def snake() -> Iterator[Snake]:
    lang = register(Snake())
    try:
        yield lang
    finally:
        unregister(lang.name)


def test_it_is_registered_everywhere_languages_are_listed(snake: Snake) -> None:
    assert list(LANGUAGES)[-1] == "snake" and list(NAMES) == list(LANGUAGES)
    assert Sample(task_id="t", language="snake", solution="x").language == "snake"
    assert DataConfig(languages=["python", "snake"]).languages == ["python", "snake"]
    assert "snake" in polyglot_languages()
    assert any(c.group == "toolchain snake" and c.version for c in toolchain_checks())
    assert language_of_path("pkg/main.snk") == "snake" and language_of_fence("SNK") == "snake"


def test_an_unregistered_language_is_a_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    path.write_text(json.dumps({"task_id": "t", "language": "snake", "solution": "x"}) + "\n")
    with pytest.raises(RecordError, match=r"samples.jsonl:1: language: .*unknown language 'snake'"):
        read_jsonl(path, Sample)


def test_builtin_tasks_render_and_their_references_pass_through_the_harness(snake: Snake) -> None:
    tasks = [t for t in handwritten_tasks() if "_" in (t.signature.name if t.signature else "")][:12]
    assert len(tasks) == 12
    for t in tasks:
        assert t.signature is not None
        fn = camel_case(t.signature.name)
        assert t.starter_code["snake"].startswith(f"def {fn}(") and t.reference["snake"].startswith(f"def {fn}(")
    samples = [Sample(task_id=t.task_id, language="snake", solution=t.reference["snake"]) for t in tasks]
    # Python's reference defines the snake_case name: the Snake driver does not find the function it calls.
    samples += [Sample(task_id=t.task_id, language="snake", solution=t.reference["python"]) for t in tasks[:3]]
    results = evaluate_samples(tasks, samples)
    assert [r.verdict for r in results[:12]] == ["pass"] * 12, results[:12]
    assert [r.passed for r in results[12:]] == [False] * 3


def test_prompts_name_the_language_and_its_fence(snake: Snake) -> None:
    task = next(t for t in handwritten_tasks() if t.signature is not None)
    prompt = builtin_prompt(task, "snake")
    user = prompt.messages[1]["content"]
    assert "Complete the following Snake function" in user and "```snake\n" in user
    assert prompt.completion.startswith("# Language: Snake\n")
    assert "expert Snake programmer" in system_message("snake")


ADD = {"task_id": "add_two", "prompt": "Add a and b.", "tests": [{"input": [1, 2], "output": 3}],
       "signature": {"name": "add_two", "params": [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}],
                     "returns": "int"}}


@pytest.mark.timeout(120)
def test_eval_files_grades_its_samples(snake: Snake, tmp_path: Path) -> None:
    tasks, samples, out = tmp_path / "tasks.jsonl", tmp_path / "samples.jsonl", tmp_path / "out"
    tasks.write_text(json.dumps(ADD) + "\n")
    samples.write_text("".join(json.dumps(s) + "\n" for s in [
        {"task_id": "add_two", "language": "snake", "solution": "def addTwo(a, b):\n    return a + b\n"},
        {"task_id": "add_two", "language": "snake", "solution": "def addTwo(a, b):\n    return a - b\n"},
        {"task_id": "add_two", "language": "python", "solution": "def add_two(a, b):\n    return a + b\n"},
    ]))
    res = CliRunner().invoke(app, ["eval", "files", "--tasks", str(tasks), "--samples", str(samples), "--out", str(out),
                                   "--k", "1", "--no-progress"])
    assert res.exit_code == 0, res.output
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [(r["language"], r["verdict"]) for r in results] == [
        ("snake", "pass"), ("snake", "wrong_answer"), ("python", "pass")]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["per_language"]["snake"]["pass@1"] == 0.5


@pytest.mark.timeout(300)
def test_polyglot_loads_and_runs_its_track(snake: Snake, tmp_path: Path) -> None:
    data = tmp_path / "polyglot"
    shutil.copytree(FIXTURES / "python", data / "snake")
    exercises, _ = load_exercises(data, ["snake"])
    assert [e.task_id for e in exercises] == ["snake/digit-sum"]
    ref = eval_polyglot(data, tmp_path / "ref", source="reference", languages=["snake"], timeout=120, workers=1)
    assert ref["polyglot"]["pass_rate_1"] == 100.0 and ref["reference_failures"] == {}, ref
    assert list(ref["polyglot_per_language"]) == ["snake"]
    stubs = eval_polyglot(data, tmp_path / "stubs", source="stubs", languages=["snake"], timeout=120, workers=1)
    assert stubs["stub_check"]["failed"] == 1 and stubs["stub_check"]["passed"] == []
