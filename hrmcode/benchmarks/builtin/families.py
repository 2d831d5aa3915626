"""The primitive families: types, constants and Python semantics.

Each family is one primitive: its input and output type, the local variable its result goes to, how
its constants are sampled and what it computes (the reference semantics every language's rendering
must match). Its English lives in :mod:`hrmcode.benchmarks.builtin.phrasing`; its rendering into each
language in ``hrmcode/languages/<lang>.py``.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hrmcode.benchmarks.builtin.ir import INT_BOUND, OutOfBounds, Pipeline, Step, StepView, check_value
from hrmcode.records import VType, parse_type

Args = dict[str, Any]

# First parameter name per input type; a second list[int] parameter is always ``others``.
PARAM_NAMES = {"list[int]": "nums", "str": "text", "int": "n", "list[str]": "words", "list[bool]": "flags"}
OTHER_PARAM = "others"

# ---- predicates over one integer (shared by filter, count, any, all, mark) ------------------------

PRED_OPS = ("gt", "ge", "lt", "le", "eq", "ne", "even", "odd", "div")


def sample_pred(rng: random.Random) -> Args:
    op = rng.choice(PRED_OPS)
    if op in ("even", "odd"):
        return {"op": op}
    if op == "div":
        return {"op": op, "k": rng.randint(2, 7)}
    return {"op": op, "k": rng.randint(-5, 9)}


def pred_holds(a: Args, x: int) -> bool:
    op, k = a["op"], a.get("k", 0)
    if op == "gt":
        return x > k
    if op == "ge":
        return x >= k
    if op == "lt":
        return x < k
    if op == "le":
        return x <= k
    if op == "eq":
        return x == k
    if op == "ne":
        return x != k
    if op == "even":
        return x % 2 == 0
    if op == "odd":
        return x % 2 != 0
    return x % k == 0  # div


def pred_text(a: Args) -> str:
    """An adjective phrase: 'greater than 3', 'even', 'divisible by 4'."""
    op, k = a["op"], a.get("k")
    return {
        "gt": f"greater than {k}", "ge": f"greater than or equal to {k}", "lt": f"less than {k}",
        "le": f"less than or equal to {k}", "eq": f"equal to {k}", "ne": f"not equal to {k}",
        "even": "even", "odd": "odd", "div": f"divisible by {k}",
    }[op]


SEPARATORS = {",": "commas", ", ": "a comma and a space", " ": "single spaces", "-": "hyphens", ";": "semicolons"}


def _clamp(x: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, x))


def _collatz(n: int) -> int:
    steps = 0
    while n > 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        if n > INT_BOUND:
            raise OutOfBounds("collatz value too large")
        steps += 1
    return steps


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def _fizz(x: int, a: int, b: int) -> str:
    if x % a == 0 and x % b == 0:
        return "FizzBuzz"
    if x % a == 0:
        return "Fizz"
    if x % b == 0:
        return "Buzz"
    return str(x)


def _caesar(s: str, k: int) -> str:
    return "".join(chr((ord(c) - 97 + k) % 26 + 97) if "a" <= c <= "z" else c for c in s)


def _zip(op: str, x: int, y: int) -> int:
    return {"add": x + y, "sub": x - y, "mul": x * y, "max": max(x, y), "min": min(x, y)}[op]


def _range(n: int) -> list[int]:
    if n > 1000:
        raise OutOfBounds("range too long")
    return list(range(1, n + 1))


def _dedupe(xs: list[Any]) -> list[Any]:
    return list(dict.fromkeys(xs))


ZIP_OPS = ("add", "sub", "mul", "max", "min")
CHARS = "aeiostnrl "  # constants of character families: common letters and the space


@dataclass(frozen=True)
class Family:
    name: str
    in_type: str
    out_type: str
    var: str  # the local variable the result goes to (snake_case)
    sample: Callable[[random.Random], Args]
    apply: Callable[[Any, Args, Any], Any]  # (value, constants, second parameter) -> result
    uses_other: bool = False


def _none(rng: random.Random) -> Args:
    return {}


FAMILIES: list[Family] = [
    # ---- list[int] -> list[int] ----
    Family("filter", "list[int]", "list[int]", "kept", sample_pred,
           lambda xs, a, o: [x for x in xs if pred_holds(a, x)]),
    Family("map_add", "list[int]", "list[int]", "shifted",
           lambda r: {"k": r.choice([k for k in range(-9, 10) if k])},
           lambda xs, a, o: [x + a["k"] for x in xs]),
    Family("map_mul", "list[int]", "list[int]", "scaled", lambda r: {"k": r.choice([-3, -2, 2, 3, 4, 5, 10])},
           lambda xs, a, o: [x * a["k"] for x in xs]),
    Family("map_mod", "list[int]", "list[int]", "remainders", lambda r: {"k": r.randint(2, 9)},
           lambda xs, a, o: [x % a["k"] for x in xs]),
    Family("map_abs", "list[int]", "list[int]", "magnitudes", _none,
           lambda xs, a, o: [abs(x) for x in xs]),
    Family("clamp", "list[int]", "list[int]", "clamped",
           lambda r: (lambda lo: {"lo": lo, "hi": lo + r.randint(1, 10)})(r.randint(-5, 5)),
           lambda xs, a, o: [_clamp(x, a["lo"], a["hi"]) for x in xs]),
    Family("sort", "list[int]", "list[int]", "ordered", lambda r: {"desc": r.random() < 0.5},
           lambda xs, a, o: sorted(xs, reverse=a["desc"])),
    Family("reverse", "list[int]", "list[int]", "backwards", _none,
           lambda xs, a, o: xs[::-1]),
    Family("take", "list[int]", "list[int]", "head", lambda r: {"k": r.randint(1, 5)},
           lambda xs, a, o: xs[: a["k"]]),
    Family("drop", "list[int]", "list[int]", "rest", lambda r: {"k": r.randint(1, 5)},
           lambda xs, a, o: xs[a["k"]:]),
    Family("prefix_sum", "list[int]", "list[int]", "running", _none,
           lambda xs, a, o: list(itertools.accumulate(xs))),
    Family("dedupe", "list[int]", "list[int]", "unique", _none,
           lambda xs, a, o: _dedupe(xs)),
    Family("zip_with", "list[int]", "list[int]", "combined", lambda r: {"op": r.choice(list(ZIP_OPS))},
           lambda xs, a, o: [_zip(a["op"], x, y) for x, y in zip(xs, o, strict=False)], uses_other=True),
    Family("adjacent_diff", "list[int]", "list[int]", "gaps", _none,
           lambda xs, a, o: [xs[i + 1] - xs[i] for i in range(len(xs) - 1)]),
    # ---- list[int] -> scalar ----
    Family("sum", "list[int]", "int", "total", _none,
           lambda xs, a, o: sum(xs)),
    Family("count", "list[int]", "int", "count", sample_pred,
           lambda xs, a, o: sum(1 for x in xs if pred_holds(a, x))),
    Family("max", "list[int]", "int", "largest", _none,
           lambda xs, a, o: max(xs, default=0)),
    Family("min", "list[int]", "int", "smallest", _none,
           lambda xs, a, o: min(xs, default=0)),
    Family("length", "list[int]", "int", "size", _none,
           lambda xs, a, o: len(xs)),
    Family("any", "list[int]", "bool", "found", sample_pred,
           lambda xs, a, o: any(pred_holds(a, x) for x in xs)),
    Family("all", "list[int]", "bool", "every", sample_pred,
           lambda xs, a, o: all(pred_holds(a, x) for x in xs)),
    Family("is_sorted", "list[int]", "bool", "ascending", _none,
           lambda xs, a, o: all(xs[i] <= xs[i + 1] for i in range(len(xs) - 1))),
    Family("fizzbuzz", "list[int]", "list[str]", "labels",
           lambda r: dict(zip(("a", "b"), r.sample([2, 3, 4, 5, 7], 2), strict=True)),
           lambda xs, a, o: [_fizz(x, a["a"], a["b"]) for x in xs]),
    Family("join_ints", "list[int]", "str", "joined", lambda r: {"sep": r.choice(list(SEPARATORS))},
           lambda xs, a, o: a["sep"].join(str(x) for x in xs)),
    Family("mark", "list[int]", "list[bool]", "marks", sample_pred,
           lambda xs, a, o: [pred_holds(a, x) for x in xs]),
    Family("count_true", "list[bool]", "int", "hits", _none,
           lambda bs, a, o: sum(1 for b in bs if b)),
    # ---- int -> ... ----
    Family("digit_sum", "int", "int", "digit_total", _none,
           lambda n, a, o: sum(int(c) for c in str(abs(n)))),
    Family("gcd", "int", "int", "divisor", lambda r: {"k": r.randint(2, 36)},
           lambda n, a, o: _gcd(abs(n), a["k"])),
    Family("pow_mod", "int", "int", "power",
           lambda r: {"e": r.randint(2, 6), "m": r.choice([7, 10, 11, 13, 97, 100, 1000])},
           lambda n, a, o: pow(n, a["e"], a["m"])),
    Family("collatz", "int", "int", "steps", _none,
           lambda n, a, o: _collatz(n)),
    Family("is_prime", "int", "bool", "prime", _none,
           lambda n, a, o: _is_prime(n)),
    Family("digits", "int", "list[int]", "digit_list", _none,
           lambda n, a, o: [int(c) for c in str(abs(n))]),
    Family("range", "int", "list[int]", "numbers", _none,
           lambda n, a, o: _range(n)),
    # ---- str -> ... ----
    Family("reverse_str", "str", "str", "backward", _none,
           lambda s, a, o: s[::-1]),
    Family("case", "str", "str", "cased", lambda r: {"upper": r.random() < 0.5},
           lambda s, a, o: s.upper() if a["upper"] else s.lower()),
    Family("caesar", "str", "str", "rotated", lambda r: {"k": r.randint(1, 25)},
           lambda s, a, o: _caesar(s, a["k"])),
    Family("remove_char", "str", "str", "cleaned", lambda r: {"c": r.choice(CHARS)},
           lambda s, a, o: s.replace(a["c"], "")),
    Family("count_char", "str", "int", "occurrences", lambda r: {"c": r.choice(CHARS)},
           lambda s, a, o: s.count(a["c"])),
    Family("palindrome", "str", "bool", "symmetric", _none,
           lambda s, a, o: s == s[::-1]),
    Family("split_words", "str", "list[str]", "parts", _none,
           lambda s, a, o: s.split()),
    # ---- list[str] -> ... ----
    Family("filter_len", "list[str]", "list[str]", "chosen",
           lambda r: {"op": r.choice(["gt", "lt", "eq"]), "k": r.randint(1, 5)},
           lambda ws, a, o: [w for w in ws if pred_holds(a, len(w))]),
    Family("join_words", "list[str]", "str", "sentence", lambda r: {"sep": r.choice(list(SEPARATORS))},
           lambda ws, a, o: a["sep"].join(ws)),
    Family("word_lengths", "list[str]", "list[int]", "lengths", _none,
           lambda ws, a, o: [len(w) for w in ws]),
]

BY_NAME: dict[str, Family] = {f.name: f for f in FAMILIES}
TYPES_WITH_SUCCESSORS = {f.in_type for f in FAMILIES}


def build_pipeline(name: str, steps: list[Step], params: list[tuple[str, VType]] | None = None) -> Pipeline:
    """Type-check ``steps`` and attach the views renderers need (variable names and types)."""
    if not steps:
        raise ValueError("a pipeline needs at least one step")
    unknown = [(i, s.family) for i, s in enumerate(steps) if s.family not in BY_NAME]
    if unknown:
        raise ValueError(f"step {unknown[0][0]}: unknown family {unknown[0][1]!r}")
    first = BY_NAME[steps[0].family]
    if params is None:
        params = [(PARAM_NAMES[first.in_type], parse_type(first.in_type))]
        if any(BY_NAME[s.family].uses_other for s in steps):
            params.append((OTHER_PARAM, parse_type("list[int]")))
    taken = {p for p, _ in params}
    src, src_type = params[0][0], first.in_type
    views = []
    for i, step in enumerate(steps):
        fam = BY_NAME[step.family]
        if fam.in_type != src_type:
            raise ValueError(f"step {i}: {fam.name} takes {fam.in_type}, but the previous result is {src_type}")
        dst = fam.var
        n = 2
        while dst in taken:  # a family used twice gets a numbered second variable
            dst, n = f"{fam.var}{n}", n + 1
        taken.add(dst)
        if fam.uses_other and len(params) < 2:
            raise ValueError(f"step {i}: {fam.name} reads a second list parameter, but the function has one parameter")
        views.append(StepView(fam.name, step.kwargs, src, dst, parse_type(fam.in_type), parse_type(fam.out_type),
                              params[1][0] if fam.uses_other else None))
        src, src_type = dst, fam.out_type
    return Pipeline(name, params, steps, views)


def pipeline_from_json(obj: dict[str, Any]) -> Pipeline:
    """The inverse of ``Pipeline.to_json`` (a task's ``meta.ir``): the steps type-checked again."""
    params = [(p, parse_type(t)) for p, t in obj["params"]]
    return build_pipeline(obj["name"], [Step.from_json(s) for s in obj["steps"]], params)


def run_pipeline(p: Pipeline, args: list[Any]) -> Any:
    """The reference interpreter: apply every step in order, checking bounds after each one."""
    value = check_value(args[0])
    other = args[1] if len(args) > 1 else None
    if other is not None:
        check_value(other)
    for step in p.steps:
        fam = BY_NAME[step.family]
        value = check_value(fam.apply(value, step.kwargs, other))
    return value
