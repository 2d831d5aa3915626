"""Schedule endpoints, Adam-atan2's bounded update, EMA."""

from __future__ import annotations

import math

import pytest
import torch

from hrmcode.config import TrainConfig
from hrmcode.train.optim import EMA, AdamAtan2, build_optimizer, lr_at


def test_warmup_then_cosine_down_to_min_lr_ratio():
    cfg = TrainConfig(lr=1e-3, warmup_steps=10, steps=110, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(1e-4)
    assert lr_at(9, cfg) == pytest.approx(1e-3)
    assert lr_at(60, cfg) == pytest.approx(0.55e-3)  # half way down the cosine
    assert lr_at(110, cfg) == pytest.approx(1e-4)
    assert all(lr_at(s, cfg) >= lr_at(s + 1, cfg) for s in range(10, 110))


def test_a_time_budget_anneals_the_cosine_when_it_ends_before_the_steps():
    cfg = TrainConfig(lr=1e-3, warmup_steps=10, steps=1_000_000, min_lr_ratio=0.1, time_budget_minutes=5)
    assert lr_at(5, cfg, time_fraction=0.9) == pytest.approx(0.6e-3)  # warmup is by steps
    assert lr_at(20, cfg, time_fraction=0.5) == pytest.approx(0.55e-3)  # half the budget: half way down
    assert lr_at(20, cfg, time_fraction=1.0) == pytest.approx(1e-4)
    assert lr_at(20, cfg, time_fraction=0.0) == pytest.approx(lr_at(20, cfg))  # the steps' own schedule


def test_adam_atan2_first_step_is_bounded_and_follows_the_gradient_sign():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    opt = AdamAtan2([p], lr=0.1, betas=(0.9, 0.95))
    p.grad = torch.tensor([1e6, -1e-6, 0.0])
    opt.step()
    delta = p.detach() - torch.tensor([1.0, -2.0, 3.0])
    # atan2(m̂, √v̂) = atan2(g, |g|) = ±π/4 for any non-zero g, 0 for g = 0: scale-free, no epsilon.
    assert delta.tolist() == pytest.approx([-0.1 * 1.27 * math.pi / 4, 0.1 * 1.27 * math.pi / 4, 0.0])


def test_adam_atan2_minimises_a_quadratic():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = build_optimizer(model, TrainConfig(optimizer="adam_atan2", lr=0.05, weight_decay=0.0))
    x = torch.randn(64, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    first = None
    for _ in range(300):
        loss = (model(x) - y).pow(2).mean()
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-2 * first


def test_ema_tracks_the_weights():
    m = torch.nn.Linear(2, 2)
    ema = EMA(m, 0.5)
    with torch.no_grad():
        m.weight.add_(2.0)
    ema.update(m)
    w_old = m.weight.detach() - 2.0
    assert torch.allclose(ema.shadow["weight"], w_old + 1.0)
    ema.copy_to(m)
    assert torch.allclose(m.weight, w_old + 1.0)
