"""Optimizers (AdamW, Adam-atan2 in pure PyTorch), the warmup + cosine schedule, weight EMA."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from hrmcode.config import TrainConfig


class AdamAtan2(torch.optim.Optimizer):
    """Adam with the update ``atan2(m̂, b·√v̂)`` instead of ``m̂ / (√v̂ + ε)``: no epsilon to tune,
    and the update is bounded by ``a·π/2`` (Everett et al. 2024, "Scaling Exponents Across
    Parameterizations and Optimizers"; the optimizer of the HRM paper). Decoupled weight decay."""

    def __init__(self, params: Iterable[torch.nn.Parameter] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.95), weight_decay: float = 0.0,
                 a: float = 1.27, b: float = 1.0) -> None:
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay, a=a, b=b))

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                t = float(state["step"])
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.lerp_(p.grad, 1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                if group["weight_decay"]:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                m_hat = m / (1 - beta1**t)
                v_hat = v / (1 - beta2**t)
                p.add_(torch.atan2(m_hat, group["b"] * v_hat.sqrt()), alpha=-group["lr"] * group["a"])
        return loss


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Decay matrices only: norms, biases and scalars are not pulled toward zero."""
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    groups = param_groups(model, cfg.weight_decay)
    if cfg.optimizer == "adam_atan2":
        return AdamAtan2(groups, lr=cfg.lr, betas=cfg.betas)
    # foreach=False: the per-parameter loop is bit-reproducible across resume on CPU and costs
    # nothing measurable at our sizes.
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, foreach=False)


def lr_at(step: int, cfg: TrainConfig, total_steps: int | None = None, time_fraction: float | None = None) -> float:
    """Linear warmup to ``lr``, then cosine down to ``lr × min_lr_ratio`` at the last step.

    With ``time_fraction`` (elapsed / ``train.time_budget_minutes``) the cosine follows whichever
    ends first, the steps or the time budget, so a run stopped by its budget still anneals.
    """
    total = total_steps or cfg.steps
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, total - cfg.warmup_steps)
    progress = min(1.0, max((step - cfg.warmup_steps) / span, time_fraction or 0.0))
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr


class EMA:
    """Exponential moving average of the weights (TRM evaluates with it): ``e ← d·e + (1−d)·w``."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = {k: v.detach().clone().float() for k, v in model.state_dict().items()
                       if v.dtype.is_floating_point}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for k, v in model.state_dict().items():
            if k in self.shadow:
                self.shadow[k].lerp_(v.float(), 1 - self.decay)

    def copy_to(self, model: torch.nn.Module) -> None:
        sd = model.state_dict()
        model.load_state_dict({k: (self.shadow[k].to(v.dtype) if k in self.shadow else v) for k, v in sd.items()})
