"""`hrmcode study`: config validation, the grid's run configs, the statistics, and one real tiny grid
end to end (four models trained for a few steps on a real suite, evaluated in the sandbox)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from hrmcode.cli import app
from hrmcode.config import ConfigError
from hrmcode.model import equal_compute_layers
from hrmcode.study import (
    StudyConfig,
    load_study,
    nll_difference,
    partial_spearman,
    run_config,
    settings_for,
    spearman,
)

ROOT = Path(__file__).resolve().parents[1]


def test_default_configs_validate_and_cover_every_comparator() -> None:
    for name in ("study.yaml", "study-gpu.yaml"):
        cfg = load_study(ROOT / "configs" / name)
        assert {m.role for m in cfg.models} == {"subject", "equal_params", "equal_compute", "no_hierarchy"}
        hrm = run_config(cfg, cfg.models[0], 0, Path("x")).model
        mean = hrm.h_cycles
        assert mean in cfg.eval.cycles and max(cfg.eval.cycles) > mean  # question (b) needs depths beyond the mean
    gpu = load_study(ROOT / "configs" / "study-gpu.yaml")
    assert gpu.recipe["model"]["preset"] == "small" and gpu.recipe["train"]["precision"] == "bf16"
    assert gpu.eval.exit_cycles == max(gpu.eval.cycles)  # the exit is compared with the deepest fixed depth


def test_grid_run_configs_equal_parameters_and_compute() -> None:
    cfg = load_study(ROOT / "configs" / "study.yaml")
    runs = {m.name: run_config(cfg, m, 3, Path("out")) for m in cfg.models}
    hrm, base, deep, looped = runs["hrm"].model, runs["transformer"].model, runs["transformer-deep"].model, runs["looped"].model
    assert runs["hrm"].train.seed == 3 and runs["hrm"].data.path == "out/data"
    assert base.arch == "baseline" and base.n_baseline_layers == hrm.h_layers + hrm.l_layers  # equal parameters
    per_token = hrm.h_cycles * (hrm.l_cycles * hrm.l_layers + hrm.h_layers)
    assert deep.n_baseline_layers == equal_compute_layers(hrm) == per_token  # equal compute
    assert looped.arch == "looped"
    assert [s.name for s in settings_for(cfg, runs["hrm"])] == ["c1", "c2", "c4", "converge"]
    assert [s.name for s in settings_for(cfg, runs["transformer"])] == ["default"]


def _write(tmp: Path, data: dict) -> Path:
    p = tmp / "s.yaml"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    return p


def test_bad_configs_name_the_file_and_field(tmp_path: Path) -> None:
    good = yaml.safe_load((ROOT / "configs" / "study.yaml").read_text(encoding="utf-8"))
    two = {**good, "models": [*good["models"], {"name": "hrm", "role": "equal_params"}]}
    with pytest.raises(ConfigError, match=r"(?s)s\.yaml.*names must be unique"):
        load_study(_write(tmp_path, two))
    none = {**good, "models": [m for m in good["models"] if m["role"] != "subject"]}
    with pytest.raises(ConfigError, match="exactly one model has role: subject"):
        load_study(_write(tmp_path, none))
    bad_field = {**good, "models": [*good["models"][:3], {"name": "looped", "role": "no_hierarchy",
                                                          "model": {"arch": "looped", "h_cyclez": 2}}]}
    with pytest.raises(ConfigError, match=r"(?s)models\.looped.*h_cyclez: unknown key"):
        load_study(_write(tmp_path, bad_field))
    with pytest.raises(ConfigError, match=r"eval\.cycles"):
        load_study(_write(tmp_path, {**good, "eval": {"cycles": "many"}}))


def test_spearman() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 2, 2], [1, 2, 3, 4]) == pytest.approx(0.894427, abs=1e-5)  # average ranks for ties
    assert spearman([1, 2], [1, 2]) is None and spearman([1, 1, 1], [1, 2, 3]) is None


def test_partial_spearman_removes_a_shared_cause_and_keeps_a_direct_link() -> None:
    rng = np.random.default_rng(0)
    length = rng.normal(size=400)
    depth, calls = length + 0.3 * rng.normal(size=400), -length + 0.3 * rng.normal(size=400)
    assert spearman(depth, calls) < -0.8  # both follow the length, so they look (anti-)correlated
    assert abs(partial_spearman(depth, calls, length)) < 0.1  # and are not, once it is held fixed
    direct = depth + 0.3 * rng.normal(size=400)
    assert partial_spearman(depth, direct, length) > 0.5
    assert partial_spearman([1, 2, 3], [1, 2, 3], [1, 2, 3]) is None  # too few
    assert partial_spearman([1, 2, 3, 4], [4, 3, 2, 1], [5, 5, 5, 5]) is None  # z constant


def _tiny_cfg() -> dict:
    return {
        "name": "t", "seeds": [0], "suite": {"seed": 0, "n_tasks": 150},
        "recipe": {
            "model": {"hidden": 32, "heads": 2, "expansion": 2.0, "h_layers": 1, "l_layers": 1, "h_cycles": 2,
                      "l_cycles": 1, "cycles_sampling": "poisson", "cycles_max": 3, "max_seq_len": 400,
                      "mode": "causal", "recipe": "lm"},
            "tokenizer": {"vocab_size": 400},
            "data": {"languages": ["python"], "max_depth": 3},
            "train": {"steps": 4, "batch_size": 4, "lr": 3e-3, "warmup_steps": 1, "threads": 1, "log_every": 1,
                      "eval_every": 4, "ckpt_every": 4, "probe_size": 4, "plots": False, "device": "cpu"},
        },
        "models": [{"name": "hrm", "role": "subject", "model": {"arch": "hrm"}},
                   {"name": "transformer", "role": "equal_params", "model": {"arch": "baseline"}},
                   {"name": "transformer-deep", "role": "equal_compute",
                    "model": {"arch": "baseline", "baseline_layers": "equal_compute"}},
                   {"name": "looped", "role": "no_hierarchy", "model": {"arch": "looped"}}],
        "eval": {"test_per_depth": 1, "per_split": {"heldout_composition": 1, "depth_extrapolation": 1},
                 "languages": ["python"], "cycles": [1, 2, 3], "converge_threshold": 0.5, "max_new_tokens": 12,
                 "batch_size": 8},
    }


def test_tiny_study_end_to_end(tmp_path: Path) -> None:
    """A real grid, shrunk: 4 models × 4 steps on a 150-task suite, python only, two inference depths."""
    path = _write(tmp_path, _tiny_cfg())
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["study", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "study.json").read_text(encoding="utf-8"))
    assert set(data["models"]) == {"hrm", "transformer", "transformer-deep", "looped"}
    assert data["models"]["hrm"]["setting"] == "c2" and data["models"]["transformer"]["setting"] == "default"
    # every comparator answered on both groups; every recurrent model swept and measured its exit
    assert len(data["questions"]["a_c"]) == 6
    for name in ("hrm", "looped"):
        assert set(data["cycles"][name]["by_cycles"]) == {"1", "2", "3"}
        a = data["adaptive"][name]
        assert a["samples"] > 0 and 0 < a["calls_per_token"] <= a["calls_per_token_full"]
    # the references are scored teacher-forced at every fixed depth (not under the exit rule), and the
    # depth override reaches that path: HRM's reference NLL changes with its inference cycles
    n_tasks = len({json.loads(x)["task_id"] for x in (out / "evals/hrm-s0/c2/results.jsonl").read_text().splitlines()})
    for ref in out.glob("evals/*/*/reference_loss.jsonl"):
        rows = [json.loads(x) for x in ref.read_text(encoding="utf-8").splitlines()]
        assert len(rows) == n_tasks and all(r["nll"] > 0 and r["tokens"] > 0 and 0 <= r["token_accuracy"] <= 1
                                            for r in rows), ref
        assert any(r["truncated"] for r in rows) and not all(r["truncated"] for r in rows)  # 400-token context
    assert not (out / "evals/hrm-s0/converge/reference_loss.jsonl").exists()
    by_c = data["cycles"]["hrm"]["by_cycles"]
    assert by_c["1"]["reference"]["test depth 1"]["nll"] != by_c["3"]["reference"]["test depth 1"]["nll"]
    for d in data["questions"]["a_c"].values():
        assert d["reference"]["tasks"] > 0 and d["reference"]["answer"] in {"yes", "no (worse)", "no difference shown"}
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "reference NLL difference" in report and "## Reference NLL by composition depth" in report
    assert "## Answers" in report and "(c) H/L split vs looped" in report and "pass1_vs_depth.png" in report
    assert (out / "pass1_vs_depth.png").stat().st_size > 0
    # resumable: a second invocation trains and evaluates nothing again, and rewrites the same numbers
    mtimes = {p: p.stat().st_mtime for p in out.glob("evals/*/*/summary.json")}
    res = CliRunner().invoke(app, ["study", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert {p: p.stat().st_mtime for p in out.glob("evals/*/*/summary.json")} == mtimes
    assert json.loads((out / "study.json").read_text(encoding="utf-8"))["models"] == data["models"]


def test_study_generates_on_one_machine_and_grades_on_another(tmp_path: Path) -> None:
    """--no-grade stops after generation and reference losses; the output directory, moved elsewhere
    and stripped of its checkpoints, is then graded and reported without loading any model."""
    cfg = _tiny_cfg()
    cfg["models"] = cfg["models"][:2]
    cfg["eval"]["cycles"] = [1, 2]
    path = _write(tmp_path, cfg)
    first = tmp_path / "gpu"
    res = CliRunner().invoke(app, ["study", str(path), "--out", str(first), "--no-grade"])
    assert res.exit_code == 0, res.output
    assert "grade with the same command without --no-grade" in res.output
    gen = sorted(p.parent.relative_to(first).as_posix() for p in first.glob("evals/*/*/generation.json"))
    assert gen == ["evals/hrm-s0/c1", "evals/hrm-s0/c2", "evals/hrm-s0/converge", "evals/transformer-s0/default"]
    assert not list(first.glob("evals/*/*/summary.json")) and not (first / "report.md").exists()
    assert (first / "evals/hrm-s0/c2/reference_loss.jsonl").exists()
    second = tmp_path / "cpu"
    shutil.copytree(first, second, ignore=shutil.ignore_patterns("checkpoints"))
    assert not list(second.glob("runs/*/checkpoints"))
    res = CliRunner().invoke(app, ["study", str(path), "--out", str(second)])
    assert res.exit_code == 0, res.output
    assert "generating" not in res.output and "training" not in res.output
    s = json.loads((second / "evals/hrm-s0/c2/summary.json").read_text(encoding="utf-8"))
    samples = (first / "evals/hrm-s0/c2/samples.jsonl").read_text(encoding="utf-8").splitlines()
    assert s["samples"] == len(samples) > 0 and s["arch"] == "hrm" and s["generation"]["samples"] == len(samples)
    data = json.loads((second / "study.json").read_text(encoding="utf-8"))
    assert set(data["models"]) == {"hrm", "transformer"}
    invocations = data["meta"]["invocations"]
    assert [v["graded"] for v in invocations] == [False, True]
    assert any(k.startswith("generate ") for k in invocations[0]["timings_s"])
    assert not any(k.startswith("generate ") for k in invocations[1]["timings_s"])
    assert "generation only" in (second / "report.md").read_text(encoding="utf-8")
    # an evaluation graded before generation.json existed (only its summary) is not generated again
    (second / "evals/hrm-s0/c1/generation.json").unlink()
    res = CliRunner().invoke(app, ["study", str(path), "--out", str(second)])
    assert res.exit_code == 0, res.output
    assert "generating" not in res.output and "grading" not in res.output


def test_nll_difference_is_positive_when_the_second_fits_better() -> None:
    a = [{"task_id": t, "nll": 2.0 + i % 3 * 0.1} for i, t in enumerate("abcdefgh")]
    b = [{**r, "nll": r["nll"] - 0.5} for r in a]  # b: lower loss on every task
    d = nll_difference(a, b, set("abcdefgh"))
    assert d["tasks"] == 8 and d["diff"] == pytest.approx(0.5) and d["ci95"][0] > 0
    assert nll_difference(b, a, set("abcd"))["diff"] == pytest.approx(-0.5)
    assert nll_difference(a, b, {"zz"}) == {"tasks": 0}


def test_study_config_requires_models() -> None:
    with pytest.raises(ValueError):
        StudyConfig.model_validate({"recipe": {}, "models": []})
