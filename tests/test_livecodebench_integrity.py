"""A graded program cannot read the expected outputs: a "solution" that hunts for them everywhere a
process in the jail can look (files in the work directory and scratch directories; every process's
cmdline, environ, open file descriptors and memory, its own included) gets wrong_answer in robust and
faithful mode, for stdin and functional problems, while the same hunt finds what it may legitimately
see (its own test's input) and ordinary programs in the same batch still pass."""

from __future__ import annotations

import json
import secrets

import pytest

from hrmcode.execute import sandbox
from hrmcode.execute.lcb import GradeConfig, GradeJob, GradeProblem, grade

SECRET = "SECRET-" + secrets.token_hex(16)  # the expected output: nowhere in the inputs or the code
OPEN = "OPEN-" + secrets.token_hex(16)  # in the input, so a program may see it

THIEF = r'''
import errno, os, re


def snoop(prefix):
    """The first PREFIX-<32 hex> anywhere this process can read, and what it could and could not read."""
    pattern = re.compile(prefix.encode() + rb"-[0-9a-f]{32}")
    found = []
    report = {}

    def look(data, where):
        m = pattern.search(data)
        if m and not found:
            found.append((m.group().decode(), where))

    n_files = 0
    for top in (".", "/tmp", "/dev/shm", "/var/tmp", "/run"):
        for d, _, names in os.walk(top):
            for name in names:
                try:
                    with open(os.path.join(d, name), "rb") as fh:
                        look(fh.read(1 << 24), "file " + os.path.join(d, name))
                    n_files += 1
                except OSError:
                    pass

    def ppid_of(pid):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                return int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return None

    me, parent = os.getpid(), os.getppid()
    roles = {me: "self", parent: "parent", ppid_of(parent): "grandparent"}  # the zygote, the driver
    n_fds = 0
    for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
        role = roles.get(pid, str(pid))
        for what in ("cmdline", "environ"):
            try:
                with open(f"/proc/{pid}/{what}", "rb") as fh:
                    look(fh.read(), f"{what} of {role}")
            except OSError:
                pass
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError as e:
            fds = []
            report[role + "_fd"] = errno.errorcode[e.errno]
        opened = 0
        for fd in fds:  # files, memfds, and pipes opened anew (a reader of someone else's pipe)
            try:
                f = os.open(f"/proc/{pid}/fd/{fd}", os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                continue
            opened += 1
            try:
                look(os.pread(f, 1 << 24, 0), f"fd {fd} of {role}")
            except OSError:
                try:
                    look(os.read(f, 1 << 24), f"fd {fd} of {role}")
                except OSError:
                    pass
            os.close(f)
        n_fds += opened
        report.setdefault(role + "_fd", f"{opened}/{len(fds)}")  # opened / listed
        try:
            mem = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
        except OSError as e:
            report[role + "_mem"] = errno.errorcode[e.errno]
            continue
        size = 0
        with open(f"/proc/{pid}/maps") as fh:
            regions = [line.split()[:2] for line in fh]
        for addr, perms in regions:
            if perms[0] != "r":
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            for at in range(lo, hi, 1 << 24):
                try:
                    chunk = os.pread(mem, min(1 << 24, hi - at), at)
                except OSError:
                    break
                size += len(chunk)
                look(chunk, f"memory of {role}")
        os.close(mem)
        report[role + "_mem"] = f"{size >> 20}MB"
    report["files"], report["fds"] = n_files, n_fds
    if found:
        return found[0][0]
    keys = ("self_mem", "parent_mem", "parent_fd", "grandparent_mem", "grandparent_fd", "files", "fds")
    return "nothing " + " ".join(f"{k}={report.get(k)}" for k in keys)
'''



def stdin_thief(prefix: str) -> str:
    return THIEF + f"\n\nprint(snoop({prefix!r}))\n"


def function_thief(prefix: str) -> str:
    return THIEF + f"\n\nclass Solution:\n    def f(self, x):\n        return snoop({prefix!r})\n"


PROBLEMS = {
    "secret_stdin": GradeProblem("secret_stdin", "stdin", ["1\n", "2\n"], [SECRET + "\n", SECRET + "\n"]),
    "secret_fn": GradeProblem("secret_fn", "function", [[1], [2]], [SECRET, SECRET], func_name="f"),
    "open_stdin": GradeProblem("open_stdin", "stdin", [OPEN + "\n"], [OPEN + "\n"]),
    "count": GradeProblem("count", "stdin", ["2\n5\n7\n", "3\n1\n1\n1\n"], ["12\n", "3\n"]),
    "fn": GradeProblem("fn", "function", [[[4, 3, 2, 3, 1], 2], [[5], 1]], [3, 5], func_name="minimumKSum"),
}

JOBS = [
    # A wrong answer first, so the expected output has already been through the driver's result channel.
    ("secret_stdin", "wrong", "print('no idea')\n"),
    ("secret_stdin", "thief", stdin_thief("SECRET")),
    ("secret_fn", "wrong", "class Solution:\n    def f(self, x):\n        return 'no idea'\n"),
    ("secret_fn", "thief", function_thief("SECRET")),
    ("open_stdin", "thief", stdin_thief("OPEN")),  # the same hunt, for what it may see
    ("count", "correct", "n = int(input())\nprint(sum(int(input()) for _ in range(n)))\n"),
    ("fn", "correct", "class Solution:\n    def minimumKSum(self, nums: List[int], k: int) -> int:\n"
                      "        return sum(sorted(nums)[:k])\n"),
]


@pytest.fixture(scope="module", params=["robust", "faithful"])
def graded(request):
    if sandbox.detect_layers().mode != "bwrap":
        pytest.skip("without bubblewrap the jail shares the host's /proc: the guarantee does not hold (docs/sandbox.md)")
    jobs = [GradeJob(i, p, "python", code) for i, (p, _, code) in enumerate(JOBS)]
    res = grade(PROBLEMS, jobs, GradeConfig(mode=request.param, timeout=20, workers=1))
    return request.param, {(p, name): res[i] for i, (p, name, _) in enumerate(JOBS)}


def _answer(mode, g):
    """What the program answered on its first (failing) test, as the result records it."""
    if mode == "faithful":
        return g.detail["meta"]["output"]
    return g.detail["failure"]["got"]


@pytest.mark.parametrize("problem", ["secret_stdin", "secret_fn"])
def test_a_program_hunting_for_the_expected_output_finds_nothing(graded, problem):
    mode, got = graded
    g = got[(problem, "thief")]
    assert g.verdict.value == "wrong_answer" and g.tests_passed == 0, g.detail
    answer = _answer(mode, g)
    assert SECRET not in answer and "nothing" in answer, answer
    seen = dict(kv.split("=") for kv in answer.strip("\"'\n").split()[1:])
    # It had the means: it read its own memory and the zygote's (its parent: dumpable, and no
    # expected output in it) and opened the zygote's descriptors; the driver (its grandparent)
    # refused it its memory and every descriptor (their numbers can be listed, none opened).
    assert seen["self_mem"].endswith("MB") and seen["parent_mem"].endswith("MB"), seen
    assert int(seen["parent_fd"].split("/")[0]) > 0, seen
    assert seen["grandparent_mem"] == "EACCES", seen
    assert seen["grandparent_fd"] == "EACCES" or seen["grandparent_fd"].startswith("0/"), seen


def test_the_same_hunt_finds_what_a_program_may_see(graded):
    _, got = graded
    assert got[("open_stdin", "thief")].passed, got[("open_stdin", "thief")].detail


def test_ordinary_programs_in_the_batch_still_pass_and_fail(graded):
    _, got = graded
    assert got[("count", "correct")].passed and got[("fn", "correct")].passed
    assert got[("secret_stdin", "wrong")].verdict.value == "wrong_answer"
    assert got[("secret_fn", "wrong")].verdict.value == "wrong_answer"
    assert SECRET in json.dumps(got[("secret_stdin", "wrong")].detail)  # the record still shows what was expected


@pytest.mark.parametrize("mode", ["robust", "faithful"])
def test_no_expected_output_is_written_to_the_jail(tmp_path, mode):
    from hrmcode.execute.lcb import _driver_stdin  # what the jail gets: files, and the driver's stdin

    jobs = [GradeJob(i, p, "python", "") for i, p in enumerate(PROBLEMS)]
    stdin = _driver_stdin(tmp_path, jobs, PROBLEMS, {"mode": mode})
    assert SECRET.encode() in stdin
    written = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert all(SECRET.encode() not in f.read_bytes() for f in written)
    assert (mode == "robust") == any(OPEN.encode() in f.read_bytes() for f in written)  # inputs are files


# Faithful mode compares a returned value in the driver now, not beside the program: the verdicts of
# upstream's in-process ``pred == expected`` (what the grader gave before), value by value.
RETURNED = {  # name: (expected, returned expression, upstream's verdict)
    "nested_tuple": ([[1, 2]], "[(1, 2)]", "wrong_answer"),
    "list_subclass": ([[1, 2]], "type('L', (list,), {})([[1, 2]])", "pass"),
    "deque": ([1, 2], "__import__('collections').deque([1, 2])", "wrong_answer"),
    "int_enum": (3, "__import__('enum').IntEnum('E', 'A B C').C", "pass"),
    "complex_equal_to_an_int": (3, "3 + 0j", "pass"),
    "one_for_true": (True, "1", "pass"),
    "counter_for_a_dict": ({"a": 2}, "__import__('collections').Counter({'a': 2})", "pass"),
    "int_key_for_a_string_key": ({"1": 2}, "{1: 2}", "wrong_answer"),
    "infinity": (1.5, "float('inf')", "wrong_answer"),
    "set": ([1, 2], "{1, 2}", "wrong_answer"),
    "nested_past_the_driver": ([[1]], "__import__('functools').reduce(lambda a, _: [a], range(5000), [])",
                               "wrong_answer"),
    # The one deliberate difference: upstream passed an object whose __eq__ is always true.
    "always_equal": (3, "type('A', (), {'__eq__': lambda s, o: True, '__hash__': None})()", "wrong_answer"),
}


def test_faithful_compares_returned_values_as_upstreams_equality_did():
    problems = {k: GradeProblem(k, "function", [[0]], [exp], func_name="f") for k, (exp, _, _) in RETURNED.items()}
    jobs = [GradeJob(i, k, "python", f"class Solution:\n    def f(self, x):\n        return {expr}\n")
            for i, (k, (_, expr, _)) in enumerate(RETURNED.items())]
    res = grade(problems, jobs, GradeConfig(mode="faithful", timeout=5, workers=1))
    got = {k: res[i].verdict.value for i, k in enumerate(RETURNED)}
    assert got == {k: v for k, (_, _, v) in RETURNED.items()}
    assert res[0].codes == [False] and res[1].codes == [True]  # upstream's codes for a functional test
