"""A weight-shared looped transformer: HRM's recurrence without the H/L split (``arch: looped``).

One module M of ``h_layers + l_layers`` blocks (HRM's parameter count exactly: the same blocks,
embedding and heads) and one state z, iterated with input injection:

    for loop in loops:
        z = M(z + x)

It answers "is it the hierarchy or the recurrence?": at equal parameters and equal compute it runs
as many block applications per token as HRM. The loop count is derived from HRM's, so the same
config (and the same ``--cycles N``) means the same compute for both architectures:

    loops(c) = max(1, round_half_up(c · (l_cycles · l_layers + h_layers) / (h_layers + l_layers)))

for c H cycles (``looped_loops``). Exact when the division is; e.g. tiny (2+2 layers, cycles 2/2)
gives 12 / 4 = 3 loops, while micro (cycles 1/2) gives 6 / 4 = 1.5 → 2 loops (8 block applications
against HRM's 6). One loop is one depth unit: the converge exit checks after every loop.

Everything else is the HRM core's (hrm.py) and the ACT wrapper's (act.py), shared by subclassing:
the state lives in the carry's z_H (z_L stays at its initial value and is never read), initial
states follow ``model.z_init``, the truncation window counts loops (module calls), one_step keeps
the gradient of the last loop only (the final call of each module), last_cycle the last loop,
sampled training depth draws H cycles and converts them to loops, and the KV cache holds one entry
list per loop.
"""

from __future__ import annotations

import math

from torch import Tensor

from hrmcode.config import ModelConfig
from hrmcode.model.hrm import HRMCore, ReasoningModule, layer_applications
from hrmcode.model.layers import AttnContext, KVCache


def looped_loops(cfg: ModelConfig, cycles: int | None = None) -> int:
    """Loops per segment whose block applications per token match HRM's at ``cycles`` H cycles
    (default h_cycles), rounded half up, at least one (see the module docstring)."""
    per_loop = cfg.h_layers + cfg.l_layers
    return max(1, math.floor(layer_applications(cfg, cycles) / per_loop + 0.5))


class LoopedCore(HRMCore):
    """The HRM core with one module called ``loops`` times per segment (``arch: looped``)."""

    def _build_modules(self, cfg: ModelConfig) -> None:
        self.loop = ReasoningModule(cfg, cfg.h_layers + cfg.l_layers)

    def module_layers(self) -> dict[str, int]:
        return {"M": self.cfg.h_layers + self.cfg.l_layers}

    def units(self, cycles: int) -> list[tuple[str, ...]]:
        return [("M",)] * looped_loops(self.cfg, cycles)

    def call(self, name: str, z_H: Tensor, z_L: Tensor, x: Tensor, ctx: AttnContext,
             cache: list[KVCache] | None) -> tuple[Tensor, Tensor]:
        return self.loop(z_H, x, ctx, cache), z_L
