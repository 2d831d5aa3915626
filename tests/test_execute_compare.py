"""One comparison module (hrmcode/execute/compare.py) for every stdout rule: the built-in runner uses
it on the host, the LiveCodeBench grader's driver loads the same file inside the jail, and each
result names the rule it was compared by."""

from __future__ import annotations

import ast
import marshal
import types
from pathlib import Path

from hrmcode.execute import ExecConfig, Limits, compare, evaluate_samples, lcb
from hrmcode.execute.lcb import GradeConfig, GradeJob, GradeProblem, grade
from hrmcode.records import Sample, Task


def test_the_rules_differ_where_their_benchmarks_do() -> None:
    # LiveCodeBench strips both sides and compares numbers as Decimals; the built-in rule forgives
    # trailing whitespace only and compares text (numeric: within 1e-6).
    assert compare.compare_stdout("  1.0 \n2\n", "1.00\n2", "lcb")
    assert not compare.compare_stdout("  1.0 \n2\n", "1.00\n2", "exact")
    assert compare.compare_stdout("1.0 \n2\n", "1.00\n2", "numeric")
    assert not compare.compare_stdout("0.3333333333333333\n", "0.3333333333", "lcb")
    assert compare.robust_lines_match("0.3333333333333333\n", "0.3333333333", 1e-6)
    assert compare.rule_name("lcb") == "lcb" and compare.rule_name("lcb", 1e-6) == "lcb, tol=1e-06"


def test_the_lcb_driver_compares_with_the_shared_module_only() -> None:
    tree = ast.parse(lcb.DRIVER.read_text(encoding="utf-8"))
    own = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert not own & {"upstream_lines_match", "robust_lines_match", "stripped_lines", "decimals", "values_equal",
                      "robust_values_equal"}
    # What the jail gets is this module compiled: the same functions.
    mod = types.ModuleType("hrm_compare")
    exec(marshal.loads(lcb._pyc(Path(compare.__file__))[16:]), mod.__dict__)
    for got, exp in [("  1.0 \n2\n", "1.00\n2"), ("1 2\n", "1 2 3"), ("x\n\n", "x")]:
        assert mod.upstream_lines_match(got, exp) == compare.upstream_lines_match(got, exp)


def test_each_result_names_its_rule() -> None:
    third = GradeProblem("third", "stdin", ["1\n"], ["0.3333333333\n"])
    jobs = [GradeJob(0, "third", "python", "print(int(input()) / 3)\n")]
    faithful = grade({"third": third}, jobs, GradeConfig(mode="faithful", timeout=2, workers=1))[0]
    robust = grade({"third": third}, jobs, GradeConfig(mode="robust", timeout=2, float_tol=1e-6, workers=1))[0]
    assert (faithful.verdict.value, faithful.detail["compare"]) == ("wrong_answer", "lcb")
    assert (robust.verdict.value, robust.detail["compare"]) == ("pass", "lcb, tol=1e-06")
    task = Task(task_id="third", kind="stdin", prompt="Print n/3.", tests=[{"input": "1\n", "output": "0.3333333333\n"}],
                meta={"compare": "lcb"})
    r = evaluate_samples([task], [Sample(task_id="third", language="python", solution="print('0.33333333330')\n")],
                         config=ExecConfig(run=Limits(wall_s=5.0)))[0]
    assert (r.verdict.value, r.model_dump()["compare"]) == ("pass", "lcb")  # Decimal-equal, as LiveCodeBench says


def test_one_value_rule_for_every_grader() -> None:
    """3.0 equals 3 (JSON has one number type) wherever a returned value is compared; true never equals 1."""
    assert compare.values_equal(3.0, 3) and compare.values_equal([3, {"a": 2.0}], [3.0, {"a": 2}])
    assert not compare.values_equal(True, 1) and not compare.values_equal(1, True)
    assert not compare.values_equal("3", 3) and not compare.values_equal([3], [3, 3])
    assert not compare.values_equal(0.3333333333333333, 0.3333333333)
    assert compare.values_equal(0.3333333333333333, 0.3333333333, 1e-6)
    assert not compare.values_equal(2 ** 53 + 1, float(2 ** 53))  # by value, exactly: no float rounding
    # The built-in runner and the LiveCodeBench grader's robust mode agree, and each result names the rule.
    task = Task(task_id="half", kind="function", prompt="Half of x.", tests=[{"input": [6], "output": 3}],
                signature={"name": "half", "params": [{"name": "x", "type": "int"}], "returns": "int"})
    float_answer = "def half(x):\n    return x / 2\n"
    r = evaluate_samples([task], [Sample(task_id="half", language="python", solution=float_answer)],
                         config=ExecConfig(run=Limits(wall_s=5.0)))[0]
    assert (r.verdict.value, r.model_dump()["compare"]) == ("pass", "values")
    leet = GradeProblem("half", "function", [[6]], [3], func_name="half")
    method = "class Solution:\n    def half(self, x):\n        return x / 2\n"
    jobs = [GradeJob(0, "half", "python", method)]
    robust = grade({"half": leet}, jobs, GradeConfig(mode="robust", timeout=5, workers=1))[0]
    faithful = grade({"half": leet}, jobs, GradeConfig(mode="faithful", timeout=5, workers=1))[0]
    assert (robust.verdict.value, robust.detail["compare"]) == ("pass", "values")
    assert (faithful.verdict.value, faithful.detail["compare"]) == ("pass", "python-eq")
    tol = grade({"half": leet}, jobs, GradeConfig(mode="robust", timeout=5, float_tol=1e-6, workers=1))[0]
    assert tol.detail["compare"] == "values, tol=1e-06"
