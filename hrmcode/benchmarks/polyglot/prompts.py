"""Aider Polyglot's prompts: the conversational hook of :mod:`hrmcode.benchmarks.polyglot.protocol`.

Native (our runs): the user turns as one text, the reply bare code for one file; chat: the
whole-file edit format over two tries (aider's user turns, the second one carrying the real test
output, from :mod:`hrmcode.benchmarks.polyglot.data`); completion: the conversation as one transcript.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from hrmcode.backends.base import Backend, Completion, Job, Message, Prompt, Style
from hrmcode.backends.cache import GenerationCache, GenerationStats, run_jobs
from hrmcode.benchmarks.common import flatten
from hrmcode.generate import SamplingConfig
from hrmcode.languages import language_of_path

DEFAULT_LANGUAGE = "python"  # a Polyglot file of no registered language's suffix

POLYGLOT_SYSTEM = (
    "Act as an expert software developer. Take requests for changes to the supplied code. Always use best "
    "practices when coding and respect the existing conventions, libraries and names.\n\n"
    "Once you understand the request, reply with the complete content of every file you change: the file's "
    "path alone on a line, then a fenced code block holding the entire file, for example:\n\n"
    "path/to/file.py\n```python\n<the entire content of the file>\n```\n\n"
    "Never leave out, elide or abbreviate any part of a file you return."
)


def files_block(files: dict[str, str]) -> str:
    out = []
    for path, text in files.items():
        lang = language_of_path(path) or ""
        out.append(f"{path}\n```{lang}\n{text if text.endswith(chr(10)) else text + chr(10)}```\n")
    return "\n".join(out)


def polyglot_target(files: dict[str, str]) -> tuple[str | None, str]:
    """The file a native (one-file) model writes, and its language: the first editable source file."""
    target = next((f for f in files if language_of_path(f) and not f.endswith(".h")), next(iter(files), None))
    return target, (language_of_path(target) if target else None) or DEFAULT_LANGUAGE


def polyglot_prompt(conversation: Sequence[Message], files: dict[str, str]) -> Prompt:
    """``conversation``: aider's turns so far (user, assistant, user…, the last one a user turn).

    Chat: the whole-file system prompt, then the turns, the editable files' current contents going
    with the last user turn (aider sends them with every request). Native: the user turns as one
    text (a stateless model still gets the instructions with the test output).
    """
    _, language = polyglot_target(files)
    last = len(conversation) - 1
    messages: list[Message] = [{"role": "system", "content": POLYGLOT_SYSTEM}]
    for i, m in enumerate(conversation):
        content = m["content"]
        if i == last and files:
            content = "Here are the files you may edit, with their current contents:\n\n" + files_block(files) \
                + "\n" + content
        messages.append({"role": m["role"], "content": content})
    native = "\n".join(m["content"] for m in conversation if m["role"] == "user")
    return Prompt(language=language, native=native, messages=tuple(messages), completion=flatten(messages))


def polyglot_reply(text: str, style: Style, files: dict[str, str]) -> str:
    """A native model writes bare code for one file: put it in the whole-file format."""
    if style != "native":
        return text
    target, language = polyglot_target(files)
    if target is None:
        return ""
    return f"{target}\n```{language}\n{text.rstrip()}\n```\n"


class PolyglotEditor:
    """A backend as a conversational Polyglot editor: one cached request per try.

    :func:`hrmcode.benchmarks.polyglot.protocol.eval_polyglot` calls :meth:`converse` with the conversation so
    far and the editable files; ``concurrent`` lets several exercises ask at once when the backend
    allows it (a server), else the calls are serialized (one local model).
    """

    def __init__(self, backend: Backend, sampling: SamplingConfig, cache: GenerationCache) -> None:
        self.backend = backend
        self.sampling = sampling
        self.cache = cache
        self.concurrent = backend.concurrent
        self.completions: list[Completion] = []
        self.from_cache = 0
        self._lock = threading.Lock()

    def converse(self, conversation: list[Message], files: dict[str, str]) -> str:
        prompt = polyglot_prompt(conversation, files)
        attempt = sum(m["role"] == "user" for m in conversation)
        job = Job(prompt, 0, {"try": attempt})
        (comp,), stats = run_jobs(self.backend, [job], self.sampling, self.cache)
        with self._lock:
            self.completions.append(comp)
            self.from_cache += stats.from_cache
        return polyglot_reply(comp.text, self.backend.style, files)

    def stats(self) -> dict[str, Any]:
        s = GenerationStats(self.backend.describe(), samples=len(self.completions), from_cache=self.from_cache,
                            generated=len(self.completions) - self.from_cache,
                            errors=sum(c.error is not None for c in self.completions),
                            prompt_tokens=sum(c.prompt_tokens for c in self.completions),
                            completion_tokens=sum(c.completion_tokens for c in self.completions),
                            sample_seconds=sum(c.seconds for c in self.completions))
        return s.to_json()


__all__ = ["POLYGLOT_SYSTEM", "PolyglotEditor", "files_block", "polyglot_prompt", "polyglot_reply", "polyglot_target"]
