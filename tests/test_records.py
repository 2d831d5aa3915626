import json

import pytest

from hrmcode.records import RecordError, Sample, Task, read_jsonl, write_jsonl


def _task(**kw):
    base = {"task_id": "t1", "prompt": "Return the sum.", "kind": "function",
            "signature": {"name": "total", "params": [{"name": "xs", "type": "list[int]"}], "returns": "int"},
            "tests": [{"input": [[1, 2]], "output": 3}]}
    return {**base, **kw}


def test_round_trip_preserves_extra_fields(tmp_path):
    path = tmp_path / "tasks.jsonl"
    write_jsonl(path, [Task.model_validate(_task(extra_field={"a": 1}))])
    (task,), rep = read_jsonl(path, Task)
    assert task.model_extra["extra_field"] == {"a": 1}
    assert task.signature.params[0].type == "list[int]"
    assert rep.read == 1 and rep.skipped == []


def test_bad_lines_name_file_line_and_field(tmp_path):
    path = tmp_path / "samples.jsonl"
    good = {"task_id": "t1", "language": "rust", "solution": "fn f() {}"}
    lines = [json.dumps(good), "{not json", json.dumps({**good, "language": "cobol"}),
             json.dumps({"task_id": "t2", "language": "go"})]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordError, match=rf"{path}:2: <json>"):
        read_jsonl(path, Sample)
    samples, rep = read_jsonl(path, Sample, skip_bad=True)
    assert [s.task_id for s in samples] == ["t1"]
    assert len(rep.skipped) == 3
    assert f"{path}:3: language" in rep.skipped[1]
    assert f"{path}:4: solution: Field required" in rep.skipped[2]


def test_unknown_value_type_is_rejected(tmp_path):
    path = tmp_path / "tasks.jsonl"
    bad = _task()
    bad["signature"]["returns"] = "dict[str,int]"
    path.write_text(json.dumps(bad) + "\n")
    with pytest.raises(RecordError, match=r":1: signature\.returns: .*unknown value type"):
        read_jsonl(path, Task)
