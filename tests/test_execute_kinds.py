"""The stdin kind (whole programs, stdout compared line by line, exact or tolerant-numeric) and the
project kind (a directory with its own build and test commands), with real toolchains in the sandbox."""

from __future__ import annotations

import pytest

from hrmcode.execute import ExecConfig, Limits, evaluate_samples
from hrmcode.execute.compare import compare_stdout
from hrmcode.records import Sample, Task

FAST = ExecConfig(run=Limits(wall_s=5.0, memory_mb=512))

# Reads two integers (on one line or two), prints their sum and their product on two lines.
SUM_PRODUCT = Task(task_id="sum_product", kind="stdin", prompt="Print a+b and a*b.",
                   tests=[{"input": "3 4\n", "output": "7\n12\n"}, {"input": "-2\n5\n", "output": "3\n-10"}])
STDIN_PROGRAMS = {
    "python": "a, b = map(int, open(0).read().split())\nprint(a + b)\nprint(a * b)\n",
    "javascript": "const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\n"
                  "console.log(a + b);\nconsole.log(a * b);\n",
    "java": "import java.util.*;\npublic class Solution {\n  public static void main(String[] x) {\n"
            "    Scanner s = new Scanner(System.in);\n    long a = s.nextLong(), b = s.nextLong();\n"
            "    System.out.println(a + b);\n    System.out.println(a * b);\n  }\n}\n",
    "cpp": "#include <iostream>\nint main() { long long a, b; std::cin >> a >> b;\n"
           "  std::cout << a + b << \"\\n\" << a * b << \"\\n\"; }\n",
    "go": "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tvar a, b int\n\tfmt.Scan(&a, &b)\n"
          "\tfmt.Println(a + b)\n\tfmt.Println(a * b)\n}\n",
    "rust": "use std::io::Read;\nfn main() {\n    let mut s = String::new();\n"
            "    std::io::stdin().read_to_string(&mut s).unwrap();\n"
            "    let v: Vec<i64> = s.split_whitespace().map(|t| t.parse().unwrap()).collect();\n"
            "    println!(\"{}\\n{}\", v[0] + v[1], v[0] * v[1]);\n}\n",
}

# 1/3 printed with a different number of digits: equal within 1e-6 only in numeric mode.
THIRD = {"input": "1 3\n", "output": "0.333333333\n"}
PY_THIRD = "a, b = map(int, input().split())\nprint(f'{a / b:.7f}')\n"
NUMERIC = Task(task_id="third_numeric", kind="stdin", prompt="Print a/b.", tests=[THIRD], meta={"compare": "numeric"})
EXACT = Task(task_id="third_exact", kind="stdin", prompt="Print a/b.", tests=[THIRD])


def test_compare_modes():
    assert compare_stdout("7 \n12\n\n", "7\n12")  # trailing spaces and blank lines are forgiven
    assert not compare_stdout("7\n12\n", "7\n13\n")
    assert compare_stdout("0.3333333 2\n", "0.333333333 2", "numeric")
    assert not compare_stdout("0.3333333 2\n", "0.333333333 2", "exact")
    assert not compare_stdout("0.3334\n", "0.3333", "numeric")
    assert compare_stdout("nan\n", "nan", "numeric")  # identical text is equal; NaN never equals a number
    assert not compare_stdout("nan\n", "0.5", "numeric") and not compare_stdout("1e400\n", "0.5", "numeric")
    assert not compare_stdout("1 2\n", "1 2 3", "numeric")
    with pytest.raises(ValueError, match="meta.compare"):
        compare_stdout("1", "1", "fuzzy")


@pytest.mark.timeout(300)
def test_stdin_programs_in_six_languages_and_both_compare_modes():
    tasks = [SUM_PRODUCT, NUMERIC, EXACT]
    samples = [Sample(task_id="sum_product", language=lang, solution=code) for lang, code in STDIN_PROGRAMS.items()]
    samples += [
        Sample(task_id="third_numeric", language="python", solution=PY_THIRD),
        Sample(task_id="third_exact", language="python", solution=PY_THIRD),
        Sample(task_id="sum_product", language="python", solution="a, b = map(int, open(0).read().split())\n"
                                                                  "print(a + b)\nprint(a - b)\n"),
        Sample(task_id="sum_product", language="cpp", solution="int main() { return undefined_name; }\n"),
        Sample(task_id="sum_product", language="go", solution="package main\n\nfunc main() {\n\tpanic(\"no\")\n}\n"),
        Sample(task_id="sum_product", language="python", solution="while True:\n    pass\n"),
    ]
    got = [(r.task_id, r.language, r.verdict.value, r.tests_passed)
           for r in evaluate_samples(tasks, samples, config=FAST)]
    assert got == [("sum_product", lang, "pass", 2) for lang in STDIN_PROGRAMS] + [
        ("third_numeric", "python", "pass", 1),
        ("third_exact", "python", "wrong_answer", 0),
        ("sum_product", "python", "wrong_answer", 0),
        ("sum_product", "cpp", "compile_error", 0),
        ("sum_product", "go", "runtime_error", 0),
        ("sum_product", "python", "timeout", 0),
    ]


def _project(task_id: str, project: dict) -> Task:
    return Task(task_id=task_id, kind="project", prompt="Make the tests pass.", meta={"project": project})


PY_PROJECT = {
    "files": {"test_mathx.py": "import unittest\nfrom mathx import double\n\n\nclass T(unittest.TestCase):\n"
                               "    def test_double(self):\n        self.assertEqual(double(21), 42)\n\n\n"
                               "unittest.main()\n"},
    "solution_path": "mathx.py",
    "test": ["python3", "test_mathx.py"],
}
GO_PROJECT = {
    "files": {"go.mod": "module mathx\n\ngo 1.21\n",
              "mathx_test.go": "package mathx\n\nimport \"testing\"\n\nfunc TestDouble(t *testing.T) {\n"
                               "\tif Double(21) != 42 {\n\t\tt.Fatal(Double(21))\n\t}\n}\n"},
    "solution_path": "mathx.go",
    "test": ["go", "test", "./..."],
    "env": {"GOFLAGS": "-mod=mod -count=1"},  # never a cached test result
    "timeout_s": 300,  # a cold Go cache compiles the testing packages first (~100 s on 2 cores)
}
CPP_PROJECT = {
    "files": {"test.cpp": "#include \"mathx.h\"\nint main() { return double_it(21) == 42 ? 0 : 1; }\n"},
    "solution_path": "mathx.h",
    "build": ["g++", "-std=c++17", "-o", "t", "test.cpp"],
    "test": ["./t"],
    "timeout_s": 5,
}


@pytest.mark.timeout(300)
def test_project_tasks_run_their_own_commands(tmp_path):
    # A checked-out directory (dir) plus files written on top of it, as the Polyglot adapter does.
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "README").write_text("fixture\n")
    tasks = [_project("py", {**PY_PROJECT, "dir": str(tmp_path / "proj")}), _project("cpp", CPP_PROJECT),
             _project("broken", {"test": ["true"]})]
    samples = [
        Sample(task_id="py", language="python", solution="def double(x):\n    return 2 * x\n"),
        Sample(task_id="py", language="python", solution="def double(x):\n    return x + 2\n"),
        Sample(task_id="cpp", language="cpp", solution="inline int double_it(int x) { return 2 * x; }\n"),
        Sample(task_id="cpp", language="cpp", solution="inline int double_it(int x) { return x }\n"),
        Sample(task_id="cpp", language="cpp", solution="inline int double_it(int x) { for (;;) {} }\n"),
        Sample(task_id="broken", language="python", solution=""),
    ]
    results = evaluate_samples(tasks, samples, config=FAST)
    assert [r.verdict.value for r in results] == [
        "pass", "wrong_answer", "pass", "compile_error", "timeout", "harness_error"]
    extra = [r.model_extra or {} for r in results]
    assert "AssertionError" in extra[1]["test_output"] and "42" in extra[1]["test_output"]
    assert "error" in extra[3]["compile_log"]
    assert "solution_path" in extra[5]["error"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_go_project_runs_go_test_with_a_private_cache():
    samples = [
        Sample(task_id="go", language="go", solution="package mathx\n\nfunc Double(x int) int {\n\treturn x * 2\n}\n"),
        Sample(task_id="go", language="go", solution="package mathx\n\nfunc Double(x int) int {\n\treturn x + 2\n}\n"),
        Sample(task_id="go", language="go", solution="package mathx\n\nfunc Double(x int) int {\n\treturn \"\"\n}\n"),
    ]
    results = evaluate_samples([_project("go", GO_PROJECT)], samples, config=FAST)
    # go test reports a package that does not compile as a failing test run (exit 1).
    assert [r.verdict.value for r in results] == ["pass", "wrong_answer", "wrong_answer"]
