"""The benchmark's live progress bar (``rich``) on a terminal; plain lines when not a TTY."""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as Bar

__all__ = ["Progress"]


class Progress:
    """``progress.update("phase", done, total)`` moves the bar; ``log`` prints a line above it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._console = Console(file=stream or sys.stderr, highlight=False)
        self._bar: Bar | None = None
        self._task: TaskID | None = None
        self._phase = ""

    def update(self, phase: str, done: int, total: int | None = None, unit: str = "") -> None:
        """Show ``done`` of ``total`` (or a count) for ``phase`` (on a terminal only)."""
        if not self._console.is_terminal:
            return
        bar = self._bar or self._start()
        if self._task is None or phase != self._phase:
            if self._task is not None:
                bar.remove_task(self._task)
            self._task = bar.add_task(phase, total=total, unit=unit)
            self._phase = phase
        bar.update(self._task, completed=done, total=total)

    def log(self, message: str) -> None:
        """A permanent line (above the bar while one is shown)."""
        self._console.print(message, markup=False, soft_wrap=True)

    def close(self) -> None:
        """Take the bar off the terminal."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._task = None

    def _start(self) -> Bar:
        self._bar = Bar(
            TextColumn("  {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )
        self._bar.start()
        return self._bar
