"""One generation interface for every model: the records a backend takes and returns.

A benchmark's prompts (``hrmcode/benchmarks/<name>/prompts.py``) describe each request as a
:class:`Prompt` holding every form a model might take it in: hrmcode's own prompt text (our runs,
local or behind ``hrmcode serve``), the benchmark's chat messages (instruction-tuned models) and
its plain-text completion prompt (base models). A backend has one :attr:`Backend.style` and sends
the matching form; the protocol then reads code out of the reply the way that style needs.

A :class:`Job` is one sample of one prompt: sample ``i`` is drawn with seed ``sampling.seed + i``,
so ``n`` samples are ``n`` reproducible draws whatever the batching. Backends yield completions as
they arrive (:meth:`Backend.generate`); :mod:`hrmcode.backends.cache` appends each to the
resumable cache the moment it comes back.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from hrmcode.generate import SamplingConfig

log = logging.getLogger(__name__)

Style = Literal["native", "chat", "completion"]
STYLES: tuple[str, ...] = ("native", "chat", "completion")
Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": text}


class BackendError(RuntimeError):
    """A model that cannot be used or a server that keeps failing; the message names the model or URL."""


@dataclass(frozen=True)
class Prompt:
    """One request in every form a model may take it.

    native:     hrmcode's prompt text (:func:`hrmcode.prompts.prompt_text` and kin); the tokenizer
                adds ``<lang> … <code>`` around it.
    messages:   the benchmark's chat conversation (system / user / assistant turns).
    completion: the benchmark's plain-text prompt for a base model, continued as is.
    stop:       where a completion ends (completion style only; the text is cut at the first one).
    prefill:    native style only: code the answer is made to start with (the task's signature line,
                the way a completion prompt ends with it); the reply's text includes it.
    """

    language: str
    native: str
    messages: tuple[Message, ...]
    completion: str
    stop: tuple[str, ...] = ()
    prefill: str = ""

    def payload(self, style: Style) -> dict[str, Any]:
        """What a backend of ``style`` sends: also what the cache key is made of."""
        if style == "native":
            return {"language": self.language, "prompt": self.native, **({"prefill": self.prefill} if self.prefill else {})}
        if style == "chat":
            return {"messages": [dict(m) for m in self.messages]}
        return {"prompt": self.completion, "stop": list(self.stop)}


@dataclass(frozen=True)
class Job:
    """Sample ``sample_index`` of ``prompt``; ``meta`` (task id, language, try) is for records and logs."""

    prompt: Prompt
    sample_index: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def sampling(self, base: SamplingConfig) -> SamplingConfig:
        """The sampling this job is drawn with: the seed moves with the sample index."""
        return replace(base, seed=base.seed + self.sample_index)


@dataclass
class Completion:
    """One generated text and what it cost.

    ``finished``: the model ended on its own (end of sequence or a stop string), not at the token
    limit. ``seconds``: wall time this sample took (a batch's time is shared by its rows).
    ``error``: why the text is empty when the model could not answer (e.g. the prompt does not fit
    the context); the sample then fails honestly. ``extra``: backend-specific numbers (our runs: ACT
    segments actually run).
    """

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    finished: bool = True
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "prompt_tokens": self.prompt_tokens,
                               "completion_tokens": self.completion_tokens, "seconds": round(self.seconds, 6),
                               "finished": self.finished}
        if self.error is not None:
            out["error"] = self.error
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Completion:
        return cls(text=obj["text"], prompt_tokens=int(obj.get("prompt_tokens", 0)),
                   completion_tokens=int(obj.get("completion_tokens", 0)), seconds=float(obj.get("seconds", 0.0)),
                   finished=bool(obj.get("finished", True)), error=obj.get("error"), extra=dict(obj.get("extra") or {}))


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the first of the ``stop`` strings, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class Backend(ABC):
    """A model that turns :class:`Job` s into :class:`Completion` s.

    ``style`` is the prompt form it sends; ``identity()`` is what distinguishes its outputs from
    another model's (it goes into the cache key); ``describe()`` goes into summaries.
    ``concurrent`` says whether :meth:`generate` may be called from several threads at once.
    """

    kind: str = ""
    concurrent: bool = False

    @property
    @abstractmethod
    def style(self) -> Style: ...

    @property
    @abstractmethod
    def name(self) -> str:
        """The model's name in records (Sample.model)."""

    @abstractmethod
    def identity(self) -> dict[str, Any]: ...

    def describe(self) -> dict[str, Any]:
        return {"backend": self.kind, "model": self.name, "style": self.style}

    @abstractmethod
    def generate(self, jobs: Sequence[Job], sampling: SamplingConfig, *,
                 skip: Container[int] = ()) -> Iterator[tuple[int, Completion]]:
        """Yield ``(position in jobs, completion)`` for every job not in ``skip``, as each arrives.

        ``skip`` holds positions already answered (a resumed run): a batching backend still plans
        its batches over all of ``jobs``, so a resumed run batches the rest as an uninterrupted one.
        """

    def close(self) -> None:  # noqa: B027 - optional hook: most backends hold nothing to release
        """Release what the backend holds (connections, threads)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["STYLES", "Backend", "BackendError", "Completion", "Job", "Message", "Prompt", "Style", "cut_at_stop"]
