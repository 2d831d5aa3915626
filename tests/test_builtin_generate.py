"""The built-in suite's generator: determinism, records, tests, statements, splits, manifest, old suites."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from pathlib import Path

import pytest

from hrmcode.benchmarks.builtin.families import (
    BY_NAME,
    FAMILIES,
    SEPARATORS,
    build_pipeline,
    pipeline_from_json,
    run_pipeline,
)
from hrmcode.benchmarks.builtin.generate import (
    GENERATED_SPLITS,
    GENERATOR_VERSION,
    LANGUAGES,
    MIN_TESTS,
    SPLITS,
    TRAIN_MAX_DEPTH,
    Suite,
    build,
    generate,
    structure_key,
)
from hrmcode.benchmarks.builtin.handwritten import TASKS as HANDWRITTEN
from hrmcode.benchmarks.builtin.ir import INT_BOUND, OutOfBounds, Step
from hrmcode.benchmarks.builtin.protocol import select_tasks
from hrmcode.benchmarks.builtin.stats import load_suite
from hrmcode.data.batching import load_tasks
from hrmcode.languages.base import parse_type
from hrmcode.records import Task


@pytest.fixture(scope="module")
def generated() -> Suite:
    return generate(seed=7, n=600)


@pytest.fixture(scope="module")
def suite(generated: Suite) -> list[Task]:
    return generated.tasks


def _ints(value: object) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, list):
        return [i for v in value for i in _ints(v)]
    return []


def test_the_suite_has_at_least_thirty_families_and_uses_them_all(suite: list[Task]) -> None:
    assert len(FAMILIES) >= 30
    used = {f for t in suite for f in t.meta["families"]}
    assert used == set(BY_NAME)


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(tmp_path) -> None:
    build(3, 80, tmp_path / "a")
    build(3, 80, tmp_path / "b")
    build(4, 80, tmp_path / "c")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert "tasks.jsonl" in names and "manifest.json" in names
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "tasks.jsonl").read_bytes() != (tmp_path / "c" / "tasks.jsonl").read_bytes()


def test_manifest_checksums_and_counts_match_the_files(tmp_path) -> None:
    manifest = build(5, 120, tmp_path)
    assert manifest == json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["n_tasks"] == 120
    assert manifest["generator_version"] == GENERATOR_VERSION == "builtin-2"
    assert manifest["n_handwritten"] == len(HANDWRITTEN) and manifest["handwritten_version"] == "handwritten-1"
    for name, info in manifest["files"].items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == info["sha256"]
    split_sizes = {s: len(load_suite(tmp_path, s)) for s in SPLITS}
    assert sum(split_sizes[s] for s in GENERATED_SPLITS) == 120
    assert split_sizes["handwritten"] == len(HANDWRITTEN)
    assert len(load_suite(tmp_path)) == 120 + len(HANDWRITTEN)
    assert {k: v for k, v in split_sizes.items() if v} == manifest["counts"]["split"]


def test_every_task_is_a_valid_function_record_with_six_references(suite: list[Task]) -> None:
    ids = [t.task_id for t in suite]
    assert len(set(ids)) == len(ids)
    for t in suite:
        assert t.source == "builtin" and t.kind == "function" and t.difficulty == t.meta["depth"]
        sig = t.signature
        params = [(p.name, parse_type(p.type)) for p in sig.params]
        for name, lang in LANGUAGES.items():
            assert t.starter_code[name] == lang.starter(sig.name, params, parse_type(sig.returns))
            # A reference is the function definition itself, starting with the starter's header.
            assert t.reference[name].startswith(lang.signature(sig.name, params, parse_type(sig.returns)))


def test_tests_are_many_within_bounds_and_recomputed_by_the_interpreter_from_the_stored_ir(suite) -> None:
    for t in suite:
        assert len(t.tests) >= MIN_TESTS
        p = pipeline_from_json(t.meta["ir"])
        for case in t.tests:
            assert all(abs(i) <= INT_BOUND for i in _ints(case.input) + _ints(case.output))
            assert run_pipeline(p, case.input) == case.output
        # The outputs vary: a constant function would teach nothing.
        assert len({json.dumps(c.output) for c in t.tests}) >= 2


def test_list_tasks_cover_empty_negative_duplicate_and_long_inputs(suite: list[Task]) -> None:
    list_tasks = [t for t in suite if t.signature.params[0].type == "list[int]"]
    covered = {"empty": 0, "negative": 0, "duplicates": 0, "long": 0}
    for t in list_tasks:
        firsts = [c.input[0] for c in t.tests]
        covered["empty"] += any(x == [] for x in firsts)
        covered["negative"] += any(any(v < 0 for v in x) for x in firsts)
        covered["duplicates"] += any(len(set(x)) < len(x) for x in firsts)
        covered["long"] += any(len(x) >= 30 for x in firsts)
    # Inputs are dropped only when a value would leave the shared integer range.
    assert all(n >= 0.9 * len(list_tasks) for n in covered.values()), covered


def test_statements_name_the_function_carry_every_constant_and_contain_no_code(suite: list[Task]) -> None:
    code_marks = re.compile(r"=>|==|!=|\{|\}|\[|\]|;|\breturn\s+\w+\s*;|\bdef\b|\w\(")
    for t in suite:
        # The name is in the statement when it opens with a sentence naming it; the starter code has it always.
        assert (t.signature.name in t.prompt) == (t.meta["phrasing"]["opening"] != "none"), t.prompt
        for p in t.signature.params:
            assert p.name in t.prompt
        for step in t.meta["ir"]["steps"]:
            for key, value in step["args"].items():
                if key == "sep":
                    assert SEPARATORS[value] in t.prompt  # named in words: "commas", "single spaces"
                elif key == "c":
                    assert (f'"{value}"' if value != " " else "space") in t.prompt
                elif isinstance(value, int) and not isinstance(value, bool):
                    assert str(abs(value)) in t.prompt, (key, value, t.prompt)
        assert not code_marks.search(t.prompt), t.prompt


def test_one_family_renders_the_same_way_in_every_task_modulo_variable_names(suite: list[Task]) -> None:
    # Two tasks whose first steps are equal render that step identically once the parameter is renamed.
    lines_by_step: dict[str, set[str]] = {}
    for t in suite:
        first = t.meta["ir"]["steps"][0]
        if BY_NAME[first["family"]].uses_other:
            continue
        key = json.dumps(first, sort_keys=True)
        body = t.reference["python"].splitlines()[1]
        lines_by_step.setdefault(key, set()).add(body)
    repeated = {k: v for k, v in lines_by_step.items() if len(v) > 0}
    assert repeated and all(len(v) == 1 for v in repeated.values())


def test_splits_are_disjoint_and_hold_out_compositions_and_depths(generated: Suite) -> None:
    s = generated
    by_split: dict[str, list[Task]] = {name: [] for name in GENERATED_SPLITS}
    for t in s.tasks:
        by_split[t.meta["split"]].append(t)
    assert all(by_split[name] for name in GENERATED_SPLITS), {k: len(v) for k, v in by_split.items()}
    keys = {name: {json.dumps(t.meta["ir"]["steps"], sort_keys=True) for t in ts} for name, ts in by_split.items()}
    for a, b in itertools.combinations(GENERATED_SPLITS, 2):
        assert not keys[a] & keys[b], (a, b)
    seen_pairs = {(x, y) for name in ("train", "val", "test", "heldout_phrasing") for t in by_split[name]
                  for x, y in itertools.pairwise(t.meta["families"])}
    assert not seen_pairs & s.heldout
    for t in by_split["heldout_composition"]:
        assert set(itertools.pairwise(t.meta["families"])) & s.heldout
    train_max = max(t.meta["depth"] for t in by_split["train"])
    assert train_max == TRAIN_MAX_DEPTH
    assert min(t.meta["depth"] for t in by_split["depth_extrapolation"]) > train_max


def test_a_task_keeps_its_split_when_the_suite_grows() -> None:
    small = {t.meta["structure"] + json.dumps(t.meta["ir"]): t.meta["split"] for t in generate(2, 50).tasks}
    large = {t.meta["structure"] + json.dumps(t.meta["ir"]): t.meta["split"] for t in generate(2, 100).tasks}
    assert all(large[k] == v for k, v in small.items())


def test_bad_pipelines_and_sizes_are_rejected_with_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"step 1: sum takes list\[int\], but the previous result is int"):
        build_pipeline("f", [Step("sum"), Step("sum")])
    with pytest.raises(ValueError, match="unknown family 'nope'"):
        build_pipeline("f", [Step("nope")])
    with pytest.raises(ValueError, match="at least 1"):
        generate(0, 0)


def test_the_interpreter_refuses_values_outside_the_shared_integer_range() -> None:
    p = build_pipeline("f", [Step("map_mul", (("k", 10),)), Step("sum")])
    assert run_pipeline(p, [[1, 2]]) == 30
    with pytest.raises(OutOfBounds):
        run_pipeline(p, [[2**30]])
    assert structure_key(p.steps) == '[{"args":{"k":10},"family":"map_mul"},{"args":{},"family":"sum"}]'


@pytest.mark.slow
def test_ten_thousand_distinct_tasks_generate() -> None:
    # The ≤ 30 s target is measured by bench/builtin_generate.py, never in a unit test.
    tasks = generate(seed=0, n=10_000).tasks
    assert len(tasks) == 10_000 and len({t.task_id for t in tasks}) == 10_000
    assert len({t.meta["structure"] + str(t.meta["ir"]) for t in tasks}) == 10_000


# ---- old suites ---------------------------------------------------------------------------------

OLD_SUITE = Path(__file__).parent / "fixtures" / "builtin_v1"  # written by the builtin-1 generator


def test_a_suite_of_the_previous_generator_version_still_loads_and_selects() -> None:
    manifest = json.loads((OLD_SUITE / "manifest.json").read_text())
    assert manifest["generator_version"] == "builtin-1"
    tasks = load_tasks(OLD_SUITE)
    assert len(tasks) == manifest["n_tasks"] == len(load_suite(OLD_SUITE))
    assert all(t.meta["generator"] == "builtin-1" and "phrasing" not in t.meta for t in tasks)
    # Its names spelled the composition; its IR still rebuilds and recomputes its tests.
    for t in tasks:
        p = pipeline_from_json(t.meta["ir"])
        assert p.name == t.signature.name
        assert all(run_pipeline(p, c.input) == c.output for c in t.tests)
    assert [t.task_id for t in select_tasks(tasks, ["train"], max_per_split=None, seed=0)] == \
        [t.task_id for t in load_suite(OLD_SUITE, "train")]
    # The splits it did not have select nothing, with no error.
    assert select_tasks(tasks, ["heldout_phrasing", "handwritten"], max_per_split=None, seed=0) == []
