"""`hrmcode serve RUN_DIR`: a trained run (fp32 or quantized) behind an OpenAI-compatible HTTP API.

Endpoints: ``GET /v1/models``, ``POST /v1/completions``, ``POST /v1/chat/completions`` (both with
``"stream": true`` as server-sent events), ``GET /health``. Any client of that API can use an HRM
model: the ``openai`` package, ``hrmcode eval <benchmark> --backend openai``, aider.

What the model sees. Our models map ``(language, statement)`` to code (``<lang> statement <code>``):
  * completions: ``prompt`` is the statement (hrmcode's prompt text); the reply is the code.
  * chat: the user turns joined by newlines are the statement; the reply is the code in a fenced
    block, preceded by the file's name when the conversation shows exactly one source file in
    aider's whole-file form (``name.py`` on a line, then a fence), so aider can apply it.
  The language is the request's ``language``; for chat, else the one file's or the first fence's
  language; else the server's ``--language``.

hrmcode's request parameters (besides model, prompt/messages, max_tokens, temperature, top_p, n,
seed, stop, stream): ``language``, and for HRM and looped runs ``act`` (max | per_sequence |
per_token | converge), ``act_threshold`` (the KL threshold under converge), ``max_segments`` (ACT
segments at most), ``h_cycles`` (any depth), ``l_cycles``. Responses carry ``hrmcode.choices[i]``
with the ACT segments and module calls (``prompt_calls``, ``token_calls``) each choice ran. OpenAI's default temperature
(1.0) applies when none is given. A prompt that does not fit ``max_seq_len`` is answered 400
``context_length_exceeded``, as OpenAI does.

Batching. One worker thread runs the model; requests that arrive while it works (or within
``batch_window_s`` of the first) are decoded together, up to ``max_batch`` rows, grouped by what
must be shared in one batch: the ACT/cycle options and the sampling (greedy rows batch freely;
sampled rows with a ``seed`` get a batch of their own, so a seed gives the same text every time).
Rows whose own room would be cut by a longer prompt in the batch are decoded apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import queue
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

import uvicorn
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from hrmcode.backends.base import cut_at_stop
from hrmcode.backends.hrm import InferenceOptions, call_counts, inference_overrides, overridden_config
from hrmcode.generate import SamplingConfig, generate
from hrmcode.languages import LANGUAGES, language_of_fence, language_of_path
from hrmcode.runs import LoadedRun

log = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 256
MAX_N = 16
_FENCE_LINE = re.compile(r"^\s*```\s*([\w+#.-]*)\s*$")
_FILE_LINE = re.compile(r"^\s*([\w./-]+\.(\w+))\s*$")


class RequestError(ValueError):
    """A request the server refuses: HTTP status, OpenAI error type and code, the parameter at fault."""

    def __init__(self, message: str, *, status: int = 400, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.param, self.code, self.kind = status, param, code, kind

    def response(self) -> JSONResponse:
        return JSONResponse({"error": {"message": str(self), "type": self.kind, "param": self.param,
                                       "code": self.code}}, status_code=self.status)


# ---- request bodies -------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    n: int = Field(1, ge=1, le=MAX_N)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    language: str | None = None
    act: Literal["max", "per_sequence", "per_token", "converge"] | None = None
    act_threshold: float | None = None
    max_segments: int | None = None
    h_cycles: int | None = None
    l_cycles: int | None = None
    # Parameters that would change what the answer means: refused unless left at their defaults.
    logprobs: bool | int | None = None
    top_logprobs: int | None = None
    echo: bool = False
    best_of: int | None = None
    logit_bias: dict[str, float] | None = None
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    tools: list[Any] | None = None
    response_format: dict[str, Any] | None = None

    def check_supported(self) -> None:
        refused = {"logprobs": self.logprobs not in (None, False, 0), "top_logprobs": bool(self.top_logprobs),
                   "echo": self.echo, "best_of": self.best_of not in (None, 1, self.n), "logit_bias": bool(self.logit_bias),
                   "frequency_penalty": self.frequency_penalty != 0, "presence_penalty": self.presence_penalty != 0,
                   "tools": bool(self.tools),
                   "response_format": bool(self.response_format) and self.response_format.get("type") != "text"}
        for name, bad in refused.items():
            if bad:
                raise RequestError(f"{name} is not supported by hrmcode serve", param=name, code="unsupported_parameter")
        if self.language is not None and self.language not in LANGUAGES:
            raise RequestError(f"language {self.language!r}: expected one of {', '.join(LANGUAGES)}", param="language")

    @property
    def stops(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        stops = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)
        return tuple(s for s in stops if s)

    @property
    def limit(self) -> int:
        return self.max_completion_tokens or self.max_tokens or DEFAULT_MAX_TOKENS

    @property
    def options(self) -> InferenceOptions:
        return InferenceOptions(self.act, self.act_threshold, self.max_segments, self.h_cycles, self.l_cycles)


class CompletionBody(_Body):
    prompt: str | list[str]


class ChatBody(_Body):
    messages: list[dict[str, Any]]


def _validate(cls: type[_Body], raw: bytes) -> _Body:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise RequestError(f"the body is not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    if not isinstance(data, dict):
        raise RequestError("the body must be a JSON object")
    try:
        body = cls.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        param = ".".join(str(p) for p in err["loc"]) or None
        raise RequestError(f"{param}: {err['msg']}", param=param) from None
    body.check_supported()
    return body


# ---- chat → the model's prompt --------------------------------------------------------------------


def message_text(message: dict[str, Any], index: int) -> str:
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                raise RequestError(f"messages.{index}.content: only text parts are supported", param="messages")
        return "".join(parts)
    raise RequestError(f"messages.{index}.content: expected a string or a list of text parts", param="messages")


def chat_prompt(messages: Sequence[dict[str, Any]]) -> tuple[str, str | None, str | None]:
    """(statement, language or None, the one source file's name or None) of a chat conversation."""
    users: list[str] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant", "developer", "tool"):
            raise RequestError(f"messages.{i}.role: expected system, user or assistant", param="messages")
        text = message_text(m, i)
        if m["role"] == "user":
            users.append(text)
    if not users:
        raise RequestError("messages: at least one user message is needed", param="messages")
    files: list[str] = []
    fence_lang: str | None = None
    for text in users:
        lines = text.splitlines()
        for j, line in enumerate(lines):
            fm = _FENCE_LINE.match(line)
            if not fm:
                continue
            if fence_lang is None:
                fence_lang = language_of_fence(fm.group(1))
            prev = next((lines[k] for k in range(j - 1, -1, -1) if lines[k].strip()), "")
            name = _FILE_LINE.match(prev)
            if name and language_of_path(name.group(1)) and name.group(1) not in files:
                files.append(name.group(1))
    sources = [f for f in files if PurePosixPath(f).suffix not in (".h", ".hpp")]
    one = sources[0] if len(sources) == 1 else None
    language = language_of_path(one) if one else fence_lang
    return "\n".join(users), language, one


# ---- the engine: one worker thread, batched decoding ------------------------------------------------


@dataclass
class ChoiceResult:
    text: str
    finish_reason: str
    completion_tokens: int
    extra: dict[str, Any]


Emit = Callable[[tuple[str, int, Any]], None]  # ("delta", choice, text) | ("done", choice, ChoiceResult) | ("error", -1, msg)


class ChoiceStream:
    """One choice being decoded: turns token ids into text deltas, honours stop strings and max_tokens."""

    def __init__(self, index: int, decode: Callable[[list[int]], str], end_ids: set[int], limit: int,
                 stop: tuple[str, ...], emit: Emit) -> None:
        self.index, self.decode, self.end_ids, self.limit, self.stop, self.emit = index, decode, end_ids, limit, stop, emit
        self.ids: list[int] = []
        self.sent = 0
        self.text = ""
        self.done = False
        self.finish_reason = "length"
        self.holdback = max((len(s) for s in stop), default=1) - 1

    def _send(self, upto: int) -> None:
        if upto > self.sent:
            self.emit(("delta", self.index, self.text[self.sent:upto]))
            self.sent = upto

    def push(self, token: int) -> None:
        if self.done:
            return
        if token in self.end_ids:
            self._finish("stop")
            return
        self.ids.append(token)
        self.text = self.decode(self.ids)
        cut, hit = cut_at_stop(self.text, self.stop)
        if hit:
            self.text = cut
            self._finish("stop")
            return
        if len(self.ids) >= self.limit:
            self._finish("length")
            return
        safe = len(self.text) - self.holdback
        if self.text.endswith("\ufffd"):  # a character whose bytes are not all decoded yet
            safe = min(safe, len(self.text.rstrip("\ufffd")))
        self._send(safe)

    def _finish(self, reason: str) -> None:
        self.done = True
        self.finish_reason = reason

    def close(self, extra: dict[str, Any]) -> None:
        """The batch ended: send what is left and the result."""
        self.done = True
        self._send(len(self.text))
        self.emit(("done", self.index, ChoiceResult(self.text, self.finish_reason, len(self.ids), extra)))


@dataclass
class EngineRequest:
    prompts: list[list[int]]  # one per choice
    limit: int
    temperature: float
    top_p: float
    seed: int | None
    stop: tuple[str, ...]
    options: InferenceOptions
    emit: Emit
    key: tuple[Any, ...] = field(default=())


class Engine:
    """The loaded run and its worker thread."""

    def __init__(self, run: LoadedRun, *, max_batch: int = 32, batch_window_s: float = 0.05) -> None:
        if max_batch < 1:
            raise ValueError(f"--max-batch must be ≥ 1, got {max_batch}")
        self.run = run
        self.max_batch = max_batch
        self.window = batch_window_s
        self.q: queue.Queue[EngineRequest | None] = queue.Queue()
        self.batches = 0
        self.rows = 0
        self._lock = threading.Lock()  # one generation at a time (inference_overrides swaps the config)
        self._ids = itertools.count()
        self.thread = threading.Thread(target=self._loop, name="hrmcode-serve-engine", daemon=True)
        self.thread.start()

    def submit(self, req: EngineRequest) -> None:
        sampled_key: tuple[Any, ...]
        if req.temperature == 0:
            sampled_key = ("greedy",)
        elif req.seed is not None:
            sampled_key = ("seeded", next(self._ids))  # a batch of its own: the seed decides the text
        else:
            sampled_key = ("sampled", req.temperature, req.top_p)
        req.key = (tuple(sorted(req.options.given().items())), sampled_key)
        self.q.put(req)

    def close(self) -> None:
        self.q.put(None)
        self.thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            first = self.q.get()
            if first is None:
                return
            got = [first]
            rows = len(first.prompts)
            deadline = time.monotonic() + self.window
            while rows < self.max_batch:
                try:
                    nxt = self.q.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is None:
                    self.q.put(None)
                    break
                got.append(nxt)
                rows += len(nxt.prompts)
            groups: dict[tuple[Any, ...], list[EngineRequest]] = defaultdict(list)
            for r in got:
                groups[r.key].append(r)
            for reqs in groups.values():
                try:
                    self._run_group(reqs)
                except Exception as e:  # one bad batch must not stop the server
                    log.exception("generation failed")
                    for r in reqs:
                        r.emit(("error", -1, f"generation failed: {e}"))

    def _plan(self, rows: list[tuple[EngineRequest, int, list[int]]]) -> list[list[tuple[EngineRequest, int, list[int]]]]:
        """Batches of at most max_batch rows in which no row's room is cut by a longer prompt."""
        L = self.run.cfg.model.max_seq_len
        rows = sorted(rows, key=lambda r: len(r[2]))
        batches: list[list[tuple[EngineRequest, int, list[int]]]] = []
        cur: list[tuple[EngineRequest, int, list[int]]] = []
        need = 0
        for row in rows:
            room = L - len(row[2])
            if cur and (len(cur) >= self.max_batch or room < need):
                batches.append(cur)
                cur, need = [], 0
            cur.append(row)
            need = max(need, min(row[0].limit, L - len(row[2])))
        if cur:
            batches.append(cur)
        return batches

    def _run_group(self, reqs: list[EngineRequest]) -> None:
        tok, model = self.run.tokenizer, self.run.model
        rows = [(r, i, ids) for r in reqs for i, ids in enumerate(r.prompts)]
        first = reqs[0]
        seed = first.seed if first.seed is not None else int.from_bytes(uuid.uuid4().bytes[:4], "little")
        for batch in self._plan(rows):
            streams = [ChoiceStream(i, tok.decode, {tok.eos_id, tok.pad_id}, r.limit, r.stop, r.emit)
                       for r, i, _ in batch]
            sampling = SamplingConfig(max(r.limit for r, _, _ in batch), first.temperature, first.top_p, seed)

            def on_token(ids: Any, streams: list[ChoiceStream] = streams) -> None:
                for s, t in zip(streams, ids.tolist(), strict=True):
                    s.push(t)

            with self._lock, inference_overrides(model, first.options):
                max_segments = model.cfg.act.halt_max_steps if model.cfg.recurrent else 1
                gen = generate(model, [ids for _, _, ids in batch], eos_id=tok.eos_id, pad_id=tok.pad_id,
                               mask_id=tok.mask_id, sampling=sampling, on_token=on_token)
            if model.cfg.mode == "canvas":  # the whole canvas at once: push its tokens now
                for s, ids, fin in zip(streams, gen.tokens, gen.finished, strict=True):
                    for t in [*ids, *([tok.eos_id] if fin else [])]:
                        s.push(t)
            self.batches += 1
            self.rows += len(batch)
            for row, s in enumerate(streams):
                s.close({"segments": gen.prefill_segments[row], "token_segments": gen.token_segments[row],
                         "max_segments": max_segments, **call_counts(gen, row), "batch_rows": len(batch)})


# ---- HTTP ---------------------------------------------------------------------------------------------


def fence_head(language: str, filename: str | None) -> str:
    """What comes before the code in a chat reply: the file's name (aider's whole format) and the fence."""
    return (f"{filename}\n" if filename else "") + f"```{language}\n"


def fence_tail(code: str) -> str:
    return ("" if code.endswith("\n") or not code else "\n") + "```\n"


class Server:
    """The Starlette app over an :class:`Engine`."""

    def __init__(self, run: LoadedRun, *, name: str | None = None, default_language: str = "python",
                 max_batch: int = 32, batch_window_s: float = 0.05) -> None:
        if default_language not in LANGUAGES:
            raise ValueError(f"--language {default_language!r}: expected one of {', '.join(LANGUAGES)}")
        self.run = run
        self.name = name or run.name
        self.default_language = default_language
        self.engine = Engine(run, max_batch=max_batch, batch_window_s=batch_window_s)
        self.created = int(time.time())
        self.app = Starlette(routes=[
            Route("/health", self.health, methods=["GET"]),
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/v1/models/{model:path}", self.model, methods=["GET"]),
            Route("/v1/completions", self.completions, methods=["POST"]),
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
        ], lifespan=self._lifespan)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        self.engine.close()

    # ---- metadata

    def model_card(self) -> dict[str, Any]:
        cfg = self.run.cfg.model
        return {"id": self.name, "object": "model", "created": self.created, "owned_by": "hrmcode",
                "hrmcode": {"run_dir": str(self.run.run_dir), "checkpoint": str(self.run.checkpoint),
                            "step": self.run.step, "weights": self.run.weights, "arch": cfg.arch, "mode": cfg.mode,
                            "max_seq_len": cfg.max_seq_len, "languages": list(self.run.cfg.data.languages),
                            "act": cfg.act.model_dump(), "h_cycles": cfg.h_cycles, "l_cycles": cfg.l_cycles}}

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "model": self.name, "batches": self.engine.batches,
                             "rows": self.engine.rows})

    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [self.model_card()]})

    async def model(self, request: Request) -> Response:
        if request.path_params["model"] != self.name:
            return self._not_found(request.path_params["model"]).response()
        return JSONResponse(self.model_card())

    def _not_found(self, model: str) -> RequestError:
        return RequestError(f"the model {model!r} does not exist; this server serves {self.name!r}", status=404,
                            param="model", code="model_not_found")

    # ---- generation

    def _check(self, body: _Body) -> None:
        if body.model != self.name:
            raise self._not_found(body.model)
        try:
            overridden_config(self.run.cfg.model, body.options)
        except ValueError as e:
            raise RequestError(str(e), param=next(iter(body.options.given()), None)) from None

    def _encode(self, text: str, language: str, param: str) -> list[int]:
        ids = self.run.tokenizer.prompt_ids(language, text)
        limit = self.run.cfg.model.max_seq_len
        if len(ids) >= limit:
            raise RequestError(f"This model's maximum context length is {limit} tokens; the {param} has "
                               f"{len(ids)} tokens (with the language and code markers), leaving no room to answer.",
                               param=param, code="context_length_exceeded")
        return ids

    async def _run(self, body: _Body, prompts: list[list[int]]) -> tuple[asyncio.Queue[Any], int]:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Any] = asyncio.Queue()
        rows = [ids for ids in prompts for _ in range(body.n)]

        def emit(ev: tuple[str, int, Any]) -> None:
            loop.call_soon_threadsafe(events.put_nowait, ev)

        self.engine.submit(EngineRequest(rows, body.limit, body.temperature, body.top_p, body.seed, body.stops,
                                         body.options, emit))
        return events, len(rows)

    @staticmethod
    async def _collect(events: asyncio.Queue[Any], n: int) -> list[ChoiceResult]:
        results: dict[int, ChoiceResult] = {}
        while len(results) < n:
            kind, index, value = await events.get()
            if kind == "error":
                raise RequestError(value, status=500, kind="server_error")
            if kind == "done":
                results[index] = value
        return [results[i] for i in range(n)]

    def _usage(self, prompts: list[list[int]], n: int, results: Sequence[ChoiceResult]) -> dict[str, int]:
        p = sum(len(ids) for ids in prompts) * n
        c = sum(r.completion_tokens for r in results)
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    async def completions(self, request: Request) -> Response:
        try:
            body = _validate(CompletionBody, await request.body())
            assert isinstance(body, CompletionBody)
            self._check(body)
            texts = [body.prompt] if isinstance(body.prompt, str) else list(body.prompt)
            if not texts:
                raise RequestError("prompt: at least one prompt is needed", param="prompt")
            language = body.language or self.default_language
            prompts = [self._encode(t, language, "prompt") for t in texts]
            events, n = await self._run(body, prompts)
            rid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
            if body.stream:
                return self._stream(events, n, rid, created, "text_completion", body,
                                    lambda i, delta: {"index": i, "text": delta, "logprobs": None, "finish_reason": None},
                                    lambda i, r: {"index": i, "text": "", "logprobs": None,
                                                  "finish_reason": r.finish_reason}, prompts)
            results = await self._collect(events, n)
        except RequestError as e:
            return e.response()
        return JSONResponse({
            "id": rid, "object": "text_completion", "created": created, "model": self.name,
            "choices": [{"index": i, "text": r.text, "logprobs": None, "finish_reason": r.finish_reason}
                        for i, r in enumerate(results)],
            "usage": self._usage(prompts, body.n, results),
            "hrmcode": {"language": language, "choices": [r.extra for r in results]},
        })

    async def chat(self, request: Request) -> Response:
        try:
            body = _validate(ChatBody, await request.body())
            assert isinstance(body, ChatBody)
            self._check(body)
            text, found_language, filename = chat_prompt(body.messages)
            language = body.language or found_language or self.default_language
            prompts = [self._encode(text, language, "messages")]
            events, n = await self._run(body, prompts)
            rid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
            head = fence_head(language, filename)
            if body.stream:
                return self._stream(events, n, rid, created, "chat.completion.chunk", body,
                                    lambda i, delta: {"index": i, "delta": {"content": delta}, "finish_reason": None},
                                    lambda i, r: {"index": i, "delta": {"content": fence_tail(r.text)},
                                                  "finish_reason": r.finish_reason},
                                    prompts, first=lambda i: {"index": i, "delta": {"role": "assistant", "content": head},
                                                              "finish_reason": None})
            results = await self._collect(events, n)
        except RequestError as e:
            return e.response()
        return JSONResponse({
            "id": rid, "object": "chat.completion", "created": created, "model": self.name,
            "choices": [{"index": i, "message": {"role": "assistant", "content": head + r.text + fence_tail(r.text)},
                         "finish_reason": r.finish_reason} for i, r in enumerate(results)],
            "usage": self._usage(prompts, body.n, results),
            "hrmcode": {"language": language, "file": filename, "choices": [r.extra for r in results]},
        })

    def _stream(self, events: asyncio.Queue[Any], n: int, rid: str, created: int, obj: str, body: _Body,
                delta: Callable[[int, str], dict[str, Any]], final: Callable[[int, ChoiceResult], dict[str, Any]],
                prompts: list[list[int]], first: Callable[[int], dict[str, Any]] | None = None) -> Response:
        include_usage = bool((body.stream_options or {}).get("include_usage"))

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
            return "data: " + json.dumps({"id": rid, "object": obj, "created": created, "model": self.name,
                                          "choices": choices, **extra}, ensure_ascii=False) + "\n\n"

        async def gen() -> AsyncIterator[str]:
            if first is not None:
                yield chunk([first(i) for i in range(n)])
            done: dict[int, ChoiceResult] = {}
            while len(done) < n:
                kind, index, value = await events.get()
                if kind == "error":
                    yield "data: " + json.dumps({"error": {"message": value, "type": "server_error"}}) + "\n\n"
                    return
                if kind == "delta":
                    yield chunk([delta(index, value)])
                else:
                    done[index] = value
                    yield chunk([final(index, value)], hrmcode={"choices": {str(index): value.extra}})
            if include_usage:
                yield chunk([], usage=self._usage(prompts, body.n, [done[i] for i in range(n)]))
            yield "data: [DONE]\n\n"

        return StreamingResponse(gen(), media_type="text/event-stream")

    def close(self) -> None:
        self.engine.close()


def serve(run: LoadedRun, *, host: str = "127.0.0.1", port: int = 8000, name: str | None = None,
          default_language: str = "python", max_batch: int = 32, batch_window_s: float = 0.05,
          log_level: str = "info") -> None:
    """Serve ``run`` until interrupted."""
    server = Server(run, name=name, default_language=default_language, max_batch=max_batch,
                    batch_window_s=batch_window_s)
    log.info("serving %s at http://%s:%d/v1", server.name, host, port)
    try:
        uvicorn.run(server.app, host=host, port=port, log_level=log_level)
    finally:
        with contextlib.suppress(Exception):
            server.close()


__all__ = ["ChoiceStream", "Engine", "RequestError", "Server", "chat_prompt", "serve"]
