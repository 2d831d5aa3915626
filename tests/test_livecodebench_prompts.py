"""Prompts exactly as upstream's generic chat format, one per target language; code extraction."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrmcode.benchmarks.livecodebench import data as lcb

FIX = Path(__file__).parent / "fixtures" / "livecodebench"

SYSTEM = ("You are an expert Python programmer. You will be given a question (problem specification) and will "
          "generate a correct Python program that matches the specification and passes all tests.")


def _problems() -> dict[str, lcb.Problem]:
    return {p.question_id: p for p in lcb.load_problems(FIX, release="v1").problems}


def test_python_prompt_without_starter_code_is_upstreams_text():
    p = _problems()["abc900_a"]
    expected_user = (
        "### Question:\n" + p.question_content + "\n\n"
        "### Format: Read the inputs from stdin solve the problem and write the answer to stdout (do not directly "
        "test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python "
        "program runs, it reads the inputs, runs the algorithm and writes output to STDOUT.\n"
        "```python\n# YOUR CODE HERE\n```\n\n"
        "### Answer: (use the provided format with backticks)\n\n")
    assert lcb.chat_messages(p) == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": expected_user}]
    assert lcb.prompt_text(p) == SYSTEM + "\n\n" + expected_user


def test_python_prompt_with_starter_code_is_upstreams_text():
    p = _problems()["3900"]
    expected_user = (
        "### Question:\n" + p.question_content + "\n\n"
        "### Format: You will use the following starter code to write the solution to the problem and enclose "
        "your code within delimiters.\n```python\n" + p.starter_code + "\n```\n\n"
        "### Answer: (use the provided format with backticks)\n\n")
    assert lcb.user_message(p.question_content, p.starter_code) == expected_user


@pytest.mark.parametrize("lang, name, fence, comment", [
    ("javascript", "JavaScript", "javascript", "//"), ("java", "Java", "java", "//"), ("cpp", "C++", "cpp", "//"),
    ("go", "Go", "go", "//"), ("rust", "Rust", "rust", "//")])
def test_stdin_prompt_names_each_target_language(lang, name, fence, comment):
    p = _problems()["abc900_a"]
    system, user = (m["content"] for m in lcb.chat_messages(p, lang))
    assert system == SYSTEM.replace("Python", name)
    python_user = lcb.user_message(p.question_content, "", "python")
    assert user == python_user.replace("the python program", f"the {name} program").replace(
        "```python\n# YOUR CODE HERE", f"```{fence}\n{comment} YOUR CODE HERE")
    assert "python" not in (system + user).lower()


def test_functional_problems_are_python_only():
    p = _problems()["3900"]
    assert lcb.supports(p, "python") and not lcb.supports(p, "go")
    assert lcb.supports(_problems()["abc900_a"], "rust")
    with pytest.raises(ValueError, match="Python starter code only"):
        lcb.chat_messages(p, "rust")
    with pytest.raises(ValueError, match="unknown language"):
        lcb.system_message("cobol")


@pytest.mark.parametrize("output, code", [
    ("```python\nprint(1)\n```", "print(1)"),
    ("Here:\n```python\na = 1\nprint(a)\n```\nDone.", "a = 1\nprint(a)"),
    # Between the LAST two fence lines: a trailing markdown block wins (a known upstream issue).
    ("```python\nprint(1)\n```\nRun it:\n```bash\npython x.py\n```", "python x.py"),
    ("```python\nprint(1)\n```\n```", ""),  # last two fences enclose nothing
    ("no fences at all", ""),
    ("```python\nprint(1)", ""),  # one fence: nothing
    ("text ```inline``` text\nx = 2\nmore ``` here", "x = 2"),  # any line containing ``` counts
])
def test_extraction_takes_lines_between_the_last_two_fences(output, code):
    assert lcb.extract_code(output) == code
