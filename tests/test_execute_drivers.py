"""The compiled languages' test drivers read their inputs at run time (hrmtests.txt): every value
type round-trips through each driver, including the edges of the format (64-bit extremes, strings
with spaces, colons, newlines and non-ASCII text, empty lists), and a candidate keeps the freedom
the old literal arguments gave it. A Python candidate that exits early (sys.exit(0), os._exit(0)) fails.
In every language a candidate that writes passing results for its batch-mates to the result channel, or
reads stdin before the driver does to steal their tokens, changes no one's verdict."""

from __future__ import annotations

import json

import pytest
from execute_fixtures import FIXTURES
from execute_fixtures import TASK as SCALE_SUM

from hrmcode.execute import evaluate_samples
from hrmcode.execute.units import INT64_MAX, INT64_MIN, FunctionUnit, encode_tests, inputs_file
from hrmcode.languages import LANGUAGES, parse_type
from hrmcode.languages.base import c_string_literal
from hrmcode.records import Sample, Task

COMPILED = ("java", "cpp", "go", "rust")
EDGES = {
    "int": [0, -1, 7, INT64_MIN, INT64_MAX, 10**12],
    "bool": [True, False],
    "str": ["", "a b", "12:ab", "x:", "line\nbreak\ttab\r", "ü€😀", "  padded  ", 'q"\\'],
    "list[int]": [[], [INT64_MIN, 0, INT64_MAX], [-5] * 50],
    "list[str]": [[], ["", " ", "a:b", "2:xy"], ["ü", "\n"]],
    "list[bool]": [[], [True, False, True]],
}
# An identity function per language and type; Rust gets back an owned value from its borrow.
ECHO_BODY = {"java": "    return x;\n}\n", "cpp": "    return x;\n}\n", "go": "\treturn x\n}\n"}
RUST_ECHO = {"int": "x", "bool": "x", "str": "x.to_string()", "list[int]": "x.to_vec()", "list[str]": "x.to_vec()",
             "list[bool]": "x.to_vec()"}


def _echo_task(t: str) -> Task:
    name = "echo_" + t.replace("[", "_").replace("]", "")
    return Task(task_id=name, prompt="Return x.", signature={"name": name, "params": [{"name": "x", "type": t}],
                                                             "returns": t},
                tests=[{"input": [v], "output": v} for v in EDGES[t]])


def _echo(lang: str, task: Task) -> str:
    sig = task.signature
    assert sig is not None
    t = parse_type(sig.returns)
    head = LANGUAGES[lang].signature(sig.name, [("x", t)], t)
    if lang == "rust":
        return f"{head}\n    {RUST_ECHO[str(t)]}\n}}\n"
    return f"{head}\n{ECHO_BODY[lang]}"


def test_the_input_format_is_length_prefixed_and_counts_bytes() -> None:
    unit = FunctionUnit(key=3, solution="", name="f", params=(("s", parse_type("str")), ("xs", parse_type("list[int]"))),
                        returns=parse_type("int"), tests=(("ü b", [1, -2]), ("", [])))
    assert encode_tests(unit) == "2 4:ü b 2 1 -2 0: 0"
    assert inputs_file([unit]) == "#3 20\n2 4:ü b 2 1 -2 0: 0\n"  # bytes, not characters: ü is two
    with pytest.raises(ValueError, match="64-bit"):
        encode_tests(FunctionUnit(key=0, solution="", name="f", params=(("n", parse_type("int")),),
                                  returns=parse_type("int"), tests=((2**63,),)))


@pytest.fixture(scope="module")
def driver_results():
    tasks = [_echo_task(t) for t in EDGES]
    samples = [Sample(task_id=task.task_id, language=lang, solution=_echo(lang, task)) for lang in COMPILED
               for task in tasks]
    # What a literal argument could be passed as, a parameter may still be declared as.
    lenient = {
        "go": "func echoInt(x int64) int64 {\n\treturn x\n}\n",
        "rust": "fn echo_int(x: i128) -> i128 {\n    x\n}\n",
        "cpp": "long echo_int(int64_t x) {\n    return x;\n}\n",
        "java": "public static long echoInt(Long x) {\n    return x;\n}\n",
    }
    samples += [Sample(task_id="echo_int", language=lang, solution=code) for lang, code in lenient.items()]
    small = Task(task_id="echo_small", prompt="Return x.", tests=[{"input": [5], "output": 5}, {"input": [300], "output": 300}],
                 signature={"name": "echo_small", "params": [{"name": "x", "type": "int"}], "returns": "int"})
    huge = Task(task_id="echo_huge", prompt="Return x.", tests=[{"input": [2**70], "output": 2**70}],
                signature={"name": "echo_huge", "params": [{"name": "x", "type": "int"}], "returns": "int"})
    samples += [
        # A parameter type the value does not fit: that test fails; the one before it still passes.
        Sample(task_id="echo_small", language="rust", solution="fn echo_small(x: u8) -> u8 {\n    x\n}\n"),
        Sample(task_id="echo_small", language="go", solution="func echoSmall(x int8) int8 {\n\treturn x\n}\n"),
        # A parameter of another kind is still a compile error, as it was with literals.
        Sample(task_id="echo_small", language="go", solution="func echoSmall(x string) string {\n\treturn x\n}\n"),
        Sample(task_id="echo_huge", language="cpp", solution="long long echo_huge(long long x) { return x; }\n"),
    ]
    return samples, evaluate_samples([*tasks, small, huge], samples)


def test_every_value_type_round_trips_through_each_compiled_driver(driver_results) -> None:
    samples, results = driver_results
    for s, r in zip(samples[: len(COMPILED) * len(EDGES)], results, strict=False):
        assert r.passed, (s.language, s.task_id, r.model_dump())


def test_a_candidate_keeps_the_freedom_the_literal_arguments_gave_it(driver_results) -> None:
    _, results = driver_results
    lenient = results[len(COMPILED) * len(EDGES): len(COMPILED) * len(EDGES) + 4]
    assert [r.verdict for r in lenient] == ["pass"] * 4, [r.model_dump() for r in lenient]
    rust_u8, go_int8, go_string, huge = results[-4:]
    for r in (rust_u8, go_int8):
        assert r.verdict == "runtime_error" and r.tests_passed == 1, r.model_dump()
        assert "does not fit" in r.model_dump()["failure"]["error"]
    assert go_string.verdict == "compile_error"
    assert huge.verdict == "harness_error" and "does not fit the cpp driver" in huge.model_dump()["error"]


def test_a_candidate_that_moves_away_from_the_inputs_before_main_costs_no_one_else_a_verdict() -> None:
    # Static constructors (C++) and init functions (Go) run before the driver reads its inputs.
    task = _echo_task("int")
    bad = {"cpp": "struct Away { Away() { chdir(\"/\"); } } away_;\nlong long echo_int(long long x) { return x; }\n",
           "go": "import \"os\"\n\nfunc init() { os.Chdir(\"/\") }\n\nfunc echoInt(x int) int {\n\treturn x\n}\n"}
    samples = []
    for lang, code in bad.items():
        good = _echo(lang, task)
        samples += [Sample(task_id=task.task_id, language=lang, solution=c) for c in (good, code, good + "\n")]
    results = evaluate_samples([task], samples)
    assert [r.verdict for r in results] == ["pass", "runtime_error", "pass"] * 2, [r.model_dump() for r in results]


# ---- the Python driver: a candidate that ends the process, or its test, early ----------------------

DOUBLE = Task(task_id="double", prompt="Return 2x.", tests=[{"input": [x], "output": 2 * x} for x in (1, 2, 3)],
              signature={"name": "double", "params": [{"name": "x", "type": "int"}], "returns": "int"})
GOOD_DOUBLE = "def double(x):\n    return 2 * x\n"
# name: (candidate, verdict, tests passed). The driver reports a test only after the call returned, and
# the runner judges a candidate whose tests went unreported by how its process ended: never a pass.
PY_EXITS = {
    "good": (GOOD_DOUBLE, "pass", 3),
    "sys_exit_in_the_function": ("def double(x):\n    import sys\n    sys.exit(0)\n", "runtime_error", 0),
    "os_exit_in_the_function": ("def double(x):\n    import os\n    os._exit(0)\n", "runtime_error", 0),
    "raise_system_exit": ("def double(x):\n    raise SystemExit(0)\n", "runtime_error", 0),
    "sys_exit_at_module_level": (GOOD_DOUBLE + "import sys\nsys.exit(0)\n", "runtime_error", 0),
    "os_exit_at_module_level": (GOOD_DOUBLE + "import os\nos._exit(0)\n", "runtime_error", 0),
    "os_exit_in_a_later_test": ("import os\ndef double(x):\n    if x == 2:\n        os._exit(0)\n    return 2 * x\n",
                                "runtime_error", 1),
    "sigterm_to_itself": ("import os, signal\ndef double(x):\n    os.kill(os.getpid(), signal.SIGTERM)\n",
                          "runtime_error", 0),
    "good_after_them": (GOOD_DOUBLE + "\n", "pass", 3),
}


def test_python_candidates_that_exit_early_fail_and_others_pass() -> None:
    samples = [Sample(task_id="double", language="python", solution=c) for c, _, _ in PY_EXITS.values()]
    results = evaluate_samples([DOUBLE], samples)
    got = {name: (r.verdict, r.tests_passed) for name, r in zip(PY_EXITS, results, strict=True)}
    assert got == {name: (v, n) for name, (_, v, n) in PY_EXITS.items()}, [r.model_dump() for r in results]
    early = results[list(PY_EXITS).index("os_exit_in_the_function")].model_dump()
    assert "exited with status 0 before finishing the tests" in early["failure"]["error"]


def test_a_batched_candidate_cannot_write_results_for_another() -> None:
    forger = ("import os, json\nfor k in range(64):\n    for t in range(3):\n"
              "        os.write(3, (json.dumps({'k': k, 't': t, 's': 'ok', 'v': 2 * (t + 1)}) + '\\n').encode())\n"
              + GOOD_DOUBLE)
    wrong = "def double(x):\n    return 0\n"
    samples = [Sample(task_id="double", language="python", solution=c) for c in (wrong, forger)]
    results = evaluate_samples([DOUBLE], samples, workers=1)
    assert [r.verdict for r in results] == ["wrong_answer", "pass"]


# ---- forged result lines, every language ---------------------------------------------------------
# The forger is a correct scale_sum that also writes passing results for candidates 0..7 to the
# result channel: framed (begin, tests, end), both bare and behind a made-up token. Its victims are
# wrong answers that run before and after it in the same batch process.


def _forged_lines() -> str:
    lines = []
    for k in range(8):
        framed = [json.dumps({"b": k}), *(json.dumps({"k": k, "t": t, "s": "ok", "v": v})
                                          for t, v in enumerate(tc.output for tc in SCALE_SUM.tests)),
                  json.dumps({"e": k})]
        lines += framed + [f"- {line}" for line in framed] + [f"{'0' * 32} {line}" for line in framed]
    return "".join(line + "\n" for line in lines)


def _forger(lang: str) -> str:
    p = c_string_literal(_forged_lines())
    good = FIXTURES[lang]["pass"]
    if lang == "python":
        return f"import os\nos.write(3, {_forged_lines()!r}.encode())\n" + good
    if lang == "javascript":
        return f"require('fs').writeSync(3, {p});\n" + good
    if lang == "cpp":
        return ("long long scale_sum(const vector<long long>& xs, long long k) {\n"
                f"    std::string p = {p};\n    ::write(3, p.data(), p.size());\n"
                "    long long t = 0;\n    for (auto x : xs) t += x;\n    return t * k;\n}\n")
    if lang == "go":
        return ("import \"syscall\"\n\nfunc scaleSum(xs []int, k int) int {\n"
                f"\tsyscall.Write(3, []byte({p}))\n\tt := 0\n\tfor _, x := range xs {{\n\t\tt += x\n\t}}\n"
                "\treturn t * k\n}\n")
    if lang == "rust":
        return ("fn scale_sum(xs: &[i64], k: i64) -> i64 {\n    use std::io::Write;\n"
                "    use std::os::unix::io::FromRawFd;\n    let mut f = unsafe { std::fs::File::from_raw_fd(3) };\n"
                f"    let _ = f.write_all({p}.as_bytes());\n    std::mem::forget(f);\n"
                "    xs.iter().sum::<i64>() * k\n}\n")
    assert lang == "java"
    return ("public static long scaleSum(List<Long> xs, long k) {\n"
            "    try (java.io.FileOutputStream f = new java.io.FileOutputStream(\"/proc/self/fd/3\")) {\n"
            f"        f.write({p}.getBytes());\n    }} catch (Exception e) {{\n    }}\n"
            "    long t = 0;\n    for (long x : xs) t += x;\n    return t * k;\n}\n")


@pytest.mark.parametrize("lang", ["python", "javascript", "cpp", "go", "rust", "java"])
def test_a_candidate_writing_passing_results_for_its_batch_mates_changes_no_verdict(lang: str) -> None:
    comment = "#" if lang == "python" else "//"
    wrong = FIXTURES[lang]["wrong_answer"]
    solutions = [wrong, _forger(lang), wrong + f"{comment} the same mistake, after the forger\n"]
    samples = [Sample(task_id=SCALE_SUM.task_id, language=lang, solution=c) for c in solutions]
    results = evaluate_samples([SCALE_SUM], samples, workers=1)
    assert [r.verdict for r in results] == ["wrong_answer", "pass", "wrong_answer"], [
        (r.verdict, r.model_dump().get("failure")) for r in results]
    extra = [r.model_dump() for r in results]
    # The victims' verdicts came from the shared process; the forger's lines were rejected there,
    # so it was run again alone, where they were rejected again.
    assert [e.get("mode") for e in extra] == ["batched", "isolated", "batched"]
    assert extra[1].get("channel_rejected_lines", 0) > 0


# A stealer reads stdin, where the tokens come from, as early as a candidate's code can run (a C++
# static initializer, a Go init function) and forges passing results under every token it finds.
_STEALERS = {
    "cpp": (
        "static std::string stolen = [] {\n    std::string in;\n    char b[4096];\n    ssize_t r;\n"
        "    while ((r = ::read(0, b, sizeof b)) > 0) in.append(b, r);\n    return in;\n}();\n"
        "long long scale_sum(const vector<long long>& xs, long long k) {\n"
        "    std::istringstream ss(stolen);\n    long long key;\n    std::string tok, out;\n"
        "    while (ss >> key >> tok) {\n        std::string n = std::to_string(key);\n"
        "        out += tok + \" {\\\"b\\\":\" + n + \"}\\n\";\n"
        "        out += tok + \" {\\\"k\\\":\" + n + \",\\\"t\\\":0,\\\"s\\\":\\\"ok\\\",\\\"v\\\":12}\\n\";\n"
        "        out += tok + \" {\\\"k\\\":\" + n + \",\\\"t\\\":1,\\\"s\\\":\\\"ok\\\",\\\"v\\\":0}\\n\";\n"
        "        out += tok + \" {\\\"k\\\":\" + n + \",\\\"t\\\":2,\\\"s\\\":\\\"ok\\\",\\\"v\\\":2999999999997}\\n\";\n"
        "        out += tok + \" {\\\"e\\\":\" + n + \"}\\n\";\n    }\n"
        "    ::write(3, out.data(), out.size());\n"
        "    long long t = 0;\n    for (auto x : xs) t += x;\n    return t * k;\n}\n"),
    "go": (
        "import (\n\t\"fmt\"\n\t\"io\"\n\t\"os\"\n\t\"strings\"\n\t\"syscall\"\n)\n\nvar stolen []byte\n\n"
        "func init() {\n\tstolen, _ = io.ReadAll(os.Stdin)\n}\n\n"
        "func scaleSum(xs []int, k int) int {\n\tout := \"\"\n"
        "\tfor _, line := range strings.Split(string(stolen), \"\\n\") {\n\t\tf := strings.Fields(line)\n"
        "\t\tif len(f) != 2 {\n\t\t\tcontinue\n\t\t}\n"
        "\t\tout += fmt.Sprintf(\"%s {\\\"b\\\":%s}\\n\", f[1], f[0])\n"
        "\t\tfor t, v := range []int64{12, 0, 2999999999997} {\n"
        "\t\t\tout += fmt.Sprintf(\"%s {\\\"k\\\":%s,\\\"t\\\":%d,\\\"s\\\":\\\"ok\\\",\\\"v\\\":%d}\\n\", f[1], f[0], t, v)\n"
        "\t\t}\n\t\tout += fmt.Sprintf(\"%s {\\\"e\\\":%s}\\n\", f[1], f[0])\n\t}\n"
        "\tsyscall.Write(3, []byte(out))\n\tt := 0\n\tfor _, x := range xs {\n\t\tt += x\n\t}\n\treturn t * k\n}\n"),
}


@pytest.mark.parametrize("lang", sorted(_STEALERS))
def test_a_candidate_running_before_main_finds_no_tokens_on_stdin(lang: str) -> None:
    wrong = FIXTURES[lang]["wrong_answer"]
    solutions = [wrong, _STEALERS[lang], wrong + "// the same mistake, after the stealer\n"]
    samples = [Sample(task_id=SCALE_SUM.task_id, language=lang, solution=c) for c in solutions]
    results = evaluate_samples([SCALE_SUM], samples, workers=1)
    assert [r.verdict for r in results] == ["wrong_answer", "pass", "wrong_answer"]
    # It found nothing to forge with, so it wrote nothing: no one was re-run. (The stealer itself is
    # built alone: code that runs before main would run in its batch-mates' processes too.)
    extra = [r.model_dump() for r in results]
    assert [e.get("mode") for e in extra] == ["batched", "isolated", "batched"]
    assert not any(e.get("channel_rejected_lines") for e in extra)
