"""Any OpenAI-compatible server as a backend (vLLM, llama.cpp, Ollama, TGI, OpenAI, ``hrmcode serve``).

Requests go through the official ``openai`` client: its retries with exponential backoff on 408,
409, 429 and 5xx answers and on dropped connections (honouring ``Retry-After``), and its per-request
timeout. ``concurrency`` requests are in flight at once. The API key is read from the environment
variable ``api_key_env`` (default ``OPENAI_API_KEY``); a local server usually needs none.

``api`` picks the endpoint and with it the prompt form:
  chat         /v1/chat/completions with the benchmark's chat messages (instruction-tuned models);
  completions  /v1/completions with the benchmark's plain-text prompt (base models);
  native       /v1/completions with hrmcode's own prompt text and its language (our runs served
               by ``hrmcode serve``, which takes ``language`` and the ACT options in the body);
  auto         native when the server's /v1/models says the model is ``owned_by: hrmcode``,
               else chat.
A prompt longer than the server's context (HTTP 400 naming the context length) gives an empty
completion with the error recorded, which fails honestly; any other error that survives the
retries stops the run, whose finished samples are already in the cache.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Container, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Literal

import openai
from openai import OpenAI

from hrmcode.backends.base import Backend, BackendError, Completion, Job, Style, cut_at_stop
from hrmcode.generate import SamplingConfig

log = logging.getLogger(__name__)

Api = Literal["auto", "chat", "completions", "native"]
APIS: tuple[str, ...] = ("auto", "chat", "completions", "native")
MAX_STOP = 4  # the OpenAI API takes at most 4 stop strings; longer lists are cut client-side too
_CONTEXT_WORDS = ("context length", "context_length", "maximum context", "too long", "prompt is too long")


def is_context_error(err: openai.APIStatusError) -> bool:
    """A 400 that says the prompt does not fit the model's context (vLLM, llama.cpp, OpenAI wordings)."""
    if err.status_code != 400:
        return False
    body = err.body if isinstance(err.body, dict) else {}
    inner = body["error"] if isinstance(body.get("error"), dict) else body
    text = f"{inner.get('code') or ''} {err.message}".lower()
    return any(w in text for w in _CONTEXT_WORDS)


class OpenAIBackend(Backend):
    kind = "openai"
    concurrent = True

    def __init__(self, model: str, base_url: str, *, api: Api = "auto", api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 8, max_retries: int = 5, timeout: float = 600.0,
                 native_options: dict[str, Any] | None = None) -> None:
        if api not in APIS:
            raise ValueError(f"--api {api!r}: expected one of {', '.join(APIS)}")
        if concurrency < 1:
            raise ValueError(f"--concurrency must be ≥ 1, got {concurrency}")
        if max_retries < 0:
            raise ValueError(f"--max-retries must be ≥ 0, got {max_retries}")
        if timeout <= 0:
            raise ValueError(f"--request-timeout must be > 0 seconds, got {timeout}")
        if not model:
            raise ValueError("--model: the model name the server serves is needed with --backend openai")
        if not base_url:
            raise ValueError("--base-url: the server's URL (e.g. http://127.0.0.1:8000/v1) is needed with --backend openai")
        key = os.environ.get(api_key_env)
        if not key:
            log.info("openai backend: $%s is not set; sending no API key (fine for a local server)", api_key_env)
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self.native_options = dict(native_options or {})
        self.client = OpenAI(base_url=self.base_url, api_key=key or "EMPTY", max_retries=max_retries,
                             timeout=timeout)
        self.server_info: dict[str, Any] = {}
        self._style: Style = self._resolve_style(api)

    def _resolve_style(self, api: Api) -> Style:
        if api == "chat":
            return "chat"
        if api == "completions":
            return "completion"
        try:
            listed = {m.id: m for m in self.client.models.list()}
        except openai.APIStatusError as e:
            if api == "native":
                raise BackendError(f"{self.base_url}/models: {e.status_code} {e.message}") from None
            log.warning("%s/models answered %s; assuming a chat model (use --api to choose)", self.base_url,
                        e.status_code)
            return "chat"
        except openai.APIConnectionError as e:
            raise BackendError(f"--base-url {self.base_url}: cannot connect ({e})") from None
        entry = listed.get(self.model)
        if entry is None:
            log.warning("%s serves %s, not %r; the requests may fail", self.base_url,
                        ", ".join(sorted(listed)[:10]) or "no models", self.model)
        else:
            self.server_info = entry.model_dump()
        if api == "native":
            return "native"
        return "native" if self.server_info.get("owned_by") == "hrmcode" else "chat"

    @property
    def style(self) -> Style:
        return self._style

    @property
    def name(self) -> str:
        return self.model

    def identity(self) -> dict[str, Any]:
        ident: dict[str, Any] = {"backend": "openai", "base_url": self.base_url, "model": self.model}
        if self._style == "native":
            ident["options"] = self.native_options
            # our server names the checkpoint it serves: a retrained run does not reuse old samples
            ident["served"] = {k: self.server_info.get("hrmcode", {}).get(k) for k in ("checkpoint", "step")}
        return ident

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "base_url": self.base_url, "concurrency": self.concurrency}

    # ---- one request --------------------------------------------------------------------------

    def _request(self, job: Job, sampling: SamplingConfig) -> Completion:
        s = job.sampling(sampling)
        p = job.prompt
        if p.prefill and self._style == "native":
            raise BackendError("a prefilled signature (--prefill-signature) needs --backend hrm: the served "
                               "completions API has no field for it")
        common: dict[str, Any] = {"model": self.model, "max_tokens": s.max_new_tokens, "temperature": s.temperature,
                                  "top_p": s.top_p, "seed": s.seed}
        t0 = time.monotonic()
        try:
            if self._style == "chat":
                r = self.client.chat.completions.create(messages=list(p.messages), **common)  # type: ignore[arg-type]
                choice = r.choices[0]
                text = choice.message.content or ""
                stop_hit = False
            else:
                prompt = p.native if self._style == "native" else p.completion
                extra = {"language": p.language, **self.native_options} if self._style == "native" else None
                stop = list(p.stop[:MAX_STOP]) if self._style == "completion" and p.stop else None
                r = self.client.completions.create(prompt=prompt, stop=stop, extra_body=extra, **common)
                choice = r.choices[0]  # type: ignore[assignment]
                text, stop_hit = cut_at_stop(choice.text or "", p.stop) if self._style == "completion" \
                    else (choice.text or "", False)  # type: ignore[union-attr]
        except openai.APIStatusError as e:
            if is_context_error(e):
                return Completion("", 0, 0, time.monotonic() - t0, False, f"context_length_exceeded: {e.message}")
            raise BackendError(f"{self.base_url} ({self.model}) on {job.meta or 'a request'}: HTTP {e.status_code}: "
                               f"{e.message}") from None
        except (openai.APITimeoutError, openai.APIConnectionError) as e:
            raise BackendError(f"{self.base_url} ({self.model}) on {job.meta or 'a request'}: {e} "
                               "(after the retries)") from None
        usage = r.usage
        finished = stop_hit or choice.finish_reason in ("stop", "eos", None)
        extra: dict[str, Any] = {"finish_reason": choice.finish_reason}
        hrm = (r.model_extra or {}).get("hrmcode") if hasattr(r, "model_extra") else None
        if isinstance(hrm, dict):  # our server reports the ACT segments each choice ran
            extra.update(hrm.get("choices", [{}])[0])
        return Completion(text, usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0,
                          time.monotonic() - t0, bool(finished), None, extra)

    def generate(self, jobs: Sequence[Job], sampling: SamplingConfig, *,
                 skip: Container[int] = ()) -> Iterator[tuple[int, Completion]]:
        todo = [i for i in range(len(jobs)) if i not in skip]
        if not todo:
            return
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(todo)), thread_name_prefix="openai")
        pending: dict[Future[Completion], int] = {}
        it = iter(todo)
        try:
            # At most `concurrency` requests queued: a failure stops the run without a backlog.
            for i in it:
                pending[pool.submit(self._request, jobs[i], sampling)] = i
                if len(pending) >= self.concurrency:
                    break
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    i = pending.pop(fut)
                    yield i, fut.result()
                    nxt = next(it, None)
                    if nxt is not None:
                        pending[pool.submit(self._request, jobs[nxt], sampling)] = nxt
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self.client.close()


__all__ = ["APIS", "OpenAIBackend", "is_context_error"]
