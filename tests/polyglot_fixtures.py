"""The published Polyglot archive a user brings, found the same way by every test that needs it, and
replies in aider's whole-file format."""

from __future__ import annotations

import os
from pathlib import Path

ARCHIVE_NAME = "polyglot-benchmark-7e0611e.tar.gz"
_ROOT = Path(__file__).resolve().parent.parent
WHERE = (f"put {ARCHIVE_NAME} in ../shared/benchmarks beside the checkout, set HRMCODE_POLYGLOT_ARCHIVE to it, "
         "or HRMCODE_BENCHMARKS to its directory")


def find_archive() -> Path | None:
    """$HRMCODE_POLYGLOT_ARCHIVE, else $HRMCODE_BENCHMARKS/ARCHIVE_NAME, else shared/benchmarks beside
    the checkout (or beside its parent: a git worktree one level down); None when none is a file."""
    if os.environ.get("HRMCODE_POLYGLOT_ARCHIVE"):
        candidates = [Path(os.environ["HRMCODE_POLYGLOT_ARCHIVE"])]
    else:
        dirs = [Path(os.environ["HRMCODE_BENCHMARKS"])] if os.environ.get("HRMCODE_BENCHMARKS") else []
        dirs += [_ROOT.parent / "shared" / "benchmarks", _ROOT.parent.parent / "shared" / "benchmarks"]
        candidates = [d / ARCHIVE_NAME for d in dirs]
    return next((c for c in candidates if c.is_file()), None)


def whole_reply(files: dict[str, str]) -> str:
    """A reply in aider's whole-file format: each file's path, then its content fenced."""
    return "".join(f"{name}\n```\n{text if text.endswith(chr(10)) else text + chr(10)}```\n\n"
                   for name, text in files.items())
