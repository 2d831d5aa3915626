"""Renamed copies of training tasks: the function's name becomes one no vocabulary predicts.

A task's statement and starter code give the function's name; the reference repeats it. When every
training task keeps one name, a small model lowers its loss on the name's tokens by recalling the
name from the statement (the suite's names come from a vocabulary, and the model memorises the
training tasks), so it never needs to copy the name from its prompt, and asked for a name it never
saw (the hand-written tasks: ``count_negatives``) it writes one of the training vocabulary instead
(docs/benchmarks.md, "Why whole answers do not use the requested name"). With ``data.rename_copies``
each training task is also trained under that many pseudo-word names (``vokira_stelum``), the same
task text and code otherwise: the name can then only be had by copying it from the prompt, and the
byte-level BPE splits such names into short pieces, as it splits names from outside the suite.

``data.rename_names = "words"`` draws the new names from the words of the training tasks' own
statements instead (``largest_even_digits``): names made of pieces the model also reads and writes
elsewhere, as the names people write are, so that continuing a copy after ``largest`` is learned
where the generator, having seen ``largest =`` in code, bids against it (docs/benchmarks.md,
"Names made of words").
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import get_args

from hrmcode.config import RenameNames
from hrmcode.languages import get_language
from hrmcode.records import Task

ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "kl", "st", "tr", "gr", "pl")
VOWELS = ("a", "e", "i", "o", "u")
CODAS = ("", "", "", "n", "r", "m", "k", "s")


def pseudo_name(rng: random.Random, taken: set[str]) -> str:
    """Two or three pseudo-words of two or three syllables each, snake_case, not in ``taken`` (added)."""
    while True:
        words = ["".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(rng.randint(2, 3)))
                 for _ in range(rng.randint(2, 3))]
        name = "_".join(words)
        if name not in taken:
            taken.add(name)
            return name


def statement_words(tasks: Sequence[Task]) -> list[str]:
    """The lower-case words of 3–12 letters in the tasks' statements, sorted, once each: the training
    text's own vocabulary, from which ``word_name`` composes names."""
    return sorted({w.lower() for t in tasks for w in re.findall(r"(?<![A-Za-z0-9_])[A-Za-z]{3,12}(?![A-Za-z0-9_])",
                                                                  t.prompt)})


def word_name(rng: random.Random, words: Sequence[str], taken: set[str]) -> str:
    """Two to four of ``words`` joined snake_case, not in ``taken`` (added)."""
    if len(words) < 2:
        raise ValueError(f"a word name needs at least 2 words to draw from, got {len(words)}")
    while True:
        name = "_".join(rng.choice(words) for _ in range(rng.randint(2, 4)))
        if name not in taken:
            taken.add(name)
            return name


def _replace(text: str, old: str, new: str) -> str:
    """Whole-identifier replacement (``count`` in ``count_all`` is not the name ``count``)."""
    return re.sub(rf"(?<![A-Za-z0-9_]){re.escape(old)}(?![A-Za-z0-9_])", new, text)


def rename_task(task: Task, new: str, task_id: str | None = None) -> Task:
    """The task with its function called ``new`` (snake_case) everywhere: the statement, each
    language's starter code and reference, in that language's convention."""
    if task.signature is None:
        raise ValueError(f"{task.task_id}: only a task with a signature can be renamed")
    old = task.signature.name
    langs = {*task.starter_code, *task.reference}
    pairs = {(get_language(lang).ident(old), get_language(lang).ident(new)) for lang in langs} | {(old, new)}
    prompt = task.prompt
    for a, b in sorted(pairs, key=lambda p: -len(p[0])):  # longest first: never a part of another
        prompt = _replace(prompt, a, b)

    def per_language(code: dict[str, str]) -> dict[str, str]:
        return {lang: _replace(text, get_language(lang).ident(old), get_language(lang).ident(new))
                for lang, text in code.items()}

    return task.model_copy(update={
        "task_id": task_id or task.task_id, "prompt": prompt,
        "starter_code": per_language(task.starter_code), "reference": per_language(task.reference),
        "signature": task.signature.model_copy(update={"name": new}),
        "meta": {**task.meta, "renamed_from": old}})


def renamed_copies(tasks: Sequence[Task], copies: int, seed: int, names: RenameNames = "pseudo") -> list[Task]:
    """``copies`` renamed copies of each task that has a signature (``<id>~rename<k>``), each with its
    own name, drawn deterministically from ``seed``: pseudo-words, or (``names="words"``) words of the
    tasks' statements; a name of the suite is never drawn. Tasks without a signature are skipped."""
    rng, taken = random.Random(f"rename-{seed}"), {t.signature.name for t in tasks if t.signature}
    if names == "words":
        words = statement_words(tasks)
        draw = lambda: word_name(rng, words, taken)  # noqa: E731
    elif names == "pseudo":
        draw = lambda: pseudo_name(rng, taken)  # noqa: E731
    else:
        raise ValueError(f"renamed_copies: names must be one of {get_args(RenameNames)}, got {names!r}")
    return [rename_task(t, draw(), f"{t.task_id}~rename{k}")
            for t in tasks if t.signature for k in range(1, copies + 1)]
