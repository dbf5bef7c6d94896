"""Undo the root log level Faust's terminal spinner imposes."""

from __future__ import annotations

import logging

from faust.utils.terminal.spinners import SpinnerHandler

__all__ = ["undo_spinner_debug"]


def undo_spinner_debug(root: logging.Logger | None = None) -> None:
    """Give the root logger back the level its real handlers have.

    At its default level (``warn``) ``faust worker`` adds a spinner handler and
    sets the root logger to DEBUG so the spinner sees every record; every debug
    call of every library (aiokafka logs one per record sent) then builds a
    record that no handler writes. The level goes back to the lowest level of
    the other handlers; the spinner then turns on what is actually logged.
    """
    root = root or logging.getLogger()
    spinner = any(isinstance(h, SpinnerHandler) for h in root.handlers)
    levels = [h.level for h in root.handlers if not isinstance(h, SpinnerHandler)]
    if spinner and levels and root.level < min(levels):
        root.setLevel(min(levels))
