"""LiveCodeBench's prompts: upstream's system and user messages (chat), the same as one text
(completion), hrmcode's prompt text (our runs); and how code is read back out of each."""

from __future__ import annotations

from hrmcode.backends.base import Prompt, Style
from hrmcode.benchmarks.livecodebench import data as lcb
from hrmcode.prompts import prompt_text


def livecodebench_prompt(problem: lcb.Problem, language: str) -> Prompt:
    return Prompt(language=language, native=prompt_text(lcb.to_task(problem, with_private=False), language),
                  messages=tuple(lcb.chat_messages(problem, language)), completion=lcb.prompt_text(problem, language))


def livecodebench_extract(style: Style) -> str:
    """The grader's extraction mode: our runs write bare code; other models fence it (upstream's rule)."""
    return "none" if style == "native" else "upstream"


__all__ = ["livecodebench_extract", "livecodebench_prompt"]
