"""Checkpoints: round trip of every part, checksums catch corruption, pruning keeps last-K and best."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from hrmcode.train import checkpoint as ck
from hrmcode.train.optim import AdamAtan2


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


def _train_steps(model: torch.nn.Module, opt: torch.optim.Optimizer, n: int) -> None:
    for _ in range(n):
        x = torch.randn(5, 4)
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def _save(root, step, model, opt, metric=None, keep_last=2):
    tensors: dict[str, torch.Tensor] = {}
    state = {"optim": ck.optimizer_state(opt, tensors), "rng": ck.split_tensors(ck.rng_state(), "rng", tensors),
             "trainer": {"step": step}}
    return ck.save_checkpoint(root, step, model.state_dict(), tensors, state, metric=metric, keep_last=keep_last)


@pytest.mark.parametrize("opt_cls", [torch.optim.AdamW, AdamAtan2])
def test_resumed_optimizer_and_rng_continue_bit_identically(tmp_path, opt_cls):
    model = _model()
    opt = opt_cls(model.parameters(), lr=1e-2)
    _train_steps(model, opt, 3)
    path = _save(tmp_path, 3, model, opt)
    _train_steps(model, opt, 4)
    random_after, np_after = random.random(), np.random.rand()
    want = {k: v.clone() for k, v in model.state_dict().items()}

    c = ck.load_checkpoint(path)
    model2 = _model()
    model2.load_state_dict(c.model)
    opt2 = opt_cls(model2.parameters(), lr=1e-2)
    ck.load_optimizer_state(opt2, c.state["optim"], c.tensors)
    ck.set_rng_state(ck.join_tensors(c.state["rng"], c.tensors))
    _train_steps(model2, opt2, 4)
    assert (random.random(), np.random.rand()) == (random_after, np_after)
    for k, v in model2.state_dict().items():
        assert torch.equal(v, want[k]), k
    assert c.manifest["code_version"].startswith("0.")


def test_corrupted_checkpoint_is_detected_and_the_previous_one_is_used(tmp_path):
    model = _model()
    opt = torch.optim.AdamW(model.parameters())
    _save(tmp_path, 1, model, opt, keep_last=5)
    newest = _save(tmp_path, 2, model, opt, keep_last=5)
    blob = bytearray((newest / "model.safetensors").read_bytes())
    blob[-3] ^= 0xFF  # one flipped byte inside the weights
    (newest / "model.safetensors").write_bytes(bytes(blob))

    with pytest.raises(ck.CheckpointError, match="checksum mismatch"):
        ck.load_checkpoint(newest)
    c, skipped = ck.load_latest(tmp_path)
    assert c is not None and c.step == 1
    assert len(skipped) == 1 and "step_00000002" in skipped[0]


def test_missing_manifest_field_names_the_field(tmp_path):
    model = _model()
    path = _save(tmp_path, 1, model, torch.optim.AdamW(model.parameters()))
    digest = ck.sha256_file(path / "model.safetensors")
    (path / "manifest.json").write_text(json.dumps({"sha256": {"model.safetensors": digest}}))
    with pytest.raises(ck.CheckpointError, match=r"sha256\.tensors\.safetensors"):
        ck.verify(path)


def test_prune_keeps_the_last_k_and_the_best(tmp_path):
    model = _model()
    opt = torch.optim.AdamW(model.parameters())
    metrics = {1: 3.0, 2: 1.0, 3: 2.0, 4: 2.5, 5: 2.2}
    for step, m in metrics.items():
        _save(tmp_path, step, model, opt, metric=m, keep_last=2)
    assert [s for s, _ in ck.list_checkpoints(tmp_path)] == [5, 4, 2]
    assert ck.best_checkpoint(tmp_path).name == "step_00000002"


def test_a_half_written_checkpoint_is_never_listed(tmp_path):
    model = _model()
    _save(tmp_path, 1, model, torch.optim.AdamW(model.parameters()))
    # What a process killed mid-write leaves behind: a temp dir without the final rename.
    (tmp_path / ".step_00000002.tmp-99999").mkdir()
    (tmp_path / "step_00000003").mkdir()  # no manifest: never complete
    assert [s for s, _ in ck.list_checkpoints(tmp_path)] == [1]
