"""Faust's spinner no longer makes every library build debug records nobody writes."""

from __future__ import annotations

import logging

from faust.utils.terminal.spinners import Spinner, SpinnerHandler

from packetflow.worker.logs import undo_spinner_debug


def logger_with(*handlers: logging.Handler) -> logging.Logger:
    log = logging.getLogger(f"root-like-{len(handlers)}")
    log.handlers[:] = handlers
    log.setLevel(logging.DEBUG)
    return log


def test_the_spinners_debug_level_goes_back_to_the_handlers_level() -> None:
    stderr = logging.StreamHandler()
    stderr.setLevel(logging.WARNING)
    log = logger_with(stderr, SpinnerHandler(Spinner(), level=logging.DEBUG))
    assert log.isEnabledFor(logging.DEBUG)
    undo_spinner_debug(log)
    assert not log.isEnabledFor(logging.DEBUG)
    assert log.isEnabledFor(logging.WARNING)


def test_a_debug_level_asked_for_is_kept() -> None:
    stderr = logging.StreamHandler()
    stderr.setLevel(logging.DEBUG)
    log = logger_with(stderr)
    undo_spinner_debug(log)
    assert log.isEnabledFor(logging.DEBUG)
