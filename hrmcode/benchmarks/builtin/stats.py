"""Statistics of a generated suite: counts per depth, family, split and language, token lengths.

Lengths are measured in tokens of the default tokenizer: the one given, or else a byte-level BPE
trained (as a training run does when ``tokenizer.path`` is unset) on the suite's train split.
"""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from hrmcode.records import Task, read_jsonl


def load_suite(directory: str | Path, split: str | None = None) -> list[Task]:
    """The tasks of a built suite (all of them, or one split's)."""
    directory = Path(directory)
    path = directory / f"{split or 'tasks'}.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file (build the suite with `hrmcode data build --out {directory}`)")
    tasks, _ = read_jsonl(path, Task)
    return tasks


def _summary(lengths: list[int]) -> dict[str, float]:
    if not lengths:
        return {"mean": 0.0, "p50": 0.0, "p95": 0.0, "max": 0.0}
    ordered = sorted(lengths)
    return {"mean": round(statistics.fmean(ordered), 1), "p50": float(ordered[len(ordered) // 2]),
            "p95": float(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]), "max": float(ordered[-1])}


def suite_stats(tasks: list[Task], tokenizer: Any | None = None, vocab_size: int = 4096) -> dict[str, Any]:
    """Counts and token-length summaries; ``tokenizer`` is a hrmcode.tokenizer.CodeTokenizer or None."""
    from hrmcode.tokenizer import CodeTokenizer

    if tokenizer is None:
        train = [t for t in tasks if t.meta.get("split") == "train"] or tasks
        texts = [t.prompt for t in train] + [code for t in train for code in t.reference.values()]
        tokenizer = CodeTokenizer.train(texts, vocab_size=vocab_size)
    languages = sorted({lang for t in tasks for lang in t.reference})
    prompt_lengths = [len(x) for x in tokenizer.encode_batch([t.prompt for t in tasks])]
    solution = {}
    for lang in languages:
        codes = [t.reference[lang] for t in tasks if lang in t.reference]
        solution[lang] = _summary([len(x) for x in tokenizer.encode_batch(codes)])
    return {
        "tasks": len(tasks),
        "depth": {str(k): v for k, v in sorted(Counter(t.meta.get("depth", t.difficulty) for t in tasks).items())},
        "split": dict(sorted(Counter(t.meta.get("split", "?") for t in tasks).items())),
        "family": dict(sorted(Counter(f for t in tasks for f in t.meta.get("families", [])).items())),
        "language": {lang: sum(lang in t.reference for t in tasks) for lang in languages},
        "tokenizer_vocab": tokenizer.vocab_size,
        "prompt_tokens": _summary(prompt_lengths),
        "solution_tokens": solution,
    }
