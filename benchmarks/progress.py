"""A one-line live counter on the terminal (``\\r`` updates); plain lines when not a TTY."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """``progress.update("phase", done, total)`` redraws one line at most 10 times a second."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._out = stream or sys.stderr
        self._tty = self._out.isatty()
        self._last = 0.0
        self._width = 0

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()

    def update(self, phase: str, done: int, total: int | None = None, unit: str = "") -> None:
        """Redraw the live line (on a TTY only; rate-limited)."""
        now = time.monotonic()
        if not self._tty or (now - self._last < 0.1 and done != total):
            return
        self._last = now
        count = f"{done:,}/{total:,}" if total else f"{done:,}"
        line = f"  {phase}: {count} {unit}".rstrip()
        self._write("\r" + line.ljust(self._width))
        self._width = len(line)

    def log(self, message: str) -> None:
        """A permanent line (clears the live one first)."""
        if self._tty and self._width:
            self._write("\r" + " " * self._width + "\r")
            self._width = 0
        self._write(message + "\n")
