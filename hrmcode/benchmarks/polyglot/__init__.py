"""Aider Polyglot, offline: ``data.py`` (a checkout → exercises, aider's user turns), ``prompts.py``
(the whole-file edit conversation), ``protocol.py`` (the two-try run, ``hrmcode eval polyglot``),
``toolchains.py`` (each registered language's track scheduled, warm caches in the background) and
``polyglot_js/`` (the pinned jest install ``make polyglot-js`` makes)."""
