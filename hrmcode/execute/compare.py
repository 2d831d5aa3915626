"""Comparing a program's answer with the expected one."""

from __future__ import annotations

import math
from typing import Any

REL_TOL = 1e-6
ABS_TOL = 1e-6


def values_equal(got: Any, expected: Any) -> bool:
    """JSON values equal in value *and* type: ``true`` is not ``1``, ``3.0`` is not ``3``."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return isinstance(expected, bool) and isinstance(got, bool) and got == expected
    if isinstance(expected, list):
        return (isinstance(got, list) and len(got) == len(expected)
                and all(values_equal(g, e) for g, e in zip(got, expected, strict=True)))
    if isinstance(expected, dict):
        return (isinstance(got, dict) and got.keys() == expected.keys()
                and all(values_equal(got[k], expected[k]) for k in expected))
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


def compare_stdout(got: str, expected: str, mode: str = "exact") -> bool:
    """Line-by-line comparison. ``exact``: lines equal up to trailing whitespace. ``numeric``: lines
    split into whitespace-separated tokens, numbers equal within 1e-6 (relative or absolute)."""
    g, e = _lines(got), _lines(expected)
    if len(g) != len(e):
        return False
    if mode == "exact":
        return g == e
    if mode == "numeric":
        for gl, el in zip(g, e, strict=True):
            gt, et = gl.split(), el.split()
            if len(gt) != len(et) or not all(_token_equal(a, b) for a, b in zip(gt, et, strict=True)):
                return False
        return True
    raise ValueError(f"unknown compare mode {mode!r}: expected exact or numeric (task.meta.compare)")
