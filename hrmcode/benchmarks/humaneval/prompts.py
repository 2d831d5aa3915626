"""HumanEval's prompts: the HumanEval prompt as a completion (Codex stops, our runs too), or a
"complete this function" chat turn whose reply is a fenced whole definition."""

from __future__ import annotations

from hrmcode.backends.base import Prompt, Style
from hrmcode.records import Task

CODEX_STOPS = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")


def humaneval_prompt(task: Task) -> Prompt:
    user = ("Complete the following Python function. Reply with the complete function, including the imports "
            f"it needs, in one ```python code block.\n```python\n{task.prompt.strip()}\n```\n")
    return Prompt(language="python", native=task.prompt, messages=({"role": "user", "content": user},),
                  completion=task.prompt, stop=CODEX_STOPS)


def humaneval_extract(style: Style) -> str:
    """Completions are graded as prompt + completion; chat replies are fenced whole definitions."""
    return "auto" if style == "chat" else "none"


__all__ = ["CODEX_STOPS", "humaneval_extract", "humaneval_prompt"]
