"""The training loop on a tiny real model: rollback, corrupted checkpoints, and every alarm provoked."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from train_fixtures import make_tasks, tiny_config

from hrmcode.config import ConfigError
from hrmcode.train import checkpoint as ck
from hrmcode.train.trainer import TrainingError, load_run_config, train

TASKS = make_tasks()


def _records(run_dir, kind):
    return [r for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines()) if r["type"] == kind]


def _kinds(summary):
    return {(a["monitor"], a["kind"]) for a in summary.alarms}


def test_injected_nan_and_spike_each_roll_back_lower_the_lr_and_training_finishes(tmp_path):
    cfg = tiny_config(steps=16, ckpt_every=4, rollback_lr_factor=0.5, debug_inject=[
        {"kind": "nan_loss", "step": 5}, {"kind": "loss_spike", "step": 13, "factor": 1000.0}])
    s = train(cfg, tmp_path, tasks=TASKS, progress=False)
    assert s.steps == 16 and s.stopped_by == "steps"
    assert [(r["cause"], r["from_step"], r["checkpoint"]) for r in s.rollbacks] == [
        ("nonfinite", 5, "step_00000004"), ("spike", 13, "step_00000012")]
    assert [r["lr_scale"] for r in s.rollbacks] == [0.5, 0.25]
    assert {"nonfinite", "spike"} <= {a["kind"] for a in s.alarms if a["severity"] == "critical"}
    steps = _records(tmp_path, "step")
    # The LR really went down: after the second rollback every step runs at a quarter of the schedule.
    from hrmcode.train.optim import lr_at

    last = steps[-1]
    assert last["lr"] == pytest.approx(0.25 * lr_at(15, cfg.train))
    assert len(_records(tmp_path, "rollback")) == 2
    (nan_alarm,) = [a for a in _records(tmp_path, "alarm") if a["kind"] == "nonfinite"]
    assert nan_alarm["value"] is None  # metrics.jsonl stays strict JSON
    assert "Rollbacks (2)" in (tmp_path / "train_report.md").read_text()
    assert all(torch.isfinite(v).all() for v in ck.load_checkpoint(s.checkpoint).model.values())


def test_without_rollback_a_nan_stops_with_a_clear_error(tmp_path):
    cfg = tiny_config(steps=6, rollback=False, debug_inject=[{"kind": "nan_loss", "step": 2}])
    with pytest.raises(TrainingError, match="loss is nan and train.rollback is off"):
        train(cfg, tmp_path, tasks=TASKS, progress=False)


def test_a_corrupted_checkpoint_is_skipped_and_the_previous_one_resumed(tmp_path):
    train(tiny_config(steps=8, ckpt_every=4), tmp_path, tasks=TASKS, progress=False)
    newest = tmp_path / "checkpoints" / "step_00000008"
    blob = bytearray((newest / "tensors.safetensors").read_bytes())
    blob[len(blob) // 2] ^= 0x01
    (newest / "tensors.safetensors").write_bytes(bytes(blob))
    cfg = load_run_config(tmp_path, tiny_config(steps=10, ckpt_every=4))
    s = train(cfg, tmp_path, resume=True, tasks=TASKS, progress=False)
    assert s.steps == 10
    steps = [r["step"] for r in _records(tmp_path, "step")]
    assert steps == list(range(1, 11))  # steps 5..8 were redone from step 4, the log cut back to it
    (info,) = [r for r in _records(tmp_path, "info") if "skipped_checkpoints" in r]
    assert info["step"] == 4 and "step_00000008" in info["skipped_checkpoints"][0]


def test_lr_too_high_raises_the_divergence_alarm(tmp_path):
    cfg = tiny_config(steps=20, lr=0.3, warmup_steps=0, grad_clip=None, rollback=False, eval_every=100,
                      monitors={"loss_window": 10})
    s = train(cfg, tmp_path, tasks=TASKS, progress=False)
    assert ("loss", "divergence") in _kinds(s)


def test_zeroed_grads_frozen_q_head_memory_time_and_plateau_alarms(tmp_path):
    cfg = tiny_config(steps=12, eval_every=2, monitors={
        "act_window": 4, "act_warmup": 4, "plateau_patience": 2, "memory_limit_mb": 1,
        "time_estimate_minutes": 1e-5}, debug_inject=[
        {"kind": "zero_grads", "step": 0, "until": 12}, {"kind": "freeze", "prefix": "q_head"}])
    s = train(cfg, tmp_path, tasks=TASKS, progress=False)
    kinds = _kinds(s)
    assert ("grad_norm", "vanishing") in kinds
    assert ("act", "q_stagnant") in kinds
    assert ("memory", "limit") in kinds
    assert ("time", "over_estimate") in kinds
    assert ("plateau", "plateau") in kinds
    # Alarms reach metrics.jsonl, TensorBoard and the report.
    assert {(a["monitor"], a["kind"]) for a in _records(tmp_path, "alarm")} == kinds
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb").iterdir())
    assert "q_stagnant" in (tmp_path / "train_report.md").read_text()


def test_a_healthy_run_learns_and_raises_no_rollback(tmp_path):
    s = train(tiny_config(steps=40, eval_every=20, lr=5e-3, plots=True), tmp_path, tasks=TASKS, progress=False)
    evals = _records(tmp_path, "eval")
    assert evals[-1]["loss"] < evals[0]["loss"]
    assert s.rollbacks == [] and s.tokens_seen > 0
    assert {p.name for p in (tmp_path / "plots").iterdir()} == {
        "loss.png", "grad_norms.png", "act_steps.png", "throughput.png"}
    assert json.loads((tmp_path / "summary.json").read_text())["steps"] == 40


@pytest.mark.parametrize("model", [{"mode": "canvas"}, {"arch": "baseline"}], ids=["canvas", "baseline"])
def test_canvas_and_baseline_train_through_the_same_loop(tmp_path, model):
    s = train(tiny_config(steps=6, model=model), tmp_path, tasks=TASKS, progress=False)
    assert s.steps == 6 and s.probe["n"] == 8 and s.final_loss is not None


def test_resume_refuses_a_changed_model_section_and_fresh_runs_refuse_old_checkpoints(tmp_path):
    train(tiny_config(steps=4), tmp_path, tasks=TASKS, progress=False)
    with pytest.raises(TrainingError, match=r"model\.hidden"):
        load_run_config(tmp_path, tiny_config(model={"hidden": 64}))
    with pytest.raises(TrainingError, match="holds checkpoints already"):
        train(tiny_config(steps=4), tmp_path, tasks=TASKS, progress=False)
    shutil.rmtree(tmp_path / "checkpoints")


def test_time_budget_ends_training_with_a_final_checkpoint(tmp_path):
    s = train(tiny_config(steps=100000, time_budget_minutes=0.02, ckpt_every=1000), tmp_path, tasks=TASKS,
              progress=False)
    assert s.stopped_by == "time_budget" and 0 < s.steps < 100000
    assert s.checkpoint is not None and s.checkpoint.name == f"step_{s.steps:08d}"
    assert s.probe["step"] == s.steps


def test_debug_inject_is_validated_with_the_field_named():
    with pytest.raises(ConfigError, match=r"train\.debug_inject\.0\.kind"):
        tiny_config(debug_inject=[{"kind": "explode"}])


def test_every_shipped_recipe_validates():
    from pathlib import Path

    from hrmcode.config import load_config
    from hrmcode.study import load_study

    recipes = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
    assert len(recipes) >= 4
    for path in recipes:
        if path.name.startswith("study"):  # a study grid (`hrmcode study`), not a run config
            load_study(path)
            continue
        cfg = load_config(path)
        assert cfg.train.batch_size % 2 == 0, f"{path}: batch must split over 2 ranks"
