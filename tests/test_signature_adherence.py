"""Signature adherence: does a sample define the function its task names, with the right arity?"""

from __future__ import annotations

import json

import pytest

from hrmcode.benchmarks.builtin.generate import generate
from hrmcode.benchmarks.builtin.handwritten import handwritten_tasks
from hrmcode.benchmarks.builtin.protocol import summarize
from hrmcode.evaluate.render import render_report
from hrmcode.evaluate.run import evaluate_files
from hrmcode.evaluate.summary import signature_adherence
from hrmcode.languages import LANGUAGES
from hrmcode.records import Result, Sample, Task, Verdict, write_jsonl

# (language, solution, name as in the task signature, arity, expected)
CASES = [
    ("python", "def total_of_evens(nums: list[int]) -> int:\n    return sum(x for x in nums if x % 2 == 0)\n",
     "total_of_evens", 1, True),
    # The example: the model ignored the name it was given.
    ("python", "def all_abs(nums: list[int]) -> int:\n    return sum(nums)\n", "total_of_evens", 1, False),
    ("python", "def pairwise_sum(\n    left: list[int],\n    right: list[int],\n) -> list[int]:\n    return []\n",
     "pairwise_sum", 2, True),
    ("python", "def pairwise_sum(left, right, extra=None):\n    return []\n", "pairwise_sum", 2, False),
    ("python", "def f(nums, *, key=None, **kw):\n    pass\n", "f", 3, True),
    ("python", "class Solution:\n    def total(self, nums):\n        return 0\n", "total", 1, False),
    ("python", "def outer(nums):\n    def total(nums):\n        return 0\n    return total(nums)\n", "total", 1, False),
    ("python", "total = lambda nums: sum(nums)\n", "total", 1, True),
    ("python", "print(total_of_evens([1, 2]))\n", "total_of_evens", 1, False),
    ("javascript", "function totalOfEvens(nums) {\n  return nums.filter((x) => x % 2 === 0).reduce((a, b) => a + b, 0);\n}\n",
     "total_of_evens", 1, True),
    ("javascript", "function total_of_evens(nums) { return 0; }\n", "total_of_evens", 1, False),  # wrong convention
    ("javascript", "const totalOfEvens = (nums, opts = {a: 1, b: 2}) => 0;\n", "total_of_evens", 2, True),
    ("javascript", "const totalOfEvens = nums => nums.length;\n", "total_of_evens", 1, True),
    ("javascript", "let dotProduct = async function (left, right) { return 0; };\n", "dot_product", 2, True),
    ("javascript", "const x = totalOfEvens(nums);\n", "total_of_evens", 1, False),
    ("java", "public static long totalOfEvens(List<Long> nums) {\n    return 0L;\n}\n", "total_of_evens", 1, True),
    ("java", "static Map<String, Integer> countWords(Map<String, Integer> seed, List<String> words) throws"
             " Exception {\n    return seed;\n}\n", "count_words", 2, True),
    ("java", "public static long totalOfEvens(List<Long> nums, long k) {\n    return k;\n}\n", "total_of_evens", 1, False),
    ("java", "long y = totalOfEvens(nums);\nreturn totalOfEvens(rest);\n", "total_of_evens", 1, False),
    ("cpp", "long long total_of_evens(const std::vector<long long>& nums) {\n    return 0;\n}\n", "total_of_evens", 1,
     True),
    ("cpp", "std::vector<long long> pairwise_sum(const std::vector<long long>& left,\n"
            "                                    const std::vector<long long>& right) {\n    return {};\n}\n",
     "pairwise_sum", 2, True),
    ("cpp", "auto largest(const std::map<int, int>& m) -> int {\n    return 0;\n}\n", "largest", 1, True),
    ("cpp", "int answer(void) {\n    return 42;\n}\n", "answer", 0, True),
    ("cpp", "int f() { return total_of_evens(v); }\n", "total_of_evens", 1, False),
    ("cpp", "auto total = [](const std::vector<long long>& v) { return 0LL; };\n", "total", 1, True),
    ("go", "func totalOfEvens(nums []int) int {\n\treturn 0\n}\n", "total_of_evens", 1, True),
    ("go", "func pairwiseSum(left, right []int) []int {\n\treturn nil\n}\n", "pairwise_sum", 2, True),
    ("go", "func largest[T int | int64](xs []T) T {\n\tvar z T\n\treturn z\n}\n", "largest", 1, True),
    ("go", "func (s Scores) totalOfEvens(nums []int) int {\n\treturn 0\n}\n", "total_of_evens", 1, False),
    ("rust", "fn total_of_evens(nums: &[i64]) -> i64 {\n    nums.iter().filter(|x| *x % 2 == 0).sum()\n}\n",
     "total_of_evens", 1, True),
    ("rust", "pub fn apply<F: Fn(i64) -> i64>(nums: &[i64], f: F) -> Vec<i64> {\n    vec![]\n}\n", "apply", 2, True),
    ("rust", "fn pick(m: HashMap<String, Vec<(i64, i64)>>) -> i64 {\n    0\n}\n", "pick", 1, True),
    ("rust", "fn main() {\n    let t = total_of_evens(&v);\n}\n", "total_of_evens", 1, False),
]


@pytest.mark.parametrize(("language", "code", "name", "arity", "expected"), CASES)
def test_each_language_tells_a_definition_of_the_named_function_with_its_arity(language, code, name, arity,
                                                                                expected) -> None:
    assert LANGUAGES[language].defines_function(code, name, arity) is expected


@pytest.fixture(scope="module")
def real_tasks() -> list[Task]:
    return generate(0, 200).tasks + handwritten_tasks()


def test_every_reference_and_starter_defines_its_function_exactly_once_with_its_arity(real_tasks) -> None:
    for t in real_tasks:
        arity = len(t.signature.params)
        for lang, language in LANGUAGES.items():
            ident = language.ident(t.signature.name)
            assert language.defined_arities(t.reference[lang], ident) == [arity], (t.task_id, lang)
            assert language.defined_arities(t.starter_code[lang], ident) == [arity], (t.task_id, lang)
            # Renamed (as the models did), it no longer counts.
            renamed = t.reference[lang].replace(ident, ident + "X", 1)
            assert not language.defines_function(renamed, t.signature.name, arity), (t.task_id, lang)


def _samples(tasks: list[Task]) -> list[Sample]:
    """Per task: python correct, python renamed, rust with an extra parameter, go correct."""
    out = []
    for t in tasks:
        out.append(Sample(task_id=t.task_id, language="python", solution=t.reference["python"]))
        out.append(Sample(task_id=t.task_id, language="python", solution=t.reference["python"].replace(
            f"def {t.signature.name}(", "def solve(")))
        out.append(Sample(task_id=t.task_id, language="rust", solution=t.reference["rust"].replace(
            ") ->", ", extra: i64) ->", 1)))
        out.append(Sample(task_id=t.task_id, language="go", solution=t.reference["go"]))
    return out


def test_adherence_counts_per_language_and_split(real_tasks) -> None:
    tasks = [t for t in real_tasks if t.meta["split"] in ("train", "handwritten")][:40]
    extra = Task(task_id="stdin/1", kind="stdin", prompt="echo", tests=[{"input": "a", "output": "a"}])
    samples = [*_samples(tasks), Sample(task_id="stdin/1", language="python", solution="print(input())")]
    adh = signature_adherence([*tasks, extra], samples)
    n = len(tasks)
    assert adh["samples"] == 4 * n  # the stdin task names no function: not counted
    assert adh["adherent"] == 2 * n and adh["wrong_arity"] == n and adh["rate"] == pytest.approx(0.5)
    assert adh["per_language"]["python"] == {"samples": 2 * n, "adherent": n, "wrong_arity": 0, "rate": 0.5}
    assert adh["per_language"]["rust"] == {"samples": n, "adherent": 0, "wrong_arity": n, "rate": 0.0}
    assert adh["per_language"]["go"]["rate"] == 1.0
    by_split = {t.meta["split"] for t in tasks}
    assert set(adh["per_split"]) == by_split
    assert signature_adherence(tasks, []) == {}


def test_adherence_is_in_summary_json_and_both_markdown_reports(real_tasks, tmp_path) -> None:
    tasks = [t for t in real_tasks if t.meta["split"] == "handwritten"][:6]
    samples = _samples(tasks)
    results = [Result(task_id=s.task_id, language=s.language, sample_index=0, passed=False,
                      verdict=Verdict.COMPILE_ERROR, tests_passed=0, tests_total=1) for s in samples]
    summary = summarize(tasks, samples, results, [1])
    assert summary["signature_adherence"]["rate"] == pytest.approx(0.5)
    text = render_report(summary, title="t")
    assert "## Signature adherence" in text and "| handwritten |" in text and "50.0" in text
    # `hrmcode eval files --tasks --samples`: the same block in summary.json and report.md.
    write_jsonl(tmp_path / "tasks.jsonl", tasks)
    write_jsonl(tmp_path / "samples.jsonl", samples[:2])  # Python only: no compiler to wait for
    out = evaluate_files(tmp_path / "tasks.jsonl", tmp_path / "samples.jsonl", tmp_path / "out")
    on_disk = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert on_disk["signature_adherence"] == out["signature_adherence"]
    assert out["signature_adherence"]["per_language"]["python"]["adherent"] == 1
    assert "## Signature adherence" in (tmp_path / "out" / "report.md").read_text()
    assert "## Signature adherence" in render_report(out)
