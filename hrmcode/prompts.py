"""The prompt text a model sees for a (task, language): ONE place, shared by training and generation.

The token layout around it (``<lang> prompt… <code> code… <eos>``) belongs to the tokenizer
(:meth:`hrmcode.tokenizer.CodeTokenizer.encode_causal` / ``encode_canvas``); this module decides
only what the prompt *text* is. Training (``hrmcode.data.batching``) and decoding
(``hrmcode.generate``) must both call :func:`prompt_text`, or the model is asked a question in a
form it never saw.

The text is the natural-language statement followed, when the task has one for that language, by
the starter code (the function signature): it tells the model the function's name and the target
language's types, which the statement alone does not. The model then writes the whole function,
signature included, exactly as the reference solutions are written.
"""

from __future__ import annotations

from hrmcode.records import Task

STARTER_HEADER = "\nStarter code:\n"


def prompt_text(task: Task, language: str) -> str:
    """Statement, then the language's starter code if the task has one."""
    text = task.prompt.strip()
    starter = (task.starter_code or {}).get(language)
    if starter and starter.strip():
        text += STARTER_HEADER + starter.rstrip() + "\n"
    return text
