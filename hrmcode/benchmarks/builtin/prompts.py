"""The built-in suite's prompts and reply handling, for every kind of model.

| form | the prompt |
|---|---|
| native (our runs) | statement + starter code (:func:`hrmcode.prompts.prompt_text`) |
| chat | statement + starter, one fenced block |
| completion (base LMs) | statement as comments + the signature, cut at the language's stops |
"""

from __future__ import annotations

from hrmcode.backends.base import Prompt, Style
from hrmcode.benchmarks.common import extract_code
from hrmcode.languages import get_language
from hrmcode.prompts import prompt_text
from hrmcode.records import Task


def signature_head(starter: str) -> str:
    """The starter code up to the line that opens the body (``def f(x):`` / ``int f(int x) {``)."""
    lines = starter.splitlines(keepends=True)
    opens = [i for i, ln in enumerate(lines) if ln.rstrip().endswith(("{", ":"))]
    if not opens:
        return starter
    head = "".join(lines[: opens[-1] + 1])
    return head if head.endswith("\n") else head + "\n"


def builtin_system(language: str) -> str:
    name = get_language(language).display_name
    return (f"You are an expert {name} programmer. You will be given a task and will write a correct {name} "
            "function that matches the specification and passes all tests.")


def builtin_user(task: Task, language: str) -> str:
    lang = get_language(language)
    name, fence = lang.display_name, lang.fence
    starter = (task.starter_code or {}).get(language, "")
    where = lang.function_note
    text = f"### Task:\n{task.prompt.strip()}\n\n"
    if starter.strip():
        text += (f"### Format: Complete the following {name} function, keeping its name and signature{where}. "
                 "Reply with the whole function, and any helpers it needs, in one code block, without a main "
                 f"function, tests or example usage.\n```{fence}\n{starter.rstrip()}\n```\n\n")
    else:
        text += (f"### Format: Write the {name} function{where} in one code block, without a main function, "
                 f"tests or example usage.\n```{fence}\n{lang.comment} YOUR CODE HERE\n```\n\n")
    return text + "### Answer: (use the provided format with backticks)\n\n"


def signature_line(starter: str) -> str:
    """The line of the starter code that opens the body, without its newline: what a reference solution
    starts with (``def f(x: int) -> int:``, ``function f(x) {``), so its tokens are a prefix of the
    solution's (JSDoc and other comment lines above it are left out)."""
    head = signature_head(starter).rstrip("\n")
    return head.rsplit("\n", 1)[-1]


def builtin_prompt(task: Task, language: str, *, prefill_signature: bool = False) -> Prompt:
    """The built-in task in every style. ``prefill_signature``: our models' (native) answers start from
    the starter's signature line, as a completion prompt does for base models — the model writes the
    body, the name and parameters are given."""
    lang = get_language(language)
    starter = (task.starter_code or {}).get(language, "")
    c = lang.comment
    statement = "\n".join(f"{c} {line}".rstrip() for line in task.prompt.strip().splitlines())
    head = signature_head(starter) if starter.strip() else ""
    stops = lang.completion_stops if head else ()
    return Prompt(language=language, native=prompt_text(task, language),
                  messages=({"role": "system", "content": builtin_system(language)},
                            {"role": "user", "content": builtin_user(task, language)}),
                  completion=f"{c} Language: {lang.display_name}\n{statement}\n{head}", stop=stops,
                  prefill=signature_line(starter) if prefill_signature and starter.strip() else "")


def builtin_solution(text: str, style: Style, task: Task, language: str) -> str:
    """The function a reply holds: fenced code for chat and native replies; for a completion, the
    signature it continued plus the body it wrote (brace languages get their closing brace back)."""
    starter = (task.starter_code or {}).get(language, "")
    if style != "completion" or not starter.strip():
        return extract_code(text)
    return signature_head(starter) + text.rstrip("\n") + get_language(language).body_close


__all__ = ["builtin_prompt", "builtin_solution", "builtin_system", "builtin_user", "signature_head", "signature_line"]
