"""Comparing a program's answer with the expected one: one module for every rule, each named.

Returned values, one rule for every grader (typed function tests, LiveCodeBench's LeetCode
methods in robust grading), named ``values`` in result records (``values, tol=…`` with a
tolerance): :func:`values_equal`. (LiveCodeBench's faithful grading keeps upstream's Python
``pred == expected``, named ``python-eq``.) Standard output, by the rule a task or a benchmark names
(and its result records as ``compare``):

* ``exact`` — the built-in and custom stdin tasks: lines equal up to trailing whitespace, trailing
  empty lines forgiven;
* ``numeric`` — the same lines, whitespace-separated tokens, numbers equal within 1e-6;
* ``lcb`` — LiveCodeBench's (lcb_runner's) rule: both texts stripped, lines stripped, each line equal
  as text or as a list of Decimals; with a tolerance (the grader's robust mode, ``lcb, tol=…``),
  numbers may also differ by an absolute or relative ``tol``.

Standard library only: the LiveCodeBench grader's driver loads this file inside the jail (see
hrmcode/execute/lcb.py), so both graders compare with the same code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

REL_TOL = 1e-6
ABS_TOL = 1e-6


VALUES = "values"  # the rule's name in result records
UPSTREAM_EQ = "python-eq"  # LiveCodeBench faithful: upstream's in-process ``pred == expected``


def values_equal(got: Any, expected: Any, tol: float | None = None) -> bool:
    """The ``values`` rule: JSON values equal in type and value, where JSON's one number type means an
    int and a float are equal when their values are (``3.0`` equals ``3``: JavaScript writes 3.0 as
    ``3``, and LiveCodeBench's own ``==`` agrees); with ``tol``, numbers may differ by an absolute or
    relative ``tol``. ``true`` is never ``1``; lists compare by position, objects by key."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return isinstance(expected, bool) and isinstance(got, bool) and got == expected
    if isinstance(expected, int | float) and isinstance(got, int | float):
        return got == expected or (tol is not None and math.isclose(got, expected, rel_tol=tol, abs_tol=tol))
    if isinstance(expected, list):
        return (isinstance(got, list) and len(got) == len(expected)
                and all(values_equal(g, e, tol) for g, e in zip(got, expected, strict=True)))
    if isinstance(expected, dict):
        return (isinstance(got, dict) and got.keys() == expected.keys()
                and all(values_equal(got[k], expected[k], tol) for k in expected))
    return type(got) is type(expected) and got == expected


def _lines(text: str) -> list[str]:
    """Lines without trailing whitespace, without trailing empty lines (what every judge forgives)."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _token_equal(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    if math.isnan(x) or math.isnan(y):
        return False
    return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _tokens_match(a: list[str], b: list[str], equal: Callable[[str, str], bool]) -> bool:
    """Lines pairwise: the same number of whitespace-separated tokens, each pair ``equal``."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        tx, ty = x.split(), y.split()
        if len(tx) != len(ty) or not all(equal(s, t) for s, t in zip(tx, ty, strict=True)):
            return False
    return True


def compare_stdout(got: str, expected: str, mode: str = "exact") -> bool:
    """Line-by-line comparison by the rule named ``mode`` (module docstring): ``exact``, ``numeric``
    or ``lcb``."""
    if mode == "lcb":
        return upstream_lines_match(got, expected)
    g, e = _lines(got), _lines(expected)
    if len(g) != len(e):
        return False
    if mode == "exact":
        return g == e
    if mode == "numeric":
        return _tokens_match(g, e, _token_equal)
    raise ValueError(f"unknown compare mode {mode!r}: expected exact, numeric or lcb (task.meta.compare)")


# ---- LiveCodeBench (lcb_runner's rule) ------------------------------------------------------------


def stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def decimals(line: str) -> list[Any] | None:
    from decimal import Decimal  # (imported at the first non-textual match: the driver starts lean)

    try:
        return [Decimal(tok) for tok in line.split()]
    except Exception:
        return None


def upstream_lines_match(pred: str, expected: str) -> bool:
    """lcb_runner's rule: same number of stripped lines; each equal as text or as Decimal lists."""
    a, b = stripped_lines(pred), stripped_lines(expected)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        dx, dy = decimals(x), decimals(y)
        if dx is None or dy is None or dx != dy:
            return False
    return True


def _float(tok: str) -> float | None:
    try:
        v = float(tok)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def robust_lines_match(pred: str, expected: str, tol: float | None) -> bool:
    """The upstream rule, plus (with ``tol``) numbers equal within an absolute or relative ``tol``."""
    if upstream_lines_match(pred, expected):
        return True
    if tol is None:
        return False

    def close(s: str, t: str) -> bool:
        fs, ft = _float(s), _float(t)
        return s == t or (fs is not None and ft is not None and math.isclose(fs, ft, rel_tol=tol, abs_tol=tol))

    return _tokens_match(stripped_lines(pred), stripped_lines(expected), close)


def rule_name(rule: str, tol: float | None = None) -> str:
    """How a result names the rule it was compared by (``lcb, tol=1e-06``)."""
    return rule if tol is None else f"{rule}, tol={tol:g}"
