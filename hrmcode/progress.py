"""One rich progress display for multi-stage jobs (generate → execute), shared by the CLI and the demo."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class StageProgress:
    """A context manager whose callback takes ``(done, total)`` or ``(stage, done, total)``: a bar per stage."""

    def __init__(self, console: Console, *, disabled: bool = False, default_stage: str = "eval") -> None:
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, disable=disabled)
        self.default_stage = default_stage
        self.bars: dict[str, Any] = {}

    def __enter__(self) -> StageProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, *args: Any) -> None:
        stage, done, total = (self.default_stage, *args) if len(args) == 2 else args
        if stage not in self.bars:
            self.bars[stage] = self.progress.add_task(str(stage), total=total)
        self.progress.update(self.bars[stage], completed=done, total=total)
