"""A local Hugging Face causal LM as a backend: its own tokenizer, batched ``generate``.

The model is a directory on disk (``save_pretrained`` output: config.json, weights, tokenizer
files). Nothing is downloaded: loading uses ``local_files_only`` with the hub offline. The
``transformers`` package is an optional extra (``pip install 'hrmcode[hf]'``), imported here only.

Prompt form (``api``): ``chat`` applies the tokenizer's chat template to the benchmark's messages,
``completions`` continues the benchmark's plain-text prompt, ``auto`` picks chat when the tokenizer
has a chat template. Batches are left-padded, one sample index (one seed) and one set of stop
strings at a time, sorted by prompt length.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import defaultdict
from collections.abc import Container, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import torch

from hrmcode.backends.base import Backend, BackendError, Completion, Job, Style, cut_at_stop
from hrmcode.generate import SamplingConfig

log = logging.getLogger(__name__)

HFApi = Literal["auto", "chat", "completions"]
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt")


def _fingerprint(path: Path) -> dict[str, Any]:
    """What identifies the model's files: config.json's hash and the weight files' names and sizes."""
    weights = sorted((p.name, p.stat().st_size) for p in path.iterdir() if p.suffix in WEIGHT_SUFFIXES)
    return {"config_sha256": hashlib.sha256((path / "config.json").read_bytes()).hexdigest(), "weights": weights}


class HFBackend(Backend):
    kind = "hf"

    def __init__(self, path: str | Path, *, api: HFApi = "auto", device: str = "cpu", batch_size: int = 8) -> None:
        p = Path(path)
        if not (p / "config.json").is_file():
            raise BackendError(f"--model {p}: not a local Hugging Face model directory (config.json missing); "
                               "the hf backend loads local files only and never downloads weights")
        if api not in ("auto", "chat", "completions"):
            raise ValueError(f"--api {api!r}: the hf backend takes auto, chat or completions")
        if batch_size < 1:
            raise ValueError(f"--batch-size must be ≥ 1, got {batch_size}")
        os.environ["HF_HUB_OFFLINE"] = "1"  # belt and braces with local_files_only: never reach the hub
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise BackendError("the hf backend needs transformers: pip install 'hrmcode[hf]'") from None
        try:
            tok = AutoTokenizer.from_pretrained(p, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(p, local_files_only=True)
        except (OSError, ValueError) as e:
            raise BackendError(f"--model {p}: cannot load it with transformers: {e}") from None
        tok.padding_side = "left"
        if tok.pad_token is None:
            if tok.eos_token is None:
                raise BackendError(f"--model {p}: the tokenizer has neither a pad nor an eos token")
            tok.pad_token = tok.eos_token
        self.path = p
        self.tokenizer = tok
        self.model = model.to(torch.device(device)).eval()
        self.batch_size = batch_size
        has_template = bool(getattr(tok, "chat_template", None))
        if api == "chat" and not has_template:
            raise BackendError(f"--api chat: {p}'s tokenizer has no chat template; use --api completions")
        self._style: Style = "chat" if api == "chat" or (api == "auto" and has_template) else "completion"
        cfg = model.config
        self.context = int(getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", 0) or 0) or None
        self._fingerprint = _fingerprint(p)

    @property
    def style(self) -> Style:
        return self._style

    @property
    def name(self) -> str:
        return self.path.name

    def identity(self) -> dict[str, Any]:
        return {"backend": "hf", "path": str(self.path.resolve()), **self._fingerprint}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "path": str(self.path), "context": self.context}

    def _text(self, job: Job) -> str:
        if self._style == "chat":
            return str(self.tokenizer.apply_chat_template(list(job.prompt.messages), add_generation_prompt=True,
                                                          tokenize=False))
        return job.prompt.completion

    def generate(self, jobs: Sequence[Job], sampling: SamplingConfig, *,
                 skip: Container[int] = ()) -> Iterator[tuple[int, Completion]]:
        tok = self.tokenizer
        add_special = self._style == "completion"  # a chat template writes its own special tokens
        stops_of = (lambda j: j.prompt.stop) if self._style == "completion" else (lambda j: ())
        groups: dict[tuple[int, tuple[str, ...]], list[tuple[int, list[int]]]] = defaultdict(list)
        for pos, job in enumerate(jobs):
            ids = tok(self._text(job), add_special_tokens=add_special)["input_ids"]
            if self.context is not None and len(ids) >= self.context:
                if pos not in skip:
                    yield pos, Completion("", len(ids), 0, 0.0, False,
                                          f"context_length_exceeded: {len(ids)} prompt tokens, context {self.context}")
                continue
            groups[(job.sample_index, tuple(stops_of(job)))].append((pos, ids))
        eos = tok.eos_token_id
        for (_index, stops), group in sorted(groups.items()):
            group.sort(key=lambda row: len(row[1]))
            s = jobs[group[0][0]].sampling(sampling)
            for start in range(0, len(group), self.batch_size):
                chunk = [row for row in group[start:start + self.batch_size] if row[0] not in skip]
                if not chunk:
                    continue
                t0 = time.monotonic()
                enc = tok.pad({"input_ids": [ids for _, ids in chunk]}, return_tensors="pt").to(self.model.device)
                P = enc["input_ids"].shape[1]
                max_new = s.max_new_tokens if self.context is None else min(s.max_new_tokens, self.context - P)
                kwargs: dict[str, Any] = {"max_new_tokens": max_new, "pad_token_id": tok.pad_token_id,
                                          "eos_token_id": eos, "do_sample": s.temperature > 0}
                if s.temperature > 0:
                    kwargs.update(temperature=s.temperature, top_p=s.top_p)
                    torch.manual_seed(s.seed)
                else:
                    kwargs.update(temperature=None, top_p=None, top_k=None)
                if stops:
                    kwargs.update(stop_strings=list(stops), tokenizer=tok)
                with torch.inference_mode():
                    out = self.model.generate(**enc, **kwargs)
                new = out[:, P:].tolist()
                share = (time.monotonic() - t0) / len(chunk)
                for row, (pos, ids) in enumerate(chunk):
                    gen = new[row]
                    n = next((i for i, t in enumerate(gen) if t == eos), None)
                    body = gen if n is None else gen[:n]
                    text, stop_hit = cut_at_stop(tok.decode(body, skip_special_tokens=True), stops)
                    yield pos, Completion(text, len(ids), len(body) + (n is not None), share,
                                          n is not None or stop_hit, None, {})


__all__ = ["HFBackend"]
