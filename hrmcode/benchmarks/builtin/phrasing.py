"""How a built-in task is worded: per-primitive phrases, ways of chaining them, opening sentences.

Two grammatical forms per primitive family:

* a **clause** (``do``): an imperative about the current value, with no subject —
  "keep only the numbers that are even", "add up all the numbers";
* a **noun phrase** (``np``) whose input is the marker ``@`` — "the numbers in @ that are even",
  "the sum of @" — so a chain can be said in one sentence: "Return the sum of the numbers in nums that
  are even." A noun phrase nests inside the next one only where that cannot be misread: depth 2, the
  second step changes the type (a reduction, a test, a conversion), so "the first 3 numbers of nums
  sorted in ascending order" (which order?) is never produced; the outer phrase's words after ``@`` are
  not a modifier the inner phrase could swallow ("… of @ joined by commas"); and an inner phrase with
  its own comma or parenthesis goes only at the very end of the outer one.

Chains join the pieces (step by step, numbered, in one sentence, nested), and an optional opening
names the function, its parameters and its result type. Every phrase carries every constant the code
needs and no code.

**Held-out phrasing.** Every family has clauses and noun phrases marked held out, and some chains and
openings are held out too. Tasks of the ``heldout_phrasing`` split are worded *only* with held-out
templates; every other split only with training templates, so training never sees a held-out
template, and the report can show how much of pass@1 survives new wording. ``meta.phrasing`` records
the templates a statement used.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hrmcode.benchmarks.builtin.families import BY_NAME, SEPARATORS, pred_text

Args = dict[str, Any]
SLOT = "@"  # where a noun phrase's input goes
NESTED_MAX_DEPTH = 2


@dataclass(frozen=True)
class Wording:
    """The phrases of one primitive with its constants filled in."""

    do: list[str]
    np: list[str]
    do_held: list[str]
    np_held: list[str]


def _pred_nums(a: Args, noun: str = "numbers") -> str:
    """'even numbers' or 'numbers greater than 3' (no article)."""
    return f"{a['op']} {noun}" if a["op"] in ("even", "odd") else f"{noun} {pred_text(a)}"


def _char(c: str) -> str:
    return "space" if c == " " else f'character "{c}"'


def _len_pred(a: Args) -> str:
    k = a["k"]
    chars = "character" if k == 1 else "characters"
    return {"gt": f"longer than {k} {chars}", "lt": f"shorter than {k} {chars}",
            "eq": f"exactly {k} {chars} long"}[a["op"]]


# zip_with: how two numbers combine (x from the list, y from others).
ZIP_BY = {"add": "adding the two numbers", "sub": "subtracting the number from others from the number",
          "mul": "multiplying the two numbers", "max": "taking the larger of the two numbers",
          "min": "taking the smaller of the two numbers"}
ZIP_PAIR = {"add": "their sum", "sub": "the first minus the second", "mul": "their product",
            "max": "the larger of the two", "min": "the smaller of the two"}


def _filter(a: Args) -> Wording:
    p, pn = pred_text(a), _pred_nums(a)
    return Wording(
        do=[f"keep only the numbers that are {p}", f"keep the {pn}", f"discard every number that is not {p}",
            f"remove the numbers that are not {p}", f"select the numbers that are {p}, keeping their order"],
        np=[f"the numbers in @ that are {p}", f"every number of @ that is {p}"],
        do_held=[f"throw away all numbers except those that are {p}"],
        np_held=[f"those elements of @ which are {p}"])


def _map_add(a: Args) -> Wording:
    k = a["k"]
    if k > 0:
        return Wording(
            do=[f"add {k} to each number", f"increase every number by {k}", f"add {k} to every element",
                f"raise each number by {k}"],
            np=[f"@ with {k} added to each number", f"each number of @ plus {k}"],
            do_held=[f"push each value up by {k}"],
            np_held=[f"@ where every entry has grown by {k}"])
    return Wording(
        do=[f"subtract {-k} from each number", f"decrease every number by {-k}", f"subtract {-k} from every element",
            f"lower each number by {-k}"],
        np=[f"@ with {-k} subtracted from each number", f"each number of @ minus {-k}"],
        do_held=[f"push each value down by {-k}"],
        np_held=[f"@ where every entry has shrunk by {-k}"])


def _map_mul(a: Args) -> Wording:
    k = a["k"]
    return Wording(
        do=[f"multiply each number by {k}", f"multiply every number by {k}", f"replace each number by {k} times itself",
            f"scale every number by a factor of {k}"],
        np=[f"@ with each number multiplied by {k}", f"each number of @ times {k}"],
        do_held=[f"swap every element for its product with {k}"],
        np_held=[f"the products of {k} with the elements of @"])


def _map_mod(a: Args) -> Wording:
    k = a["k"]
    return Wording(
        do=[f"replace each number by its remainder modulo {k}, taken between 0 and {k - 1} even for negative numbers",
            f"replace every number by its non-negative remainder after division by {k}",
            f"take each number modulo {k}, as a non-negative remainder from 0 to {k - 1}"],
        np=[f"the non-negative remainders of the numbers of @ modulo {k}",
            f"each number of @ reduced modulo {k} to a value between 0 and {k - 1}"],
        do_held=[f"bring every element into the interval 0 to {k - 1} through its remainder by {k}, negatives included"],
        np_held=[f"what each element of @ leaves over when divided by {k}, as a value from 0 up to {k - 1}"])


def _map_abs(a: Args) -> Wording:
    return Wording(
        do=["replace each number by its absolute value", "take the absolute value of every number",
            "make every negative number positive, leaving the others unchanged", "drop the sign of each number"],
        np=["the absolute values of the numbers in @", "@ with every number replaced by its absolute value"],
        do_held=["flip the sign of the negative entries only"],
        np_held=["the magnitudes of the elements of @"])


def _clamp(a: Args) -> Wording:
    lo, hi = a["lo"], a["hi"]
    return Wording(
        do=[f"clamp each number into the range from {lo} to {hi}",
            f"raise every number below {lo} to {lo} and lower every number above {hi} to {hi}",
            f"limit each number to at least {lo} and at most {hi}",
            f"bound every number between {lo} and {hi}, inclusive"],
        np=[f"@ with each number clamped between {lo} and {hi}", f"each number of @ limited to the range {lo} to {hi}"],
        do_held=[f"cap every element at {hi} and floor it at {lo}"],
        np_held=[f"the elements of @ forced into the interval from {lo} through {hi}"])


def _sort(a: Args) -> Wording:
    if a["desc"]:
        return Wording(
            do=["sort the numbers in descending order", "sort the numbers from largest to smallest",
                "arrange the numbers in decreasing order", "put the numbers in non-increasing order"],
            np=["@ sorted in descending order", "the numbers of @ from largest to smallest"],
            do_held=["order the elements so that higher values come first"],
            np_held=["@ ordered from its highest element to its lowest"])
    return Wording(
        do=["sort the numbers in ascending order", "sort the numbers from smallest to largest",
            "arrange the numbers in increasing order", "put the numbers in non-decreasing order"],
        np=["@ sorted in ascending order", "the numbers of @ from smallest to largest"],
        do_held=["order the elements so that lower values come first"],
        np_held=["@ ordered from its lowest element to its highest"])


def _reverse(a: Args) -> Wording:
    return Wording(
        do=["reverse the list", "reverse the order of the numbers", "put the numbers in the opposite order",
            "turn the list around so the last number comes first"],
        np=["@ in reverse order", "the numbers of @ from last to first"],
        do_held=["flip the sequence end to end"],
        np_held=["@ read back to front"])


def _take(a: Args) -> Wording:
    k = a["k"]
    return Wording(
        do=[f"keep only the first {k} numbers (all of them if there are fewer)",
            f"take the first {k} numbers, or the whole list if it is shorter",
            f"keep the first {k} numbers and drop the rest, keeping everything if there are fewer"],
        np=[f"the first {k} numbers of @ (all of them if there are fewer)", f"at most {k} numbers from the start of @"],
        do_held=[f"truncate the sequence to at most {k} elements, keeping its beginning"],
        np_held=[f"the leading {k} elements of @, or fewer if it is not that long"])


def _drop(a: Args) -> Wording:
    k = a["k"]
    return Wording(
        do=[f"drop the first {k} numbers (none remain if there are fewer)",
            f"skip the first {k} numbers, leaving an empty list if it is shorter",
            f"remove the first {k} numbers, so the list becomes empty if it has fewer"],
        np=[f"@ without its first {k} numbers (empty if it has fewer)",
            f"the numbers of @ after the first {k} (none if there are fewer)"],
        do_held=[f"discard the sequence's opening {k} elements, or everything if it is not that long"],
        np_held=[f"what remains of @ once its leading {k} elements are gone (nothing if it is not that long)"])


def _prefix_sum(a: Args) -> Wording:
    return Wording(
        do=["replace the list by its running totals, where each element is the sum of all numbers up to and"
            " including it", "compute the prefix sums of the numbers",
            "replace each number by the sum of itself and every number before it"],
        np=["the running totals of @", "the prefix sums of @"],
        do_held=["accumulate the elements so that each position holds the total so far"],
        np_held=["the cumulative sums of @"])


def _dedupe(a: Args) -> Wording:
    return Wording(
        do=["remove duplicate numbers, keeping the first occurrence of each",
            "drop every number that already appeared earlier in the list",
            "keep only the first occurrence of each distinct number"],
        np=["the distinct numbers of @ in order of first appearance", "@ with duplicates removed, keeping first occurrences"],
        do_held=["eliminate repeated values, leaving each one where it first showed up"],
        np_held=["each different element of @ once, in the order it first shows up"])


def _zip_with(a: Args) -> Wording:
    op = a["op"]
    by, pair = ZIP_BY[op], ZIP_PAIR[op]
    return Wording(
        do=[f"pair each number with the number at the same position in others and combine them by {by},"
            " stopping at the end of the shorter list",
            f"combine the list element by element with the list others by {by}, up to the length of the shorter list",
            f"go through the list and others together, {by} at each position, until the shorter one ends"],
        np=[f"the results of combining each number of @ with the number at the same position in others by {by},"
            " up to the length of the shorter list",
            f"@ and others combined position by position by {by}, stopping at the end of the shorter list"],
        do_held=[f"for each index present in both the sequence and others, produce {pair}, the first taken from"
                 " the sequence"],
        np_held=[f"for every index that both @ and others have, {pair} (the first taken from the former list)"])


def _adjacent_diff(a: Args) -> Wording:
    return Wording(
        do=["replace the list by the differences between consecutive numbers, each number minus the one before it"
            " (one element fewer)", "compute each number minus its predecessor, for every number after the first",
            "take the difference between each number and the previous one, giving a list one shorter"],
        np=["the differences between consecutive numbers of @, each number minus the one before it",
            "each number of @ minus its predecessor, for all numbers after the first"],
        do_held=["subtract from every element except the first the element just before it"],
        np_held=["the step from each element of @ to the next one (next minus current)"])


def _sum(a: Args) -> Wording:
    return Wording(
        do=["add up all the numbers", "compute the sum of the numbers", "total the numbers",
            "sum the numbers (0 for an empty list)"],
        np=["the sum of @", "the total of the numbers in @"],
        do_held=["work out what the elements add up to"],
        np_held=["what the elements of @ add up to"])


def _count(a: Args) -> Wording:
    p, pn = pred_text(a), _pred_nums(a)
    return Wording(
        do=[f"count the numbers that are {p}", f"count how many numbers are {p}",
            f"find how many of the numbers are {p}", f"count the {pn}"],
        np=[f"how many numbers in @ are {p}", f"the count of numbers in @ that are {p}"],
        do_held=[f"determine the quantity of elements that are {p}"],
        np_held=[f"the quantity of elements of @ which are {p}"])


def _max(a: Args) -> Wording:
    return Wording(
        do=["take the largest number, or 0 if the list is empty", "find the maximum of the numbers (0 for an empty list)",
            "pick the greatest number, using 0 when the list is empty"],
        np=["the largest number in @ (0 if it is empty)", "the maximum of @, or 0 when it is empty"],
        do_held=["determine the biggest element, or 0 if there is none"],
        np_held=["the biggest element of @, with 0 standing in for an empty one"])


def _min(a: Args) -> Wording:
    return Wording(
        do=["take the smallest number, or 0 if the list is empty", "find the minimum of the numbers (0 for an empty list)",
            "pick the least number, using 0 when the list is empty"],
        np=["the smallest number in @ (0 if it is empty)", "the minimum of @, or 0 when it is empty"],
        do_held=["determine the lowest element, or 0 if there is none"],
        np_held=["the lowest element of @, with 0 standing in for an empty one"])


def _length(a: Args) -> Wording:
    return Wording(
        do=["count the numbers in the list", "take the length of the list", "count how many numbers there are"],
        np=["the length of @", "how many numbers @ contains"],
        do_held=["determine the size of the sequence"],
        np_held=["the number of elements in @"])


def _any(a: Args) -> Wording:
    p = pred_text(a)
    return Wording(
        do=[f"check whether at least one number is {p}", f"decide if any number is {p}",
            f"test whether some number is {p}"],
        np=[f"whether any number in @ is {p}", f"whether at least one number of @ is {p}"],
        do_held=[f"report whether there exists an element that is {p}"],
        np_held=[f"whether @ contains an element which is {p}"])


def _all(a: Args) -> Wording:
    p = pred_text(a)
    return Wording(
        do=[f"check whether every number is {p} (true for an empty list)",
            f"decide if all numbers are {p}, which holds for an empty list",
            f"test whether all the numbers are {p} (an empty list passes)"],
        np=[f"whether every number in @ is {p} (true when it is empty)",
            f"whether all numbers of @ are {p}, which holds when it is empty"],
        do_held=[f"report whether no element fails to be {p} (true when there are none)"],
        np_held=[f"whether @ has no element which is not {p} (true when it has none)"])


def _is_sorted(a: Args) -> Wording:
    return Wording(
        do=["check whether the numbers are in non-decreasing order",
            "decide if each number is less than or equal to the next one",
            "check that no number is greater than the number after it"],
        np=["whether @ is in non-decreasing order", "whether each number of @ is at most the next one"],
        do_held=["report whether the sequence already goes upwards, equal neighbours allowed"],
        np_held=["whether @ already goes upwards (equal neighbours allowed)"])


def _fizzbuzz(a: Args) -> Wording:
    x, y = a["a"], a["b"]
    rule = (f'"FizzBuzz" if it is divisible by both {x} and {y}, "Fizz" if only by {x}, "Buzz" if only by {y},'
            " and otherwise its decimal text")
    return Wording(
        do=[f"replace each number by {rule}",
            f'label every number: "FizzBuzz" when divisible by {x} and by {y}, "Fizz" when divisible by {x} only,'
            f' "Buzz" when divisible by {y} only, and the number itself written in decimal otherwise',
            f'turn each number into a string: "Fizz" if {x} divides it but {y} does not, "Buzz" if {y} divides it'
            f' but {x} does not, "FizzBuzz" if both do, and its decimal digits (with a minus sign if negative)'
            " if neither does"],
        np=[f"each number of @ replaced by {rule}",
            f'the FizzBuzz labels of @ ("FizzBuzz" for multiples of both {x} and {y}, "Fizz" for multiples of'
            f' {x} only, "Buzz" for multiples of {y} only, the decimal number otherwise)'],
        do_held=[f'swap every element for a word: multiples of {x} and {y} together give "FizzBuzz", multiples'
                 f' of just {x} give "Fizz", multiples of just {y} give "Buzz", and anything else becomes its'
                 " decimal spelling"],
        np_held=[f'a word per element of @: "FizzBuzz" for a common multiple of {x} and {y}, "Fizz" for a'
                 f' multiple of just {x}, "Buzz" for a multiple of just {y}, else its decimal spelling'])


def _join_ints(a: Args) -> Wording:
    s = SEPARATORS[a["sep"]]
    return Wording(
        do=[f"write the numbers in decimal joined by {s}", f"join the decimal texts of the numbers with {s} between them",
            f"turn the numbers into one string, in decimal, separated by {s}"],
        np=[f"the decimal texts of the numbers in @ joined by {s}", f"one string of the numbers of @ in decimal, separated by {s}"],
        do_held=[f"glue the decimal forms of the elements together with {s} in between"],
        np_held=[f"@ spelled out in decimal with {s} between neighbouring elements"])


def _mark(a: Args) -> Wording:
    p = pred_text(a)
    return Wording(
        do=[f"replace each number by true if it is {p} and false otherwise", f"map every number to whether it is {p}",
            f"turn each number into a boolean telling whether it is {p}"],
        np=[f"for each number of @, whether it is {p}", f"a list of booleans telling for each number of @ whether it is {p}"],
        do_held=[f"produce, for every element, true when it is {p} and false when not"],
        np_held=[f"one truth value per element of @, true exactly when that element is {p}"])


def _count_true(a: Args) -> Wording:
    return Wording(
        do=["count how many values are true", "count the true values", "find how many of the values are true"],
        np=["how many values in @ are true", "the number of true values in @"],
        do_held=["determine the quantity of true entries"],
        np_held=["the quantity of true entries of @"])


def _digit_sum(a: Args) -> Wording:
    return Wording(
        do=["compute the sum of the decimal digits of its absolute value",
            "add up the decimal digits of the number, ignoring its sign",
            "sum the decimal digits of the number, ignoring a minus sign"],
        np=["the sum of the decimal digits of @, ignoring its sign", "the digit sum of the absolute value of @"],
        do_held=["total up the base-ten digits of the value, without its sign"],
        np_held=["what the base-ten digits of @ add up to, sign ignored"])


def _gcd(a: Args) -> Wording:
    k = a["k"]
    return Wording(
        do=[f"compute the greatest common divisor of its absolute value and {k}",
            f"find the largest number that divides both {k} and the absolute value of the number",
            f"compute the gcd of {k} and the absolute value of the number"],
        np=[f"the greatest common divisor of the absolute value of @ and {k}",
            f"the largest number that divides both {k} and the absolute value of @"],
        do_held=[f"find the highest common factor of {k} and the value without its sign"],
        np_held=[f"the highest common factor of {k} and @ without its sign"])


def _pow_mod(a: Args) -> Wording:
    e, m = a["e"], a["m"]
    return Wording(
        do=[f"raise the number to the power {e} and take the non-negative remainder modulo {m}",
            f"compute the number to the power {e}, modulo {m}, as a value between 0 and {m - 1}",
            f"compute the remainder modulo {m}, from 0 to {m - 1}, of the number raised to the power {e}"],
        np=[f"@ to the power {e}, modulo {m} (a value from 0 to {m - 1})",
            f"the non-negative remainder of @ raised to the power {e} when divided by {m}"],
        do_held=[f"form the product of {e} copies of the value, then keep what is left over after dividing by"
                 f" {m}, between 0 and {m - 1}"],
        np_held=[f"what is left over when the product of {e} copies of @ is divided by {m}, between 0 and {m - 1}"])


def _collatz(a: Args) -> Wording:
    return Wording(
        do=["count the steps needed to reach 1 when an even number is halved and an odd number becomes three times"
            " itself plus one (0 for numbers below 2)",
            "count the Collatz steps to 1, halving even values and tripling odd values plus one (0 when the number"
            " is below 2)",
            "apply the Collatz rule (halve if even, otherwise triple and add one) until the number is 1, and count"
            " how many times it was applied (0 for numbers below 2)"],
        np=["the number of Collatz steps from @ down to 1 (0 if it is below 2)",
            "how many halvings of even values and triplings plus one of odd values take @ to 1 (0 when it is below 2)"],
        do_held=["work out how many moves the value needs to hit 1 if every move halves an even value and turns"
                 " an odd value into three times it plus one, with 0 for values under 2"],
        np_held=["the number of moves that bring @ to 1 when a move halves an even value and turns an odd value"
                 " into three times it plus one, with 0 for values under 2"])


def _is_prime(a: Args) -> Wording:
    return Wording(
        do=["check whether the number is prime", "decide if the number is a prime", "test whether the number is prime"],
        np=["whether @ is prime", "whether @ is a prime number"],
        do_held=["report whether the value is a prime (never true below 2)"],
        np_held=["whether @ has no divisors other than 1 and itself and is at least 2"])


def _digits(a: Args) -> Wording:
    return Wording(
        do=["list the decimal digits of its absolute value, most significant first",
            "split the absolute value of the number into its decimal digits, from left to right",
            "break the number into its decimal digits, leftmost first, ignoring its sign"],
        np=["the decimal digits of the absolute value of @, most significant first",
            "the digits of @ from left to right, ignoring its sign"],
        do_held=["spell the value out as a sequence of base-ten digits, sign dropped, leading digit first"],
        np_held=["the base-ten digits of @ with its sign dropped, leading digit first"])


def _range(a: Args) -> Wording:
    return Wording(
        do=["list the integers from 1 up to the number (empty if it is below 1)",
            "build the list 1, 2, and so on up to the number, which is empty when the number is below 1",
            "make the list of whole numbers from 1 to the number inclusive (empty when it is below 1)"],
        np=["the list 1, 2, and so on up to @ (empty if that is below 1)", "the integers from 1 up to @ (none when it is below 1)"],
        do_held=["enumerate every whole number starting at 1 and ending at the value, producing nothing for values under 1"],
        np_held=["every whole number from 1 through @, or nothing for values under 1"])


def _reverse_str(a: Args) -> Wording:
    return Wording(
        do=["reverse the string", "reverse the order of the characters", "write the string backwards"],
        np=["@ reversed", "the characters of @ in reverse order"],
        do_held=["turn the text around so it reads from its end to its start"],
        np_held=["@ spelled from its end to its start"])


def _case(a: Args) -> Wording:
    if a["upper"]:
        return Wording(
            do=["convert the string to upper case", "turn every letter into a capital letter", "uppercase all the letters"],
            np=["@ in upper case", "@ with every letter capitalized"],
            do_held=["capitalize each and every letter of the text"],
            np_held=["the all-caps version of @"])
    return Wording(
        do=["convert the string to lower case", "turn every letter into a small letter", "lowercase all the letters"],
        np=["@ in lower case", "@ with every letter made lowercase"],
        do_held=["make each and every letter of the text small"],
        np_held=["the all-small-letters version of @"])


def _caesar(a: Args) -> Wording:
    k = a["k"]
    return Wording(
        do=[f"shift every lowercase letter {k} places forward in the alphabet, wrapping around from z to a, and leave"
            " all other characters unchanged", f"apply a Caesar shift of {k} to the lowercase letters only",
            f"move each lowercase letter {k} positions later in the alphabet (after z comes a again), keeping every"
            " other character as it is"],
        np=[f"@ with every lowercase letter shifted {k} places forward in the alphabet, wrapping from z to a",
            f"the Caesar shift of @ by {k}, applied to lowercase letters only"],
        do_held=[f"rotate the small letters a to z by {k} steps, leaving capitals, spaces and everything else alone"],
        np_held=[f"@ once its small letters a to z are rotated {k} steps onward, everything else left alone"])


def _remove_char(a: Args) -> Wording:
    c = _char(a["c"])
    return Wording(
        do=[f"remove every {c}", f"delete all occurrences of the {c}", f"strip out every {c}"],
        np=[f"@ with every {c} removed", f"@ without any {c}"],
        do_held=[f"get rid of each {c} in the text"],
        np_held=[f"what is left of @ after deleting each {c}"])


def _count_char(a: Args) -> Wording:
    c = _char(a["c"])
    return Wording(
        do=[f"count the occurrences of the {c}", f"count how many times the {c} appears",
            f"find how many times the {c} occurs"],
        np=[f"how many times the {c} occurs in @", f"the number of occurrences of the {c} in @"],
        do_held=[f"determine the frequency of the {c} in the text"],
        np_held=[f"the frequency of the {c} within @"])


def _palindrome(a: Args) -> Wording:
    return Wording(
        do=["check whether the string reads the same forwards and backwards",
            "decide if the string is a palindrome, comparing characters exactly",
            "test whether the string equals its reverse"],
        np=["whether @ reads the same forwards and backwards", "whether @ is a palindrome (characters compared exactly)"],
        do_held=["report whether the text is identical to itself spelled from its end"],
        np_held=["whether @ is identical to itself spelled from its end"])


def _split_words(a: Args) -> Wording:
    return Wording(
        do=["split the string into its words, separated by one or more spaces",
            "break the string at spaces into the non-empty words",
            "split the string on runs of spaces, dropping empty pieces"],
        np=["the words of @ (separated by one or more spaces)", "the non-empty pieces of @ between spaces"],
        do_held=["chop the text wherever blanks occur, keeping only non-blank chunks"],
        np_held=["the non-blank chunks of @, cut wherever blanks occur"])


def _filter_len(a: Args) -> Wording:
    p, lp = pred_text(a), _len_pred(a)
    return Wording(
        do=[f"keep only the words whose length is {p}", f"keep the words with a length {p}",
            f"keep the words that are {lp}"],
        np=[f"the words of @ whose length is {p}", f"the words in @ that are {lp}"],
        do_held=[f"throw away every string except those that are {lp}"],
        np_held=[f"those strings of @ which are {lp}"])


def _join_words(a: Args) -> Wording:
    s = SEPARATORS[a["sep"]]
    return Wording(
        do=[f"join the words with {s} between them", f"concatenate the words separated by {s}",
            f"glue the words into one string with {s} in between"],
        np=[f"the words of @ joined with {s}", f"@ concatenated with {s} between the words"],
        do_held=[f"merge the strings into a single text, putting {s} between neighbours"],
        np_held=[f"a single text made from @, with {s} between neighbouring strings"])


def _word_lengths(a: Args) -> Wording:
    return Wording(
        do=["replace each word by its length", "map every word to its number of characters",
            "turn each word into its number of characters"],
        np=["the lengths of the words in @", "the number of characters of each word of @"],
        do_held=["swap every string for how many characters it has"],
        np_held=["how many characters each string of @ has"])


WORDING: dict[str, Callable[[Args], Wording]] = {
    "filter": _filter, "map_add": _map_add, "map_mul": _map_mul, "map_mod": _map_mod, "map_abs": _map_abs,
    "clamp": _clamp, "sort": _sort, "reverse": _reverse, "take": _take, "drop": _drop, "prefix_sum": _prefix_sum,
    "dedupe": _dedupe, "zip_with": _zip_with, "adjacent_diff": _adjacent_diff, "sum": _sum, "count": _count,
    "max": _max, "min": _min, "length": _length, "any": _any, "all": _all, "is_sorted": _is_sorted,
    "fizzbuzz": _fizzbuzz, "join_ints": _join_ints, "mark": _mark, "count_true": _count_true,
    "digit_sum": _digit_sum, "gcd": _gcd, "pow_mod": _pow_mod, "collatz": _collatz, "is_prime": _is_prime,
    "digits": _digits, "range": _range, "reverse_str": _reverse_str, "case": _case, "caesar": _caesar,
    "remove_char": _remove_char, "count_char": _count_char, "palindrome": _palindrome,
    "split_words": _split_words, "filter_len": _filter_len, "join_words": _join_words,
    "word_lengths": _word_lengths,
}


# ---- chains and openings ------------------------------------------------------------------------


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


@dataclass(frozen=True)
class Chain:
    """A way of joining the steps. ``form``: ``do`` (clauses), ``np`` (one nested noun phrase) or ``do_np``
    (clauses, then the last step as a noun phrase of "the result")."""

    id: str
    form: str
    heldout: bool
    render: Callable[[str, list[str]], str]  # (first parameter, pieces) -> body text
    opening: bool = True  # whether an opening sentence may come first
    weight: int = 1  # how often it is drawn among the chains that fit


def _then(p: str, cs: list[str]) -> str:
    return f"Start from {p}: {', then '.join(cs)}. Return the result."


def _first_next(p: str, cs: list[str]) -> str:
    if len(cs) == 1:
        return f"Take {p} and {cs[0]}. Return the result."
    middle = "".join(f" Next, {c}." for c in cs[1:-1])
    return f"Take {p}. First, {cs[0]}.{middle} Finally, {cs[-1]}. Return the result."


def _numbered(p: str, cs: list[str]) -> str:
    return f"Starting from {p}:\n" + "\n".join(f"{i}. {cap(c)}." for i, c in enumerate(cs, 1)) + "\nReturn the final value."


def _one_sentence(p: str, cs: list[str]) -> str:
    return f"Starting from {p}, {', then '.join(cs)}, and return the result."


def _do_np(p: str, cs: list[str]) -> str:
    return f"Starting from {p}, {', then '.join(cs[:-1])}, and return {cs[-1]}."


def _take_do_np(p: str, cs: list[str]) -> str:
    # ", next" rather than bare commas: clauses have commas of their own.
    return f"Take {p}, {', next '.join(cs[:-1])}, and return {cs[-1]}."


def _after(p: str, cs: list[str]) -> str:  # held out
    rest = "".join(f" After that, {c}." for c in cs[1:])
    return f"Beginning with {p}, {cs[0]}.{rest} The answer is whatever you are left with."


def _bullets(p: str, cs: list[str]) -> str:  # held out
    return f"Process {p} as follows:\n" + "\n".join(f"- {c}" for c in cs) + "\nGive back what remains at the end."


CHAINS: tuple[Chain, ...] = (
    Chain("then", "do", False, _then),
    Chain("first_next", "do", False, _first_next),
    Chain("numbered", "do", False, _numbered),
    Chain("one_sentence", "do", False, _one_sentence),
    Chain("do_np", "do_np", False, _do_np),
    Chain("take_do_np", "do_np", False, _take_do_np),
    # One-sentence statements ("Return the sum of the even numbers in nums.") are how people pose small
    # tasks: where they fit, they are drawn about half the time.
    Chain("return_np", "np", False, lambda p, cs: f"Return {cs[0]}.", weight=2),
    Chain("return_np_plain", "np", False, lambda p, cs: f"Return {cs[0]}.", opening=False, weight=3),
    Chain("after", "do", True, _after),
    Chain("bullets", "do", True, _bullets),
    Chain("give_back_np", "np", True, lambda p, cs: f"The function should give back {cs[0]}.", weight=2),
)

# Openings: {name}, {params} ("a list of integers nums"), {ret} ("an integer"). None: no opening.
OPENINGS: tuple[tuple[str, str | None], ...] = (
    ("write", "Write a function {name} that takes {params} and returns {ret}."),
    ("implement", "Implement {name}, which receives {params} and returns {ret}."),
    ("define", "Define the function {name}: given {params}, it returns {ret}."),
    ("takes", "{name} takes {params} and returns {ret}."),
    ("complete", "Complete the function {name}, which maps {params} to {ret}."),
    ("none", None),
)
OPENINGS_HELD: tuple[tuple[str, str | None], ...] = (
    ("your_job", "Your job is to code {name}, whose input is {params} and whose output is {ret}."),
    ("here", "Here, {name} receives {params} and produces {ret}."),
    ("none", None),
)


# Words right after the input of an outer noun phrase that would read as a modifier of a nested input.
_SWALLOWED = re.compile(r"^ (in|joined|with|without|sorted|reversed|concatenated|ordered|spelled|once|where|"
                        r"read|after|from|by|and|combined|replaced|reduced|limited|clamped|minus|plus|times)\b")


def nestable(template: str) -> bool:
    """Whether a noun phrase can take another noun phrase as its input (see the module docstring)."""
    return not _SWALLOWED.match(template.split(SLOT, 1)[1])


def _clean(template: str) -> bool:
    return "," not in template and "(" not in template


def _np_choices(wordings: list[Wording], families: list[str], heldout: bool) -> list[tuple[int, ...]]:
    """The template indices (one per step) that say the steps as one nested noun phrase; [] if none do."""
    kind = "np_held" if heldout else "np"
    if len(families) == 1:
        return [(i,) for i in range(len(getattr(wordings[0], kind)))]
    second = BY_NAME[families[1]]
    if len(families) > NESTED_MAX_DEPTH or second.in_type == second.out_type:
        return []
    inner, outer = getattr(wordings[0], kind), getattr(wordings[1], kind)
    # "each number of @ plus 5" inside another phrase reads as "(the length of each number) plus 5".
    return [(i, j) for j, o in enumerate(outer) if nestable(o) and not o.startswith("for each")
            for i, t in enumerate(inner) if not t.startswith(("each ", "for each ")) and (o.endswith(SLOT) or _clean(t))]


@dataclass(frozen=True)
class Phrased:
    text: str
    record: dict[str, Any]  # meta.phrasing: the templates used


def phrase(rng: random.Random, steps: list[tuple[str, Args]], first_param: str, *, heldout: bool,
           opening_fields: dict[str, str]) -> Phrased:
    """The statement of a pipeline ``steps`` ((family, constants) pairs) over ``first_param``.

    Only held-out templates when ``heldout``, only training templates otherwise.
    """
    families = [f for f, _ in steps]
    wordings = [WORDING[f](a) for f, a in steps]
    nested = _np_choices(wordings, families, heldout)
    chains = [c for c in CHAINS if c.heldout == heldout and (
        c.form == "do" or (c.form == "np" and nested) or (c.form == "do_np" and len(steps) >= 2))]
    chain = rng.choices(chains, [c.weight for c in chains])[0]
    suffix = "_held" if heldout else ""
    ids: list[str] = []

    def pick(w: Wording, kind: str, family: str, i: int | None = None) -> str:
        options = getattr(w, kind + suffix)
        i = rng.randrange(len(options)) if i is None else i
        ids.append(f"{family}.{kind}{suffix}{i}")
        return options[i]

    if chain.form == "do":
        pieces = [pick(w, "do", f) for w, f in zip(wordings, families, strict=True)]
    elif chain.form == "do_np":
        pieces = [pick(w, "do", f) for w, f in zip(wordings[:-1], families[:-1], strict=True)]
        pieces.append(pick(wordings[-1], "np", families[-1]).replace(SLOT, "the result"))
    else:
        np = first_param
        for w, f, i in zip(wordings, families, rng.choice(nested), strict=True):
            np = pick(w, "np", f, i).replace(SLOT, np)
        pieces = [np]
    body = chain.render(first_param, pieces)
    opening_id, opening = "none", None
    if chain.opening:
        opening_id, opening = rng.choice(OPENINGS_HELD if heldout else OPENINGS)
    text = body if opening is None else f"{opening.format(**opening_fields)} {body}"
    return Phrased(text, {"heldout": heldout, "chain": chain.id, "opening": opening_id, "steps": ids})
