"""HumanEval: ``data.py`` (HumanEval.jsonl → ``script`` Task records, upstream's samples),
``prompts.py`` (completion with Codex stops, or a chat turn), ``protocol.py`` (``hrmcode eval humaneval``)."""
