"""One candidate of a typed-function task as the language files render it, and its inputs file
(plain records shared by the language files and the harness, which imports them from here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hrmcode.records import VType

# The test inputs of the compiled languages' drivers. Inputs are read at run time instead of being
# compiled in as literals: one call wrapper per candidate instead of one per test, which is most of
# what a batch's optimising compiler had to chew through (a C++ batch: 56 s of CPU, 5 s of it the
# candidates themselves).
INPUTS_FILE = "hrmtests.txt"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class FunctionUnit:
    """One candidate of a typed-function task, as the language's test driver renders it.

    ``key`` is unique within a batch and names the candidate's namespace (``hrmc<key>``), so a
    compiler error that mentions ``hrmc17`` belongs to candidate 17.
    """

    key: int
    solution: str
    name: str  # the signature's name; the language applies its own convention (ident)
    params: tuple[tuple[str, VType], ...]
    returns: VType
    tests: tuple[tuple[Any, ...], ...] = field(default=())  # the arguments of each test


def _encode(value: Any, t: VType, out: list[str]) -> None:
    if t.is_list:
        if not isinstance(value, list):
            raise ValueError(f"expected a list for {t}, got {value!r}")
        out.append(str(len(value)))
        for v in value:
            _encode(v, t.elem, out)
    elif t.base == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"expected a 64-bit int, got {value!r}")
        out.append(str(value))
    elif t.base == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"expected a bool, got {value!r}")
        out.append("1" if value else "0")
    else:
        if not isinstance(value, str):
            raise ValueError(f"expected a str, got {value!r}")
        # Length-prefixed raw UTF-8: no escaping, so each driver's parser is a dozen lines.
        out.append(f"{len(value.encode('utf-8'))}:{value}")


def encode_tests(unit: FunctionUnit) -> str:
    """One unit's inputs: the number of tests, then each test's arguments in order.

    Tokens are separated by one space: ints in decimal, bools as 0/1, a str as ``<UTF-8 byte
    length>:<bytes>``, a list as its length followed by its elements.
    """
    out = [str(len(unit.tests))]
    for args in unit.tests:
        for a, (_, t) in zip(args, unit.params, strict=True):
            _encode(a, t, out)
    return " ".join(out)


def inputs_file(units: Sequence[FunctionUnit]) -> str:
    """The file INPUTS_FILE of a batch: per unit a header ``#<key> <payload bytes>\\n``, then the payload.

    The drivers read the whole file before any candidate runs, so nothing a candidate does (change
    directory, close descriptors) can keep a later one from its inputs.
    """
    parts = []
    for u in units:
        payload = encode_tests(u)
        parts.append(f"#{u.key} {len(payload.encode('utf-8'))}\n{payload}\n")
    return "".join(parts)
