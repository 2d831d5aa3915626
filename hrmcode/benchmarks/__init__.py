"""One package per benchmark: its adapter, its prompts and its protocol together, over the one grader.

Each of ``builtin/``, ``livecodebench/``, ``humaneval/`` and ``polyglot/`` holds

* the **adapter** (``data.py``; the built-in suite's generator for ``builtin``): the benchmark's
  files → Task records (or Polyglot exercises);
* the **prompts** (``prompts.py``): a task → a :class:`~hrmcode.backends.base.Prompt` in every form
  (native, chat, completion) and the code read back out of a reply;
* the **protocol** (``protocol.py``): generate (any backend) → grade (:mod:`hrmcode.execute.grade`,
  :mod:`hrmcode.execute`) → summary.json, results.jsonl, report.md.

:mod:`.common` is what the protocols share (reply extraction, generation with a backend) and
:mod:`.dispatch` maps ``hrmcode eval <benchmark>`` to its protocol. Layers import downward:
records → languages → execute → evaluate (the grader, metrics, summary, render) → benchmarks → cli.
"""
