"""Function names for built-in tasks: plausible, and independent of what the function computes.

A name used to spell the composition (``collatz_digitsum_range_count``), so a model could score
without reading the statement and learnt to ignore the name it was given. Now a name is drawn from
a vocabulary keyed only by the signature's types (which the starter code shows anyway): a verb or
result word chosen by the return type, a noun by the first parameter's type, sometimes a modifier.
Tasks of one structure get different names, one name serves many structures, and the statement is
the only place that says what to compute; the composition lives in ``Task.meta``.

No vocabulary word contains a primitive family's name (``sum``, ``count``, ``sort``, ``filter``, …)
or even has one as a substring (``tally`` would hide ``all``), which ``tests/test_builtin_phrasing.py``
checks. Names are snake_case here; each language writes them in its own convention (``ident``).
"""

from __future__ import annotations

import random

# What the first parameter holds, by its type.
NOUNS: dict[str, tuple[str, ...]] = {
    "list[int]": ("readings", "samples", "scores", "values", "points", "levels", "amounts", "entries", "ticks",
                  "votes", "prices", "weights", "ratings", "heights", "payments", "series", "batch", "data",
                  "inputs", "records", "offsets", "quotes", "grades", "bids", "loads", "speeds", "depths",
                  "ages", "sizes", "metrics", "figures", "deposits", "orders", "pixels", "frames", "tickets",
                  "bookings", "laps", "temperatures", "balances"),
    "int": ("number", "value", "code", "key", "seed", "ticket", "amount", "year", "pin", "serial", "input",
            "port", "level", "score", "reading", "quantity", "budget", "limit", "index", "offset", "weight",
            "age", "price", "balance", "id"),
    "str": ("text", "message", "line", "label", "title", "phrase", "note", "caption", "comment", "input",
            "slug", "tag", "name", "header", "query", "banner", "greeting", "entry", "address", "sentence",
            "status", "token", "answer", "subject", "record"),
    "list[str]": ("tokens", "names", "tags", "items", "terms", "fields", "lines", "titles", "entries", "labels",
                  "parts", "codes", "cities", "colors", "usernames", "fragments", "pieces", "chunks", "messages",
                  "headers", "notes", "phrases"),
    "list[bool]": ("flags", "answers", "checks", "results", "bits", "switches", "states", "responses", "toggles",
                   "outcomes", "signals"),
}

# Verbs that make a name of the form verb_noun, by the return type.
VERBS: dict[str, tuple[str, ...]] = {
    "int": ("score", "rate", "measure", "grade", "weigh", "assess", "evaluate", "rank", "quantify", "estimate",
            "gauge", "compute", "derive", "get", "find", "calculate", "analyze", "audit", "read", "reduce"),
    "bool": ("check", "validate", "verify", "accept", "approve", "inspect", "screen", "audit", "test", "judge",
             "confirm", "assess"),
    "str": ("format", "render", "encode", "describe", "compose", "pack", "serialize", "build", "make", "write",
            "present", "display", "export", "print", "stringify", "spell"),
    "list[int]": ("transform", "adjust", "prepare", "process", "rework", "refine", "convert", "update",
                  "reshape", "tweak", "preprocess", "handle", "massage", "calibrate", "revise", "rewrite",
                  "normalize", "derive", "encode", "build"),
    "list[str]": ("extract", "collect", "gather", "parse", "derive", "produce", "build", "make", "generate",
                  "expand", "render", "prepare"),
    "list[bool]": ("flag", "classify", "screen", "inspect", "evaluate", "assess", "check", "label", "test",
                   "tag"),
}

# Result words for names of the form noun_tail, by the return type.
TAILS: dict[str, tuple[str, ...]] = {
    "int": ("score", "metric", "index", "value", "rating", "figure", "result", "code", "level", "weight",
            "number", "measure", "signal", "key", "rank", "grade", "estimate"),
    "bool": ("ok", "valid", "ready", "acceptable", "passes", "good", "healthy", "consistent", "flagged"),
    "str": ("text", "label", "report", "line", "string", "banner", "caption", "description", "message", "code",
            "key", "view", "display"),
    "list[int]": ("result", "output", "profile", "vector", "table", "plan", "series", "values", "levels",
                  "layout", "schedule"),
    "list[str]": ("tokens", "labels", "names", "pieces", "items", "fields", "entries", "tags", "lines"),
    "list[bool]": ("flags", "mask", "checks", "states", "verdicts", "results", "bits"),
}

# Adjectives for bool names of the form is_adjective_noun.
ADJECTIVES: tuple[str, ...] = ("valid", "stable", "balanced", "ready", "safe", "healthy", "clean", "acceptable",
                               "complete", "consistent", "normal", "suspicious", "special", "lucky", "good",
                               "regular", "proper", "fine", "usable", "interesting")

MODIFIERS: tuple[str, ...] = ("daily", "raw", "weekly", "sensor", "user", "final", "next", "current",
                              "new", "local", "primary", "secondary", "hourly", "monthly", "player", "customer",
                              "server", "network", "game", "student", "team", "stock", "annual", "shop", "pending")


def vocabulary() -> set[str]:
    """Every word a name can contain (for tests)."""
    words = set(ADJECTIVES) | set(MODIFIERS) | {"is"}
    for table in (NOUNS, VERBS, TAILS):
        for options in table.values():
            for w in options:
                words.update(w.split("_"))
    return words


def task_name(rng: random.Random, in_type: str, out_type: str) -> str:
    """A snake_case name for a function from ``in_type`` (its first parameter) to ``out_type``."""
    while True:
        words = _draw(rng, in_type, out_type)
        if len(set(words)) == len(words):  # no "text_text"
            return "_".join(words)


def _draw(rng: random.Random, in_type: str, out_type: str) -> list[str]:
    noun = rng.choice(NOUNS[in_type])
    form = rng.random()
    if out_type == "bool" and form < 0.3:
        return ["is", rng.choice(ADJECTIVES), noun]
    if form < 0.4:
        return [rng.choice(VERBS[out_type]), noun]
    if form < 0.65:
        return [rng.choice(VERBS[out_type]), rng.choice(MODIFIERS), noun]
    if form < 0.85:
        return [noun, rng.choice(TAILS[out_type])]
    return [rng.choice(MODIFIERS), noun, rng.choice(TAILS[out_type])]
