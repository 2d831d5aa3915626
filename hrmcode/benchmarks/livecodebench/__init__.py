"""LiveCodeBench: ``data.py`` (release files → problems → Task records, upstream's messages),
``prompts.py`` (every prompt form), ``protocol.py`` (``hrmcode eval livecodebench``)."""
