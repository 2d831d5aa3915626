"""The typed IR of the built-in suite: a task's function is a pipeline of primitive steps.

A pipeline threads one value through its steps: the first step reads the function's first parameter,
every later step reads the previous step's result, and the last result is returned. A step may also
read the function's second parameter (``zip_with`` reads the list ``others``). Every step writes a
fresh local variable named after its family (``kept``, ``total``, ...), so a primitive renders the same
way in every task, modulo the name of its input.

Integer semantics are chosen to be identical in all six languages: every value, intermediates
included, stays within ±(2**31 - 1) (so 64-bit ints never overflow and JavaScript numbers stay exact),
remainders are the non-negative (floor) remainder of a positive divisor, and there is no division of
negative numbers. The interpreter checks these bounds and raises ``OutOfBounds`` when an input
drives a value outside them; the generator then discards that input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hrmcode.records import VType

INT_BOUND = 2**31 - 1
MAX_LEN = 1000  # longest list or string any value may reach


class OutOfBounds(ValueError):
    """A value left the range on which the six languages agree."""


@dataclass(frozen=True)
class Step:
    """One primitive application: a family name and its constants (JSON values)."""

    family: str
    args: tuple[tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.args)

    def to_json(self) -> dict[str, Any]:
        return {"family": self.family, "args": dict(self.args)}

    @staticmethod
    def from_json(obj: dict[str, Any]) -> Step:
        return Step(obj["family"], tuple(sorted(obj.get("args", {}).items())))


@dataclass(frozen=True)
class StepView:
    """What a language renderer sees of one step: family, constants, variable names and types."""

    family: str
    args: dict[str, Any]
    src: str  # the variable the step reads (snake_case; the renderer applies its own ident())
    dst: str  # the fresh variable it writes
    in_type: VType
    out_type: VType
    other: str | None = None  # the second parameter, for steps that read it


@dataclass
class Pipeline:
    """A task's function: name, parameters, steps. ``views()`` gives what renderers need."""

    name: str
    params: list[tuple[str, VType]]
    steps: list[Step]
    views_: list[StepView] = field(default_factory=list)

    @property
    def returns(self) -> VType:
        return self.views_[-1].out_type

    @property
    def result_var(self) -> str:
        return self.views_[-1].dst

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "params": [[p, str(t)] for p, t in self.params],
                "steps": [s.to_json() for s in self.steps]}


def check_value(value: Any) -> Any:
    """Raise OutOfBounds if an int (or an int in a list) or a length leaves the agreed range."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -INT_BOUND <= value <= INT_BOUND:
            raise OutOfBounds(f"{value} is outside ±{INT_BOUND}")
    elif isinstance(value, (list, str)):
        if len(value) > MAX_LEN:
            raise OutOfBounds(f"length {len(value)} exceeds {MAX_LEN}")
        # Lists are homogeneous: only lists of (non-bool) ints carry values to bound.
        if value and type(value[0]) is int and not (min(value) >= -INT_BOUND and max(value) <= INT_BOUND):
            raise OutOfBounds(f"a value of the list is outside ±{INT_BOUND}")
    return value
