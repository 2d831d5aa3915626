"""Checkpoints: safetensors for tensors, JSON for everything else, sha256 checksums, atomic writes.

One checkpoint is one directory ``checkpoints/step_00000123/``:
    model.safetensors      the unwrapped model's weights (no DDP ``module.`` prefix)
    tensors.safetensors    every other tensor (optimizer moments, EMA, the ACT carry, …), by flat key
    state.json             the JSON state (trainer, scheduler, RNG, data position, monitors, config)
    manifest.json          written last: step, code version, metric, sha256 of each file above

The directory is written under a temporary name and renamed into place, and the manifest lists
checksums, so a checkpoint is either complete and verified or ignored: :func:`load_latest` walks
back from the newest one and takes the first that verifies, logging the ones it had to skip.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from hrmcode.records import atomic_write_bytes, atomic_write_json

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FILES = ("model.safetensors", "tensors.safetensors", "state.json")
_STEP_DIR = re.compile(r"^step_(\d{8})$")


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message names the directory and the reason."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: weights, other tensors and JSON state."""

    path: Path
    step: int
    model: dict[str, torch.Tensor]
    tensors: dict[str, torch.Tensor]
    state: dict[str, Any]
    manifest: dict[str, Any]


def code_version() -> str:
    """The package version plus the git commit (and ``+dirty``) when run from a checkout."""
    from hrmcode import __version__

    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        return f"{__version__}+g{sha}{'.dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _contiguous_cpu(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses shared or non-contiguous storage; a clone per tensor is cheap at our sizes.
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}


def step_dir_name(step: int) -> str:
    return f"step_{step:08d}"


def list_checkpoints(root: Path) -> list[tuple[int, Path]]:
    """(step, dir) of every complete-looking checkpoint under ``root``, newest first."""
    if not root.is_dir():
        return []
    out = []
    for p in root.iterdir():
        m = _STEP_DIR.match(p.name)
        if m and p.is_dir() and (p / MANIFEST).exists():
            out.append((int(m.group(1)), p))
    return sorted(out, reverse=True)


def save_checkpoint(
    root: Path,
    step: int,
    model: dict[str, torch.Tensor],
    tensors: dict[str, torch.Tensor],
    state: dict[str, Any],
    *,
    metric: float | None = None,
    keep_last: int = 2,
    keep_best: bool = True,
) -> Path:
    """Write a checkpoint atomically, then prune old ones (keep-last-K plus the best by ``metric``).

    ``metric`` is "lower is better" (a validation loss); checkpoints without one never count as best.
    """
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_dir_name(step)
    tmp = root / f".{final.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    blobs = {
        "model.safetensors": st_save(_contiguous_cpu(model)),
        "tensors.safetensors": st_save(_contiguous_cpu(tensors)),
        "state.json": (json.dumps(state, sort_keys=True, allow_nan=True) + "\n").encode(),
    }
    for name, data in blobs.items():
        atomic_write_bytes(tmp / name, data)
    manifest = {
        "format": 1,
        "step": step,
        "code_version": code_version(),
        "metric": metric,
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in blobs.items()},
    }
    atomic_write_json(tmp / MANIFEST, manifest)
    if final.exists():  # a re-save of the same step (e.g. after a rollback): replace it
        shutil.rmtree(final)
    os.replace(tmp, final)
    _fsync_dir(root)
    prune(root, keep_last=keep_last, keep_best=keep_best)
    return final


def _fsync_dir(path: Path) -> None:
    # The rename is only durable once the directory entry is on disk.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path / MANIFEST}: unreadable manifest: {e}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("sha256"), dict):
        raise CheckpointError(f"{path / MANIFEST}: field sha256: missing or not an object")
    return manifest


def verify(path: Path) -> dict[str, Any]:
    """Check every file against the manifest's sha256; returns the manifest or raises CheckpointError."""
    manifest = _read_manifest(path)
    for name in FILES:
        want = manifest["sha256"].get(name)
        if want is None:
            raise CheckpointError(f"{path / MANIFEST}: field sha256.{name}: missing")
        f = path / name
        if not f.exists():
            raise CheckpointError(f"{f}: missing")
        got = sha256_file(f)
        if got != want:
            raise CheckpointError(f"{f}: checksum mismatch (sha256 {got[:12]}…, manifest says {want[:12]}…)")
    return manifest


def load_checkpoint(path: Path) -> Checkpoint:
    """Load one checkpoint after verifying its checksums."""
    manifest = verify(path)
    model = st_load((path / "model.safetensors").read_bytes())
    tensors = st_load((path / "tensors.safetensors").read_bytes())
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    return Checkpoint(path=path, step=int(manifest["step"]), model=model, tensors=tensors, state=state,
                      manifest=manifest)


def load_latest(root: Path, *, max_step: int | None = None) -> tuple[Checkpoint | None, list[str]]:
    """The newest checkpoint that verifies (at or before ``max_step``) and the reasons others were skipped."""
    skipped: list[str] = []
    for step, path in list_checkpoints(root):
        if max_step is not None and step > max_step:
            continue
        try:
            return load_checkpoint(path), skipped
        except CheckpointError as e:
            log.warning("skipping corrupted checkpoint: %s", e)
            skipped.append(str(e))
        except Exception as e:  # a truncated safetensors file that happens to match is still unusable
            log.warning("skipping unreadable checkpoint %s: %s", path, e)
            skipped.append(f"{path}: {e}")
    return None, skipped


def prune(root: Path, *, keep_last: int, keep_best: bool) -> list[Path]:
    """Delete all but the newest ``keep_last`` checkpoints and (if ``keep_best``) the lowest-metric one."""
    ckpts = list_checkpoints(root)
    keep = {p for _, p in ckpts[:keep_last]}
    if keep_best:
        best = best_checkpoint(root)
        if best is not None:
            keep.add(best)
    removed = []
    for _, p in ckpts:
        if p not in keep:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    # Leftover temp dirs are from a process killed mid-write; they are never valid checkpoints.
    for p in root.glob(".step_*.tmp-*"):
        pid = p.name.rsplit("-", 1)[-1]
        if pid != str(os.getpid()):
            shutil.rmtree(p, ignore_errors=True)
    return removed


def best_checkpoint(root: Path) -> Path | None:
    """The checkpoint with the lowest recorded metric (manifest only; not verified here)."""
    best: tuple[float, int, Path] | None = None
    for step, p in list_checkpoints(root):
        try:
            metric = _read_manifest(p).get("metric")
        except CheckpointError:
            continue
        if isinstance(metric, int | float) and metric == metric:  # NaN never wins
            cand = (float(metric), -step, p)
            if best is None or cand < best:
                best = cand
    return best[2] if best else None


# ---- flattening of nested state: tensors to safetensors, the rest to JSON -----------------------


def split_tensors(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor inside ``obj`` (dicts/lists) by ``{"__tensor__": key}``, collecting it."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        return {str(k): split_tensors(v, f"{prefix}.{k}", tensors) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [split_tensors(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    return obj


def join_tensors(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`split_tensors` (tuples come back as lists)."""
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            return tensors[obj["__tensor__"]]
        return {k: join_tensors(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_tensors(v, tensors) for v in obj]
    return obj


def optimizer_state(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The optimizer's state_dict with its tensors moved into ``tensors`` (JSON-ready remainder)."""
    return split_tensors(opt.state_dict(), "optim", tensors)


def load_optimizer_state(opt: torch.optim.Optimizer, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    sd = join_tensors(state, tensors)
    # JSON turned the integer parameter ids of "state" into strings; torch wants them back as ints.
    sd["state"] = {int(k): v for k, v in sd["state"].items()}
    opt.load_state_dict(sd)


# ---- random number generators -------------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """Python, NumPy, torch CPU and (when present) CUDA generator states; tensors stay tensors."""
    import random

    import numpy as np

    py = random.getstate()
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import random

    import numpy as np

    v, internal, gauss = state["python"]
    random.setstate((v, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda = list(state["cuda"])
        # A checkpoint from more (or fewer) GPUs than this process sees: restore what matches.
        for i in range(min(len(cuda), torch.cuda.device_count())):
            torch.cuda.set_rng_state(cuda[i], i)
