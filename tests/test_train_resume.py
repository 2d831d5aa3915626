"""Exact resume: a run SIGKILLed at a random step and resumed ends with bit-identical weights."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from train_fixtures import make_tasks, tiny_config

from hrmcode.config import load_config
from hrmcode.records import write_jsonl
from hrmcode.train import checkpoint as ck
from hrmcode.train.trainer import train

ROOT = Path(__file__).resolve().parents[1]
STEPS = 20


def _write_config(tmp_path: Path, **train) -> Path:
    write_jsonl(tmp_path / "tasks" / "tasks.jsonl", make_tasks())
    cfg = tiny_config(steps=STEPS, ckpt_every=3, eval_every=10, log_every=1, **train)
    cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"path": str(tmp_path / "tasks")})})
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    return path


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "hrmcode", "train", *args, "--no-progress"]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _last_step(metrics: Path) -> int:
    if not metrics.exists():
        return 0
    steps = [0]
    for line in metrics.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if rec.get("type") == "step":
            steps.append(rec["step"])
    return max(steps)


def _final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    c, _ = ck.load_latest(run_dir / "checkpoints")
    assert c is not None and c.step == STEPS
    return c.model


@pytest.mark.timeout(240)
def test_sigkilled_run_resumes_to_bit_identical_weights(tmp_path):
    cfg = _write_config(tmp_path)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    # The uninterrupted reference runs in this process (same code, same thread count).
    train(load_config(cfg), straight, progress=False)

    kill_at = random.Random().randint(4, STEPS - 6)
    proc = subprocess.Popen(_cmd(str(cfg), "--out", str(killed)), env=_env(), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _last_step(killed / "metrics.jsonl") < kill_at:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    reached = _last_step(killed / "metrics.jsonl")
    assert reached < STEPS, f"killed at step {reached}: too late to test anything"

    res = subprocess.run(_cmd("--resume", str(killed)), env=_env(), cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    a, b = _final_weights(straight), _final_weights(killed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after a kill at step {reached} and resume"
    # The log was cut back to the checkpoint and continued: every step appears, none twice.
    steps = [json.loads(x)["step"] for x in (killed / "metrics.jsonl").read_text().splitlines()
             if json.loads(x)["type"] == "step"]
    assert steps == list(range(1, STEPS + 1))
