"""The causal-LM recipe (the default for mode: causal) and the original HRM recipe beside it.

Pinned here: the truncation window reaches exactly the module calls its schedule says at the start
and at the end of the warm-up; no halting-loss gradient reaches a trunk parameter when the q-head
reads a detached state; one segment adds no halting loss; the recipes' defaults and the recipe
files (``base:``, ``--set``) resolve as documented.
"""

from __future__ import annotations

import pytest
import torch
from train_fixtures import make_tasks, tiny_config

from hrmcode.config import (
    ConfigError,
    ModelConfig,
    load_config,
    load_saved_config,
    parse_override,
    preset,
    validate_config,
    with_act,
)
from hrmcode.model import build_model, causal_batch
from hrmcode.model.hrm import grad_calls
from hrmcode.tokenizer import CausalExample

EXAMPLE = CausalExample([5, 6, 3, 7, 8, 9, 1], 3)


def lm_cfg(**kw) -> ModelConfig:
    base = dict(vocab_size=64, hidden=32, heads=2, h_layers=1, l_layers=1, h_cycles=2, l_cycles=2, max_seq_len=64)
    return ModelConfig.model_validate({**base, **kw})


def calls_with_gradient(model, progress: float) -> list[int]:
    """Indices of the module calls whose output receives a non-zero gradient at ``progress``."""
    model.set_progress(progress)
    seen, got = [0], set()

    def on_call(_m, _i, out):
        i = seen[0]
        seen[0] += 1
        if out.requires_grad:
            out.register_hook(lambda g: got.add(i) if g.abs().sum() > 0 else None)

    handles = [lvl.register_forward_hook(on_call) for lvl in (model.core.L_level, model.core.H_level)]
    batch = causal_batch([EXAMPLE], 0)
    model.zero_grad()
    model(model.initial_carry(batch), batch).loss.backward()
    for h in handles:
        h.remove()
    assert seen[0] == model.core.n_calls == 6  # L L H L L H, one pass
    return sorted(got)


def test_the_truncation_window_follows_its_schedule_from_start_to_end():
    torch.manual_seed(0)
    model = build_model(lm_cfg()).train()  # truncated:5, warmed from 2 over the first 20 % of training
    assert calls_with_gradient(model, 0.0) == [4, 5]  # k = 2 at the start
    assert calls_with_gradient(model, 0.1) == [3, 4, 5]  # halfway through the warm-up: 2 + ⌊1.5⌋
    assert calls_with_gradient(model, 0.2) == [1, 2, 3, 4, 5]  # k = 5 from the end of the warm-up on
    assert calls_with_gradient(model, 1.0) == [1, 2, 3, 4, 5]
    # without a warm-up the window is K from the first step; the schedule never exceeds the calls
    fixed = lm_cfg(grad_mode="truncated:3", grad_warmup_from=None)
    assert [grad_calls(fixed, p) for p in (0.0, 0.5, 1.0)] == [3, 3, 3]
    assert grad_calls(lm_cfg(grad_mode="truncated:99"), 1.0) == 6


def test_the_trainer_moves_the_window_with_its_clock(tmp_path):
    from hrmcode.train.trainer import train

    cfg = tiny_config(steps=10, model={"recipe": "lm", "act": {}, "h_cycles": 2, "l_cycles": 2})
    assert (cfg.model.grad_mode, cfg.model.grad_warmup_from) == ("truncated:5", 2)
    summary = train(cfg, tmp_path / "run", tasks=make_tasks(), progress=False)
    assert summary.steps == 10
    # after the last step the warm-up (first 20 %) is long over: the model carries the full window
    from hrmcode.runs import load_run

    run = load_run(tmp_path / "run")
    assert run.cfg.model.recipe == "lm" and run.model.core.grad_calls == 5


def trunk_and_head_grads(q_detach: bool, q_loss_weight: float) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    torch.manual_seed(0)
    cfg = lm_cfg(act=dict(enabled=True, halt_max_steps=2, exploration_prob=0.0, inference="per_token",
                          q_detach=q_detach, q_loss_weight=q_loss_weight))
    model = build_model(cfg).train()
    with torch.no_grad():  # a q-head that has learned something (its zero init passes no gradient back)
        model.core.q_head.weight.normal_(0, 0.5)
    batch = causal_batch([EXAMPLE, EXAMPLE], 0)
    out = model(model.initial_carry(batch), batch)
    assert {"q_halt_loss", "q_continue_loss", "q_token_loss"} <= set(out.metrics)  # every halting loss is on
    out.loss.backward()
    trunk = {n: p.grad.clone() for n, p in model.named_parameters() if not n.startswith("core.q_head")
             and p.grad is not None}
    return trunk, model.core.q_head.weight.grad.clone()


def test_no_halting_loss_gradient_reaches_any_trunk_parameter():
    without, head0 = trunk_and_head_grads(q_detach=True, q_loss_weight=0.0)
    with_q, head1 = trunk_and_head_grads(q_detach=True, q_loss_weight=5.0)
    assert set(without) == set(with_q) and len(without) > 5
    for name in without:  # the halting losses change nothing but the q-head's own gradient
        assert torch.equal(without[name], with_q[name]), name
    assert head1.abs().sum() > 0 and not torch.equal(head0, head1)
    # the original HRM (q_detach off) lets them into the trunk: the check above can fail
    a, _ = trunk_and_head_grads(q_detach=False, q_loss_weight=0.0)
    b, _ = trunk_and_head_grads(q_detach=False, q_loss_weight=5.0)
    assert any(not torch.equal(a[n], b[n]) for n in a)


def test_one_segment_adds_no_halting_loss_even_with_act_on():
    torch.manual_seed(0)
    model = build_model(lm_cfg(recipe="hrm", act=dict(enabled=True, halt_max_steps=1, inference="per_token"))).train()
    batch = causal_batch([EXAMPLE], 0)
    out = model(model.initial_carry(batch), batch)
    assert not any(k.startswith("q_") and k.endswith("_loss") for k in out.metrics)
    assert torch.allclose(out.loss.detach(), out.metrics["lm_loss"])


def test_recipe_defaults_follow_the_mode_and_explicit_fields_win():
    causal, canvas = ModelConfig(), ModelConfig(mode="canvas")
    assert (causal.recipe, causal.norm, causal.z_init, causal.grad_mode, causal.grad_warmup_from) == (
        "lm", "pre", "random", "truncated:5", 2)
    assert (causal.act.enabled, causal.act.halt_max_steps, causal.act.q_detach) == (False, 1, True)
    assert (canvas.recipe, canvas.norm, canvas.z_init, canvas.grad_mode) == ("hrm", "post", "random", "one_step")
    assert (canvas.act.enabled, canvas.act.halt_max_steps, canvas.act.q_detach) == (True, 4, False)
    mixed = ModelConfig(norm="post", act={"halt_max_steps": 2, "enabled": True})
    assert (mixed.recipe, mixed.norm, mixed.z_init, mixed.act.halt_max_steps, mixed.act.enabled) == (
        "lm", "post", "random", 2, True)
    # a preset's ACT segments belong to the original recipe
    assert preset("tiny").act.halt_max_steps == 1 and preset("tiny", recipe="hrm").act.halt_max_steps == 4
    assert preset("micro", mode="canvas").act.halt_max_steps == 2
    with pytest.raises(ConfigError, match="model.recipe"):
        validate_config({"model": {"recipe": "hrm-text"}})


def test_recipes_derive_from_a_base_file_and_take_set_overrides(tmp_path):
    from pathlib import Path

    configs = Path(__file__).resolve().parents[1] / "configs"
    hrm, base = load_config(configs / "tiny-quick.yaml"), load_config(configs / "tiny-quick-baseline.yaml")
    a, b = hrm.model_dump(), base.model_dump()
    assert (a["model"].pop("arch"), b["model"].pop("arch")) == ("hrm", "baseline")
    assert (a.pop("name"), b.pop("name")) == ("tiny-quick", "tiny-quick-baseline")
    assert a == b  # one switch apart
    flipped = load_config(configs / "tiny-quick.yaml", parse_override("model.arch=baseline"))
    assert flipped.model.arch == "baseline" and flipped.train == hrm.train
    assert parse_override("train.lr=0.002") == {"train": {"lr": 0.002}}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("model.arch")

    (tmp_path / "a.yaml").write_text("base: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("base: missing.yaml\n")
    with pytest.raises(ConfigError, match="c.yaml: base: .*missing.yaml does not exist"):
        load_config(tmp_path / "c.yaml")


def test_a_run_saved_before_recipes_loads_as_the_original_hrm(tmp_path):
    from hrmcode.config import dump_config

    old = validate_config({"model": {"recipe": "hrm", "norm": "pre", "act": {"halt_max_steps": 2}}}).model_dump(
        mode="json")
    for key in ("recipe", "z_init", "grad_warmup_from", "grad_warmup_fraction"):
        old["model"].pop(key)
    old["model"]["act"].pop("q_detach")
    path = tmp_path / "config.yaml"
    import yaml

    path.write_text(yaml.safe_dump(old))
    cfg = load_saved_config(path)
    assert (cfg.model.recipe, cfg.model.z_init, cfg.model.grad_warmup_from, cfg.model.act.q_detach) == (
        "hrm", "random", None, False)
    assert cfg.model.norm == "pre" and cfg.model.act.halt_max_steps == 2  # what it said is kept
    # a run saved now round-trips exactly
    path.write_text(dump_config(validate_config({})))
    assert load_saved_config(path) == validate_config({})


def test_early_exit_on_a_run_whose_q_head_never_trained_says_so():
    lm = validate_config({})
    with pytest.raises(ConfigError, match="never trained"):
        with_act(lm, inference="per_token")
    assert with_act(lm, inference="max").model.act.inference == "max"
    seq = validate_config({"model": {"recipe": "hrm", "act": {"halt_max_steps": 2, "inference": "per_sequence"}}})
    with pytest.raises(ConfigError, match="per-token q-head"):
        with_act(seq, inference="per_token")
    assert with_act(seq, inference="per_sequence").model.act.inference == "per_sequence"
