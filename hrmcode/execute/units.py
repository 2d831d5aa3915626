"""Plain records shared by the harness and the language files (no imports from the runner)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hrmcode.languages.base import VType


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

    def call(self, lang: Any, args: tuple[Any, ...]) -> str:
        """A call of the candidate's function on one test's arguments, as source text."""
        lits = ", ".join(lang.literal(a, t, param=True) for a, (_, t) in zip(args, self.params, strict=True))
        return f"{lang.ident(self.name)}({lits})"
