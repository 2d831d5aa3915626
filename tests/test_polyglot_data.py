"""Polyglot loader, prompts, reply parsing, skip re-enabling and output cleaning (no execution)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hrmcode.benchmarks.polyglot.data import (
    INSTRUCTIONS_ADDENDUM,
    TEST_FAILURES,
    PolyglotFormatError,
    load_exercise,
    load_exercises,
)
from hrmcode.benchmarks.polyglot.protocol import (
    apply_edits,
    clean_output,
    parse_whole_reply,
    prepare_run,
    read_samples,
)
from hrmcode.benchmarks.polyglot.toolchains import reenable_skipped
from hrmcode.records import RecordError

FIXTURES = Path(__file__).parent / "fixtures" / "polyglot"


def _copy_python(tmp_path: Path) -> Path:
    dst = tmp_path / "python" / "exercises" / "practice" / "digit-sum"
    shutil.copytree(FIXTURES / "python" / "exercises" / "practice" / "digit-sum", dst)
    return dst


def test_the_fixture_tree_loads_six_exercises_with_their_files():
    exs, rep = load_exercises(FIXTURES)
    assert rep.skipped == []
    assert [e.task_id for e in exs] == ["cpp/digit-sum", "go/digit-sum", "java/digit-sum", "javascript/digit-sum",
                                        "python/digit-sum", "rust/digit-sum"]
    by = {e.language: e for e in exs}
    assert by["cpp"].editable == ("digit_sum.cpp", "digit_sum.h")
    assert by["rust"].solution == ("src/lib.rs", "Cargo.toml")
    assert by["rust"].editable == ("src/lib.rs",)  # build files are never shown to the model
    assert by["rust"].file_list == "lib.rs"
    assert by["java"].file_list == "DigitSum.java"
    assert by["java"].editor == ("src/main/java/Digits.java",)
    assert by["go"].editor == ("cases_test.go",)
    assert by["java"].invalidator == ("build.gradle",)


def test_languages_and_names_select_exercises():
    exs, _ = load_exercises(FIXTURES, ["python", "rust"], names=["rust/digit-sum"])
    assert [e.task_id for e in exs] == ["rust/digit-sum"]
    with pytest.raises(ValueError, match="--languages: 'kotlin'"):
        load_exercises(FIXTURES, ["kotlin"])
    with pytest.raises(FileNotFoundError, match="no <lang>/exercises/practice"):
        load_exercises(FIXTURES / "python" / "exercises")
    # One language's directory is a track checkout of that language.
    assert [e.task_id for e in load_exercises(FIXTURES / "python")[0]] == ["python/digit-sum"]


def test_the_prompt_is_the_docs_concatenated_then_upstreams_addendum():
    ex = load_exercise(FIXTURES / "python" / "exercises" / "practice" / "digit-sum", "python")
    docs = ex.path / ".docs"
    expected_docs = ((docs / "introduction.md").read_text() + (docs / "instructions.md").read_text()
                     + (docs / "instructions.append.md").read_text())
    assert ex.instructions() == expected_docs
    assert ex.prompt() == expected_docs + (
        "\n####\n\nUse the above instructions to modify the supplied files: digit_sum.py\n"
        "Don't change the names of existing functions or classes, as they may be referenced from other code "
        "like unit tests, etc.\nOnly use standard libraries, don't suggest installing any packages.\n")
    assert ex.followup("FAILED x") == ("FAILED x\n####\n\nSee the testing errors above.\n"
                                       "The tests are correct, don't try and change them.\n"
                                       "Fix the code in digit_sum.py to resolve the errors.\n")
    cpp = load_exercise(FIXTURES / "cpp" / "exercises" / "practice" / "digit-sum", "cpp")
    assert cpp.prompt().endswith(INSTRUCTIONS_ADDENDUM.format(file_list="digit_sum.cpp digit_sum.h"))
    assert TEST_FAILURES.startswith("\n####\n")


def test_reference_files_land_on_the_solution_files():
    exs, _ = load_exercises(FIXTURES)
    refs = {e.language: e.reference_files() for e in exs}
    assert set(refs["cpp"]) == {"digit_sum.cpp", "digit_sum.h"}
    assert "int of(int n);" in refs["cpp"]["digit_sum.h"]
    assert set(refs["java"]) == {"src/main/java/DigitSum.java"}
    assert set(refs["javascript"]) == {"digit-sum.js"}
    assert set(refs["rust"]) == {"src/lib.rs"}
    assert set(refs["go"]) == {"digit_sum.go"} and set(refs["python"]) == {"digit_sum.py"}


def test_a_rust_cargo_example_replaces_cargo_toml(tmp_path):
    dst = tmp_path / "rust" / "exercises" / "practice" / "digit-sum"
    shutil.copytree(FIXTURES / "rust" / "exercises" / "practice" / "digit-sum", dst)
    (dst / ".meta" / "Cargo-example.toml").write_text("[package]\nname = \"digit_sum\"\n")
    cfg = json.loads((dst / ".meta" / "config.json").read_text())
    cfg["files"]["example"].append(".meta/Cargo-example.toml")
    (dst / ".meta" / "config.json").write_text(json.dumps(cfg))
    assert set(load_exercise(dst, "rust").reference_files()) == {"src/lib.rs", "Cargo.toml"}


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda cfg: cfg["files"].pop("test"), "python/digit-sum: .meta/config.json: files.test: missing"),
    (lambda cfg: cfg["files"].update(solution=[]), "files.solution: empty"),
    (lambda cfg: cfg["files"].update(solution=5), "files.solution: expected a list of relative paths (or one path)"),
    (lambda cfg: cfg["files"].update(example=["nope.py"]), "files.example: 'nope.py' does not exist"),
    (lambda cfg: cfg["files"].update(editor=["../x.py"]), "files.editor: '../x.py' leaves the exercise"),
    (lambda cfg: cfg.pop("files"), "python/digit-sum: .meta/config.json: files: missing"),
])
def test_config_errors_name_the_exercise_and_the_field(tmp_path, mutate, message):
    ex = _copy_python(tmp_path)
    cfg = json.loads((ex / ".meta" / "config.json").read_text())
    mutate(cfg)
    (ex / ".meta" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(PolyglotFormatError, match="^polyglot python/digit-sum: ") as err:
        load_exercises(tmp_path)
    assert message in str(err.value)
    exs, rep = load_exercises(tmp_path, skip_bad=True)
    assert exs == [] and len(rep.skipped) == 1 and message in rep.skipped[0]


def _track(tmp_path: Path) -> Path:
    """An Exercism track checkout (python's layout) built from the fixture: a practice exercise whose
    config leaves fields to the track's defaults and writes one as a plain string, and a concept one."""
    root = tmp_path / "exercism-python"
    practice = root / "exercises" / "practice" / "digit-sum"
    shutil.copytree(FIXTURES / "python" / "exercises" / "practice" / "digit-sum", practice)
    (practice / ".meta" / "config.json").write_text(json.dumps({"files": {"solution": "digit_sum.py"}}))
    concept = root / "exercises" / "concept" / "digit-tally"
    shutil.copytree(FIXTURES / "python" / "exercises" / "practice" / "digit-sum", concept)
    (concept / ".meta" / "example.py").rename(concept / ".meta" / "exemplar.py")
    (concept / ".meta" / "config.json").write_text(json.dumps({"files": {
        "solution": ["digit_sum.py"], "test": ["digit_sum_test.py"], "exemplar": [".meta/exemplar.py"],
        "editor": "digit_cases.py"}}))
    (root / "config.json").write_text(json.dumps({"slug": "python", "files": {
        "solution": ["%{snake_slug}.py"], "test": ["%{snake_slug}_test.py"], "example": [".meta/example.py"],
        "exemplar": [".meta/exemplar.py"]}}))
    return root


def test_an_exercism_track_checkout_loads_with_its_defaults_and_concept_exercises(tmp_path):
    root = _track(tmp_path)
    exs, rep = load_exercises(root)
    assert rep.skipped == []
    by = {e.name: e for e in exs}
    assert [e.task_id for e in exs] == ["python/digit-sum", "python/digit-tally"]
    ds = by["digit-sum"]
    # The exercise names its solution as a string; test and example come from the track's defaults.
    assert (ds.kind, ds.solution, ds.test, ds.example) == ("practice", ("digit_sum.py",), ("digit_sum_test.py",),
                                                          (".meta/example.py",))
    tally = by["digit-tally"]
    assert (tally.kind, tally.example, tally.editor) == ("concept", (".meta/exemplar.py",), ("digit_cases.py",))
    assert tally.reference_files() == {"digit_sum.py": tally.read(".meta/exemplar.py")}
    # The language comes from the track's config.json (not the directory's name); others select nothing.
    assert load_exercises(root, ["python"], names=["digit-tally"])[0][0].task_id == "python/digit-tally"
    with pytest.raises(FileNotFoundError, match="no <lang>/exercises/practice"):
        load_exercises(root, ["go"])
    (root / "config.json").write_text(json.dumps({"slug": "kotlin"}))
    with pytest.raises(ValueError, match="an Exercism track checkout of 'kotlin'"):
        load_exercises(root)


def test_track_defaults_fill_placeholders_and_javascript_references_import_their_siblings(tmp_path):
    root = tmp_path / "javascript"
    ex = root / "exercises" / "practice" / "lens-person"
    (ex / ".meta").mkdir(parents=True)
    (ex / ".docs").mkdir()
    (ex / ".docs" / "instructions.md").write_text("Lenses.\n")
    for name in ("lens-person.js", "lens-person.spec.js", "person.js"):
        (ex / name).write_text("export const x = 1;\n")
    (ex / ".meta" / "proof.ci.js").write_text("import { Person } from '../person';\nimport x from \"../person.js\";\n"
                                              "export const y = require( '../person');\n")
    (ex / ".meta" / "config.json").write_text(json.dumps({"files": {"editor": ["person.js"]}}))
    (root / "config.json").write_text(json.dumps({"files": {
        "solution": ["%{kebab_slug}.js"], "test": ["%{kebab_slug}.spec.js"], "example": [".meta/proof.ci.js"]}}))
    (e,), _ = load_exercises(root)
    assert (e.task_id, e.solution, e.test, e.editor) == ("javascript/lens-person", ("lens-person.js",),
                                                        ("lens-person.spec.js",), ("person.js",))
    assert e.reference_files() == {"lens-person.js": "import { Person } from './person';\nimport x from \"./person.js\";\n"
                                                     "export const y = require( './person');\n"}


def test_a_rust_cargo_example_is_part_of_the_reference_even_when_unlisted(tmp_path):
    dst = tmp_path / "rust" / "exercises" / "practice" / "digit-sum"
    shutil.copytree(FIXTURES / "rust" / "exercises" / "practice" / "digit-sum", dst)
    (dst / ".meta" / "Cargo-example.toml").write_text("[package]\nname = \"digit_sum\"\n")
    ex = load_exercise(dst, "rust")
    assert ex.example == (".meta/example.rs", ".meta/Cargo-example.toml")
    assert ex.reference_files()["Cargo.toml"] == "[package]\nname = \"digit_sum\"\n"


def test_bad_json_and_missing_instructions_are_named(tmp_path):
    ex = _copy_python(tmp_path)
    (ex / ".docs" / "instructions.md").unlink()
    with pytest.raises(PolyglotFormatError, match=r"python/digit-sum: \.docs/instructions\.md: missing"):
        load_exercise(ex, "python")
    (ex / ".meta" / "config.json").write_text("{nope")
    with pytest.raises(PolyglotFormatError, match=r"python/digit-sum: \.meta/config\.json: <json>"):
        load_exercise(ex, "python")


def test_skipped_tests_are_reenabled_as_upstream():
    java = ('    @Disabled("Remove to run test")\n    @Test\n    void a() {}\n\n    @Disabled\n    @Test\n'
            '    void b() {}\nimport org.junit.jupiter.api.Disabled;\n')
    out = reenable_skipped("java", "src/test/java/XTest.java", java)
    assert "@Disabled\n" not in out and '@Disabled("' not in out and out.count("@Test") == 2
    assert "import org.junit.jupiter.api.Disabled;" in out  # imports stay (unused imports compile)
    js = "xtest('a', f);\nxit('b', f);\ntest.skip('c', f);\nxdescribe('d', f);\nmytest('e');\n"
    assert reenable_skipped("javascript", "a.spec.js", js) == \
        "test('a', f);\nit('b', f);\ntest('c', f);\ndescribe('d', f);\nmytest('e');\n"
    rust = "#[test]\n#[ignore]\nfn a() {}\n"
    assert reenable_skipped("rust", "tests/a.rs", rust) == rust  # cargo test -- --include-ignored
    assert reenable_skipped("python", "a_test.py", "xtest(") == "xtest("


def test_whole_file_replies_become_edits():
    editable = ["digit_sum.cpp", "digit_sum.h"]
    reply = ("Here you go.\n\ndigit_sum.h\n```cpp\nint of(int n);\n```\n\n**digit_sum.cpp**\n```\nint of(int n) "
             "{ return n; }\n```\n")
    p = parse_whole_reply(reply, editable)
    assert not p.malformed
    assert p.edits == {"digit_sum.h": "int of(int n);\n", "digit_sum.cpp": "int of(int n) { return n; }\n"}
    # Paths resolve by base name; a block for the only editable file needs no name.
    assert parse_whole_reply("src/main/java/DigitSum.java\n```java\nclass A {}\n```", ["src/main/java/DigitSum.java"]
                             ).edits == {"src/main/java/DigitSum.java": "class A {}\n"}
    assert parse_whole_reply("```python\nx = 1\n```", ["a.py"]).edits == {"a.py": "x = 1\n"}
    # Naming another file is an edit of that file (the re-copy undoes edits to tests).
    assert parse_whole_reply("a_test.py\n```\npass\n```\na.py\n```\nx\n```", ["a.py"]).edits == \
        {"a_test.py": "pass\n", "a.py": "x\n"}
    # Fences of four backticks may contain three.
    assert parse_whole_reply("a.md\n````\n```\ncode\n```\n````\n", ["a.md"]).edits == {"a.md": "```\ncode\n```\n"}


@pytest.mark.parametrize("reply", ["def f(): pass", "", "a.py\n```python\nx = 1\n", "```\nx\n```\n```\ny\n```"])
def test_malformed_replies_are_flagged(reply):
    p = parse_whole_reply(reply, ["a.py", "b.py"] if reply.startswith("```\nx") else ["a.py"])
    assert p.malformed and p.problems


def test_a_samples_reply_without_fences_is_the_whole_file():
    assert parse_whole_reply("def f():\n    return 1", ["a.py"], bare_is_file=True).edits == \
        {"a.py": "def f():\n    return 1\n"}
    assert parse_whole_reply("code", ["a.cpp", "a.h"], bare_is_file=True).malformed


def test_edits_cannot_leave_the_exercise_and_tests_are_recopied(tmp_path):
    ex = load_exercise(FIXTURES / "python" / "exercises" / "practice" / "digit-sum", "python")
    work = tmp_path / "digit-sum"
    shutil.copytree(ex.path, work, ignore=shutil.ignore_patterns(".meta"))
    refused = apply_edits(work, {"../evil.py": "x", "/etc/x": "x", ".meta/example.py": "x",
                                 "digit_sum_test.py": "def test_ok():\n    pass\n", "digit_cases.py": "CASES = []\n",
                                 "digit_sum.py": "def digit_sum(n):\n    return 6\n"})
    assert sorted(refused) == ["../evil.py", ".meta/example.py", "/etc/x"]
    assert not (tmp_path / "evil.py").exists()
    prepare_run(ex, work)
    assert (work / "digit_sum_test.py").read_text() == ex.read("digit_sum_test.py")
    assert (work / "digit_cases.py").read_text() == ex.read("digit_cases.py")
    assert (work / "digit_sum.py").read_text() == "def digit_sum(n):\n    return 6\n"  # the solution stays


def test_prepare_run_reenables_skipped_tests_in_the_copy_only(tmp_path):
    ex = load_exercise(FIXTURES / "java" / "exercises" / "practice" / "digit-sum", "java")
    work = tmp_path / "digit-sum"
    shutil.copytree(ex.path, work)
    prepare_run(ex, work)
    assert "@Disabled" not in (work / ex.test[0]).read_text().replace("import org.junit.jupiter.api.Disabled;", "")
    assert "@Disabled" in ex.read(ex.test[0])


def test_output_cleaning_drops_timings_and_the_jail_path():
    raw = "FAIL /w/digit-sum/a_test.py::t in 0.12s\n=== 1 failed in 3.40s ===\n/w/x.py\n/work/keep\n"
    assert clean_output(raw, "digit-sum") == \
        "FAIL digit-sum/a_test.py::t \n=== 1 failed  ===\ndigit-sum/x.py\n/work/keep\n"
    assert clean_output("/tmp/abc/digit-sum/t.py", "digit-sum", ["/tmp/abc/digit-sum"]) == "digit-sum/t.py"


def test_samples_records_are_checked(tmp_path):
    good = {"task_id": "python/digit-sum", "language": "python", "solution": "x", "attempt": 2}
    p = tmp_path / "s.jsonl"
    p.write_text(json.dumps(good) + "\n")
    recs, bad = read_samples(p)
    assert list(recs) == [("python/digit-sum", 2)] and bad == []
    for rec, msg in [({**good, "task_id": "digit-sum"}, "task_id"), ({**good, "files": {"a": 1}}, "files"),
                     ({**good, "task_id": "go/x"}, "task_id")]:
        p.write_text(json.dumps(rec) + "\n")
        with pytest.raises(RecordError, match=f"record 1: {msg}"):
            read_samples(p)
    p.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(RecordError, match="a second record for python/digit-sum attempt 2"):
        read_samples(p)
    assert len(read_samples(p, skip_bad=True)[1]) == 1


def _cacheprog(tmp_path: Path, shared: Path, private: str, requests: list[str]) -> list[dict]:
    import subprocess
    import sys

    from hrmcode.languages.go import GO_CACHEPROG

    prog = tmp_path / "cacheprog.py"
    prog.write_text(GO_CACHEPROG)
    out = subprocess.run([sys.executable, str(prog), str(shared), private], input="".join(requests).encode(),
                         capture_output=True, timeout=60, cwd=tmp_path, check=True)
    return [json.loads(line) for line in out.stdout.decode().splitlines()]


def test_the_go_cache_program_layers_a_private_cache_over_a_read_only_shared_one(tmp_path):
    """The GOCACHEPROG protocol as cmd/go speaks it: JSON lines, a blank line, a put's body as a
    base64 JSON string; gets see private then shared entries, puts never touch the shared layer."""
    import base64

    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode()

    shared = tmp_path / "shared"
    shared.mkdir()
    # The trusted warm-up: private = shared.
    put = json.dumps({"ID": 1, "Command": "put", "ActionID": b64(b"\x01" * 32), "OutputID": b64(b"\x02" * 32),
                      "BodySize": 5}) + "\n\n" + json.dumps(b64(b"hello")) + "\n"
    resp = _cacheprog(tmp_path, shared, str(shared), [put, json.dumps({"ID": 2, "Command": "close"}) + "\n\n"])
    assert resp[0] == {"ID": 0, "KnownCommands": ["get", "put", "close"]}
    assert resp[1]["ID"] == 1 and Path(resp[1]["DiskPath"]).read_bytes() == b"hello"
    before = sorted(p.name for p in shared.iterdir())
    # A job: a relative private layer, the shared one read-only.
    get_shared = json.dumps({"ID": 1, "Command": "get", "ActionID": b64(b"\x01" * 32)}) + "\n\n"
    put_private = json.dumps({"ID": 2, "Command": "put", "ActionID": b64(b"\x03" * 32), "OutputID": b64(b"\x04" * 32),
                              "BodySize": 3}) + "\n\n" + json.dumps(b64(b"abc")) + "\n"
    get_private = json.dumps({"ID": 3, "Command": "get", "ActionID": b64(b"\x03" * 32)}) + "\n\n"
    miss = json.dumps({"ID": 4, "Command": "get", "ActionID": b64(b"\x09" * 32)}) + "\n\n"
    empty = json.dumps({"ID": 5, "Command": "put", "ActionID": b64(b"\x05" * 32), "OutputID": b64(b"\x06" * 32)}) + "\n\n"
    resp = _cacheprog(tmp_path, shared, "job/private", [get_shared, put_private, get_private, miss, empty])
    by = {r["ID"]: r for r in resp}
    assert by[1]["OutputID"] == b64(b"\x02" * 32) and by[1]["Size"] == 5
    assert Path(by[1]["DiskPath"]).parent == shared
    assert Path(by[2]["DiskPath"]).parent == tmp_path / "job" / "private"
    assert by[3]["Size"] == 3 and Path(by[3]["DiskPath"]).read_bytes() == b"abc"
    assert by[4] == {"ID": 4, "Miss": True}
    assert Path(by[5]["DiskPath"]).read_bytes() == b""
    assert sorted(p.name for p in shared.iterdir()) == before


def test_an_exercise_is_also_a_task_record():
    ex = load_exercise(FIXTURES / "go" / "exercises" / "practice" / "digit-sum", "go")
    t = ex.to_task()
    assert (t.task_id, t.source, t.kind) == ("go/digit-sum", "polyglot", "project")
    assert t.prompt == ex.prompt() and "panic(" in t.starter_code["go"] and "sum +=" in t.reference["go"]
    assert t.meta["polyglot"]["editor"] == ["cases_test.go"]
