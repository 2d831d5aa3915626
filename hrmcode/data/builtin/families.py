"""The primitive families: types, constants, Python semantics and English paraphrases.

Each family is one primitive: its input and output type, the local variable its result goes to, how
its constants are sampled, what it computes (the reference semantics every language's rendering
must match) and several paraphrases of the instruction. Phrases carry every constant the code needs
and no code. Rendering into each language lives in ``hrmcode/languages/<lang>.py``.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hrmcode.data.builtin.ir import INT_BOUND, OutOfBounds, Pipeline, Step, StepView, check_value
from hrmcode.languages.base import VType, parse_type

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


ZIP_TEXT = {"add": "adding the two numbers", "sub": "subtracting the number from others from the number",
            "mul": "multiplying the two numbers", "max": "taking the larger of the two numbers",
            "min": "taking the smaller of the two numbers"}
CHARS = "aeiostnrl "  # constants of character families: common letters and the space


def _char_text(c: str) -> str:
    return "space" if c == " " else f'character "{c}"'


@dataclass(frozen=True)
class Family:
    name: str
    in_type: str
    out_type: str
    var: str  # the local variable the result goes to (snake_case)
    word: str  # its word in generated function names
    sample: Callable[[random.Random], Args]
    apply: Callable[[Any, Args, Any], Any]  # (value, constants, second parameter) -> result
    phrases: Callable[[Args], list[str]]
    uses_other: bool = False


def _none(rng: random.Random) -> Args:
    return {}


FAMILIES: list[Family] = [
    # ---- list[int] -> list[int] ----
    Family("filter", "list[int]", "list[int]", "kept", "keep", sample_pred,
           lambda xs, a, o: [x for x in xs if pred_holds(a, x)],
           lambda a: [f"keep only the numbers that are {pred_text(a)}",
                      f"keep the numbers {pred_text(a)}",
                      f"discard every number that is not {pred_text(a)}"]),
    Family("map_add", "list[int]", "list[int]", "shifted", "shift",
           lambda r: {"k": r.choice([k for k in range(-9, 10) if k])},
           lambda xs, a, o: [x + a["k"] for x in xs],
           lambda a: [f"add {a['k']} to each number", f"increase every number by {a['k']}"] if a["k"] > 0
           else [f"subtract {-a['k']} from each number", f"decrease every number by {-a['k']}"]),
    Family("map_mul", "list[int]", "list[int]", "scaled", "scale",
           lambda r: {"k": r.choice([-3, -2, 2, 3, 4, 5, 10])},
           lambda xs, a, o: [x * a["k"] for x in xs],
           lambda a: [f"multiply each number by {a['k']}", f"multiply every number by {a['k']}"]),
    Family("map_mod", "list[int]", "list[int]", "remainders", "mod",
           lambda r: {"k": r.randint(2, 9)},
           lambda xs, a, o: [x % a["k"] for x in xs],
           lambda a: [f"replace each number by its remainder modulo {a['k']}, taken between 0 and {a['k'] - 1}"
                      " even for negative numbers",
                      f"replace every number by its non-negative remainder after division by {a['k']}"]),
    Family("map_abs", "list[int]", "list[int]", "magnitudes", "abs", _none,
           lambda xs, a, o: [abs(x) for x in xs],
           lambda a: ["replace each number by its absolute value", "take the absolute value of every number"]),
    Family("clamp", "list[int]", "list[int]", "clamped", "clamp",
           lambda r: (lambda lo: {"lo": lo, "hi": lo + r.randint(1, 10)})(r.randint(-5, 5)),
           lambda xs, a, o: [_clamp(x, a["lo"], a["hi"]) for x in xs],
           lambda a: [f"clamp each number into the range from {a['lo']} to {a['hi']}",
                      f"raise every number below {a['lo']} to {a['lo']} and lower every number above"
                      f" {a['hi']} to {a['hi']}"]),
    Family("sort", "list[int]", "list[int]", "ordered", "sort",
           lambda r: {"desc": r.random() < 0.5},
           lambda xs, a, o: sorted(xs, reverse=a["desc"]),
           lambda a: ["sort the numbers in descending order", "sort the numbers from largest to smallest"]
           if a["desc"] else ["sort the numbers in ascending order", "sort the numbers from smallest to largest"]),
    Family("reverse", "list[int]", "list[int]", "backwards", "reverse", _none,
           lambda xs, a, o: xs[::-1],
           lambda a: ["reverse the list", "reverse the order of the numbers"]),
    Family("take", "list[int]", "list[int]", "head", "take",
           lambda r: {"k": r.randint(1, 5)},
           lambda xs, a, o: xs[: a["k"]],
           lambda a: [f"keep only the first {a['k']} numbers (all of them if there are fewer)",
                      f"take the first {a['k']} numbers, or the whole list if it is shorter"]),
    Family("drop", "list[int]", "list[int]", "rest", "drop",
           lambda r: {"k": r.randint(1, 5)},
           lambda xs, a, o: xs[a["k"]:],
           lambda a: [f"drop the first {a['k']} numbers (none remain if there are fewer)",
                      f"skip the first {a['k']} numbers, leaving an empty list if it is shorter"]),
    Family("prefix_sum", "list[int]", "list[int]", "running", "prefix", _none,
           lambda xs, a, o: list(itertools.accumulate(xs)),
           lambda a: ["replace the list by its running totals, where each element is the sum of all numbers"
                      " up to and including it",
                      "compute the prefix sums of the numbers"]),
    Family("dedupe", "list[int]", "list[int]", "unique", "unique", _none,
           lambda xs, a, o: _dedupe(xs),
           lambda a: ["remove duplicate numbers, keeping the first occurrence of each",
                      "drop every number that already appeared earlier in the list"]),
    Family("zip_with", "list[int]", "list[int]", "combined", "zip",
           lambda r: {"op": r.choice(list(ZIP_TEXT))},
           lambda xs, a, o: [_zip(a["op"], x, y) for x, y in zip(xs, o, strict=False)],
           lambda a: [f"pair each number with the number at the same position in others and combine them by"
                      f" {ZIP_TEXT[a['op']]}, stopping at the end of the shorter list",
                      f"combine the list element by element with the list others by {ZIP_TEXT[a['op']]},"
                      " up to the length of the shorter list"],
           uses_other=True),
    Family("adjacent_diff", "list[int]", "list[int]", "gaps", "diff", _none,
           lambda xs, a, o: [xs[i + 1] - xs[i] for i in range(len(xs) - 1)],
           lambda a: ["replace the list by the differences between consecutive numbers, each number minus"
                      " the one before it (one element fewer)",
                      "compute each number minus its predecessor, for every number after the first"]),
    # ---- list[int] -> scalar ----
    Family("sum", "list[int]", "int", "total", "sum", _none,
           lambda xs, a, o: sum(xs),
           lambda a: ["add up all the numbers", "compute the sum of the numbers"]),
    Family("count", "list[int]", "int", "count", "count", sample_pred,
           lambda xs, a, o: sum(1 for x in xs if pred_holds(a, x)),
           lambda a: [f"count the numbers that are {pred_text(a)}",
                      f"count how many numbers are {pred_text(a)}"]),
    Family("max", "list[int]", "int", "largest", "max", _none,
           lambda xs, a, o: max(xs, default=0),
           lambda a: ["take the largest number, or 0 if the list is empty",
                      "find the maximum of the numbers (0 for an empty list)"]),
    Family("min", "list[int]", "int", "smallest", "min", _none,
           lambda xs, a, o: min(xs, default=0),
           lambda a: ["take the smallest number, or 0 if the list is empty",
                      "find the minimum of the numbers (0 for an empty list)"]),
    Family("length", "list[int]", "int", "size", "len", _none,
           lambda xs, a, o: len(xs),
           lambda a: ["count the numbers in the list", "take the length of the list"]),
    Family("any", "list[int]", "bool", "found", "any", sample_pred,
           lambda xs, a, o: any(pred_holds(a, x) for x in xs),
           lambda a: [f"check whether at least one number is {pred_text(a)}",
                      f"decide if any number is {pred_text(a)}"]),
    Family("all", "list[int]", "bool", "every", "all", sample_pred,
           lambda xs, a, o: all(pred_holds(a, x) for x in xs),
           lambda a: [f"check whether every number is {pred_text(a)} (true for an empty list)",
                      f"decide if all numbers are {pred_text(a)}, which holds for an empty list"]),
    Family("is_sorted", "list[int]", "bool", "ascending", "sorted", _none,
           lambda xs, a, o: all(xs[i] <= xs[i + 1] for i in range(len(xs) - 1)),
           lambda a: ["check whether the numbers are in non-decreasing order",
                      "decide if each number is less than or equal to the next one"]),
    Family("fizzbuzz", "list[int]", "list[str]", "labels", "fizzbuzz",
           lambda r: dict(zip(("a", "b"), r.sample([2, 3, 4, 5, 7], 2), strict=True)),
           lambda xs, a, o: [_fizz(x, a["a"], a["b"]) for x in xs],
           lambda a: [f'replace each number by "FizzBuzz" if it is divisible by both {a["a"]} and {a["b"]},'
                      f' "Fizz" if only by {a["a"]}, "Buzz" if only by {a["b"]}, and otherwise by its decimal'
                      " text",
                      f'label every number: "FizzBuzz" when divisible by {a["a"]} and by {a["b"]}, "Fizz"'
                      f' when divisible by {a["a"]} only, "Buzz" when divisible by {a["b"]} only, and the'
                      " number itself written in decimal otherwise"]),
    Family("join_ints", "list[int]", "str", "joined", "join",
           lambda r: {"sep": r.choice(list(SEPARATORS))},
           lambda xs, a, o: a["sep"].join(str(x) for x in xs),
           lambda a: [f"write the numbers in decimal joined by {SEPARATORS[a['sep']]}",
                      f"join the decimal texts of the numbers with {SEPARATORS[a['sep']]} between them"]),
    Family("mark", "list[int]", "list[bool]", "marks", "mark", sample_pred,
           lambda xs, a, o: [pred_holds(a, x) for x in xs],
           lambda a: [f"replace each number by true if it is {pred_text(a)} and false otherwise",
                      f"map every number to whether it is {pred_text(a)}"]),
    Family("count_true", "list[bool]", "int", "hits", "hits", _none,
           lambda bs, a, o: sum(1 for b in bs if b),
           lambda a: ["count how many values are true", "count the true values"]),
    # ---- int -> ... ----
    Family("digit_sum", "int", "int", "digit_total", "digitsum", _none,
           lambda n, a, o: sum(int(c) for c in str(abs(n))),
           lambda a: ["compute the sum of the decimal digits of its absolute value",
                      "add up the decimal digits of the number, ignoring its sign"]),
    Family("gcd", "int", "int", "divisor", "gcd",
           lambda r: {"k": r.randint(2, 36)},
           lambda n, a, o: _gcd(abs(n), a["k"]),
           lambda a: [f"compute the greatest common divisor of its absolute value and {a['k']}",
                      f"find the largest number that divides both {a['k']} and the absolute value of the number"]),
    Family("pow_mod", "int", "int", "power", "powmod",
           lambda r: {"e": r.randint(2, 6), "m": r.choice([7, 10, 11, 13, 97, 100, 1000])},
           lambda n, a, o: pow(n, a["e"], a["m"]),
           lambda a: [f"raise the number to the power {a['e']} and take the non-negative remainder modulo {a['m']}",
                      f"compute the number to the power {a['e']}, modulo {a['m']}, as a value between 0 and"
                      f" {a['m'] - 1}"]),
    Family("collatz", "int", "int", "steps", "collatz", _none,
           lambda n, a, o: _collatz(n),
           lambda a: ["count the steps needed to reach 1 when an even number is halved and an odd number becomes"
                      " three times itself plus one (0 for numbers below 2)",
                      "count the Collatz steps to 1, halving even values and tripling odd values plus one"
                      " (0 when the number is below 2)"]),
    Family("is_prime", "int", "bool", "prime", "prime", _none,
           lambda n, a, o: _is_prime(n),
           lambda a: ["check whether the number is prime", "decide if the number is a prime"]),
    Family("digits", "int", "list[int]", "digit_list", "digits", _none,
           lambda n, a, o: [int(c) for c in str(abs(n))],
           lambda a: ["list the decimal digits of its absolute value, most significant first",
                      "split the absolute value of the number into its decimal digits, from left to right"]),
    Family("range", "int", "list[int]", "numbers", "range", _none,
           lambda n, a, o: _range(n),
           lambda a: ["list the integers from 1 up to the number (empty if it is below 1)",
                      "build the list 1, 2, and so on up to the number, which is empty when the number is"
                      " below 1"]),
    # ---- str -> ... ----
    Family("reverse_str", "str", "str", "backward", "reversed", _none,
           lambda s, a, o: s[::-1],
           lambda a: ["reverse the string", "reverse the order of the characters"]),
    Family("case", "str", "str", "cased", "case",
           lambda r: {"upper": r.random() < 0.5},
           lambda s, a, o: s.upper() if a["upper"] else s.lower(),
           lambda a: ["convert the string to upper case", "turn every letter into a capital letter"] if a["upper"]
           else ["convert the string to lower case", "turn every letter into a small letter"]),
    Family("caesar", "str", "str", "rotated", "caesar",
           lambda r: {"k": r.randint(1, 25)},
           lambda s, a, o: _caesar(s, a["k"]),
           lambda a: [f"shift every lowercase letter {a['k']} places forward in the alphabet, wrapping around"
                      " from z to a, and leave all other characters unchanged",
                      f"apply a Caesar shift of {a['k']} to the lowercase letters only"]),
    Family("remove_char", "str", "str", "cleaned", "remove",
           lambda r: {"c": r.choice(CHARS)},
           lambda s, a, o: s.replace(a["c"], ""),
           lambda a: [f"remove every {_char_text(a['c'])}", f"delete all occurrences of the {_char_text(a['c'])}"]),
    Family("count_char", "str", "int", "occurrences", "count",
           lambda r: {"c": r.choice(CHARS)},
           lambda s, a, o: s.count(a["c"]),
           lambda a: [f"count the occurrences of the {_char_text(a['c'])}",
                      f"count how many times the {_char_text(a['c'])} appears"]),
    Family("palindrome", "str", "bool", "symmetric", "palindrome", _none,
           lambda s, a, o: s == s[::-1],
           lambda a: ["check whether the string reads the same forwards and backwards",
                      "decide if the string is a palindrome, comparing characters exactly"]),
    Family("split_words", "str", "list[str]", "parts", "words", _none,
           lambda s, a, o: s.split(),
           lambda a: ["split the string into its words, separated by one or more spaces",
                      "break the string at spaces into the non-empty words"]),
    # ---- list[str] -> ... ----
    Family("filter_len", "list[str]", "list[str]", "chosen", "keep",
           lambda r: {"op": r.choice(["gt", "lt", "eq"]), "k": r.randint(1, 5)},
           lambda ws, a, o: [w for w in ws if pred_holds(a, len(w))],
           lambda a: [f"keep only the words whose length is {pred_text(a)}",
                      f"keep the words with a length {pred_text(a)}"]),
    Family("join_words", "list[str]", "str", "sentence", "join",
           lambda r: {"sep": r.choice(list(SEPARATORS))},
           lambda ws, a, o: a["sep"].join(ws),
           lambda a: [f"join the words with {SEPARATORS[a['sep']]} between them",
                      f"concatenate the words separated by {SEPARATORS[a['sep']]}"]),
    Family("word_lengths", "list[str]", "list[int]", "lengths", "lengths", _none,
           lambda ws, a, o: [len(w) for w in ws],
           lambda a: ["replace each word by its length", "map every word to its number of characters"]),
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
        views.append(StepView(fam.name, step.kwargs, src, dst, parse_type(fam.in_type), parse_type(fam.out_type),
                              OTHER_PARAM if fam.uses_other else None))
        src, src_type = dst, fam.out_type
    return Pipeline(name, params, steps, views)


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
