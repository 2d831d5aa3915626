"""Each monitor, fed the signal it watches for, raises its alarm — and resumes exactly from its state."""

from __future__ import annotations

import math

import torch

from hrmcode.train import monitors as mon


def _kinds(alarms: list[mon.Alarm]) -> list[str]:
    return [a.kind for a in alarms]


def test_loss_monitor_flags_nonfinite_and_spike_as_critical():
    m = mon.LossMonitor(min_history=5)
    assert _kinds(m.check(0, float("nan"))) == ["nonfinite"]
    assert m.check(0, float("inf"))[0].severity == "critical"
    for s in range(10):
        m.update(s, 2.0 - 0.01 * s)
    assert m.check(10, 2.0) == []
    spike = m.check(10, 50.0)
    assert _kinds(spike) == ["spike"] and spike[0].severity == "critical"


def test_loss_monitor_ignores_relative_jumps_of_a_loss_near_zero():
    # a memorised model: loss ~0.001, and a step at 0.0056 (measured: tiny baseline, tiny-quick data)
    m = mon.LossMonitor(window=20, min_history=5)
    alarms = []
    for s in range(40):
        loss = 0.001 * (1.0 + 0.5 * (s % 2))
        alarms += m.check(s, loss) + m.update(s, loss)
    assert m.check(40, 0.0056) == [] and alarms == []
    assert _kinds(m.check(40, 0.5)) == ["spike"]  # a real jump still rolls back
    strict = mon.LossMonitor(window=20, min_history=5, min_delta=0.0)
    for s in range(10):
        strict.update(s, 0.001)
    assert _kinds(strict.check(10, 0.0056)) == ["spike"]  # the floor is what keeps it quiet


def test_loss_monitor_sees_a_rising_trend_as_divergence_once_per_window():
    m = mon.LossMonitor(window=20, min_history=10)
    alarms = []
    for s in range(40):
        alarms += m.update(s, 1.0 * 1.05**s)
    assert _kinds(alarms) == ["divergence", "divergence"]  # steps ≥ 10 and ≥ 30: one per window
    assert all(a.severity == "warning" for a in alarms)


def test_loss_monitor_sees_oscillation_but_not_a_smooth_decrease():
    smooth = mon.LossMonitor(window=20, min_history=10)
    assert not [a for s in range(40) for a in smooth.update(s, 3.0 * 0.97**s)]
    osc = mon.LossMonitor(window=20, min_history=10)
    alarms = [a for s in range(20) for a in osc.update(s, 1.0 if s % 2 else 3.0)]
    assert "oscillation" in _kinds(alarms)


def test_grad_norms_are_grouped_by_parameter_name():
    model = torch.nn.ModuleDict({"h_level": torch.nn.Linear(3, 3), "l_level": torch.nn.Linear(3, 3),
                                 "lm_head": torch.nn.Linear(3, 2)})
    x = torch.randn(4, 3)
    model["lm_head"](model["h_level"](model["l_level"](x))).sum().backward()
    norms = mon.grad_norms(model.named_parameters())
    assert set(norms) == {"H", "L", "heads", "total"}
    expect_h = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in model["h_level"].parameters()))
    assert math.isclose(norms["H"], expect_h, rel_tol=1e-6)
    assert math.isclose(norms["total"], math.sqrt(norms["H"] ** 2 + norms["L"] ** 2 + norms["heads"] ** 2),
                        rel_tol=1e-6)


def test_grad_monitor_explosion_and_vanishing():
    m = mon.GradNormMonitor(min_history=5, patience=3)
    alarms = [a for s in range(10) for a in m.update(s, {"H": 1.0, "L": 1.0})]
    assert alarms == []
    assert _kinds(m.update(10, {"H": 50.0, "L": 1.0})) == ["explosion"]
    assert _kinds(m.update(11, {"H": 1.0, "L": 1e9})) == ["explosion"]
    vanish = [a for s in range(12, 16) for a in m.update(s, {"H": 0.0, "L": 1.0})]
    assert _kinds(vanish) == ["vanishing"] and "H" in vanish[0].message


def test_grad_monitor_ignores_relative_jumps_of_tiny_norms():
    # a memorised model (measured: tiny baseline on tiny-quick's data): norms ~3e-4, a step at 0.007
    m = mon.GradNormMonitor(min_history=5)
    assert not [a for s in range(10) for a in m.update(s, {"total": 3e-4})]
    assert m.update(10, {"total": 0.007}) == []
    assert _kinds(m.update(11, {"total": 5.0})) == ["explosion"]  # 20× the median and above the floor
    strict = mon.GradNormMonitor(min_history=5, explode_min=0.0)
    for s in range(10):
        strict.update(s, {"total": 3e-4})
    assert _kinds(strict.update(10, {"total": 0.007})) == ["explosion"]


def test_act_monitor_flags_a_stagnant_q_head_and_never_halting():
    m = mon.ACTMonitor(halt_max_steps=4, window=10, warmup=10)
    alarms = [a for s in range(12) for a in m.update(s, {"q_halt_logits": -5.0, "q_halt_accuracy": 0.2,
                                                         "steps": 4.0, "halted": 0.25})]
    assert set(_kinds(alarms)) == {"q_stagnant", "q_accuracy", "never_halts"}
    healthy = mon.ACTMonitor(halt_max_steps=4, window=10, warmup=10)
    assert not [a for s in range(30) for a in healthy.update(
        s, {"q_halt_logits": -5.0 + 0.1 * s, "q_halt_accuracy": 0.9, "steps": 2.0 + s % 2, "halted": 0.5})]


def test_plateau_monitor_after_patience_evals_without_improvement():
    m = mon.PlateauMonitor(patience=3, min_delta=0.01)
    assert [a for s, v in enumerate([3.0, 2.0, 1.5]) for a in m.update(s, v, 0.0)] == []
    alarms = [a for s in range(3, 6) for a in m.update(s, 1.499, 0.0)]
    assert _kinds(alarms) == ["plateau"] and alarms[0].step == 5


def test_memory_monitor_limit_and_growth():
    m = mon.MemoryMonitor(limit_mb=100, warmup=2)
    assert m.update(0, {"rss_mb": 50}) == []
    assert m.update(1, {"rss_mb": 50}) == []
    assert _kinds(m.update(2, {"rss_mb": 120})) == ["limit", "growth"]
    real = mon.memory_usage()
    assert real["rss_mb"] > 10


def test_time_monitor_alarms_when_projection_exceeds_twice_the_estimate():
    m = mon.TimeMonitor(total_steps=100, estimate_s=10.0)
    assert m.update(10, 1.0, 10, 1.0) == []  # projects 10 s
    assert _kinds(m.update(20, 5.0, 20, 5.0)) == ["over_estimate"]  # projects 25 s > 2 × 10 s
    calibrating = mon.TimeMonitor(total_steps=100, calibrate_steps=5)
    assert calibrating.update(5, 1.0, 5, 1.0) == [] and calibrating.estimate_s == 20.0


def test_every_monitor_resumes_exactly_from_its_state_dict():
    import json

    seq = [2.0, 1.9, 1.95, 1.7, 1.8, 1.6, 1.65, 1.5, 1.55, 1.4, 1.5, 1.45] * 3

    def feed(ms, steps):
        out = []
        for s in steps:
            v = seq[s]
            out += ms[0].update(s, v)
            out += ms[1].update(s, {"H": v, "L": 0.0})
            out += ms[2].update(s, {"q_halt_logits": -5.0, "q_halt_accuracy": 0.3, "steps": 4, "halted": 1})
            out += ms[3].update(s, v, 0.0)
        return out

    def make():
        return [mon.LossMonitor(window=8, min_history=4), mon.GradNormMonitor(min_history=4, patience=5),
                mon.ACTMonitor(halt_max_steps=4, window=6, warmup=6), mon.PlateauMonitor(patience=2)]

    straight = make()
    want = feed(straight, range(len(seq)))
    first = make()
    got = feed(first, range(15))
    states = json.loads(json.dumps([m.state_dict() for m in first]))  # through JSON, as on disk
    second = make()
    for m, sd in zip(second, states, strict=True):
        m.load_state_dict(sd)
    got += feed(second, range(15, len(seq)))
    assert got == want and want
