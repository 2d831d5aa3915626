"""Each benchmark's prompts in their three forms and how code is read back from each kind of reply."""

from __future__ import annotations

from hrmcode.benchmarks.builtin.prompts import (
    builtin_prompt,
    builtin_solution,
    signature_head,
    signature_line,
)
from hrmcode.benchmarks.common import flatten
from hrmcode.benchmarks.polyglot.prompts import POLYGLOT_SYSTEM, polyglot_prompt, polyglot_reply
from hrmcode.prompts import prompt_text
from hrmcode.records import Task

TASK = Task(task_id="t", prompt="Write add_one: return n plus 1.", starter_code={
    "python": "def add_one(n: int) -> int:\n    pass\n",
    "javascript": "/**\n * @param {number} n\n * @returns {number}\n */\nfunction addOne(n) {\n}\n",
    "rust": "fn add_one(n: i64) -> i64 {\n    todo!()\n}\n",
    "java": "public static long addOne(long n) {\n}\n",
})


def test_builtin_prompt_in_three_forms():
    p = builtin_prompt(TASK, "rust")
    assert p.native == prompt_text(TASK, "rust")  # what our runs were trained on
    system, user = p.messages
    assert system["content"].startswith("You are an expert Rust programmer.")
    assert "```rust\nfn add_one(n: i64) -> i64 {\n    todo!()\n}\n```" in user["content"]
    assert p.completion == "// Language: Rust\n// Write add_one: return n plus 1.\nfn add_one(n: i64) -> i64 {\n"
    assert p.stop == ("\n}",)
    assert "static method" in builtin_prompt(TASK, "java").messages[1]["content"]
    assert builtin_prompt(TASK, "python").completion.startswith("# Language: Python\n# Write add_one")


def test_signature_head_stops_where_the_body_opens():
    assert signature_head(TASK.starter_code["python"]) == "def add_one(n: int) -> int:\n"
    assert signature_head(TASK.starter_code["javascript"]).endswith(" */\nfunction addOne(n) {\n")


def test_prefilled_signature_is_the_line_a_reference_starts_with():
    assert builtin_prompt(TASK, "python").prefill == ""  # off unless asked
    assert builtin_prompt(TASK, "python", prefill_signature=True).prefill == "def add_one(n: int) -> int:"
    assert signature_line(TASK.starter_code["javascript"]) == "function addOne(n) {"  # no JSDoc: references have none
    assert builtin_prompt(TASK, "java", prefill_signature=True).prefill == "public static long addOne(long n) {"
    p = builtin_prompt(TASK, "rust", prefill_signature=True)
    assert p.payload("native") == {"language": "rust", "prompt": p.native, "prefill": "fn add_one(n: i64) -> i64 {"}
    assert "prefill" not in builtin_prompt(TASK, "rust").payload("native")  # old cache keys stay valid


def test_prefill_tokens_are_a_prefix_of_every_reference_in_six_languages():
    """What makes prefilling sound: the model was trained on the references' tokens, and the signature
    line's tokens are exactly their first tokens (BPE never merges across the line's end)."""
    from hrmcode.benchmarks.builtin.generate import generate
    from hrmcode.train.trainer import train_tokenizer

    tasks = generate(1, 150).tasks
    tok = train_tokenizer(tasks, ("python", "javascript", "java", "cpp", "go", "rust"), 600)
    checked = 0
    for t in tasks:
        for lang, ref in (t.reference or {}).items():
            line = builtin_prompt(t, lang, prefill_signature=True).prefill
            assert ref.startswith(line), (t.task_id, lang)
            ids = tok.encode(line)
            assert tok.encode(ref)[: len(ids)] == ids, (t.task_id, lang, line)
            checked += 1
    assert checked >= 6 * 140


def test_solutions_from_each_kind_of_reply():
    assert builtin_solution("    return n + 1", "completion", TASK, "python") == \
        "def add_one(n: int) -> int:\n    return n + 1\n"
    assert builtin_solution("    n + 1", "completion", TASK, "rust") == "fn add_one(n: i64) -> i64 {\n    n + 1\n}\n"
    chat = "Here it is:\n```rust\nfn add_one(n: i64) -> i64 {\n    n + 1\n}\n```\nDone."
    assert builtin_solution(chat, "chat", TASK, "rust") == "fn add_one(n: i64) -> i64 {\n    n + 1\n}\n"
    assert builtin_solution("def add_one(n):\n    return n + 1", "native", TASK, "python") == \
        "def add_one(n):\n    return n + 1\n"


def test_polyglot_files_go_with_the_last_user_turn_and_native_gets_the_user_turns():
    files = {"digit_sum.h": "#pragma once\n", "digit_sum.cpp": "int x;\n"}
    convo = [{"role": "user", "content": "Instructions."}, {"role": "assistant", "content": "reply one"},
             {"role": "user", "content": "FAILED: test 3\n####\n\nSee the testing errors above."}]
    p = polyglot_prompt(convo, files)
    assert p.language == "cpp" and p.messages[0] == {"role": "system", "content": POLYGLOT_SYSTEM}
    assert p.messages[1]["content"] == "Instructions." and p.messages[2]["content"] == "reply one"
    last = p.messages[3]["content"]
    assert "digit_sum.h\n```cpp\n#pragma once\n```" in last and "digit_sum.cpp\n```cpp\nint x;\n```" in last
    assert last.endswith("FAILED: test 3\n####\n\nSee the testing errors above.")
    assert p.native == "Instructions.\nFAILED: test 3\n####\n\nSee the testing errors above."
    assert p.completion == flatten(p.messages) and p.completion.endswith("### Assistant:\n")
    # a native (one-file) model's bare code lands in the source file, not the header
    assert polyglot_reply("int x = 1;", "native", files) == "digit_sum.cpp\n```cpp\nint x = 1;\n```\n"
    assert polyglot_reply("as is", "chat", files) == "as is"
