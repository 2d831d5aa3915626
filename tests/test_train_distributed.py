"""Data parallelism: 2 gloo processes under torchrun equal one process with the same global batch,
and a checkpoint written by 2 ranks resumes on 1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from train_fixtures import make_tasks, tiny_config

from hrmcode.records import write_jsonl
from hrmcode.train import checkpoint as ck
from hrmcode.train.trainer import load_run_config, train

ROOT = Path(__file__).resolve().parents[1]


def _cfg(tmp_path: Path, steps: int):
    # exploration_prob 0: ACT's random minimum step counts are drawn per rank, the one thing that
    # legitimately differs between 1 and 2 processes.
    cfg = tiny_config(steps=steps, batch_size=4, ckpt_every=3, eval_every=3,
                      model={"act": {"halt_max_steps": 2, "exploration_prob": 0.0}})
    return cfg.model_copy(update={"data": cfg.data.model_copy(update={"path": str(tmp_path / "tasks")})})


def _weights(run_dir: Path, step: int) -> dict[str, torch.Tensor]:
    return ck.load_checkpoint(run_dir / "checkpoints" / f"step_{step:08d}").model


def _assert_close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-5, rtol=0, msg=lambda m, k=k: f"{k}: {m}")


@pytest.mark.timeout(300)
def test_two_gloo_ranks_equal_one_process_and_their_checkpoint_resumes_on_one_rank(tmp_path):
    write_jsonl(tmp_path / "tasks" / "tasks.jsonl", make_tasks())
    cfg6 = _cfg(tmp_path, 6)
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(cfg6.model_dump(mode="json")))
    two, one = tmp_path / "two", tmp_path / "one"
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    res = subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2", "-m", "hrmcode", "train",
                          str(tmp_path / "run.yaml"), "--out", str(two), "--no-progress"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    state = ck.load_checkpoint(two / "checkpoints" / "step_00000006").state
    assert state["world_size"] == 2

    train(cfg6, one, progress=False)
    _assert_close(_weights(two, 6), _weights(one, 6))
    moved = _weights(one, 3)
    assert any((moved[k] - v).abs().max() > 1e-3 for k, v in _weights(one, 6).items())  # it did train

    # Continue both for two more steps on ONE process: the 2-rank checkpoint (its gathered ACT carry,
    # data position and optimizer) must carry on exactly like the 1-process one.
    cfg8 = _cfg(tmp_path, 8)
    train(load_run_config(two, cfg8), two, resume=True, progress=False)
    train(load_run_config(one, cfg8), one, resume=True, progress=False)
    _assert_close(_weights(two, 8), _weights(one, 8))
