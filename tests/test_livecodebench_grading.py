"""Grading in the sandbox: each documented upstream quirk gives upstream's verdict in faithful mode and
the correct one in robust mode; ordinary programs get the same verdict in both; functional problems;
float tolerance; the end-to-end driver with pass@k, summaries and the *_eval_all.json file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hrmcode.benchmarks.livecodebench.protocol import eval_livecodebench
from hrmcode.execute import sandbox
from hrmcode.execute.lcb import GradeConfig, GradeJob, GradeProblem, grade
from hrmcode.records import Sample, write_jsonl

FIX = Path(__file__).parent / "fixtures" / "livecodebench"

SUM_LINES = GradeProblem("sum_lines", "stdin", ["2\n1 2\n3 4\n", "3\n1 1\n2 2\n3 3\n"], ["3\n7\n", "2\n4\n6\n"])
COUNT = GradeProblem("count", "stdin", ["2\n5\n7\n", "3\n1\n1\n1\n"], ["12\n", "3\n"])
THIRD = GradeProblem("third", "stdin", ["1\n", "2\n"], ["0.3333333333\n", "0.6666666667\n"])
STOP = GradeProblem("stop", "stdin", ["1\n", "2\n", "3\n"], ["1\n", "2\n", "3\n"])
FN = GradeProblem("fn", "function", [[[4, 3, 2, 3, 1], 2], [[5], 1], [[9, 8, 7, 1], 3]], [3, 5, 16],
                  func_name="minimumKSum")
PAIRS = GradeProblem("pairs", "function", [[[3, 1, 2]], [[5, 4]]], [[[1, 2], [2, 3]], [[4, 5]]],
                     func_name="adjacentPairs")
PROBLEMS = {p.key: p for p in (SUM_LINES, COUNT, THIRD, STOP, FN, PAIRS)}

# name: (problem, program, faithful verdict (upstream's), robust verdict (correct))
QUIRKS = {
    # sys.stdin.read() returns the whole input on every call upstream.
    "read_returns_all_every_time": ("sum_lines", """
import sys
first = sys.stdin.read()
rest = sys.stdin.read()  # '' on a real stdin; the whole input again upstream
data = (first + rest).split()
n = int(data[0])
print("\\n".join(str(int(data[1 + 2 * i]) + int(data[2 + 2 * i])) for i in range(n)))
print(*data[1 + 2 * n:])  # an empty line on a real stdin (stripped away); the input again upstream
""", "wrong_answer", "pass"),
    # `for line in sys.stdin` raises upstream (its stdin object is not iterable).
    "for_line_in_stdin": ("sum_lines", """
import sys
lines = [line for line in sys.stdin]
for line in lines[1:]:
    a, b = map(int, line.split())
    print(a + b)
""", "runtime_error", "pass"),
    # sys.stdin.buffer.readline() replays the first line upstream.
    "buffer_readline_replays_first_line": ("count", """
import sys
n = int(sys.stdin.buffer.readline())
print(sum(int(sys.stdin.buffer.readline()) for _ in range(n)))
""", "wrong_answer", "pass"),
    # sys.stdout.buffer is missing upstream (stdout is a StringIO).
    "stdout_buffer_missing": ("count", """
import sys
data = sys.stdin.read().split()
sys.stdout.buffer.write((str(sum(map(int, data[1:]))) + "\\n").encode())
""", "runtime_error", "pass"),
    # open(0).read() returns '' upstream.
    "open_0_reads_nothing": ("count", """
data = open(0).read().split()
print(sum(map(int, data[1:])))
""", "wrong_answer", "pass"),
    # Module-level variables become locals of a wrapper function upstream: `global` breaks.
    "global_statement_breaks": ("count", """
total = 0
def add(x):
    global total
    total += x
n = int(input())
for _ in range(n):
    add(int(input()))
print(total)
""", "runtime_error", "pass"),
    # Stop at the first failing test: the third test (an endless loop) is never run upstream.
    "stops_at_first_failure": ("stop", """
x = int(input())
if x == 3:
    while True:
        pass
print(x if x == 1 else 99)
""", "wrong_answer", "wrong_answer"),
    # Functional: one Solution() for all tests upstream; LeetCode makes a fresh one per test.
    "one_solution_instance_for_all_tests": ("fn", """
class Solution:
    def __init__(self):
        self.seen = []
    def minimumKSum(self, nums, k):
        self.seen += nums
        return sum(sorted(self.seen)[:k])
""", "wrong_answer", "pass"),
    # Functional: only a top-level tuple becomes a list upstream; nested tuples never equal lists.
    "nested_tuples_are_not_lists": ("pairs", """
class Solution:
    def adjacentPairs(self, nums):
        s = sorted(nums)
        return [(a, b) for a, b in zip(s, s[1:])]
""", "wrong_answer", "pass"),
}

ORDINARY = {
    "correct": ("sum_lines", "n = int(input())\nfor _ in range(n):\n    a, b = map(int, input().split())\n"
                             "    print(a + b)\n", "pass"),
    "correct_readline": ("count", "import sys\ninput = sys.stdin.readline\nn = int(input())\n"
                                  "print(sum(int(input()) for _ in range(n)))\n", "pass"),
    "main_guard": ("count", "def main():\n    n = int(input())\n    print(sum(int(input()) for _ in range(n)))\n\n"
                            "if __name__ == '__main__':\n    main()\n", "pass"),
    "decimal_format": ("count", "n = int(input())\nprint(f'{sum(int(input()) for _ in range(n)):.3f}')\n", "pass"),
    "wrong": ("count", "print(0)\n", "wrong_answer"),
    "extra_line": ("count", "n = int(input())\nprint(sum(int(input()) for _ in range(n)))\nprint('x')\n",
                   "wrong_answer"),
    "crash": ("count", "print(1 // 0)\n", "runtime_error"),
    "syntax_error": ("count", "def f(:\n", "compile_error"),
    "endless": ("count", "while True:\n    pass\n", "timeout"),
    "fn_class": ("fn", "class Solution:\n    def minimumKSum(self, nums: List[int], k: int) -> int:\n"
                       "        return sum(sorted(nums)[:k])\n", "pass"),
    "fn_top_level": ("fn", "def minimumKSum(nums, k):\n    return sum(heapq.nsmallest(k, nums)) if False else "
                           "sum(sorted(nums)[:k])\n", "pass"),
    "fn_wrong": ("fn", "class Solution:\n    def minimumKSum(self, nums, k):\n        return k\n", "wrong_answer"),
    "fn_tuple": ("pairs", "class Solution:\n    def adjacentPairs(self, nums):\n        s = sorted(nums)\n"
                          "        return [[a, b] for a, b in zip(s, s[1:])]\n", "pass"),
}


@pytest.fixture(scope="module")
def graded():
    """Every program graded once per mode (one grade() call each keeps the jail start-ups few)."""
    progs = {**{k: (p, c) for k, (p, c, _, _) in QUIRKS.items()}, **{k: (p, c) for k, (p, c, _) in ORDINARY.items()},
             "third_print": ("third", "print(int(input()) / 3)\n")}
    jobs = [GradeJob(i, p, "python", code.lstrip("\n")) for i, (p, code) in enumerate(progs.values())]
    names = list(progs)
    out = {}
    for mode, tol in (("faithful", None), ("robust", None), ("robust_tol", 1e-6)):
        res = grade(PROBLEMS, jobs, GradeConfig(mode="robust" if mode == "robust_tol" else mode, timeout=1,
                                                float_tol=tol))
        out[mode] = {names[j.key]: res[j.key] for j in jobs}
    return out


@pytest.mark.parametrize("name", list(QUIRKS))
def test_quirk_faithful_gives_upstreams_verdict_robust_the_correct_one(graded, name):
    _, _, upstream, correct = QUIRKS[name]
    assert graded["faithful"][name].verdict.value == upstream, graded["faithful"][name].detail
    assert graded["robust"][name].verdict.value == correct, graded["robust"][name].detail


def test_faithful_records_upstreams_codes_and_stops_at_the_first_failure(graded):
    g = graded["faithful"]["stops_at_first_failure"]
    assert g.codes == [True, -2] and g.tests_passed == 1 and g.n_tests == 3
    assert graded["robust"]["stops_at_first_failure"].verdicts == ["pass", "wrong_answer"]
    assert graded["faithful"]["for_line_in_stdin"].codes == [-4]
    assert graded["faithful"]["endless"].codes == [-3]
    assert "Error during testing" in graded["faithful"]["syntax_error"].detail["meta"]["error_message"]


@pytest.mark.parametrize("name", list(ORDINARY))
def test_ordinary_programs_agree_in_both_modes(graded, name):
    expected = ORDINARY[name][2]
    assert graded["faithful"][name].verdict.value == expected, graded["faithful"][name].detail
    assert graded["robust"][name].verdict.value == expected, graded["robust"][name].detail
    assert graded["robust_tol"][name].verdict.value == expected


def test_decimal_comparison_is_exact_upstream_and_tolerant_on_request(graded):
    # print(1/3) writes 0.3333333333333333: Decimal-unequal to 0.3333333333 (upstream: WA).
    assert graded["faithful"]["third_print"].verdict.value == "wrong_answer"
    assert graded["robust"]["third_print"].verdict.value == "wrong_answer"
    assert graded["robust_tol"]["third_print"].verdict.value == "pass"


def test_faithful_mode_refuses_a_float_tolerance():
    with pytest.raises(ValueError, match="--float-tol"):
        GradeConfig(mode="faithful", float_tol=1e-6)
    with pytest.raises(ValueError, match="--grading"):
        GradeConfig(mode="lenient")  # type: ignore[arg-type]


# ---- the driver, end to end -----------------------------------------------------------------------

GOOD = {"abc900_a": "a, b = map(int, input().split())\nprint(a + b)",
        "abc900_b": "n = int(input())\nfor _ in range(n):\n    print(sum(map(int, input().split())))"}


def _fenced(code: str) -> str:
    return f"Here is my solution.\n```python\n{code}\n```\n"


def test_eval_livecodebench_end_to_end(tmp_path):
    samples = [Sample(task_id="abc900_a", language="python", solution=_fenced(GOOD["abc900_a"] if i < 3 else "print(0)"))
               for i in range(10)]
    samples += [Sample(task_id="abc900_b", language="python", solution=_fenced(GOOD["abc900_b"])) for _ in range(10)]
    samples.append(Sample(task_id="abc905_b", language="python", solution="print(1)"))  # outside the window
    path = tmp_path / "samples.jsonl"
    write_jsonl(path, samples)
    out = tmp_path / "out"
    s = eval_livecodebench(FIX, out, samples=path, release="release_v2", start_date="2023-05-06",
                           end_date="2023-05-06", grading="faithful")
    assert s["grading"] == "faithful" and s["release"] == "release_v2"
    assert s["window"]["start_date"] == "2023-05-06" and s["problems"]["selected"] == 2
    assert s["samples_outside_selection"] == 1 and s["samples"] == 20
    row = s["livecodebench"]["python"]
    # Problem a: n=10, c=3 → pass@1 0.3, pass@5 0.9167; problem b: all pass.
    assert row["overall"]["pass@1"] == pytest.approx((0.3 + 1) / 2)
    assert row["overall"]["pass@5"] == pytest.approx((1 - (7 * 6 * 5 * 4 * 3) / (10 * 9 * 8 * 7 * 6) + 1) / 2)
    assert row["by_difficulty"]["easy"]["pass@1"] == pytest.approx(0.3)
    assert row["by_difficulty"]["medium"]["pass@1"] == pytest.approx(1.0)
    assert row["by_platform"]["atcoder"]["problems"] == 2
    eval_all = json.loads((out / "livecodebench_python_eval_all.json").read_text())
    a = next(r for r in eval_all if r["question_id"] == "abc900_a")
    assert a["graded_list"] == [True] * 3 + [False] * 7 and a["pass@1"] == pytest.approx(0.3)
    assert a["code_list"][0] == GOOD["abc900_a"] and a["output_list"][0].startswith("Here is")
    results = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(results) == 20 and results[3]["upstream_codes"] == [-2] and results[0]["grading"] == "faithful"
    assert "faithful" in (out / "report.md").read_text()


def test_eval_livecodebench_upstream_code_list_file_and_generate(tmp_path):
    upstream = [{"question_id": "3900", "code_list": [
        "class Solution:\n    def minimumKSum(self, nums, k):\n        return sum(sorted(nums)[:k])", "pass"]}]
    path = tmp_path / "gen.json"
    path.write_text(json.dumps(upstream))
    s = eval_livecodebench(FIX / "test.jsonl", tmp_path / "o1", samples=path, platforms=["leetcode"], k=[1],
                           extract="none")
    assert s["livecodebench"]["python"]["overall"] == {"problems": 1, "pass@1": 0.5}
    assert s["problems"]["without_samples"] == 1  # 3901 has no samples: reported, not silently scored

    seen = {}

    def generate(prompts, language, n):
        seen[language] = prompts
        return [[_fenced("print(input())")] * n for _ in prompts]

    s = eval_livecodebench(FIX / "test2.jsonl", tmp_path / "o2", generate=generate, n=2, k=[1, 2],
                           languages=["python"], grading="robust")
    assert all(p.startswith("You are an expert Python programmer") for p in seen["python"])
    # An echo solves abc905_a and abc311_c (its tests echo too), not abc905_b (two lines).
    assert s["livecodebench"]["python"]["overall"] == {"problems": 3, "pass@1": pytest.approx(2 / 3),
                                                       "pass@2": pytest.approx(2 / 3)}
    assert s["livecodebench"]["python"]["errata"]["abc311_c"]["reason"] == "multiple valid outputs"


def test_exactly_one_source_of_samples():
    with pytest.raises(ValueError, match="exactly one"):
        eval_livecodebench(FIX, "/nonexistent")


# ---- adversarial samples (robust mode) ---------------------------------------------------------------

ADVERSARIAL = {
    # Writing to the driver's result channel: fd 3 is closed in every test process.
    "forge_channel": "import os\nos.write(3, b'{\"k\": 0, \"v\": [\"pass\"]}\\n')\nprint(12)\n",
    "flood": "while True:\n    print('x' * 4096)\n",
    "memory": "x = bytearray(3 << 30)\nprint(len(x))\n",
    # A daemon that leaves its process group and outlives the test: swept before the next sample.
    "daemon": "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n    os._exit(0)\n"
              "n = int(input())\nprint(sum(int(input()) for _ in range(n)))\n",
    "after_daemon": "n = int(input())\nprint(sum(int(input()) for _ in range(n)))\n",
    # Killing the zygote the tests are forked from (same uid): that test fails, a fresh zygote serves the rest.
    "kill_zygote": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint(12)\n",
    "after_kill": "n = int(input())\nprint(sum(int(input()) for _ in range(n)))\n",
}


def test_adversarial_samples_get_failures_and_do_not_touch_others():
    jobs = [GradeJob(i, "count", "python", code) for i, code in enumerate(ADVERSARIAL.values())]
    res = grade(PROBLEMS, jobs, GradeConfig(mode="robust", timeout=5, workers=1, memory_mb=1024))
    got = {name: res[i] for i, name in enumerate(ADVERSARIAL)}
    assert got["forge_channel"].verdict.value == "runtime_error"
    assert "Bad file descriptor" in got["forge_channel"].detail["failure"]["stderr"]
    assert got["flood"].verdict.value == "output_limit"
    assert got["memory"].verdict.value == "memory_limit"
    assert got["daemon"].passed and got["after_daemon"].passed
    assert got["after_daemon"].detail["time_s"] < 5
    assert got["kill_zygote"].verdict.value == "runtime_error"
    assert "killed the grading process" in got["kill_zygote"].detail["failure"]["error"]
    assert got["after_kill"].passed


# A program that ends its process, or its test, early must not pass: in robust mode a stdin test is judged
# by the output the driver compares (so a silent exit with status 0 is a wrong answer) and a functional
# test by the answer the driver's code in the test process sends after the call returned (none: a runtime
# error); in faithful mode upstream's rules (its process's death is -1 for every test).
# name: (problem, program, faithful verdict, robust verdict, robust per-test verdicts)
EXITS = {
    "sys_exit_before_output": ("count", "import sys\nsys.exit(0)\n", "wrong_answer", "wrong_answer",
                               ["wrong_answer"]),
    "os_exit_before_output": ("count", "import os\nos._exit(0)\n", "runtime_error", "wrong_answer",
                              ["wrong_answer"]),
    "raise_system_exit": ("count", "raise SystemExit\n", "wrong_answer", "wrong_answer", ["wrong_answer"]),
    # The answer printed but still in the buffer: os._exit loses it, as it would under `python main.py`.
    "os_exit_unflushed": ("count", "n = int(input())\nprint(sum(int(input()) for _ in range(n)))\n"
                                   "import os\nos._exit(0)\n", "runtime_error", "wrong_answer", ["wrong_answer"]),
    "sigterm_to_itself": ("count", "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n",
                          "runtime_error", "runtime_error", ["runtime_error"]),
    "sys_exit_in_a_later_test": ("stop", "import sys\nx = int(input())\nif x == 2:\n    sys.exit(0)\nprint(x)\n",
                                 "wrong_answer", "wrong_answer", ["pass", "wrong_answer"]),
    "os_exit_in_a_later_test": ("stop", "import os\nx = int(input())\nif x == 2:\n    os._exit(0)\nprint(x)\n",
                                "runtime_error", "wrong_answer", ["pass", "wrong_answer"]),
    "fn_sys_exit": ("fn", "class Solution:\n    def minimumKSum(self, nums, k):\n        import sys\n"
                          "        sys.exit(0)\n", "runtime_error", "runtime_error", ["runtime_error"]),
    "fn_os_exit": ("fn", "class Solution:\n    def minimumKSum(self, nums, k):\n        import os\n"
                         "        os._exit(0)\n", "runtime_error", "runtime_error", ["runtime_error"]),
    # Upstream's module-level failure is "Error during testing", which faithful mode reports as compile_error.
    "fn_sys_exit_at_module_level": ("fn", "class Solution:\n    def minimumKSum(self, nums, k):\n"
                                          "        return sum(sorted(nums)[:k])\nimport sys\nsys.exit(0)\n",
                                    "compile_error", "runtime_error", ["runtime_error"]),
    "fn_os_exit_at_module_level": ("fn", "import os\nos._exit(0)\n", "runtime_error", "runtime_error",
                                   ["runtime_error"]),
    "fn_os_exit_in_a_later_test": ("fn", "import os\nclass Solution:\n    def minimumKSum(self, nums, k):\n"
                                         "        if len(nums) == 1:\n            os._exit(0)\n"
                                         "        return sum(sorted(nums)[:k])\n",
                                   "runtime_error", "runtime_error", ["pass", "runtime_error"]),
    # Exiting after the answer is an ordinary way to end a program.
    "sys_exit_after_the_answer": ("count", "n = int(input())\nprint(sum(int(input()) for _ in range(n)))\n"
                                           "import sys\nsys.exit(0)\n", "pass", "pass", ["pass", "pass"]),
}


def test_early_exits_never_pass_in_either_mode():
    jobs = [GradeJob(i, p, "python", code) for i, (p, code, *_) in enumerate(EXITS.values())]
    for mode, col in (("faithful", 2), ("robust", 3)):
        res = grade(PROBLEMS, jobs, GradeConfig(mode=mode, timeout=2, workers=1))
        got = {name: res[i].verdict.value for i, name in enumerate(EXITS)}
        assert got == {name: row[col] for name, row in EXITS.items()}, (mode, {n: res[i].detail for i, n in
                                                                               enumerate(EXITS)})
        if mode == "robust":
            assert {name: res[i].verdicts for i, name in enumerate(EXITS)} == {n: r[4] for n, r in EXITS.items()}
            assert res[list(EXITS).index("fn_os_exit")].detail["failure"]["error"] == "no answer"
        else:
            assert res[list(EXITS).index("os_exit_in_a_later_test")].codes == [-1, -1, -1]


@pytest.mark.slow
def test_a_test_that_stops_the_zygote_times_out_and_the_next_sample_passes():
    stop = "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\nprint(12)\n"
    ok = "n = int(input())\nprint(sum(int(input()) for _ in range(n)))\n"
    jobs = [GradeJob(0, "count", "python", stop), GradeJob(1, "count", "python", ok)]
    res = grade(PROBLEMS, jobs, GradeConfig(mode="robust", timeout=1, workers=1))
    assert res[0].verdict.value == "timeout" and "stopped the grading process" in res[0].detail["failure"]["error"]
    assert res[1].passed


def test_robust_programs_see_the_path_and_builtins_of_python_dash_I():
    """The driver runs without ``site`` (see lcb_driver): programs still get site-packages on sys.path
    and ``exit``/``quit``, as under ``python -I main.py``."""
    prog = "import sys\nprint(sys.path, file=sys.stderr)\nprint(0)\nexit(3)\n"
    g = grade(PROBLEMS, [GradeJob(0, "count", "python", prog)], GradeConfig(mode="robust", timeout=5))[0]
    want = subprocess.run([sandbox.python_for_jail(), "-I", "-c", "import sys; print(sys.path)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert g.detail["failure"]["stderr"].strip() == want
    assert g.detail["failure"]["error"].startswith("exit status 3")  # exit() exists: not a NameError (status 1)

