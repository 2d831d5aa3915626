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
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

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


def renamed_copies(tasks: Sequence[Task], copies: int, seed: int) -> list[Task]:
    """``copies`` renamed copies of each task that has a signature (``<id>~rename<k>``), each with its
    own pseudo-word name, drawn deterministically from ``seed``; tasks without one are skipped."""
    rng, taken = random.Random(f"rename-{seed}"), {t.signature.name for t in tasks if t.signature}
    return [rename_task(t, pseudo_name(rng, taken), f"{t.task_id}~rename{k}")
            for t in tasks if t.signature for k in range(1, copies + 1)]
