"""Each benchmark's prompts and reply handling, for every kind of model.

A protocol turns a benchmark item into a :class:`~hrmcode.backends.base.Prompt` (hrmcode's native
text, the chat messages, the plain-text completion prompt) and reads the code back out of a reply
in the way the prompt form calls for:

| benchmark      | native (our runs)            | chat                                    | completion (base LMs)                  |
|----------------|------------------------------|-----------------------------------------|----------------------------------------|
| builtin        | statement + starter code     | statement + starter, one fenced block   | statement as comments + the signature  |
| livecodebench  | hrmcode's prompt text        | upstream's system + user messages       | upstream's messages as one text        |
| humaneval      | the HumanEval prompt         | "complete this function", fenced reply  | the HumanEval prompt, Codex stops      |
| polyglot       | the user turns as one text   | whole-file edit format, two tries       | the conversation as one transcript     |

LiveCodeBench's messages are upstream's (:mod:`hrmcode.data.livecodebench`); Polyglot's user
turns are aider's (:mod:`hrmcode.data.polyglot`), the second one carrying the real test output.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

from hrmcode.backends.base import Backend, Completion, Job, Message, Prompt, Style
from hrmcode.backends.cache import GenerationCache, GenerationStats, run_jobs
from hrmcode.data import livecodebench as lcb
from hrmcode.generate import SamplingConfig
from hrmcode.languages import get_language, language_of_path
from hrmcode.prompts import prompt_text
from hrmcode.records import Task

_FENCE_LINE = re.compile(r"^\s*```")
DEFAULT_LANGUAGE = "python"  # a Polyglot file of no registered language's suffix


def extract_code(text: str) -> str:
    """The model's code: the body of the last fenced block if the text has fences, else the text."""
    lines = text.splitlines()
    fences = [i for i, line in enumerate(lines) if _FENCE_LINE.match(line)]
    if len(fences) >= 2:
        return "\n".join(lines[fences[-2] + 1 : fences[-1]]).strip("\n") + "\n"
    return text.strip("\n") + "\n"


def flatten(messages: Sequence[Message]) -> str:
    """A conversation as one transcript, ending where the assistant speaks next (base models)."""
    parts = [f"### {m['role'].capitalize()}:\n{m['content'].rstrip()}\n" for m in messages]
    return "\n".join(parts) + "\n### Assistant:\n"


# ---- the built-in suite --------------------------------------------------------------------------

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


# ---- LiveCodeBench -------------------------------------------------------------------------------


def livecodebench_prompt(problem: lcb.Problem, language: str) -> Prompt:
    return Prompt(language=language, native=prompt_text(lcb.to_task(problem, with_private=False), language),
                  messages=tuple(lcb.chat_messages(problem, language)), completion=lcb.prompt_text(problem, language))


def livecodebench_extract(style: Style) -> str:
    """The grader's extraction mode: our runs write bare code; other models fence it (upstream's rule)."""
    return "none" if style == "native" else "upstream"


# ---- HumanEval -----------------------------------------------------------------------------------

CODEX_STOPS = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")


def humaneval_prompt(task: Task) -> Prompt:
    user = ("Complete the following Python function. Reply with the complete function, including the imports "
            f"it needs, in one ```python code block.\n```python\n{task.prompt.strip()}\n```\n")
    return Prompt(language="python", native=task.prompt, messages=({"role": "user", "content": user},),
                  completion=task.prompt, stop=CODEX_STOPS)


def humaneval_extract(style: Style) -> str:
    """Completions are graded as prompt + completion; chat replies are fenced whole definitions."""
    return "auto" if style == "chat" else "none"


# ---- Aider Polyglot (the conversational hook of hrmcode.evaluate.polyglot) -----------------------

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

    :func:`hrmcode.evaluate.polyglot.eval_polyglot` calls :meth:`converse` with the conversation so
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


__all__ = ["CODEX_STOPS", "POLYGLOT_SYSTEM", "PolyglotEditor", "builtin_prompt", "builtin_solution", "extract_code",
           "flatten", "humaneval_extract", "humaneval_prompt", "livecodebench_extract", "livecodebench_prompt",
           "polyglot_prompt", "polyglot_reply", "signature_head"]
