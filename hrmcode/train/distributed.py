"""torch.distributed from torchrun's environment: gloo on CPU, nccl on CUDA; DDP; rank-0 I/O.

The model knows nothing of this module: the trainer wraps it here. Data parallelism splits the
*global* batch by contiguous slot ranges (rank r owns slots [r·B/W, (r+1)·B/W)), so which example
sits in which slot never depends on the world size, and a checkpoint written by W ranks loads at
any other world size that divides the global batch.
"""

from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def resolve_device(pref: str, local_rank: int = 0) -> torch.device:
    """``auto`` → CUDA (this rank's GPU), else MPS, else CPU."""
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(pref)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("train.device: cuda requested but torch.cuda.is_available() is False")
        return torch.device("cuda", local_rank if dev.index is None else dev.index)
    return dev


def init_distributed(device_pref: str = "auto") -> DistInfo:
    """Read RANK/WORLD_SIZE/LOCAL_RANK (set by torchrun) and start the process group if needed."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_pref, local)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(minutes=10))
        log.info("process group up: backend=%s rank=%d/%d device=%s", backend, rank, world, device)
    return DistInfo(rank=rank, world_size=world, local_rank=local, device=device)


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def wrap_ddp(model: torch.nn.Module, info: DistInfo, *, find_unused: bool = False) -> torch.nn.Module:
    """DDP on more than one process; the bare model otherwise. ``find_unused`` for models that leave
    parameters without gradient in a step (HRM with ACT off never uses its q-head)."""
    if not info.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [info.device.index] if info.device.type == "cuda" else None
    # broadcast_buffers=False: the HRM's fixed initial states are buffers identical on every rank.
    return DDP(model, device_ids=ids, broadcast_buffers=False, find_unused_parameters=find_unused)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return getattr(model, "module", model)


def local_slots(global_batch: int, info: DistInfo) -> range:
    """The global-batch slots this rank owns."""
    if global_batch % info.world_size:
        raise ValueError(f"train.batch_size={global_batch} must be divisible by the world size "
                         f"{info.world_size}")
    per = global_batch // info.world_size
    return range(info.rank * per, (info.rank + 1) * per)


def all_reduce_sum(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum across ranks (a no-op on one process); returns the same tensor for chaining."""
    if info.enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def all_gather_slots(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Concatenate every rank's per-slot tensor (dim 0) in rank order: the global-batch view."""
    if not info.enabled:
        return t
    parts = [torch.empty_like(t) for _ in range(info.world_size)]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts, dim=0)


def broadcast_flag(flag: bool, info: DistInfo) -> bool:
    """Rank 0's decision, on every rank (stop for the time budget, …)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int64,
                     device=info.device if info.device.type == "cuda" else "cpu")
    dist.broadcast(t, src=0)
    return bool(t.item())


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()
