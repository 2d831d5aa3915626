"""One stdin problem solved in each of the six languages goes through the same grading path
(built in the jail, run once per test by the same driver, compared by the same code)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrmcode.benchmarks.livecodebench import data as lcb
from hrmcode.execute.grade import grade_problem
from hrmcode.execute.lcb import GradeConfig, GradeJob, grade

FIX = Path(__file__).parent / "fixtures" / "livecodebench"

# abc900_b: N, then N lines of two integers; print each line's sum.
SOLUTIONS = {
    "python": "n = int(input())\nfor _ in range(n):\n    a, b = map(int, input().split())\n    print(a + b)\n",
    "javascript": (
        "const lines = require('fs').readFileSync(0, 'utf8').split('\\n');\n"
        "const n = parseInt(lines[0]);\nconst out = [];\n"
        "for (let i = 1; i <= n; i++) { const [a, b] = lines[i].split(' ').map(Number); out.push(a + b); }\n"
        "console.log(out.join('\\n'));\n"),
    "java": (
        "import java.util.*;\n\npublic class Main {\n    public static void main(String[] args) {\n"
        "        Scanner sc = new Scanner(System.in);\n        int n = sc.nextInt();\n"
        "        StringBuilder sb = new StringBuilder();\n"
        "        for (int i = 0; i < n; i++) { long a = sc.nextLong(), b = sc.nextLong(); sb.append(a + b).append('\\n'); }\n"
        "        System.out.print(sb);\n    }\n}\n"),
    "cpp": (
        "#include <iostream>\nint main() {\n    int n; std::cin >> n;\n"
        "    for (int i = 0; i < n; i++) { long long a, b; std::cin >> a >> b; std::cout << a + b << '\\n'; }\n"
        "    return 0;\n}\n"),
    "go": (
        "package main\n\nimport (\n\t\"bufio\"\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n"
        "\tr := bufio.NewReader(os.Stdin)\n\tvar n int\n\tfmt.Fscan(r, &n)\n"
        "\tfor i := 0; i < n; i++ {\n\t\tvar a, b int64\n\t\tfmt.Fscan(r, &a, &b)\n\t\tfmt.Println(a + b)\n\t}\n}\n"),
    "rust": (
        "use std::io::{self, Read};\n\nfn main() {\n    let mut s = String::new();\n"
        "    io::stdin().read_to_string(&mut s).unwrap();\n    let mut it = s.split_whitespace().map(|x| x.parse::<i64>().unwrap());\n"
        "    let n = it.next().unwrap();\n    for _ in 0..n {\n        let a = it.next().unwrap();\n"
        "        let b = it.next().unwrap();\n        println!(\"{}\", a + b);\n    }\n}\n"),
}
BROKEN = {"cpp": "int main() { return undefined_name; }\n", "javascript": "console.log(0)\n"}


@pytest.fixture(scope="module")
def graded():
    prob = next(p for p in lcb.load_problems(FIX, release="v1").problems if p.question_id == "abc900_b")
    gp = grade_problem(lcb.to_task(prob))
    assert gp.n_tests == 3  # public first, then the base64/zlib/pickle private tests
    jobs = [GradeJob(i, gp.key, lang, code) for i, (lang, code) in enumerate(SOLUTIONS.items())]
    jobs += [GradeJob(100 + i, gp.key, lang, code) for i, (lang, code) in enumerate(BROKEN.items())]
    res = grade({gp.key: gp}, jobs, GradeConfig(mode="robust", timeout=10))
    return {(j.language, j.key >= 100): res[j.key] for j in jobs}


@pytest.mark.parametrize("lang", list(SOLUTIONS))
def test_stdin_problem_passes_in_each_language(graded, lang):
    g = graded[(lang, False)]
    assert g.passed and g.verdicts == ["pass"] * 3, g.detail


def test_java_runs_under_a_small_memory_cap():
    # The jail's RLIMIT_DATA is Java's own (heap + the JVM's reserved regions): at 2 × a 256 MB cap
    # the JVM could not start its threads and every Java program was a runtime error.
    prob = next(p for p in lcb.load_problems(FIX, release="v1").problems if p.question_id == "abc900_b")
    gp = grade_problem(lcb.to_task(prob))
    res = grade({gp.key: gp}, [GradeJob(0, gp.key, "java", SOLUTIONS["java"])],
                GradeConfig(mode="robust", timeout=10, memory_mb=256))
    assert res[0].passed, res[0].detail


def test_broken_programs_fail_with_the_right_verdict(graded):
    assert graded[("cpp", True)].verdict.value == "compile_error"
    assert "undefined_name" in graded[("cpp", True)].detail["compile_log"]
    assert graded[("javascript", True)].verdict.value == "wrong_answer"


def test_functional_problems_are_not_graded_in_other_languages():
    from hrmcode.execute.lcb import GradeProblem

    fn = GradeProblem("fn", "function", [[1]], [1], func_name="f")
    res = grade({"fn": fn}, [GradeJob(0, "fn", "go", "package main")], GradeConfig())
    assert res[0].verdict.value == "harness_error" and "Python only" in res[0].detail["error"]
