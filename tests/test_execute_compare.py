"""One comparison module (hrmcode/execute/compare.py) for every stdout rule: the built-in runner uses
it on the host, the LiveCodeBench grader's driver loads the same file inside the jail, and each
result names the rule it was compared by."""

from __future__ import annotations

import ast
import marshal
import types
from pathlib import Path

from hrmcode.evaluate import lcb_driver, lcb_grade
from hrmcode.evaluate.lcb_grade import GradeConfig, GradeJob, GradeProblem, grade
from hrmcode.execute import ExecConfig, Limits, compare, evaluate_samples
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
    tree = ast.parse(Path(lcb_driver.__file__).read_text(encoding="utf-8"))
    own = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert not own & {"upstream_lines_match", "robust_lines_match", "stripped_lines", "decimals"}
    # What the jail gets is this module compiled: the same functions.
    mod = types.ModuleType("hrm_compare")
    exec(marshal.loads(lcb_grade._pyc(Path(compare.__file__))[16:]), mod.__dict__)
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
