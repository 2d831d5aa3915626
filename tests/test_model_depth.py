"""Depth as a knob (issue 15): sampled training depth, any depth at inference with a correct KV cache,
the convergence exit, the looped comparator and the equal-compute baseline depth."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from train_fixtures import make_tasks, tiny_config
from typer.testing import CliRunner

from hrmcode.backends import BackendSpec, Job, Prompt, open_backend
from hrmcode.backends.hrm import InferenceOptions, inference_overrides, overridden_config
from hrmcode.benchmarks.builtin.protocol import compute_stats
from hrmcode.cli import app
from hrmcode.config import ConfigError, ModelConfig, preset, validate_config, with_act
from hrmcode.generate import SamplingConfig, generate
from hrmcode.model import (
    build_model,
    count_parameters,
    equal_compute_layers,
    grad_calls,
    looped_loops,
    model_info,
    sample_cycles,
)
from hrmcode.model.batch import Batch, prompt_batch
from hrmcode.records import Sample
from hrmcode.train import checkpoint as ck
from hrmcode.train.trainer import load_run_config, train

PROMPTS = [[5, 6, 7, 8, 9, 3], [10, 11, 3]]  # different lengths: left padding is exercised


def small(arch: str = "hrm", **kw) -> ModelConfig:
    """A tiny causal model under the lm recipe: 1+1 layers, H/L cycles 2/2 (training mean 2)."""
    return ModelConfig(**{"arch": arch, "hidden": 32, "heads": 2, "expansion": 2.0, "h_layers": 1, "l_layers": 1,
                          "h_cycles": 2, "l_cycles": 2, "vocab_size": 64, "max_seq_len": 48, **kw})


def model_for(cfg: ModelConfig, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(cfg, pad_id=0).eval()


def _recomputed(model, prompts: Batch, seq: torch.Tensor) -> torch.Tensor:
    """Next-token logits after prompt + seq by a full forward (no cache): (B, V)."""
    inputs = torch.cat([prompts.inputs, seq], dim=1)
    batch = Batch(inputs, torch.full_like(inputs, -100), prompts.start, prompts.prefix_end,
                  torch.full_like(prompts.end, inputs.shape[1]))
    logits, _ = model.infer(batch)
    return logits[:, -1]


# ---- the KV cache at every depth ------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["hrm", "looped"])
@pytest.mark.parametrize("cycles", [1, 2, 4])  # 1, the training mean, twice the mean
def test_cached_decoding_equals_recomputation_at_any_depth(arch, cycles):
    model = model_for(small(arch, cycles_sampling="poisson"))
    prompts = prompt_batch(PROMPTS, pad_id=0)
    with inference_overrides(model, InferenceOptions(h_cycles=cycles)):
        # Teacher-forced: the cached logits at every step equal the full forward's.
        seq = torch.tensor([[12, 13, 14, 15, 16, 17], [20, 21, 22, 23, 24, 25]])
        logits, state = model.start_decode(prompts, prompts.length + seq.shape[1] + 1)
        for t in range(seq.shape[1] + 1):
            ref = _recomputed(model, prompts, seq[:, :t])
            torch.testing.assert_close(logits, ref, rtol=1e-4, atol=1e-4)
            if t < seq.shape[1]:
                logits = model.decode_step(state, seq[:, t])
        assert state.prefill_calls.tolist() == [model.core.n_calls] * 2
        # Greedy decoding: the same tokens with the cache as with recomputation over the growing sequence.
        sampling = SamplingConfig(max_new_tokens=10)
        cached = generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=sampling)
        full = generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=sampling, use_cache=False)
    assert cached.tokens == full.tokens
    calls = cycles * 3 if arch == "hrm" else looped_loops(model.cfg, cycles)
    assert cached.max_token_calls == calls and cached.prefill_calls == [calls, calls]
    assert cached.token_calls == [float(calls)] * 2
    assert model.cfg.h_cycles == 2  # the override ended with the block


@pytest.mark.parametrize("arch", ["hrm", "looped"])
def test_the_depth_changes_what_the_model_computes(arch):
    model = model_for(small(arch))
    prompts = prompt_batch(PROMPTS, pad_id=0)
    outs = []
    for c in (1, 2, 4):
        with inference_overrides(model, InferenceOptions(h_cycles=c)):
            outs.append(model.infer(prompts)[0])
    assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[1], outs[2])


def test_inference_depth_may_exceed_the_trained_maximum_but_stays_validated():
    cfg = small(cycles_sampling="uniform", cycles_max=3)
    assert overridden_config(cfg, InferenceOptions(h_cycles=8)).h_cycles == 8
    with pytest.raises(ValueError, match="h_cycles"):
        overridden_config(cfg, InferenceOptions(h_cycles=0))
    with pytest.raises(ValueError, match="baseline model has no ACT or recurrence"):
        overridden_config(small("baseline"), InferenceOptions(h_cycles=2))


# ---- sampled depth in training --------------------------------------------------------------------


def test_cycles_fields_validate_and_default():
    assert small().cycles_max == 4 and small(h_cycles=3).cycles_max == 6  # 2 × the mean
    with pytest.raises(ConfigError, match="cycles_max"):
        validate_config({"model": {"h_cycles": 3, "cycles_max": 2}}, "run.yaml")
    with pytest.raises(ConfigError, match="model.cycles_sampling"):
        validate_config({"model": {"cycles_sampling": "lognormal"}}, "run.yaml")


def test_sampled_cycles_are_a_function_of_seed_and_step_and_leave_the_global_rng_alone():
    cfg = small(h_cycles=3, cycles_sampling="poisson", cycles_max=8)
    rng = torch.get_rng_state()
    a = [sample_cycles(cfg, 0, s) for s in range(400)]
    assert torch.equal(rng, torch.get_rng_state())
    assert a == [sample_cycles(cfg, 0, s) for s in range(400)]
    assert a != [sample_cycles(cfg, 1, s) for s in range(400)]
    assert min(a) >= 1 and max(a) == 8  # clipped at cycles_max, and the tail reaches it
    assert 2.6 < sum(a) / len(a) < 3.2  # around the mean (the clip lowers it a little)
    assert sum(x >= 5 for x in a) > 20  # heavy right tail

    uni = [sample_cycles(small(h_cycles=3, cycles_sampling="uniform"), 0, s) for s in range(400)]
    assert set(uni) == {1, 2, 3, 4, 5} and abs(sum(uni) / len(uni) - 3) < 0.2
    capped = {sample_cycles(small(h_cycles=3, cycles_sampling="uniform", cycles_max=4), 0, s) for s in range(100)}
    assert capped == {2, 3, 4}  # symmetric around the mean within cycles_max
    assert {sample_cycles(small(h_cycles=3), 0, s) for s in range(50)} == {3}
    assert {sample_cycles(small(h_cycles=1, cycles_sampling="poisson"), 0, s) for s in range(50)} == {1}


@pytest.mark.parametrize("arch", ["hrm", "looped"])
def test_a_drawn_depth_runs_its_calls_and_backprops_through_the_truncation_window_only(arch):
    cfg = small(arch, grad_mode="truncated:3", grad_warmup_from=None)
    model = model_for(cfg).train()
    ex = torch.tensor([[5, 6, 3, 12, 13, 1]])
    batch = Batch(ex, torch.tensor([[-100, -100, 12, 13, 1, -100]]), torch.zeros(1, dtype=torch.long),
                  torch.tensor([3]), torch.tensor([6]))
    mods = [model.core.loop] if arch == "looped" else [model.core.L_level, model.core.H_level]
    for cycles in (1, 4):
        model.set_cycles(cycles)
        graph: list[bool] = []

        def seen(_m, _i, out, graph=graph):
            graph.append(out.requires_grad)

        hooks = [m.register_forward_hook(seen) for m in mods]
        model(model.initial_carry(batch), batch).loss.backward()
        for h in hooks:
            h.remove()
        n = cycles * 3 if arch == "hrm" else looped_loops(cfg, cycles)
        assert len(graph) == n == model.core.n_calls
        k = min(3, n)
        assert graph == [False] * (n - k) + [True] * k
        assert model.core.grad_calls == k
    model.eval()
    assert model.core.n_calls == (6 if arch == "hrm" else 3)  # inference: cfg.h_cycles, whatever was drawn


def test_grad_modes_count_module_calls_of_the_core_at_hand():
    cfg = small()
    hrm, looped = [("L", "L", "H")] * 4, [("M",)] * 4
    assert grad_calls(cfg.model_copy(update={"grad_mode": "one_step"}), units=hrm) == 2  # final L and H
    assert grad_calls(cfg.model_copy(update={"grad_mode": "one_step"}), units=looped) == 1  # the last loop
    assert grad_calls(cfg.model_copy(update={"grad_mode": "last_cycle"}), units=hrm) == 3
    assert grad_calls(cfg.model_copy(update={"grad_mode": "last_cycle"}), units=looped) == 1
    assert grad_calls(cfg.model_copy(update={"grad_mode": "truncated:5"}), units=looped) == 4


def _steps(run_dir) -> list[dict]:
    return [r for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines()) if r["type"] == "step"]


@pytest.fixture(scope="module")
def sampled_runs(tmp_path_factory):
    """The looped and HRM models trained 8 steps with Poisson-sampled depth (lm recipe), twice each."""
    root = tmp_path_factory.mktemp("sampled")
    tasks = make_tasks()
    out = {}
    for arch in ("hrm", "looped"):
        cfg = tiny_config(steps=8, ckpt_every=4, eval_every=8, model={
            "arch": arch, "recipe": "lm", "act": {}, "h_cycles": 2, "cycles_sampling": "poisson", "cycles_max": 4})
        a, b = root / f"{arch}-a", root / f"{arch}-b"
        train(cfg, a, tasks=tasks, progress=False)
        train(cfg, b, tasks=tasks, progress=False)
        out[arch] = (cfg, a, b, tasks)
    return out


@pytest.mark.timeout(300)
@pytest.mark.parametrize("arch", ["hrm", "looped"])
def test_sampled_depth_training_is_deterministic_under_a_seed_and_resumes_exactly(sampled_runs, tmp_path, arch):
    cfg, a, b, tasks = sampled_runs[arch]
    drawn = [r["cycles"] for r in _steps(a)]
    assert drawn == [sample_cycles(cfg.model, cfg.train.seed, s) for s in range(8)]
    assert len(set(drawn)) > 1  # the depth really varied
    assert drawn == [r["cycles"] for r in _steps(b)]
    wa, wb = ck.load_checkpoint(a / "checkpoints" / "step_00000008").model, \
        ck.load_checkpoint(b / "checkpoints" / "step_00000008").model
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # Resume from step 4: the same depths are drawn again and the weights end bit-identical.
    c = tmp_path / "resumed"
    shutil.copytree(a, c)
    shutil.rmtree(c / "checkpoints" / "step_00000008")
    train(load_run_config(c, cfg), c, resume=True, tasks=tasks, progress=False)
    assert [r["cycles"] for r in _steps(c)] == drawn
    wc = ck.load_checkpoint(c / "checkpoints" / "step_00000008").model
    assert all(torch.equal(wa[k], wc[k]) for k in wa)
    w0 = ck.load_checkpoint(a / "checkpoints" / "step_00000000").model
    assert any(not torch.equal(w0[k], wa[k]) for k in wa)  # it trained


def test_eval_and_generate_take_cycles_and_converge_on_a_real_run(sampled_runs):
    _, run_dir, _, _ = sampled_runs["hrm"]
    runner = CliRunner()
    got = {}
    for args in (["--cycles", "1"], ["--cycles", "4"], ["--cycles", "4", "--act", "converge", "--act-threshold", "1e9"],
                 ["--cycles", "3", "--act", "converge", "--act-threshold", "0"]):
        res = runner.invoke(app, ["generate", "Write f: return x plus 1.", "--run", str(run_dir), "--json",
                                  "--max-new-tokens", "6", *args])
        assert res.exit_code == 0, res.output
        got[" ".join(args)] = json.loads(res.stdout)[0]
    assert got["--cycles 1"]["max_token_calls"] == 3 and got["--cycles 1"]["prompt_calls"] == 3
    assert got["--cycles 4"]["max_token_calls"] == 12
    conv = got["--cycles 4 --act converge --act-threshold 1e9"]
    assert conv["prompt_calls"] == 12 and conv["max_token_calls"] == 12
    assert conv["token_calls"] == 3.0  # one H cycle (3 calls) per generated token
    assert got["--cycles 3 --act converge --act-threshold 0"]["token_calls"] == 9.0
    res = runner.invoke(app, ["generate", "x", "--run", str(run_dir), "--cycles", "0"])
    assert res.exit_code != 0 and "h_cycles" in res.output


def test_the_eval_backend_runs_the_given_depth_and_records_module_calls(sampled_runs):
    _, run_dir, _, _ = sampled_runs["looped"]
    prompt = Prompt(language="python", native="Write f: return x plus 1.", messages=(), completion="")
    jobs = [Job(prompt), Job(prompt, sample_index=1)]
    got = {}
    for opts in (InferenceOptions(), InferenceOptions(h_cycles=4),
                 InferenceOptions(h_cycles=4, act="converge", act_threshold=1e9)):
        backend = open_backend(BackendSpec("hrm", str(run_dir), options=opts))
        try:
            got[opts] = (backend.identity(), [c for _, c in backend.generate(jobs, SamplingConfig(max_new_tokens=5))])
        finally:
            backend.close()
    (ident, comps), (ident4, comps4), (_, conv) = got.values()
    assert ident["h_cycles"] == 2 and ident4["h_cycles"] == 4  # the depth is part of the gen-cache identity
    assert {c.extra["max_token_calls"] for c in comps} == {3} and {c.extra["prompt_calls"] for c in comps} == {3}
    assert {c.extra["max_token_calls"] for c in comps4} == {6}  # 4 cycles × 3 block applications / 2 = 6 loops
    assert {c.extra["token_calls"] for c in conv} == {1.0} and {c.extra["prompt_calls"] for c in conv} == {6}
    stats = compute_stats([Sample(task_id="t", language="python", solution=c.text, **c.extra) for c in conv])
    assert stats["mean_token_calls"] == 1.0 and stats["calls_saved"] == pytest.approx(5 / 6)
    with pytest.raises(ValueError, match="h_cycles"):
        open_backend(BackendSpec("hrm", str(run_dir), options=InferenceOptions(h_cycles=0)))


# ---- the convergence exit -------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["hrm", "looped"])
def test_converge_threshold_zero_runs_every_cycle_and_a_huge_one_runs_one(arch):
    model = model_for(small(arch, h_cycles=3))
    sampling = SamplingConfig(max_new_tokens=10)
    unit = 3 if arch == "hrm" else 1
    full = model.core.n_calls
    with inference_overrides(model, InferenceOptions(act="max")):
        ref = generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=sampling)
    with inference_overrides(model, InferenceOptions(act="converge", act_threshold=0.0)):
        zero = generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=sampling)
    with inference_overrides(model, InferenceOptions(act="converge", act_threshold=1e9)):
        huge = generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=sampling)
        with pytest.raises(ValueError, match="only in cached decoding"):
            model.infer(prompt_batch(PROMPTS, pad_id=0))
    assert zero.tokens == ref.tokens  # threshold 0: exactly the max-depth model
    assert zero.token_calls == [float(full)] * 2 and zero.prefill_calls == [full] * 2
    assert huge.token_calls == [float(unit)] * 2  # one depth unit per generated token
    assert huge.prefill_calls == [full] * 2 and huge.max_token_calls == full  # the prompt runs every cycle
    assert huge.tokens != ref.tokens  # stopping after one cycle changes what a random model says


def test_converge_counts_calls_per_token_and_stops_tokens_at_different_depths():
    model = model_for(small("looped", h_cycles=8))  # 8 cycles × (2·1 + 1) / 2 blocks = 12 loops
    prompts = prompt_batch(PROMPTS, pad_id=0)
    with inference_overrides(model, InferenceOptions(act="converge", act_threshold=0.02)):
        _, state = model.start_decode(prompts, prompts.length + 12)
        per_token = []
        for t in range(12):
            before = state.token_calls.clone()
            model.decode_step(state, torch.tensor([12 + t, 30 + t]))
            per_token.append((state.token_calls - before).tolist())
    flat = [c for row in per_token for c in row]
    assert all(1 <= c <= 12 for c in flat) and len(set(flat)) > 1, per_token
    assert state.prefill_calls.tolist() == [12, 12] and state.full_calls == 12
    assert state.token_calls.tolist() == [sum(r[i] for r in per_token) for i in range(2)]


def test_converge_with_act_segments_checks_across_segments():
    cfg = small(recipe="hrm", act={"halt_max_steps": 2, "inference": "converge", "converge_threshold": 0.0})
    model = model_for(cfg)
    gen = generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=SamplingConfig(max_new_tokens=5))
    assert gen.max_token_calls == 12 and gen.token_calls == [12.0, 12.0] and gen.token_segments == [2.0, 2.0]


def test_converge_needs_no_q_head_and_is_causal_only():
    run = validate_config({"model": {"recipe": "lm", "act": {}}})
    assert not run.model.act.trains_q_head
    conv = with_act(run, inference="converge", threshold=0.7)  # the flag sets the exit's own threshold
    assert conv.model.act.converge_threshold == 0.7 and conv.model.act.halt_threshold == 0.5
    assert with_act(run, inference="converge", threshold=7.0).model.act.converge_threshold == 7.0
    with pytest.raises(ValueError, match="converge needs a causal model"):
        overridden_config(small(mode="canvas", recipe="hrm"), InferenceOptions(act="converge"))


def test_compute_stats_report_module_calls_per_token():
    def sample(tok: float, full: int) -> Sample:
        return Sample(task_id="t", language="python", solution="", segments=1, token_segments=1.0, max_segments=1,
                      prompt_calls=full, token_calls=tok, max_token_calls=full)

    stats = compute_stats([sample(3.0, 12), sample(9.0, 12)])
    assert stats["mean_token_calls"] == 6.0 and stats["max_token_calls"] == 12
    assert stats["calls_saved"] == 0.5 and stats["mean_prompt_calls"] == 12


# ---- the looped comparator and the equal-compute depth ---------------------------------------------


@pytest.mark.parametrize("name", ["micro", "tiny", "small"])
def test_looped_has_hrm_parameters_and_hrm_compute(name):
    cfg = preset(name)
    with torch.device("meta"):
        hrm = count_parameters(build_model(cfg))
        looped = count_parameters(build_model(cfg.model_copy(update={"arch": "looped"})))
    assert hrm == looped
    info = model_info(cfg)
    assert info["looped"]["total"] == info["hrm"]["total"]
    assert info["looped"]["loops"] == looped_loops(cfg)


def test_looped_loop_count_rule():
    assert looped_loops(preset("tiny")) == 3  # 2 × (2·2 + 2) = 12 block applications / 4 blocks
    assert looped_loops(preset("tiny"), cycles=4) == 6
    assert looped_loops(preset("micro")) == 2  # 1 × (2·2 + 2) = 6 / 4 = 1.5 → 2 (half up)
    assert looped_loops(preset("tiny", h_layers=3, l_layers=1, h_cycles=1, l_cycles=1)) == 1  # 4 / 4
    assert looped_loops(small(), cycles=1) == 2  # 1 × (2 + 1) = 3 / 2 = 1.5 → 2


def test_equal_compute_layers_is_hrms_block_applications_per_token():
    assert equal_compute_layers(preset("tiny")) == 12
    assert equal_compute_layers(preset("tiny", h_cycles=1)) == 6
    assert equal_compute_layers(preset("hrm-27m")) == 24
    cfg = preset("tiny")
    deep = cfg.model_copy(update={"arch": "baseline", "baseline_layers": equal_compute_layers(cfg)})
    assert model_info(deep)["baseline"]["layer_applications"] == model_info(cfg)["hrm"]["layer_applications"]


def test_looped_runs_the_original_recipe_and_canvas_mode_through_the_shared_act_wrapper():
    cfg = small("looped", recipe="hrm", act={"halt_max_steps": 2})
    model = model_for(cfg).train()
    ex = torch.tensor([[5, 6, 3, 12, 13, 1]])
    batch = Batch(ex, torch.tensor([[-100, -100, 12, 13, 1, -100]]), torch.zeros(1, dtype=torch.long),
                  torch.tensor([3]), torch.tensor([6]))
    out = model(model.initial_carry(batch), batch)
    assert "q_halt_loss" in out.metrics and torch.isfinite(out.loss)
    out.loss.backward()
    assert model.core.loop.layers[0].attn.qkv.weight.grad is not None
    model.eval()
    sampling = SamplingConfig(max_new_tokens=6)
    with inference_overrides(model, InferenceOptions(act="max")):
        assert generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=sampling).tokens == \
            generate(model, PROMPTS, eos_id=1, pad_id=0, sampling=sampling, use_cache=False).tokens
    canvas = model_for(small("looped", mode="canvas", canvas_slots=8))
    gen = generate(canvas, PROMPTS, eos_id=1, pad_id=0, mask_id=2, sampling=sampling)
    assert gen.prefill_calls == [3 * s for s in gen.prefill_segments]  # 3 loops per segment
    assert gen.max_token_calls == 3 * canvas.cfg.act.halt_max_steps
