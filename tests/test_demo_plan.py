"""The demo's recipe and evaluation selection (the run itself is `make demo`)."""

from __future__ import annotations

import torch
from train_fixtures import tiny_config

from hrmcode.benchmarks.builtin.generate import generate
from hrmcode.benchmarks.builtin.handwritten import handwritten_tasks
from hrmcode.benchmarks.builtin.protocol import GenerationPlan, evaluate_run
from hrmcode.data.batching import difficulty_of
from hrmcode.demo import DemoPlan, eval_tasks, run_config, wording_section
from hrmcode.evaluate.report import load_eval
from hrmcode.generate import SamplingConfig
from hrmcode.runs import load_run
from hrmcode.train.trainer import train


def test_run_config_carries_the_cpu_recipe():
    plan = DemoPlan(budget_minutes=10, train_fraction=0.6, train_max_depth=2, recipe="hrm", halt_max_steps=2,
                    act_inference="per_token", threads=1)
    for arch in ("hrm", "baseline"):
        cfg = run_config(plan, arch)
        assert cfg.model.arch == arch and cfg.data.max_depth == 2 and cfg.train.threads == 1
        assert cfg.model.act.halt_max_steps == 2 and cfg.model.act.inference == "per_token"
        assert cfg.train.time_budget_minutes == 3.0  # 10 min × 0.6, shared by two models


def test_the_demo_trains_hrm_with_the_causal_lm_recipe_by_default():
    plan = DemoPlan()
    hrm, base = run_config(plan, "hrm"), run_config(plan, "baseline")
    assert hrm.model.recipe == base.model.recipe == "lm"
    assert (hrm.model.act.enabled, hrm.model.act.halt_max_steps) == (False, 1)  # one pass, no ACT
    assert (hrm.model.norm, hrm.model.z_init) == ("pre", "random")
    assert hrm.model.grad_mode == "truncated:2"  # the demo's window (DemoPlan.grad_calls)
    assert run_config(DemoPlan(grad_calls=None), "hrm").model.grad_mode == "truncated:5"  # the recipe's
    # the configuration that writes the requested function (#19): copy head, one renamed copy named
    # with words, output rows trained only by their tokens
    assert hrm.model.copy_head and hrm.model.copy_match and hrm.model.tie_embeddings
    assert (hrm.data.rename_copies, hrm.data.rename_names, hrm.model.output_grad) == (1, "words", "present")
    assert (hrm.model.copy_match_len, hrm.model.copy_score_cap, hrm.model.copy_score_floor) == (4, 10.0, 0.0)
    plain = run_config(DemoPlan(copy_head=False, rename_copies=0, output_grad="all"), "baseline")  # --no-copy-head …
    assert not plain.model.copy_head and plain.data.rename_copies == 0 and plain.model.output_grad == "all"
    # the two runs differ by the architecture only
    a, b = hrm.model_dump(), base.model_dump()
    a["model"].pop("arch"), b["model"].pop("arch"), a.pop("name"), b.pop("name")
    assert a == b


def test_the_cli_defaults_are_the_plans() -> None:
    """`hrmcode demo` with no options runs DemoPlan() (make demo)."""
    import inspect

    from hrmcode.cli import demo_cmd

    params, plan = inspect.signature(demo_cmd).parameters, DemoPlan()
    for name in ("budget_minutes", "seed", "preset", "recipe", "rename_copies", "rename_names", "group_by_length",
                 "grad_calls", "copy_head", "output_grad"):
        assert params[name].default.default == getattr(plan, name), name


def test_eval_tasks_take_every_shallow_test_task_and_seeded_samples_of_the_rest():
    tasks = generate(seed=0, n=600).tasks + handwritten_tasks()
    plan = DemoPlan(eval_depth=2, per_split={"test": 5, "heldout_composition": 4, "depth_extrapolation": 3,
                                             "heldout_phrasing": 7, "handwritten": 20})
    chosen = eval_tasks(tasks, plan)
    ids = [t.task_id for t in chosen]
    assert len(ids) == len(set(ids))
    shallow = {t.task_id for t in tasks if t.meta["split"] == "test" and difficulty_of(t) <= 2}
    assert shallow and shallow <= set(ids)
    by_split: dict[str, list] = {}
    for t in chosen:
        by_split.setdefault(t.meta["split"], []).append(t)
    assert sum(difficulty_of(t) > 2 for t in by_split["test"]) == 5
    assert len(by_split["heldout_composition"]) == 4 and len(by_split["depth_extrapolation"]) == 3
    # New wording and hand-written tasks at the headline's depth, to compare with it.
    assert len(by_split["heldout_phrasing"]) == 7 and len(by_split["handwritten"]) == 20
    assert all(difficulty_of(t) <= 2 for t in by_split["heldout_phrasing"] + by_split["handwritten"])
    assert ids == [t.task_id for t in eval_tasks(tasks, plan)]  # seeded: the same selection every time


def test_the_demo_evaluation_path_generates_executes_and_reports_the_new_splits(tmp_path):
    """A real (tiny, 8-step) model through the demo's evaluation: generation, the sandbox, summary.json
    with signature adherence per split, and the report section on wording and hand-written tasks."""
    torch.set_num_threads(1)
    suite = generate(seed=0, n=300).tasks
    tasks = suite + handwritten_tasks()
    cfg = tiny_config(steps=8, data={"languages": ["python"], "max_depth": 2}, model={"max_seq_len": 320})
    train(cfg, tmp_path / "run", tasks=tasks, progress=False)
    plan = DemoPlan(eval_depth=2, per_split={"test": 0, "heldout_composition": 0, "depth_extrapolation": 0,
                                             "heldout_phrasing": 2, "handwritten": 3})
    chosen = [t for t in eval_tasks(tasks, plan) if t.meta["split"] != "test"][:5] + \
        [t for t in eval_tasks(tasks, plan) if t.meta["split"] == "test"][:2]
    gen = GenerationPlan(languages=("python",), sampling=SamplingConfig(max_new_tokens=24, temperature=0.0))
    summary = evaluate_run(load_run(tmp_path / "run"), chosen, tmp_path / "eval", gen, splits=("handwritten",))
    adh = summary["signature_adherence"]
    assert adh["samples"] == len(chosen) and set(adh["per_split"]) == {"test", "heldout_phrasing", "handwritten"}
    assert summary["per_split"]["handwritten"]["tasks"] == 3
    section = wording_section([load_eval(tmp_path / "eval", "tiny")], tasks, 2)
    assert "| tiny |" in section and "(n=3)" in section and "hand-written − headline" in section
