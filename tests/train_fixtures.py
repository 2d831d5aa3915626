"""Small real inputs for the trainer tests: generated tasks with references, and a tiny config."""

from __future__ import annotations

from typing import Any

from hrmcode.config import RunConfig, validate_config
from hrmcode.records import Task

_OPS = [("plus", "+"), ("minus", "-"), ("times", "*")]

_RENDER = {
    "python": lambda name, op, k: f"def {name}(x):\n    return x {op} {k}\n",
    "javascript": lambda name, op, k: f"function {name}(x) {{\n  return x {op} {k};\n}}\n",
    "go": lambda name, op, k: f"func {name}(x int) int {{\n\treturn x {op} {k}\n}}\n",
    "rust": lambda name, op, k: f"fn {name}(x: i64) -> i64 {{\n    x {op} {k}\n}}\n",
    "java": lambda name, op, k: f"static int {name}(int x) {{\n    return x {op} {k};\n}}\n",
    "cpp": lambda name, op, k: f"int {name}(int x) {{\n    return x {op} {k};\n}}\n",
}


def make_tasks(n: int = 60, languages: tuple[str, ...] = ("python", "javascript")) -> list[Task]:
    """Tasks "return x <op> k" (depth 1) and "... then <op> k2" (depth 2); every 10th is validation."""
    tasks = []
    for i in range(n):
        word, op = _OPS[i % 3]
        k = i % 10 + 1
        depth = 1 + (i // 3) % 2
        name = f"f{i}"
        expr_k = f"{k}" if depth == 1 else f"{k} {op} {k}"
        prompt = f"Write {name}: return the number x {word} {k}" + (f", then {word} {k} again." if depth == 2 else ".")
        tasks.append(Task(task_id=f"t{i}", source="custom", prompt=prompt, difficulty=depth,
                          reference={lang: _RENDER[lang](name, op, expr_k) for lang in languages},
                          meta={"split": "val" if i % 10 == 9 else "train"}))
    return tasks


def tiny_config(**train: Any) -> RunConfig:
    """A very small HRM (~30k params) for fast CPU tests; ``train`` overrides train.* fields.

    The original HRM recipe (ACT over two segments, a carry between steps) by default, since the
    trainer's carry, rollback and resume paths are exercised by it; ``model={"recipe": "lm", "act": {}}``
    gives the causal-LM recipe."""
    model = train.pop("model", {})
    data = train.pop("data", {})
    base_train = dict(steps=12, batch_size=4, lr=3e-3, warmup_steps=2, log_every=1, eval_every=6, ckpt_every=4,
                      keep_last=3, threads=1, device="cpu", probe_size=8, plots=False)
    base_train.update(train)
    return validate_config({
        "model": {"hidden": 32, "heads": 2, "expansion": 2.0, "h_layers": 1, "l_layers": 1, "h_cycles": 1,
                  "l_cycles": 2, "max_seq_len": 96, "canvas_slots": 48, "vocab_size": 320,
                  "recipe": "hrm", "act": {"halt_max_steps": 2}, **model},
        "tokenizer": {"vocab_size": 320},
        "data": {"languages": ["python", "javascript"], **data},
        "train": base_train,
    })
