"""The hand-written tasks: plain tasks as a person would pose them, the closest the project has to "real".

Every task here was written for this set: a natural function name (``total_of_evens``), a plain
statement in ordinary words (often one sentence, never in the generator's templates), parameter
names that fit the task, and a few examples whose expected outputs were worked out by hand. The
solution is written in the built-in IR (:mod:`hrmcode.benchmarks.builtin.families`), so the reference in
each of the six languages is rendered by the language files and checked by the oracle test, and
further tests come from the IR interpreter on a fixed pool of inputs per type (edge cases first).
The hand-checked examples guard the mapping from words to IR: :func:`handwritten_tasks` refuses a
task whose IR disagrees with one of its examples.

In the suite's files these tasks form the ``handwritten`` split (``meta.split``), which no training
code reads; ``hrmcode eval builtin --split handwritten`` and the demo evaluate them like any other split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hrmcode.benchmarks.builtin.families import build_pipeline, run_pipeline
from hrmcode.benchmarks.builtin.ir import OutOfBounds, Step
from hrmcode.languages import LANGUAGES
from hrmcode.languages.base import parse_type
from hrmcode.records import Task

HANDWRITTEN_VERSION = "handwritten-1"
LICENSE = "MIT (written for hrmcode)"
MAX_TESTS = 12


@dataclass(frozen=True)
class Hand:
    name: str
    params: tuple[tuple[str, str], ...]  # (name, type)
    prompt: str
    steps: tuple[Step, ...]
    examples: tuple[tuple[list[Any], Any], ...]  # (arguments, expected result), worked out by hand


def S(family: str, **args: Any) -> Step:
    """A step of the table below: ``S("filter", op="even")``."""
    return Step(family, tuple(sorted(args.items())))


def H(name: str, params: str, prompt: str, steps: list[Step], *examples: tuple[list[Any], Any]) -> Hand:
    """``params``: "nums: list[int]" or "left: list[int], right: list[int]"."""
    parsed = tuple((p.split(":")[0].strip(), p.split(":")[1].strip()) for p in params.split(","))
    return Hand(name, parsed, prompt, tuple(steps), tuple(examples))


BALANCE = "The balance starts at 0 and each transaction is added to it in order."

TASKS: tuple[Hand, ...] = (
    # ---- depth 1 ----
    H("count_negatives", "nums: list[int]", "Return how many numbers in nums are negative.",
      [S("count", op="lt", k=0)], ([[-1, 2, -3]], 2), ([[]], 0), ([[0, 5]], 0)),
    H("largest_or_zero", "nums: list[int]", "Return the largest number in nums, or 0 if nums is empty.",
      [S("max")], ([[3, 9, 2]], 9), ([[]], 0), ([[-4, -2]], -2)),
    H("smallest_reading", "readings: list[int]",
      "Return the smallest value in readings. If readings is empty, return 0.",
      [S("min")], ([[5, 1, 4]], 1), ([[]], 0), ([[-3, 8]], -3)),
    H("basket_total", "prices: list[int]", "Return the total of all the prices in the basket (0 for an empty basket).",
      [S("sum")], ([[3, 4, 5]], 12), ([[]], 0), ([[10, -2]], 8)),
    H("has_negative", "nums: list[int]", "Return true if at least one number in nums is negative.",
      [S("any", op="lt", k=0)], ([[1, -1]], True), ([[]], False), ([[0, 3]], False)),
    H("all_positive", "nums: list[int]",
      "Return true if every number in nums is greater than zero. An empty list counts as all positive.",
      [S("all", op="gt", k=0)], ([[1, 2]], True), ([[]], True), ([[3, 0]], False)),
    H("is_non_decreasing", "nums: list[int]",
      "Return true if the numbers in nums never go down from one number to the next.",
      [S("is_sorted")], ([[1, 1, 2]], True), ([[3, 2]], False), ([[]], True)),
    H("sorted_ascending", "nums: list[int]", "Return the numbers of nums sorted from smallest to largest.",
      [S("sort", desc=False)], ([[3, 1, 2]], [1, 2, 3]), ([[]], [])),
    H("rank_scores", "scores: list[int]", "Return the scores sorted from highest to lowest.",
      [S("sort", desc=True)], ([[70, 95, 80]], [95, 80, 70]), ([[1]], [1])),
    H("reverse_list", "items: list[int]", "Return items in reverse order.",
      [S("reverse")], ([[1, 2, 3]], [3, 2, 1]), ([[]], [])),
    H("first_three", "nums: list[int]",
      "Return the first three numbers of nums. If nums has fewer than three numbers, return all of them.",
      [S("take", k=3)], ([[5, 6, 7, 8]], [5, 6, 7]), ([[1]], [1])),
    H("skip_header", "rows: list[int]",
      "The first number in rows is a header. Return every number after it (an empty list if rows is empty).",
      [S("drop", k=1)], ([[9, 1, 2]], [1, 2]), ([[]], []), ([[4]], [])),
    H("running_balance", "deposits: list[int]",
      "Return the running totals of deposits: each element is the sum of that deposit and all the deposits"
      " before it.",
      [S("prefix_sum")], ([[5, 10, -3]], [5, 15, 12]), ([[]], [])),
    H("remove_duplicates", "nums: list[int]",
      "Return nums with repeated values removed: keep the first occurrence of each value, in the original order.",
      [S("dedupe")], ([[3, 1, 3, 2, 1]], [3, 1, 2]), ([[]], [])),
    H("absolute_values", "nums: list[int]", "Return a list holding the absolute value of each number in nums.",
      [S("map_abs")], ([[-2, 3, 0]], [2, 3, 0])),
    H("double_each", "nums: list[int]", "Return a new list in which every number of nums is doubled.",
      [S("map_mul", k=2)], ([[1, -4]], [2, -8]), ([[]], [])),
    H("add_bonus", "scores: list[int]", "Every score gets a bonus of 5 points. Return the new scores.",
      [S("map_add", k=5)], ([[10, 0]], [15, 5])),
    H("clamp_to_percent", "values: list[int]",
      "Return values with each number limited to the range 0 to 100: numbers below 0 become 0 and numbers above"
      " 100 become 100.",
      [S("clamp", lo=0, hi=100)], ([[-5, 50, 120]], [0, 50, 100])),
    H("fizzbuzz", "nums: list[int]",
      'For each number in nums, produce "FizzBuzz" if it is divisible by 3 and by 5, "Fizz" if it is divisible by'
      ' 3 only, "Buzz" if it is divisible by 5 only, and otherwise the number itself as a string. Return the list'
      " of strings.",
      [S("fizzbuzz", a=3, b=5)], ([[3, 5, 15, 7]], ["Fizz", "Buzz", "FizzBuzz", "7"]), ([[-3, -7]], ["Fizz", "-7"])),
    H("sum_of_digits", "n: int", "Return the sum of the digits of n, ignoring its sign.",
      [S("digit_sum")], ([123], 6), ([-45], 9), ([0], 0)),
    H("is_prime", "n: int", "Return true if n is a prime number. Numbers below 2 are not prime.",
      [S("is_prime")], ([7], True), ([1], False), ([9], False), ([-7], False)),
    H("collatz_steps", "n: int",
      "Starting from n, repeatedly halve the number if it is even, or replace it by three times the number plus 1"
      " if it is odd, until it reaches 1. Return how many steps that takes; return 0 if n is less than 2.",
      [S("collatz")], ([1], 0), ([6], 8), ([-5], 0)),
    H("one_to_n", "n: int", "Return the list of the whole numbers from 1 to n, or an empty list if n is less than 1.",
      [S("range")], ([3], [1, 2, 3]), ([0], [])),
    H("reverse_text", "text: str", "Return text with its characters in reverse order.",
      [S("reverse_str")], (["abc"], "cba"), ([""], "")),
    H("shout", "message: str", "Return message with every letter in upper case.",
      [S("case", upper=True)], (["Hi there"], "HI THERE")),
    H("is_palindrome", "word: str",
      'Return true if word reads the same forwards and backwards. Compare characters exactly, so "Aa" is not a'
      " palindrome.",
      [S("palindrome")], (["level"], True), (["Aa"], False), ([""], True)),
    H("count_spaces", "text: str", "Return the number of space characters in text.",
      [S("count_char", c=" ")], (["a b c"], 2), ([""], 0)),
    H("remove_spaces", "text: str", "Return text with all of its spaces removed.",
      [S("remove_char", c=" ")], ([" a b "], "ab")),
    H("split_words", "sentence: str",
      "Return the words of sentence in order. Words are separated by one or more spaces; ignore spaces at the start"
      " and at the end.",
      [S("split_words")], (["  hello   world "], ["hello", "world"]), ([""], [])),
    H("name_lengths", "names: list[str]", "Return the number of characters in each name of names.",
      [S("word_lengths")], ([["Ada", "Grace"]], [3, 5]), ([[]], [])),
    H("comma_separated", "nums: list[int]",
      'Return the numbers of nums written in decimal and joined by commas with no spaces, such as "1,-2,3".',
      [S("join_ints", sep=",")], ([[1, -2, 3]], "1,-2,3"), ([[]], "")),
    H("make_sentence", "words: list[str]",
      "Return one string made of the strings in words, separated by single spaces.",
      [S("join_words", sep=" ")], ([["a", "b"]], "a b"), ([[]], "")),
    H("long_names", "names: list[str]",
      "Return the names in names that have more than 4 characters, in their original order.",
      [S("filter_len", op="gt", k=4)], ([["Ann", "Robert", "Li", "Marta"]], ["Robert", "Marta"])),
    H("count_yes", "answers: list[bool]",
      "answers holds one boolean per survey answer. Return how many of the answers are true.",
      [S("count_true")], ([[True, False, True]], 2), ([[]], 0)),
    H("reading_changes", "readings: list[int]",
      "Return the change from each reading to the next one (the later reading minus the earlier one). The result"
      " has one element fewer than readings, and is empty if there are fewer than two readings.",
      [S("adjacent_diff")], ([[3, 5, 4]], [2, -1]), ([[7]], [])),
    H("common_factor_with_12", "n: int",
      "Return the greatest common divisor of 12 and the absolute value of n (for n = 0 that is 12).",
      [S("gcd", k=12)], ([18], 6), ([-8], 4), ([0], 12)),
    H("cube_mod_ten", "n: int",
      "Return n cubed modulo 10 as a number from 0 to 9; for a negative cube, use the non-negative remainder.",
      [S("pow_mod", e=3, m=10)], ([2], 8), ([-2], 2), ([13], 7)),
    H("digit_list", "n: int", "Return the decimal digits of n from left to right, ignoring its sign.",
      [S("digits")], ([507], [5, 0, 7]), ([-12], [1, 2]), ([0], [0])),
    H("pairwise_sum", "left: list[int], right: list[int]",
      "Add the two lists element by element: the first result is the sum of the first elements, and so on. Stop at"
      " the end of the shorter list.",
      [S("zip_with", op="add")], ([[1, 2, 3], [10, 20]], [11, 22]), ([[], [1]], [])),
    H("pairwise_max", "first: list[int], second: list[int]",
      "Return, position by position, the larger of the two numbers in first and second. The result is as long as"
      " the shorter list.",
      [S("zip_with", op="max")], ([[1, 5], [3, 2, 9]], [3, 5])),
    H("even_flags", "nums: list[int]",
      "Return a list of booleans that says, for each number in nums, whether it is even.",
      [S("mark", op="even")], ([[1, 2, 0]], [False, True, True])),
    H("wrap_to_week", "days: list[int]",
      "Return each number of days modulo 7, as a value from 0 to 6 (so -1 becomes 6).",
      [S("map_mod", k=7)], ([[8, -1, 14]], [1, 6, 0])),
    H("to_lowercase", "text: str", "Return text in lower case.",
      [S("case", upper=False)], (["HeLLo"], "hello")),
    H("rot13", "text: str",
      "Encode text with ROT13: replace each lowercase letter by the letter 13 places later in the alphabet, wrapping"
      " around after z. All other characters stay as they are.",
      [S("caesar", k=13)], (["abc"], "nop"), (["Hi z"], "Hv m")),
    H("decode_message", "text: str",
      "text was encoded by moving every lowercase letter 3 places forward in the alphabet, wrapping around after z."
      " Decode it by moving each lowercase letter 3 places back (so a becomes x); leave all other characters"
      " unchanged.",
      [S("caesar", k=23)], (["dwwdfn"], "attack"), (["A c!"], "A z!")),
    H("number_of_entries", "entries: list[int]", "Return how many numbers entries contains.",
      [S("length")], ([[4, 4]], 2), ([[]], 0)),
    H("count_multiples_of_three", "nums: list[int]", "Return how many numbers in nums are divisible by 3.",
      [S("count", op="div", k=3)], ([[3, 4, 6, 0]], 3), ([[]], 0)),
    H("keep_passing", "scores: list[int]", "Return the scores that are at least 50, in their original order.",
      [S("filter", op="ge", k=50)], ([[49, 50, 90]], [50, 90])),
    # ---- depth 2 ----
    H("total_of_evens", "nums: list[int]", "Return the sum of the even numbers in nums.",
      [S("filter", op="even"), S("sum")], ([[1, 2, 3, 4]], 6), ([[]], 0), ([[-2, 5]], -2)),
    H("sum_of_positives", "nums: list[int]",
      "Add up only the numbers in nums that are greater than zero and return the total.",
      [S("filter", op="gt", k=0), S("sum")], ([[-1, 2, 3]], 5), ([[]], 0)),
    H("count_distinct", "nums: list[int]", "Return how many different values appear in nums.",
      [S("dedupe"), S("length")], ([[1, 1, 2]], 2), ([[]], 0)),
    H("top_three", "scores: list[int]",
      "Return the three highest scores, highest first. If there are fewer than three scores, return all of them,"
      " highest first.",
      [S("sort", desc=True), S("take", k=3)], ([[5, 9, 1, 7]], [9, 7, 5]), ([[2]], [2])),
    H("two_smallest", "nums: list[int]",
      "Return the two smallest numbers of nums in ascending order (fewer if nums has fewer than two numbers).",
      [S("sort", desc=False), S("take", k=2)], ([[4, -1, 3]], [-1, 3]), ([[]], [])),
    H("largest_magnitude", "nums: list[int]",
      "Return the largest absolute value among the numbers in nums, or 0 if nums is empty.",
      [S("map_abs"), S("max")], ([[-7, 3]], 7), ([[]], 0)),
    H("is_sum_prime", "nums: list[int]", "Return true if the sum of the numbers in nums is a prime number.",
      [S("sum"), S("is_prime")], ([[2, 3]], True), ([[4, 4]], False), ([[]], False)),
    H("number_of_digits", "n: int",
      "Return how many decimal digits n has, not counting a minus sign. Zero has one digit.",
      [S("digits"), S("length")], ([0], 1), ([-123], 3), ([45], 2)),
    H("largest_digit", "n: int", "Return the largest decimal digit of n, ignoring its sign.",
      [S("digits"), S("max")], ([1927], 9), ([-5], 5), ([0], 0)),
    H("has_even_digit", "n: int",
      "Return true if at least one decimal digit of n is even (ignore the sign; 0 is even).",
      [S("digits"), S("any", op="even")], ([135], False), ([10], True), ([-7], False)),
    H("triangle_number", "n: int", "Return the sum 1 + 2 + ... + n, or 0 if n is less than 1.",
      [S("range"), S("sum")], ([4], 10), ([0], 0), ([-3], 0)),
    H("reversed_shout", "text: str", "Return text written backwards and in upper case.",
      [S("reverse_str"), S("case", upper=True)], (["abc d"], "D CBA")),
    H("is_palindrome_ignoring_case", "text: str",
      "Return true if text reads the same forwards and backwards when upper and lower case letters count as the"
      " same.",
      [S("case", upper=False), S("palindrome")], (["Anna"], True), (["ab"], False)),
    H("is_palindrome_ignoring_spaces", "phrase: str",
      "Return true if phrase is a palindrome once all its spaces are removed. Letter case matters.",
      [S("remove_char", c=" "), S("palindrome")], (["top spot"], True), (["ab c"], False)),
    H("count_letter_a", "text: str", "Return how many times the letter a appears in text, counting both a and A.",
      [S("case", upper=False), S("count_char", c="a")], (["Abracadabra"], 5), ([""], 0)),
    H("short_words_line", "words: list[str]",
      "Keep the strings in words that have fewer than 4 characters and return them joined by single spaces.",
      [S("filter_len", op="lt", k=4), S("join_words", sep=" ")], ([["a", "tree", "is", "big"]], "a is big")),
    H("digits_with_dashes", "n: int",
      'Return the decimal digits of n separated by hyphens, ignoring the sign; for example 2024 gives "2-0-2-4".',
      [S("digits"), S("join_ints", sep="-")], ([2024], "2-0-2-4"), ([-7], "7")),
    H("biggest_rise", "prices: list[int]",
      "Return the largest change from one price to the next (the later price minus the earlier one, which may be"
      " negative). Return 0 if there are fewer than two prices.",
      [S("adjacent_diff"), S("max")], ([[3, 8, 6]], 5), ([[5]], 0), ([[9, 4, 1]], -3)),
    H("is_strictly_increasing", "nums: list[int]",
      "Return true if every number in nums is larger than the number before it. A list with fewer than two numbers"
      " counts as increasing.",
      [S("adjacent_diff"), S("all", op="gt", k=0)], ([[1, 2, 5]], True), ([[1, 1]], False), ([[]], True)),
    H("count_increases", "depths: list[int]",
      "Return how many measurements in depths are larger than the measurement just before them.",
      [S("adjacent_diff"), S("count", op="gt", k=0)], ([[199, 200, 208, 210, 200, 207]], 4), ([[5]], 0)),
    H("sum_of_multiples_of_three", "nums: list[int]", "Return the sum of the numbers in nums that are divisible by 3.",
      [S("filter", op="div", k=3), S("sum")], ([[3, 4, 9, -6]], 6)),
    H("sorted_evens", "nums: list[int]", "Return the even numbers of nums, sorted from smallest to largest.",
      [S("filter", op="even"), S("sort", desc=False)], ([[6, 3, 2, -4]], [-4, 2, 6])),
    H("capped_total", "points: list[int]",
      "Each number in points is worth at least 0 and at most 10 points: smaller numbers count as 0 and larger ones"
      " as 10. Return the total.",
      [S("clamp", lo=0, hi=10), S("sum")], ([[5, 12, -3]], 15)),
    H("distinct_sorted", "nums: list[int]", "Return the different values in nums in ascending order.",
      [S("dedupe"), S("sort", desc=False)], ([[3, 1, 3, 2]], [1, 2, 3])),
    H("dot_product", "left: list[int], right: list[int]",
      "Return the dot product of left and right: multiply the numbers at each position that both lists have and"
      " add up the products.",
      [S("zip_with", op="mul"), S("sum")], ([[1, 2, 3], [4, 5, 6]], 32), ([[2], []], 0)),
    H("total_characters", "words: list[str]", "Return the total number of characters in all the strings of words.",
      [S("word_lengths"), S("sum")], ([["ab", "cde"]], 5), ([[]], 0)),
    H("longest_name_length", "names: list[str]",
      "Return the length of the longest name in names, or 0 if names is empty.",
      [S("word_lengths"), S("max")], ([["Al", "Maria"]], 5), ([[]], 0)),
    H("count_even_digits", "n: int", "Return how many decimal digits of n are even, ignoring the sign.",
      [S("digits"), S("count", op="even")], ([2468], 4), ([-135], 0), ([0], 1)),
    H("lowercase_words", "text: str",
      "Return the words of text in lower case. Words are separated by one or more spaces.",
      [S("case", upper=False), S("split_words")], (["Hello  World"], ["hello", "world"])),
    H("scores_line", "scores: list[int]",
      'Return the scores from highest to lowest as a single string, separated by a comma and a space, like "9, 7,'
      ' 3".',
      [S("sort", desc=True), S("join_ints", sep=", ")], ([[3, 9, 7]], "9, 7, 3"), ([[]], "")),
    H("sum_of_first_five", "nums: list[int]",
      "Return the sum of the first five numbers of nums, or of all of them if nums has fewer than five.",
      [S("take", k=5), S("sum")], ([[1, 2, 3, 4, 5, 6]], 15), ([[2]], 2)),
    H("total_without_first", "nums: list[int]",
      "Return the sum of all the numbers of nums except the first one (0 if nums has at most one number).",
      [S("drop", k=1), S("sum")], ([[10, 1, 2]], 3), ([[4]], 0)),
    H("secret_message", "text: str",
      "Convert text to lower case, then encrypt it with a Caesar shift of 3: every letter moves 3 places forward in"
      " the alphabet, wrapping around after z (so x becomes a). Other characters stay unchanged. Return the"
      " encrypted text.",
      [S("case", upper=False), S("caesar", k=3)], (["Hi Zoe"], "kl crh")),
    H("shout_words", "text: str",
      "Return the words of text in upper case, in order. Words are separated by one or more spaces.",
      [S("case", upper=True), S("split_words")], (["go  team"], ["GO", "TEAM"])),
    H("lowest_balance", "transactions: list[int]",
      f"{BALANCE} Return the lowest balance reached after a transaction, or 0 if there are no transactions.",
      [S("prefix_sum"), S("min")], ([[5, -8, 4]], -3), ([[]], 0), ([[2, 3]], 2)),
    H("peak_balance", "transactions: list[int]",
      f"{BALANCE} Return the highest balance reached after a transaction, or 0 if there are no transactions.",
      [S("prefix_sum"), S("max")], ([[5, -8, 4]], 5), ([[-1, -2]], -1)),
    H("never_overdrawn", "transactions: list[int]",
      f"{BALANCE} Return true if the balance is never negative after any of the transactions.",
      [S("prefix_sum"), S("all", op="ge", k=0)], ([[5, -5, 2]], True), ([[1, -2]], False), ([[]], True)),
    H("count_failing_after_curve", "scores: list[int]",
      "Every score is raised by 10 points. Return how many scores are still below 50 after that.",
      [S("map_add", k=10), S("count", op="lt", k=50)], ([[35, 45, 60]], 1)),
    H("ever_drops", "readings: list[int]", "Return true if some reading is lower than the reading just before it.",
      [S("adjacent_diff"), S("any", op="lt", k=0)], ([[1, 3, 2]], True), ([[1, 1, 4]], False)),
    H("absolute_differences", "left: list[int], right: list[int]",
      "Return the absolute difference between the numbers at each position that both lists have, in order.",
      [S("zip_with", op="sub"), S("map_abs")], ([[1, 9], [4, 2, 7]], [3, 7])),
    H("is_digit_sum_prime", "n: int",
      "Return true if the sum of the decimal digits of n, ignoring its sign, is a prime number.",
      [S("digit_sum"), S("is_prime")], ([23], True), ([22], False), ([-11], True)),
    H("count_multiples_up_to", "n: int",
      "Return how many of the numbers 1, 2, ..., n are divisible by 3 (0 if n is less than 1).",
      [S("range"), S("count", op="div", k=3)], ([10], 3), ([2], 0)),
    H("fizzbuzz_up_to", "n: int",
      'Play FizzBuzz from 1 to n: for each number say "Fizz" if it is divisible by 3 only, "Buzz" if it is divisible'
      ' by 5 only, "FizzBuzz" if it is divisible by both, and the number itself as a string otherwise. Return the'
      " list of what was said (empty if n is less than 1).",
      [S("range"), S("fizzbuzz", a=3, b=5)], ([5], ["1", "2", "Fizz", "4", "Buzz"]), ([0], [])),
    H("first_three_evens", "nums: list[int]",
      "Return the first three even numbers of nums, in order (fewer if nums has fewer even numbers).",
      [S("filter", op="even"), S("take", k=3)], ([[1, 2, 4, 5, 6, 8]], [2, 4, 6])),
    H("count_short_names", "names: list[str]", "Return how many names in names have fewer than 4 characters.",
      [S("word_lengths"), S("count", op="lt", k=4)], ([["Al", "Bob", "Maria"]], 2)),
    # ---- depth 3 ----
    H("word_count", "text: str", "Return the number of words in text. Words are separated by one or more spaces.",
      [S("split_words"), S("word_lengths"), S("length")], (["a bb  ccc"], 3), ([""], 0), (["   "], 0)),
    H("longest_word_length", "sentence: str",
      "Return the length of the longest word in sentence, or 0 if it has no words. Words are separated by spaces.",
      [S("split_words"), S("word_lengths"), S("max")], (["I like pizza"], 5), ([""], 0)),
    H("count_long_words", "sentence: str",
      "Return how many words in sentence have more than 3 characters. Words are separated by spaces.",
      [S("split_words"), S("word_lengths"), S("count", op="gt", k=3)], (["the quick brown fox"], 2)),
    H("sum_of_top_three", "scores: list[int]",
      "Return the sum of the three highest scores (or of all the scores if there are fewer than three).",
      [S("sort", desc=True), S("take", k=3), S("sum")], ([[5, 1, 9, 7]], 21), ([[]], 0)),
    H("total_movement", "readings: list[int]",
      "Return the total distance travelled by the readings: the sum of the absolute differences between each"
      " reading and the next one.",
      [S("adjacent_diff"), S("map_abs"), S("sum")], ([[1, 4, 2]], 5), ([[3]], 0)),
    H("largest_jump", "readings: list[int]",
      "Return the largest absolute difference between two consecutive readings, or 0 if there are fewer than two"
      " readings.",
      [S("adjacent_diff"), S("map_abs"), S("max")], ([[1, 4, 2, 10]], 8), ([[]], 0)),
    H("sum_of_evens_up_to", "n: int", "Return the sum of the even numbers from 1 to n (0 if there are none).",
      [S("range"), S("filter", op="even"), S("sum")], ([6], 12), ([1], 0)),
    H("count_distinct_evens", "nums: list[int]", "Return how many different even numbers appear in nums.",
      [S("filter", op="even"), S("dedupe"), S("length")], ([[2, 2, 4, 5]], 2), ([[]], 0)),
    H("top_three_line", "scores: list[int]",
      "Return the three highest scores, highest first, as one string separated by a comma and a space; use all the"
      " scores if there are fewer than three.",
      [S("sort", desc=True), S("take", k=3), S("join_ints", sep=", ")], ([[5, 1, 9, 7]], "9, 7, 5")),
    H("sorted_unique_evens", "nums: list[int]", "Return the different even numbers of nums in ascending order.",
      [S("filter", op="even"), S("dedupe"), S("sort", desc=False)], ([[4, 2, 4, 7, 0]], [0, 2, 4])),
    H("two_largest_magnitudes", "nums: list[int]",
      "Return the two largest absolute values in nums, largest first (fewer if nums has fewer than two numbers).",
      [S("map_abs"), S("sort", desc=True), S("take", k=2)], ([[-9, 3, 5]], [9, 5])),
    H("capped_positive_total", "points: list[int]",
      "Ignore the numbers in points that are not positive. Each positive number counts at most 10. Return the"
      " total.",
      [S("filter", op="gt", k=0), S("clamp", lo=0, hi=10), S("sum")], ([[-5, 3, 25]], 13)),
    H("word_lengths_line", "sentence: str",
      "Return the lengths of the words of sentence, written in decimal and separated by single spaces. Words are"
      " separated by one or more spaces.",
      [S("split_words"), S("word_lengths"), S("join_ints", sep=" ")], (["hi  there"], "2 5")),
    H("is_clean_palindrome", "text: str",
      "Return true if text is a palindrome after removing all spaces and ignoring letter case.",
      [S("remove_char", c=" "), S("case", upper=False), S("palindrome")], (["Never odd or even"], True),
      (["ab"], False)),
    H("digits_descending", "n: int",
      "Return the decimal digits of n rearranged from largest to smallest and written as one string with no"
      " separators, ignoring the sign.",
      [S("digits"), S("sort", desc=True), S("join_ints", sep="")], ([2024], "4220"), ([-305], "530")),
    H("sum_of_multiples_of_seven", "n: int", "Return the sum of the multiples of 7 between 1 and n inclusive.",
      [S("range"), S("filter", op="div", k=7), S("sum")], ([20], 21), ([6], 0)),
    H("total_with_bonus", "scores: list[int]",
      "Every score gets 5 bonus points, but a score can never end up above 100 or below 0. Return the sum of the"
      " adjusted scores.",
      [S("map_add", k=5), S("clamp", lo=0, hi=100), S("sum")], ([[98, 50]], 155)),
    H("total_distance", "left: list[int], right: list[int]",
      "Return the sum of the absolute differences between the numbers at each position that both lists have.",
      [S("zip_with", op="sub"), S("map_abs"), S("sum")], ([[1, 9], [4, 2, 7]], 10)),
    H("sum_of_last_two", "nums: list[int]",
      "Return the sum of the last two numbers of nums (or of all of them if there are fewer than two).",
      [S("reverse"), S("take", k=2), S("sum")], ([[1, 2, 3]], 5), ([[4]], 4)),
    H("runner_up_score", "scores: list[int]",
      "Return the runner-up score: the second value when the scores are sorted from highest to lowest (a tie with"
      " the top score counts). Return 0 if there are fewer than two scores.",
      [S("sort", desc=True), S("drop", k=1), S("max")], ([[50, 90, 70]], 70), ([[90, 90]], 90), ([[10]], 0)),
)

# Further test inputs per parameter type, edge cases first; outputs come from the IR interpreter.
POOL: dict[str, list[Any]] = {
    "list[int]": [[], [0], [7], [-3, 7, -3, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [12, -7, 0, 33, 33, 18, -21, 4],
                  [100, 250, -40, 7, 64, 81, 3], [-5, -10, -15], [2, 2, 2, 2], [9, 4, 16, 1, 25, 36, 0, -49]],
    "int": [0, 1, -1, 2, 7, 10, 97, 360, -45, 1001, 123456],
    "str": ["", "a", "Hello World", "level", "  two  spaces ", "Never odd or even", "abc xyz", "The quick brown fox",
            "zebra", "Madam Im Adam"],
    "list[str]": [[], ["a"], ["apple", "kiwi", "banana"], ["to", "be", "or", "not", "to", "be"], ["Hello", "world"],
                  ["one", "three", "five", "seventeen"], ["", "x", "xyz"]],
    "list[bool]": [[], [True], [False, False], [True, False, True, True], [False, True]],
}
PAIRS: list[list[list[int]]] = [[[], []], [[1, 2, 3], []], [[5], [5]], [[1, 2, 3], [4, 5, 6]],
                                [[-2, 7, 0, 4], [3, -1]], [[10, 20], [1, 2, 3, 4]], [[9, -9, 9], [-9, 9, -9]],
                                [[0, 0, 1], [1, 0, 0]]]


def _tests(hand: Hand, pipeline: Any) -> list[dict[str, Any]]:
    tests: list[dict[str, Any]] = []
    seen: set[str] = set()
    for args, expected in hand.examples:
        got = run_pipeline(pipeline, list(args))
        if got != expected:
            raise ValueError(f"handwritten task {hand.name}: for input {json.dumps(args)} the IR gives "
                             f"{json.dumps(got)}, the hand-written example says {json.dumps(expected)}")
        tests.append({"input": list(args), "output": expected})
        seen.add(json.dumps(args))
    types = [t for _, t in hand.params]
    pool: list[list[Any]] = PAIRS if len(types) == 2 else [[x] for x in POOL[types[0]]]
    for args in pool:
        if len(tests) >= MAX_TESTS:
            break
        if json.dumps(args) in seen:
            continue
        try:
            out = run_pipeline(pipeline, args)
        except OutOfBounds:
            continue
        tests.append({"input": args, "output": out})
        seen.add(json.dumps(args))
    if len({json.dumps(t["output"]) for t in tests}) < 2:
        raise ValueError(f"handwritten task {hand.name}: every test has the same output")
    return tests


def handwritten_task(hand: Hand) -> Task:
    params = [(name, parse_type(t)) for name, t in hand.params]
    p = build_pipeline(hand.name, list(hand.steps), params)
    families = [s.family for s in hand.steps]
    return Task(
        task_id=f"handwritten/{hand.name}", source="builtin", kind="function", prompt=hand.prompt,
        tests=_tests(hand, p),
        signature={"name": p.name, "params": [{"name": n, "type": str(t)} for n, t in p.params],
                   "returns": str(p.returns)},
        starter_code={name: lang.starter(p.name, p.params, p.returns) for name, lang in LANGUAGES.items()},
        reference={name: lang.render_builtin(p) for name, lang in LANGUAGES.items()},
        difficulty=len(p.steps), license=LICENSE,
        meta={"families": families, "structure": ">".join(families), "depth": len(p.steps), "split": "handwritten",
              "ir": p.to_json(), "generator": HANDWRITTEN_VERSION},
    )


def handwritten_tasks() -> list[Task]:
    """Every hand-written task, in the order of :data:`TASKS`."""
    names = [h.name for h in TASKS]
    if len(set(names)) != len(names):
        raise ValueError("handwritten tasks: duplicate names")
    return [handwritten_task(h) for h in TASKS]
