"""Task records → tokenised training examples → fixed-shape batches, with a resumable slot sampler.

Examples: one per (task, language) that has a reference solution, in the layout of
:mod:`hrmcode.tokenizer` with the prompt text of :mod:`hrmcode.prompts`. An example longer than
the model allows is skipped and *counted* (:class:`BuildReport`), never silently dropped.

Sampling: deep supervision keeps a sample in its batch slot until ACT halts it, so slots consume
examples at different rates. Each slot of the global batch therefore owns a deterministic stream:
the k-th example of slot ``i`` is position ``k·B + i`` of a seeded permutation of the pool (a new
permutation per epoch). A slot needs no other slot to know its next example, so the data position
is just the B counters: world-size independent and exactly resumable. Without ACT every slot
advances every step and this is an ordinary shuffled epoch over global batches.

Length grouping (``data.group_by_length``, G batches): each epoch's permutation is cut into windows
of G global batches; inside a window the examples are sorted by length, cut into batches, and the
batches shuffled. A batch is padded to its longest row, so similar lengths waste less compute on
padding, while each epoch still visits every example once in a seeded order.

Curriculum (``data.curriculum``): the pool is the examples whose difficulty is at most the depth
that ``data.curriculum_schedule`` allows at the current fraction of training.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hrmcode.prompts import prompt_text
from hrmcode.records import Task, read_jsonl
from hrmcode.tokenizer import CanvasExample, CausalExample, CodeTokenizer

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Example:
    task_id: str
    language: str
    difficulty: int
    ids: tuple[int, ...]
    prefix_len: int
    slot_targets: tuple[int, ...] | None = None  # canvas mode only

    @property
    def n_target_tokens(self) -> int:
        return len(self.slot_targets) if self.slot_targets is not None else len(self.ids) - self.prefix_len

    def as_tokenizer_example(self) -> CausalExample | CanvasExample:
        if self.slot_targets is None:
            return CausalExample(ids=list(self.ids), prefix_len=self.prefix_len)
        return CanvasExample(ids=list(self.ids), prefix_len=self.prefix_len, slot_targets=list(self.slot_targets))


@dataclass
class BuildReport:
    examples: int = 0
    skipped_too_long: int = 0
    skipped_no_reference: int = 0
    per_language: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        langs = ", ".join(f"{k} {v}" for k, v in sorted(self.per_language.items()))
        return (f"{self.examples} examples ({langs}); skipped {self.skipped_too_long} too long, "
                f"{self.skipped_no_reference} without a reference in the language")


def difficulty_of(task: Task) -> int:
    """Integer difficulty (the builtin suite's composition depth); non-integers count as 1."""
    d = task.difficulty
    if isinstance(d, int):
        return d
    if isinstance(d, str) and d.strip().isdigit():
        return int(d)
    return 1


def split_of(task: Task) -> str:
    return str((task.meta or {}).get("split", "train"))


def load_tasks(path: str | Path, *, skip_bad: bool = False) -> list[Task]:
    """Tasks from a JSONL file, or from a directory (its ``tasks.jsonl``, else every ``*.jsonl``)."""
    path = Path(path)
    if path.is_dir():
        files = [path / "tasks.jsonl"] if (path / "tasks.jsonl").exists() else sorted(path.glob("*.jsonl"))
        if not files:
            raise FileNotFoundError(f"{path}: no tasks.jsonl or *.jsonl files (run `hrmcode data build`)")
    elif path.exists():
        files = [path]
    else:
        raise FileNotFoundError(f"{path}: no such file or directory")
    tasks: list[Task] = []
    for f in files:
        recs, rep = read_jsonl(f, Task, skip_bad=skip_bad)
        if rep.skipped:
            log.warning("%s: skipped %d bad lines (first: %s)", f, len(rep.skipped), rep.skipped[0])
        tasks.extend(recs)
    return tasks


def build_examples(tasks: Iterable[Task], tokenizer: CodeTokenizer, languages: Sequence[str], *, mode: str,
                   max_len: int, canvas_slots: int = 0) -> tuple[list[Example], BuildReport]:
    """One example per (task, language) with a reference, in task order then language order."""
    rep = BuildReport()
    out: list[Example] = []
    for task in tasks:
        for lang in languages:
            code = (task.reference or {}).get(lang)
            if not code:
                rep.skipped_no_reference += 1
                continue
            text = prompt_text(task, lang)
            if mode == "canvas":
                try:
                    ce = tokenizer.encode_canvas(lang, text, code, canvas_slots)
                except ValueError:  # the code does not fit in the canvas
                    rep.skipped_too_long += 1
                    continue
                ex = Example(task.task_id, lang, difficulty_of(task), tuple(ce.ids), ce.prefix_len,
                             tuple(ce.slot_targets))
            else:
                c = tokenizer.encode_causal(lang, text, code)
                ex = Example(task.task_id, lang, difficulty_of(task), tuple(c.ids), c.prefix_len)
            if len(ex.ids) > max_len:
                rep.skipped_too_long += 1
                continue
            out.append(ex)
            rep.per_language[lang] = rep.per_language.get(lang, 0) + 1
    rep.examples = len(out)
    return out, rep


def batch_length(examples: Sequence[Example], multiple: int = 8) -> int:
    """The fixed sequence length for a run: the longest example rounded up to ``multiple``.

    Fixed because a sample's recurrent carry (B, T, d) lives across steps while new samples join.
    """
    if not examples:
        raise ValueError("no training examples: check data.path, data.languages and model.max_seq_len")
    longest = max(len(e.ids) for e in examples)
    return -(-longest // multiple) * multiple


def collate(examples: Sequence[Example], pad_id: int, length: int) -> Any:
    """A model Batch (``hrmcode.model.batch``) of fixed ``length``."""
    from hrmcode.model.batch import canvas_batch, causal_batch

    tok = [e.as_tokenizer_example() for e in examples]
    if examples and examples[0].slot_targets is not None:
        return canvas_batch(tok, pad_id, length)  # type: ignore[arg-type]
    return causal_batch(tok, pad_id, length)  # type: ignore[arg-type]


def curriculum_depth(fraction: float, schedule: Sequence[tuple[float, int]]) -> int | None:
    """Max difficulty allowed at ``fraction`` of training: the last schedule entry that has started."""
    allowed = None
    for start, depth in sorted(schedule):
        if fraction >= start:
            allowed = depth
    return allowed


class SlotSampler:
    """Deterministic per-slot example streams (see the module docstring)."""

    def __init__(self, examples: Sequence[Example], global_batch: int, seed: int, *,
                 schedule: Sequence[tuple[float, int]] | None = None, group: int = 0) -> None:
        if not examples:
            raise ValueError("no training examples")
        self.difficulty = [e.difficulty for e in examples]
        self.lengths = [len(e.ids) for e in examples]
        self.group = group
        self.global_batch = global_batch
        self.seed = seed
        self.schedule = list(schedule) if schedule else None
        self.counters = [0] * global_batch
        self._pools: dict[int | None, list[int]] = {}
        self._perm_key: tuple[int | None, int] | None = None
        self._perm: list[int] = []

    def pool(self, fraction: float) -> tuple[int | None, list[int]]:
        depth = curriculum_depth(fraction, self.schedule) if self.schedule else None
        if depth not in self._pools:
            idx = [i for i, d in enumerate(self.difficulty) if depth is None or d <= depth]
            if not idx:  # a schedule that starts below every task's depth: use the easiest ones
                lo = min(self.difficulty)
                idx = [i for i, d in enumerate(self.difficulty) if d <= lo]
                log.warning("curriculum depth %s admits no example; using depth %d", depth, lo)
            self._pools[depth] = idx
        return depth, self._pools[depth]

    def _permutation(self, depth: int | None, epoch: int, pool: list[int]) -> list[int]:
        key = (depth, epoch)
        if self._perm_key != key:
            mixed = (self.seed * 1_000_003 + (0 if depth is None else depth + 1) * 10_007 + epoch) % 2**63
            g = torch.Generator().manual_seed(mixed)
            self._perm = torch.randperm(len(pool), generator=g).tolist()
            if self.group > 1:
                self._perm = self._grouped(self._perm, pool, epoch, g)
            self._perm_key = key
        return self._perm

    def _grouped(self, perm: list[int], pool: list[int], epoch: int, g: torch.Generator) -> list[int]:
        """``perm`` with each window of ``group`` batches sorted by length and its batches shuffled.
        Windows start where this epoch's global batches start (an epoch need not hold whole batches:
        its first ``head`` positions finish the batch the previous epoch began)."""
        B = self.global_batch
        head = (-epoch * len(pool)) % B
        out = perm[:head]
        for w in range(head, len(perm), B * self.group):
            window = sorted(perm[w:w + B * self.group], key=lambda i: self.lengths[pool[i]])
            batches = [window[j:j + B] for j in range(0, len(window), B)]
            for b in torch.randperm(len(batches), generator=g).tolist():
                out.extend(batches[b])
        return out

    def next_for_slot(self, slot: int, fraction: float = 0.0) -> int:
        """The next example index for ``slot``; advances that slot's counter."""
        depth, pool = self.pool(fraction)
        g = self.counters[slot] * self.global_batch + slot
        self.counters[slot] += 1
        epoch, pos = divmod(g, len(pool))
        return pool[self._permutation(depth, epoch, pool)[pos]]

    def state_dict(self) -> dict[str, Any]:
        return {"counters": list(self.counters), "global_batch": self.global_batch, "seed": self.seed}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        if sd["global_batch"] != self.global_batch:
            raise ValueError(f"checkpoint was trained with train.batch_size={sd['global_batch']}, "
                             f"this config has {self.global_batch}: keep the global batch to resume")
        self.counters = [int(c) for c in sd["counters"]]
