"""The outcome cache (``cache_dir``): a second call answers from it; an entry a crash truncated is a
miss, evaluated again; timeouts are never cached."""

from __future__ import annotations

from pathlib import Path

from execute_fixtures import FIXTURES, TASK

from hrmcode.execute import ExecConfig, Limits, evaluate_samples
from hrmcode.records import Sample

CFG = ExecConfig(run=Limits(wall_s=2.0, memory_mb=256))
KINDS = ("pass", "wrong_answer", "compile_error", "runtime_error", "timeout")


def _samples() -> list[Sample]:
    return [Sample(task_id=TASK.task_id, language="python", solution=FIXTURES["python"][k]) for k in KINDS]


def test_a_second_call_answers_from_the_cache_and_a_truncated_entry_is_a_miss(tmp_path: Path) -> None:
    first = evaluate_samples([TASK], _samples(), cache_dir=tmp_path, config=CFG)
    assert [r.verdict.value for r in first] == list(KINDS)
    entries = sorted((tmp_path / "results").rglob("*.json"))
    assert len(entries) == len(KINDS) - 1  # the timeout is not cached
    assert not list((tmp_path / "results").rglob("*.tmp")), "temp files left behind"

    second = evaluate_samples([TASK], _samples(), cache_dir=tmp_path, config=CFG)
    assert [r.verdict.value for r in second] == list(KINDS)
    assert [r.model_dump().get("mode") for r in second] == ["cache"] * 4 + ["isolated"]

    entries[0].write_text(entries[0].read_text()[:10])  # what a crash mid-write could leave
    third = evaluate_samples([TASK], _samples(), cache_dir=tmp_path, config=CFG)
    assert [r.verdict.value for r in third] == list(KINDS)
    assert sum(r.model_dump().get("mode") != "cache" for r in third) == 2  # the truncated one and the timeout
