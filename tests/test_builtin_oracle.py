"""The oracle: every reference solution passes all its tests in all six languages, run by the real
compilers and runtimes through the execution harness. Any failure is a bug in the generator or a
renderer (or in the harness), and the message shows the task, the language and the evidence."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from hrmcode.benchmarks.builtin.generate import generate
from hrmcode.benchmarks.builtin.handwritten import handwritten_tasks
from hrmcode.execute import evaluate_samples
from hrmcode.records import LANGUAGES, Sample, Task


def _oracle(seed: int, n: int) -> tuple[int, float]:
    return _check(generate(seed, n).tasks)


def _check(tasks: list[Task]) -> tuple[int, float]:
    samples = [Sample(task_id=t.task_id, language=lang, solution=t.reference[lang])
               for t in tasks for lang in LANGUAGES]
    start = time.perf_counter()
    results = evaluate_samples(tasks, samples)
    elapsed = time.perf_counter() - start
    failures = [(r, s) for r, s in zip(results, samples, strict=True) if not r.passed]
    by_lang = Counter(r.language for r, _ in failures)
    detail = "\n".join(f"{r.task_id} [{r.language}] {r.verdict}: {r.model_dump(exclude={'task_id'})}\n{s.solution}"
                       for r, s in failures[:5])
    assert not failures, f"{len(failures)} of {len(samples)} references fail ({dict(by_lang)}):\n{detail}"
    assert all(r.tests_total == len(t.tests) for r, t in zip(results, (t for t in tasks for _ in LANGUAGES),
                                                            strict=True))
    return len(samples), elapsed


def test_every_reference_of_a_300_task_suite_passes_in_all_six_languages() -> None:
    _oracle(seed=0, n=300)


def test_every_reference_of_the_handwritten_set_passes_in_all_six_languages() -> None:
    tasks = handwritten_tasks()
    assert len(tasks) >= 60
    _check(tasks)


@pytest.mark.slow
def test_every_reference_of_a_2000_task_suite_passes_in_all_six_languages() -> None:
    _oracle(seed=1, n=2000)
