"""The built-in suite: the adapter is its generator (``generate.py`` over ``ir.py``, ``families.py``,
``names.py``, ``phrasing.py``, plus ``handwritten.py``; ``hrmcode data build``), ``prompts.py`` (every
prompt form) and ``protocol.py`` (``hrmcode eval builtin``: generate → grade → summary)."""
