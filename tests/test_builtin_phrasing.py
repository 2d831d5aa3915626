"""Names that do not leak the composition, phrasing that varies, and the held-out phrasing split."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict

import pytest

from hrmcode.benchmarks.builtin.families import BY_NAME, FAMILIES
from hrmcode.benchmarks.builtin.generate import generate
from hrmcode.benchmarks.builtin.names import vocabulary
from hrmcode.benchmarks.builtin.phrasing import (
    CHAINS,
    OPENINGS,
    OPENINGS_HELD,
    SLOT,
    WORDING,
    Wording,
    phrase,
)
from hrmcode.data.batching import build_examples
from hrmcode.records import Task
from hrmcode.tokenizer import CodeTokenizer
from hrmcode.train.trainer import split_tasks

FAMILY_NAMES = sorted(f.name for f in FAMILIES)


@pytest.fixture(scope="module")
def big() -> list[Task]:
    return generate(seed=11, n=3000).tasks


def _families_in_name(task: Task) -> set[str]:
    name = task.signature.name
    return {f for f in task.meta["families"] if f in name}


def test_no_task_of_depth_two_or_more_has_a_name_containing_two_of_its_families(big: list[Task]) -> None:
    deep = [t for t in big if t.meta["depth"] >= 2]
    assert len(big) == 3000 and len(deep) > 2000
    offenders = [(t.signature.name, t.meta["structure"]) for t in deep if len(_families_in_name(t)) >= 2]
    assert not offenders, offenders[:5]
    # Stronger: no name mentions any of its own primitives, at any depth.
    assert not [t.signature.name for t in big if _families_in_name(t)]


def test_no_vocabulary_word_contains_a_family_name() -> None:
    # Substrings too: "tally" would hide "all", "summary" "sum", "counter" "count".
    clashes = sorted((w, f) for w in vocabulary() for f in FAMILY_NAMES if f in w)
    assert not clashes, clashes


def test_names_are_independent_of_the_structure(big: list[Task]) -> None:
    names_of: dict[str, set[str]] = defaultdict(set)
    structures_of: dict[str, set[str]] = defaultdict(set)
    for t in big:
        names_of[t.meta["structure"]].add(t.signature.name)
        structures_of[t.signature.name].add(t.meta["structure"])
    tasks_of = Counter(t.meta["structure"] for t in big)
    repeated = {s: n for s, n in names_of.items() if tasks_of[s] >= 3}
    assert repeated
    # Tasks of one structure get different names ...
    assert sum(len(n) >= 2 for n in repeated.values()) >= 0.9 * len(repeated)
    # ... and one name serves several structures.
    assert max(len(s) for s in structures_of.values()) >= 3
    assert sum(len(s) >= 2 for s in structures_of.values()) >= 50


def test_names_are_snake_case_words_and_each_language_writes_its_convention(big: list[Task]) -> None:
    for t in big[:300]:
        name = t.signature.name
        assert re.fullmatch(r"[a-z]+(_[a-z]+)+", name), name
        camel = name.split("_")[0] + "".join(w.capitalize() for w in name.split("_")[1:])
        for lang in ("javascript", "java", "go"):
            assert camel + "(" in t.starter_code[lang]
        for lang in ("python", "cpp", "rust"):
            assert name + "(" in t.starter_code[lang]


def _wordings(family: str, n: int = 12) -> list[Wording]:
    rng = random.Random(family)
    return [WORDING[family](BY_NAME[family].sample(rng)) for _ in range(n)]


def test_every_family_has_many_phrasings_of_both_forms_and_held_out_ones() -> None:
    assert set(WORDING) == set(BY_NAME)
    for family in WORDING:
        for w in _wordings(family):
            assert len(w.do) >= 3 and len(w.np) >= 2, family
            assert w.do_held and w.np_held, family
            assert all(SLOT not in p for p in w.do + w.do_held), family
            assert all(p.count(SLOT) == 1 for p in w.np + w.np_held), family
            assert not set(w.do_held + w.np_held) & set(w.do + w.np), family
    ways = [c for c in CHAINS if not c.heldout]
    assert len(ways) >= 6 and {c.form for c in ways} == {"do", "np", "do_np"}
    assert len([c for c in CHAINS if c.heldout]) >= 3
    # One-sentence forms without "Start from ..., then ...".
    assert any(c.form == "np" and not c.opening for c in ways)


def test_statements_vary_and_include_one_sentence_forms(big: list[Task]) -> None:
    chains = defaultdict(int)
    for t in big:
        chains[t.meta["phrasing"]["chain"]] += 1
    assert all(chains[c.id] > 0 for c in CHAINS), dict(chains)
    one_sentence = [t for t in big if t.meta["phrasing"]["chain"] == "return_np_plain"]
    depth1 = [t for t in big if t.meta["depth"] == 1]
    assert sum(t.meta["phrasing"]["chain"] == "return_np_plain" for t in depth1) >= 0.25 * len(depth1)
    for t in one_sentence:
        assert t.prompt.startswith("Return ") and t.prompt.count(". ") == 0 and "\n" not in t.prompt
    # One fixed task is worded in many ways (the previous generator had 3 openings × 2 phrases = 6).
    fields = {"name": "f", "params": "a list of integers nums", "ret": "an integer"}
    for steps in ([("sum", {})], [("filter", {"op": "even"}), ("sum", {})]):
        texts = {phrase(random.Random(i), steps, "nums", heldout=False, opening_fields=fields).text
                 for i in range(400)}
        assert len(texts) >= 40, (steps, len(texts))


def test_nested_noun_phrases_only_where_the_outer_step_changes_the_type(big: list[Task]) -> None:
    nested = [t for t in big if t.meta["phrasing"]["chain"] in ("return_np", "return_np_plain", "give_back_np")
              and t.meta["depth"] >= 2]
    assert nested
    for t in nested:
        assert t.meta["depth"] == 2
        second = BY_NAME[t.meta["families"][1]]
        assert second.in_type != second.out_type, t.prompt


def test_the_heldout_phrasing_split_uses_only_held_out_templates_and_no_other_split_uses_any(big) -> None:
    held_chains = {c.id for c in CHAINS if c.heldout}
    held_openings = {i for i, _ in OPENINGS_HELD}
    train_openings = {i for i, _ in OPENINGS}
    phrasing_split = [t for t in big if t.meta["split"] == "heldout_phrasing"]
    assert len(phrasing_split) >= 0.05 * len(big)
    for t in big:
        ph = t.meta["phrasing"]
        held = t.meta["split"] == "heldout_phrasing"
        assert ph["heldout"] is held
        assert (ph["chain"] in held_chains) is held
        assert ph["opening"] in (held_openings if held else train_openings)
        assert all(("_held" in i) is held for i in ph["steps"])
    # Ordinary compositions and depths: only the wording is new.
    assert max(t.meta["depth"] for t in phrasing_split) <= 5


def _fragments(text: str, min_words: int = 3) -> list[str]:
    """Literal pieces of a template between its slots, long enough to be distinctive."""
    parts = re.split(r"\{[a-z_]+\}|@|\x00", text)
    return [p.strip(" ,.:\n") for p in parts if len(p.strip(" ,.:\n").split()) >= min_words]


def test_held_out_templates_never_appear_in_training_examples(big: list[Task]) -> None:
    train, probe = split_tasks(big)
    assert train and probe
    assert not [t for t in train + probe if t.meta["phrasing"]["heldout"]]
    langs = ("python", "rust")
    tok = CodeTokenizer.train([t.prompt for t in train[:300]] + [t.reference["python"] for t in train[:300]], 512)
    examples, _ = build_examples(train, tok, langs, mode="causal", max_len=10_000)
    assert len(examples) == 2 * len(train)
    # What the model is trained on, decoded back from its tokens.
    texts = "\x00".join(tok.decode(ex.ids[: ex.prefix_len]) for ex in examples)
    assert train[0].prompt.split("\n")[0] in texts
    pieces = [c.render("\x00", ["\x00", "\x00"]) for c in CHAINS if c.heldout]
    pieces += [t for _, t in OPENINGS_HELD if t]
    for family in WORDING:
        for w in _wordings(family):
            pieces += w.do_held + w.np_held
    fragments = {f for p in pieces for f in _fragments(p)}
    assert len(fragments) > 200
    leaked = sorted(f for f in fragments if f in texts)
    assert not leaked, leaked[:10]
