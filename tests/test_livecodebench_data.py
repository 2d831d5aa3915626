"""LiveCodeBench data: shards and releases, lazy private tests, the refusing unpickler, date windows,
filters, errata, Task conversion, malformed records with file:line, and a fuzz of corrupted records."""

from __future__ import annotations

import base64
import json
import pickle
import random
import zlib
from pathlib import Path

import pytest

from hrmcode.benchmarks.livecodebench import data as lcb

FIX = Path(__file__).parent / "fixtures" / "livecodebench"


def _record_lines() -> list[str]:
    return (FIX / "test.jsonl").read_text().splitlines() + (FIX / "test2.jsonl").read_text().splitlines()


def _pack(payload: bytes) -> str:
    return base64.b64encode(zlib.compress(payload)).decode()


# ---- releases and files -------------------------------------------------------------------------


@pytest.mark.parametrize("release, shards", [
    ("release_v1", [1]), ("release_v2", [1, 2]), ("release_v6", [1, 2, 3, 4, 5, 6]), ("v2", [2]),
    ("v1_v3", [1, 2, 3]), ("v5_v6", [5, 6]), (None, [1, 2, 3, 4, 5, 6]), ("release_latest", [1, 2, 3, 4, 5, 6])])
def test_release_names_select_upstream_shards(release, shards):
    assert lcb.parse_release(release) == shards


@pytest.mark.parametrize("bad", ["v0", "release_v", "v3_v1", "latest", "v1-v2"])
def test_bad_release_names_the_flag(bad):
    with pytest.raises(ValueError, match="--release"):
        lcb.parse_release(bad)


def test_directory_release_resolves_shards_and_names_a_missing_one():
    assert [p.name for p in lcb.resolve_files(FIX, "release_v2")] == ["test.jsonl", "test2.jsonl"]
    assert [p.name for p in lcb.resolve_files(FIX, "v2")] == ["test2.jsonl"]
    with pytest.raises(FileNotFoundError, match="test3.jsonl"):
        lcb.resolve_files(FIX, "release_v3")
    with pytest.raises(ValueError, match="explicit files"):
        lcb.resolve_files([FIX / "test.jsonl"], "release_v1")


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *a, **kw):
        if name.startswith("pyarrow"):
            raise ImportError("no pyarrow")
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    f = tmp_path / "test.parquet"
    f.write_bytes(b"PAR1")
    with pytest.raises(RuntimeError, match="pyarrow"):
        list(lcb.iter_problems([f]))


# ---- records and private tests ------------------------------------------------------------------


def test_fixture_shards_load_with_kinds_and_lazy_private_tests():
    sel = lcb.load_problems(FIX, release="release_v2")
    ids = [p.question_id for p in sel.problems]
    assert ids == ["abc900_a", "abc900_b", "3900", "3901", "1900_A", "abc311_c", "abc905_a", "abc905_b"]
    by = {p.question_id: p for p in sel.problems}
    assert by["abc900_a"].kind == "stdin" and by["3900"].kind == "function"
    assert by["3900"].func_name == "minimumKSum"
    # Lazy: the record keeps where its line is, not the blob.
    assert by["abc900_b"].private.offset is not None and by["abc900_b"].private.text is None
    # base64 → zlib → pickle(str of JSON) and plain JSON both decode, public tests first.
    assert [t["input"] for t in by["abc900_b"].tests()] == ["2\n1 2\n3 4\n", "3\n1 1\n2 2\n3 3\n", "1\n-5 5\n"]
    assert by["abc900_a"].private_tests()[1]["output"] == "2000000000\n"
    assert by["3900"].private_tests() == [{"input": "[5]\n1", "output": "5", "testtype": "functional"},
                                          {"input": "[9, 8, 7, 1]\n3", "output": "16", "testtype": "functional"}]


def test_encoded_blob_round_trips_and_is_upstreams_layering():
    tests = [{"input": "1\n", "output": "2\n", "testtype": "stdin"}]
    raw = lcb.encode_private_tests(tests)
    # The exact layering, undone by hand: base64, zlib, pickle protocol 4 of one str.
    payload = pickle.loads(zlib.decompress(base64.b64decode(raw)))
    assert isinstance(payload, str) and json.loads(payload) == tests
    assert pickle.loads(zlib.decompress(base64.b64decode(raw))) == json.dumps(tests)
    assert zlib.decompress(base64.b64decode(raw))[:2] == b"\x80\x04"  # protocol 4
    assert lcb.decode_private_tests(raw) == tests


def test_unpickler_refuses_every_class_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()  # protocol 0: os.system("touch …")
    with pytest.raises(lcb.LCBFormatError, match=r"x\.jsonl:7: private_test_cases: bad pickle: refused to load class os\.system"):
        lcb.decode_private_tests(_pack(evil), "x.jsonl:7")
    assert not marker.exists()

    class Evil:
        def __reduce__(self):
            return (print, ("never",))

    with pytest.raises(lcb.LCBFormatError, match="refused to load class builtins.print"):
        lcb.decode_private_tests(_pack(pickle.dumps(Evil(), protocol=4)))
    # Plain data that is not one str is refused too.
    with pytest.raises(lcb.LCBFormatError, match="holds a list"):
        lcb.decode_private_tests(_pack(pickle.dumps([{"input": "", "output": ""}], protocol=4)))


@pytest.mark.parametrize("raw, problem", [
    ("not base64 !!", "neither a JSON list nor valid base64"),
    (base64.b64encode(b"not zlib").decode(), "bad zlib data"),
    (_pack(b"\x80\x04\x95garbage"), "bad pickle"),
    (_pack(pickle.dumps("[{oops", protocol=4)), "the pickled text is bad JSON"),
    ("[{\"input\": 1, \"output\": \"x\"}]", r"\[0\]\.input: missing or not a string"),
    ("[1, 2", "bad JSON"),
])
def test_bad_private_tests_name_record_and_field(raw, problem):
    with pytest.raises(lcb.LCBFormatError, match=rf"^f\.jsonl:3: private_test_cases.*{problem}"):
        lcb.decode_private_tests(raw, "f.jsonl:3")


# ---- window, filters, errata --------------------------------------------------------------------


def _ids(**window) -> list[str]:
    return [p.question_id for p in lcb.load_problems(FIX, release="release_v2", window=lcb.Window(**window)).problems]


def test_date_window_is_inclusive_at_midnight_like_upstream():
    # abc905_b is at 00:00 on 2023-10-01 (inside); abc905_a at 18:30 the same day (outside).
    assert _ids(start_date="2023-10-01", end_date="2023-10-01") == ["abc905_b"]
    assert _ids(start_date="2023-10-01") == ["abc905_a", "abc905_b"]
    # The start date is inclusive: problems at 00:00 on 2023-05-06 are in.
    assert _ids(start_date="2023-05-06", end_date="2023-05-06") == ["abc900_a", "abc900_b"]
    # 3901 is at 14:30 on 2023-08-05: an end date of 2023-08-05 excludes it, 2023-08-06 includes it.
    assert "3901" not in _ids(end_date="2023-08-05")
    assert "3901" in _ids(end_date="2023-08-06")


def test_platform_and_difficulty_filters_and_bad_values_name_the_flag():
    assert _ids(platforms=("leetcode",)) == ["3900", "3901"]
    assert _ids(difficulties=("hard",)) == ["1900_A"]
    assert _ids(platforms=("atcoder",), difficulties=("easy",)) == ["abc900_a", "abc905_a", "abc905_b"]
    with pytest.raises(ValueError, match="--platform"):
        lcb.Window(platforms=("topcoder",))
    with pytest.raises(ValueError, match="--difficulty"):
        lcb.Window(difficulties=("insane",))
    with pytest.raises(ValueError, match="--start-date '2023/01/01'"):
        lcb.Window(start_date="2023/01/01")
    with pytest.raises(ValueError, match="after --end-date"):
        lcb.Window(start_date="2024-01-02", end_date="2024-01-01")


def test_errata_are_kept_and_flagged():
    sel = lcb.load_problems(FIX, release="release_v2")
    assert sel.errata == {"abc311_c": "multiple valid outputs"}
    task = lcb.to_task(next(p for p in sel.problems if p.question_id == "abc311_c"))
    assert task.meta["errata"] == "multiple valid outputs"


def test_to_task_functional_and_stdin():
    by = {p.question_id: p for p in lcb.load_problems(FIX, release="v1").problems}
    t = lcb.to_task(by["3900"])
    # A LeetCode-style method is its own kind (issue 17: `function` is the typed signature only).
    assert (t.task_id, t.source, t.kind, t.meta["func_name"]) == ("3900", "livecodebench", "method", "minimumKSum")
    assert [(c.input, c.output) for c in t.tests] == [([[4, 3, 2, 3, 1], 2], 3), ([[5], 1], 5), ([[9, 8, 7, 1], 3], 16)]
    assert t.starter_code["python"].startswith("class Solution:")
    s = lcb.to_task(by["abc900_a"])
    assert s.kind == "stdin" and s.tests[0].input == "1 2\n" and s.tests[0].output == "3\n"
    assert s.meta["compare"] == "lcb"  # the record names its rule
    assert s.difficulty == "easy" and s.meta["platform"] == "atcoder" and s.meta["public_tests"] == 2
    assert len(lcb.to_task(by["abc900_a"], with_private=False).tests) == 2


# ---- malformed records ---------------------------------------------------------------------------


def _mutate(rec: dict, how: str, rng: random.Random) -> str:
    """One corrupted record line; every mutation here makes the record unusable."""
    r = dict(rec)
    if how == "truncate":
        line = json.dumps(r)
        return line[: rng.randrange(1, len(line) - 1)]
    if how == "missing":
        del r[rng.choice(lcb.STRING_FIELDS)]
    elif how == "not_string":
        r[rng.choice(lcb.STRING_FIELDS)] = rng.choice([1, None, [], {}, 2.5, True])
    elif how == "bad_date":
        r["contest_date"] = rng.choice(["yesterday", "2023-13-01", "", "2023-02-30T00:00:00"])
    elif how == "bad_public":
        r["public_test_cases"] = rng.choice(["[{", "{}", "[1]", '[{"input": 3, "output": "x"}]', "nan"])
    elif how == "bad_metadata":
        r["metadata"] = rng.choice(["{", "[]", '{"func_name": 3}', '{"func_name": "not a name"}'])
    elif how == "bad_base64":
        r["private_test_cases"] = "%%" + lcb.encode_private_tests([])[2:]
    elif how == "bad_zlib":
        raw = bytearray(base64.b64decode(lcb.encode_private_tests([{"input": "1", "output": "1"}])))
        raw[rng.randrange(2, len(raw) - 4)] ^= 0xFF
        r["private_test_cases"] = base64.b64encode(bytes(raw[:-4])).decode()
    elif how == "evil_pickle":
        r["private_test_cases"] = _pack(f"c{rng.choice(['os', 'subprocess', 'builtins'])}\n"
                                        f"{rng.choice(['system', 'call', 'eval'])}\n(S'x'\ntR.".encode())
    elif how == "not_json_object":
        return json.dumps(rng.choice([[1, 2], "str", 3, None]))
    elif how == "empty_id":
        r["question_id"] = "  "
    return json.dumps(r)


MUTATIONS = ("truncate", "missing", "not_string", "bad_date", "bad_public", "bad_metadata", "bad_base64",
             "bad_zlib", "evil_pickle", "not_json_object", "empty_id")


def test_fuzz_1200_corrupted_records_every_one_reported_with_its_line(tmp_path):
    rng = random.Random(7)
    good = [json.loads(x) for x in _record_lines()]
    lines, bad_lines = [], set()
    for i in range(1500):
        base = dict(good[i % len(good)])
        base["question_id"] = f"q{i}"
        if i % 5 == 4:
            lines.append(json.dumps(base))  # every fifth record is valid and must come through
        else:
            lines.append(_mutate(base, MUTATIONS[i % len(MUTATIONS)], rng))
            bad_lines.add(i + 1)
    assert len(bad_lines) >= 1000
    path = tmp_path / "test.jsonl"
    path.write_text("\n".join(lines) + "\n")
    rep = lcb.LoadReport()
    reported: set[int] = set()
    ok_ids = []
    for p in lcb.iter_problems([path], skip_bad=True, report=rep):
        try:
            p.tests()  # private tests fail only when decoded: still with the record's line
            ok_ids.append(p.question_id)
        except lcb.LCBFormatError as e:
            reported.add(int(str(e).split(":")[1]))
    for msg in rep.skipped:
        assert msg.startswith(f"{path}:")
        field_and_problem = msg.split(":", 2)[2]
        assert ": " in field_and_problem.strip()  # file:line: field: problem
        reported.add(int(msg.split(":")[1]))
    assert reported == bad_lines
    assert len(ok_ids) == 1500 // 5


def test_first_bad_record_raises_without_skip_bad(tmp_path):
    lines = _record_lines()
    rec = json.loads(lines[0])
    del rec["difficulty"]
    path = tmp_path / "test.jsonl"
    path.write_text(lines[1] + "\n\n" + json.dumps(rec) + "\n")
    with pytest.raises(lcb.LCBFormatError, match=rf"^{path}:3: difficulty: missing$"):
        list(lcb.iter_problems([path]))
    sel = lcb.load_problems([path], skip_bad=True)
    assert len(sel.problems) == 1 and len(sel.report.skipped) == 1


def test_repeated_question_id_across_files_is_reported(tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_text(_record_lines()[0] + "\n")
    with pytest.raises(lcb.LCBFormatError, match="question_id: 'abc900_a' repeats"):
        lcb.load_problems([a, a])
