"""Project tasks write only inside their work directory, and the outcome cache keys what an outcome
depends on: the driver that ran it, the jail, and a project's contents rather than its path."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from hrmcode.execute import ExecConfig, Limits, evaluate_samples, runner
from hrmcode.records import Sample, Task

FAST = ExecConfig(run=Limits(wall_s=5.0, memory_mb=512), build=Limits(wall_s=30.0, memory_mb=1024))
TEST_PY = ("import unittest\nfrom mathx import double\n\n\nclass T(unittest.TestCase):\n"
           "    def test_double(self):\n        self.assertEqual(double(21), {want})\n\n\nunittest.main()\n")
GOOD = "def double(x):\n    return 2 * x\n"


def _project(project: dict, task_id: str = "proj") -> Task:
    return Task(task_id=task_id, kind="project", prompt="Make the tests pass.", meta={"project": project})


def _base(**over) -> dict:
    return {"files": {"test_mathx.py": TEST_PY.format(want=42)}, "solution_path": "mathx.py",
            "test": ["python3", "test_mathx.py"], **over}


# ---- project paths stay in the work directory -------------------------------------------------------


def test_project_paths_that_leave_the_work_directory_are_a_harness_error_and_write_nothing(tmp_path: Path) -> None:
    name = f"hrm-escape-{uuid.uuid4().hex[:8]}"
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "out").symlink_to(outside)  # a link in the checked-out directory
    tasks = [
        _project(_base(solution_path=f"../../{name}"), "up"),
        _project(_base(solution_path=str(tmp_path / name)), "absolute"),
        _project(_base(files={f"../{name}": "x", "test_mathx.py": TEST_PY.format(want=42)}), "file_up"),
        _project(_base(files={str(tmp_path / f"{name}.py"): "x"}), "file_absolute"),
        _project(_base(solution_path=""), "empty"),
        # Through the link: the directory is copied with what the link points to, and written there.
        _project(_base(dir=str(tmp_path / "proj"), files={"out/pwned": "x", "test_mathx.py": TEST_PY.format(want=42)}),
                 "through_link"),
        _project(_base(solution_path="pkg/../mathx.py"), "dotdot_inside"),
        _project(_base(solution_path="./pkg/mathx.py", files={"pkg/test_mathx.py": TEST_PY.format(want=42)},
                       test=["python3", "pkg/test_mathx.py"]), "nested"),
    ]
    samples = [Sample(task_id=t.task_id, language="python", solution=GOOD) for t in tasks]
    results = evaluate_samples(tasks, samples, config=FAST)
    got = {r.task_id: (r.verdict.value, r.model_dump().get("error", "")) for r in results}
    for tid, field in [("up", "meta.project.solution_path"), ("absolute", "meta.project.solution_path"),
                       ("file_up", "meta.project.files['../"), ("file_absolute", "meta.project.files['/"),
                       ("empty", "meta.project.solution_path"), ("dotdot_inside", "meta.project.solution_path")]:
        verdict, error = got[tid]
        assert verdict == "harness_error" and field in error and f"task {tid}" in error, (tid, got[tid])
    assert got["through_link"][0] == "pass" and got["nested"][0] == "pass", got
    # Nothing appeared outside: not beside the temp root, not at the absolute paths, not behind the link.
    assert not (Path(tempfile.gettempdir()) / name).exists(), "a project wrote outside its work directory"
    assert not list(tmp_path.glob(f"{name}*")) and not list(outside.iterdir())


def test_confined_paths() -> None:
    work = Path(tempfile.mkdtemp())
    try:
        assert runner.confined(work, "a/b.py", "f") == (work / "a" / "b.py").resolve()
        for bad in ["../x", "/etc/passwd", "a/../../x", "", ".", "a/\0b", 3]:
            with pytest.raises(runner.ProjectError, match="^f: "):
                runner.confined(work, bad, "f")
        (work / "link").symlink_to("/tmp")
        with pytest.raises(runner.ProjectError, match="leads outside"):
            runner.confined(work, "link/x", "f")
    finally:
        shutil.rmtree(work)


# ---- the outcome cache key ------------------------------------------------------------------------


def test_the_cache_key_names_the_jail_and_the_driver() -> None:
    task = _project(_base())
    sample = Sample(task_id="proj", language="python", solution=GOOD)
    cfg = ExecConfig()
    assert runner.cache_key(task, sample, cfg, "bwrap") != runner.cache_key(task, sample, cfg, "unshare")
    assert runner.cache_key(task, sample, cfg, "bwrap") == runner.cache_key(task, sample, cfg, "bwrap")
    # Every language's key covers the drivers (hrmsup.py included) and its own language file.
    assert runner.driver_digest("python") != runner.driver_digest("cpp")


def test_a_changed_driver_is_a_cache_miss(tmp_path: Path, monkeypatch) -> None:
    drivers = tmp_path / "drivers"
    drivers.mkdir()
    for f in runner.DRIVERS_DIR.iterdir():
        (drivers / f.name).write_bytes(f.read_bytes())
    task = _project(_base())
    sample = Sample(task_id="proj", language="python", solution=GOOD)
    monkeypatch.setattr(runner, "DRIVERS_DIR", drivers)
    runner.driver_digest.cache_clear()
    try:
        before = runner.cache_key(task, sample, ExecConfig(), "bwrap")
        (drivers / "hrmsup.py").write_text((drivers / "hrmsup.py").read_text() + "\n# changed\n")
        runner.driver_digest.cache_clear()
        assert runner.cache_key(task, sample, ExecConfig(), "bwrap") != before
    finally:
        runner.driver_digest.cache_clear()


def test_a_project_is_keyed_by_its_contents_not_its_path(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "test_mathx.py").write_text(TEST_PY.format(want=42))
    sample = Sample(task_id="proj", language="python", solution=GOOD)
    key = {d.name: runner.cache_key(_project(_base(files={}, dir=str(d))), sample, ExecConfig(), "bwrap") for d in (a, b)}
    assert key["a"] == key["b"]  # the same contents at two paths
    cache = tmp_path / "cache"
    task = _project(_base(files={}, dir=str(a)))
    first = evaluate_samples([task], [sample], cache_dir=cache, config=FAST)
    assert first[0].verdict == "pass"
    assert evaluate_samples([task], [sample], cache_dir=cache, config=FAST)[0].model_dump()["mode"] == "cache"
    # The same path, other contents: the test now wants 43, so the cached pass must not answer.
    (a / "test_mathx.py").write_text(TEST_PY.format(want=43))
    again = evaluate_samples([task], [sample], cache_dir=cache, config=FAST)
    assert again[0].verdict == "wrong_answer" and again[0].model_dump()["mode"] != "cache"
