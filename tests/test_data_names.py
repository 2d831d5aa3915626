"""Renamed copies of training tasks (data.rename_copies): the function's name changes everywhere it
occurs, in each language's convention, and nothing else does — the renamed references still pass
their tests in all six languages, run by the real toolchains."""

from __future__ import annotations

import re

import pytest

from hrmcode.benchmarks.builtin.generate import generate
from hrmcode.data.names import rename_task, renamed_copies, statement_words
from hrmcode.execute import evaluate_samples
from hrmcode.languages import get_language
from hrmcode.records import LANGUAGES, Sample


def _mentions(text: str, ident: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(ident)}(?![A-Za-z0-9_])", text) is not None


@pytest.mark.parametrize("kind", ["pseudo", "words"])
def test_renamed_copies_change_only_the_name_and_still_pass_in_six_languages(kind: str) -> None:
    tasks = [t for t in generate(3, 40).tasks if t.signature][:12]
    copies = renamed_copies(tasks, 2, seed=0, names=kind)
    assert len(copies) == 2 * len(tasks)
    assert renamed_copies(tasks, 2, seed=0, names=kind) == copies  # deterministic under the seed
    assert renamed_copies(tasks, 2, seed=1, names=kind) != copies
    names = {c.signature.name for c in copies}
    assert len(names) == len(copies) and not names & {t.signature.name for t in tasks}
    if kind == "words":  # two to four words of the statements, never a word from elsewhere
        vocabulary = set(statement_words(tasks))
        assert all(2 <= len(n.split("_")) <= 4 and set(n.split("_")) <= vocabulary for n in names), names
    by_id = {t.task_id: t for t in tasks}
    for c in copies:
        src = by_id[c.task_id.split("~")[0]]
        assert c.task_id != src.task_id and c.meta["renamed_from"] == src.signature.name
        assert c.tests == src.tests and c.meta["split"] == src.meta["split"]
        for lang in LANGUAGES:
            old, new = (get_language(lang).ident(n) for n in (src.signature.name, c.signature.name))
            for field in ("starter_code", "reference"):
                text = getattr(c, field)[lang]
                assert not _mentions(text, old) and _mentions(text, new), (c.task_id, lang, field)
                # the same text once the names are put back: only the name changed
                assert text.replace(new, old) == getattr(src, field)[lang]
        assert not _mentions(c.prompt, src.signature.name)
    samples = [Sample(task_id=c.task_id, language=lang, solution=c.reference[lang]) for c in copies for lang in LANGUAGES]
    results = evaluate_samples(copies, samples)
    failed = [(r.task_id, r.language, r.verdict) for r in results if not r.passed]
    assert not failed, failed[:5]


def test_word_names_need_words_and_a_known_kind() -> None:
    tasks = [t for t in generate(3, 40).tasks if t.signature][:2]
    with pytest.raises(ValueError, match="must be one of"):
        renamed_copies(tasks, 1, seed=0, names="english")  # type: ignore[arg-type]
    bare = [t.model_copy(update={"prompt": "Do it."}) for t in tasks]  # no word of 3+ letters but one
    with pytest.raises(ValueError, match="at least 2 words"):
        renamed_copies(bare, 1, seed=0, names="words")


def test_a_name_inside_a_longer_identifier_is_left_alone() -> None:
    task = next(t for t in generate(3, 40).tasks if t.signature and t.signature.params)
    old = task.signature.name
    body = task.reference["python"].rstrip() + f"\n\n\ndef {old}_helper() -> int:\n    return 1\n"
    task = task.model_copy(update={"reference": {**task.reference, "python": body}})
    renamed = rename_task(task, "plain_name")
    assert f"def {old}_helper()" in renamed.reference["python"]
    assert "def plain_name(" in renamed.reference["python"]


def test_the_trainer_adds_the_renamed_copies_to_training_only(tmp_path) -> None:
    """data.rename_copies: N more training examples per task, each with its own name; the probe (val)
    keeps the suite's names."""
    from train_fixtures import tiny_config

    from hrmcode.train.distributed import DistInfo
    from hrmcode.train.trainer import prepare_run

    tasks = generate(3, 60).tasks
    counts = {}
    for n in (0, 2):
        cfg = tiny_config(data={"rename_copies": n, "max_depth": 2}, model={"max_seq_len": 2048})
        _, _, examples, probe = prepare_run(cfg, tmp_path / str(n), resume=False, tasks=tasks, tokenizer=None,
                                              info=DistInfo())
        counts[n] = (len(examples), len(probe), sorted({e.task_id for e in probe}))
    assert counts[0][0] > 0 and counts[2][0] == 3 * counts[0][0]
    assert counts[2][1:] == counts[0][1:] and counts[2][1] > 0 and not any("~rename" in t for t in counts[2][2])
