"""Resumable, cached generation: every completion is appended to a JSONL file the moment it arrives.

The key of a completion is a hash of the model's identity (backend, model, checkpoint or server),
the prompt form the backend sends, and the sampling parameters of that sample (seed included), so
a cache file can be shared by runs of different models and settings without mixing them up.

A killed run leaves a file of whole lines: each line is written by one ``write`` on a descriptor
opened with ``O_APPEND`` and then fsynced. Only a crash of the machine in the middle of that write
can leave a torn last line; :class:`GenerationCache` drops it (with a warning) and truncates the
file back to its last whole line. Any other bad line is an error naming ``file:line``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hrmcode.backends.base import Backend, Completion, Job
from hrmcode.generate import SamplingConfig
from hrmcode.records import RecordError

log = logging.getLogger(__name__)

CACHE_VERSION = 1


def cache_key(identity: dict[str, Any], style: str, payload: dict[str, Any], sampling: SamplingConfig) -> str:
    blob = json.dumps({"v": CACHE_VERSION, "model": identity, "style": style, "request": payload,
                       "sampling": {"max_new_tokens": sampling.max_new_tokens, "temperature": sampling.temperature,
                                    "top_p": sampling.top_p, "seed": sampling.seed}},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class GenerationCache:
    """Completions by key, backed by an append-only JSONL file (or memory only when ``path`` is None)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.entries: dict[str, Completion] = {}
        self.dropped_torn_line = False
        self._lock = threading.Lock()
        if self.path is not None and self.path.exists():
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        data = self.path.read_bytes()
        good_end = 0
        lines = data.split(b"\n")
        for n, raw in enumerate(lines, 1):
            last = n == len(lines)
            if last and not raw:
                break
            try:
                if last:  # no newline after it: a write that did not finish
                    raise ValueError("no newline at the end")
                obj = json.loads(raw)
                if not isinstance(obj, dict) or not isinstance(obj.get("key"), str) or "completion" not in obj:
                    raise ValueError("expected an object with key and completion")
                comp = Completion.from_json(obj["completion"])
            except (ValueError, KeyError, TypeError) as e:
                if last:
                    log.warning("%s:%d: dropping a torn last line (%s); it will be generated again", self.path, n, e)
                    self.dropped_torn_line = True
                    with self.path.open("r+b") as fh:
                        fh.truncate(good_end)
                    break
                raise RecordError(f"{self.path}:{n}: <record>: not a generation cache line ({e}); "
                                  "delete the file or pass another --gen-cache") from None
            self.entries[obj["key"]] = comp
            good_end += len(raw) + 1

    def get(self, key: str) -> Completion | None:
        return self.entries.get(key)

    def put(self, key: str, completion: Completion, meta: dict[str, Any] | None = None) -> None:
        """Remember ``completion``; with a file, append one whole line and fsync it."""
        with self._lock:
            self.entries[key] = completion
            if self.path is None:
                return
            line = json.dumps({"key": key, **(meta or {}), "completion": completion.to_json()},
                              ensure_ascii=False, separators=(",", ":")) + "\n"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                data = line.encode("utf-8")
                written = os.write(fd, data)
                if written != len(data):  # a regular file takes the whole write or fails
                    raise OSError(f"{self.path}: short write ({written} of {len(data)} bytes)")
                os.fsync(fd)
            finally:
                os.close(fd)


@dataclass
class GenerationStats:
    """What generating a set of jobs cost: tokens, time, and how much came from the cache."""

    backend: dict[str, Any]
    samples: int = 0
    from_cache: int = 0
    generated: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    sample_seconds: float = 0.0  # the recorded time of every sample (generated now or before)
    wall_s: float = 0.0  # this run's generation wall time

    def to_json(self) -> dict[str, Any]:
        return {
            **self.backend, "samples": self.samples, "from_cache": self.from_cache, "generated": self.generated,
            "errors": self.errors, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "seconds_per_sample": round(self.sample_seconds / self.samples, 6) if self.samples else None,
            "completion_tokens_per_s": round(self.completion_tokens / self.sample_seconds, 3)
            if self.sample_seconds > 0 else None,
            "wall_s": round(self.wall_s, 3),
        }


def run_jobs(backend: Backend, jobs: Sequence[Job], sampling: SamplingConfig, cache: GenerationCache, *,
             progress: Callable[[int, int], None] | None = None) -> tuple[list[Completion], GenerationStats]:
    """Every job's completion, from the cache or generated (and appended to it as it arrives)."""
    t0 = time.monotonic()
    ident = backend.identity()
    keys = [cache_key(ident, backend.style, j.prompt.payload(backend.style), j.sampling(sampling)) for j in jobs]
    out: list[Completion | None] = [cache.get(k) for k in keys]
    cached = {i for i, c in enumerate(out) if c is not None}
    done = len(cached)
    if progress:
        progress(done, len(jobs))
    for pos, comp in backend.generate(jobs, sampling, skip=cached):
        if out[pos] is not None:
            raise RuntimeError(f"backend {backend.kind} answered job {pos} twice")
        out[pos] = comp
        cache.put(keys[pos], comp, {"model": backend.name, "sample_index": jobs[pos].sample_index, **jobs[pos].meta})
        done += 1
        if progress:
            progress(done, len(jobs))
    missing = [i for i, c in enumerate(out) if c is None]
    if missing:
        raise RuntimeError(f"backend {backend.kind} left {len(missing)} jobs unanswered (first: {jobs[missing[0]].meta})")
    final = [c for c in out if c is not None]
    stats = GenerationStats(backend.describe(), samples=len(final), from_cache=len(cached),
                            generated=len(final) - len(cached), errors=sum(c.error is not None for c in final),
                            prompt_tokens=sum(c.prompt_tokens for c in final),
                            completion_tokens=sum(c.completion_tokens for c in final),
                            sample_seconds=sum(c.seconds for c in final), wall_s=time.monotonic() - t0)
    return final, stats


__all__ = ["GenerationCache", "GenerationStats", "cache_key", "run_jobs"]
