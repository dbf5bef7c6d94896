"""Ending the process when a Faust agent cannot finish what it consumed.

Faust acks the events an agent holds in a ``finally`` block, so they count as
processed when the agent raises or is cancelled; it then commits them (on the
agent error and again when the consumer stops) and its supervisor restarts the
agent past them (faust-streaming/faust#527, robinhood/faust#604). A hop batch
whose answers, effects or changelog records are not on the broker would be
lost that way. So an agent's batch runs under :func:`finish`: it completes
even if the agent is cancelled, and if it fails, the process ends at once with
:data:`EXIT_LOST`, before Faust can commit anything; the batch is redelivered
to whichever worker takes the partitions. A record that must reach the broker
and is refused ends the process the same way (:func:`halt`, as the sink's ``on_lost``).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

__all__ = ["EXIT_LOST", "finish", "halt"]

log = logging.getLogger("packetflow.halt")

EXIT_LOST = 70
"""The exit status of a worker that stopped rather than commit past a loss (``EX_SOFTWARE``)."""

T = TypeVar("T")

Halt = Callable[[BaseException], NoReturn]


def halt(reason: BaseException) -> NoReturn:
    """Log ``reason`` and end the process now: no commit, no cleanup that could commit."""
    log.critical("stopping the worker without a commit: %r", reason)
    logging.shutdown()  # flush the log handlers; os._exit skips it
    os._exit(EXIT_LOST)


async def finish(work: Coroutine[Any, Any, T], on_failure: Halt = halt) -> T:
    """Run ``work`` to its end even if the caller is cancelled; on failure, ``on_failure``.

    A cancellation of the caller (the worker stopping) waits for ``work`` and is
    re-raised afterwards, so the events it consumed are complete when Faust acks them.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:  # the caller, or the work itself, was cancelled
        await _uncancellable(task)
        if task.cancelled() or task.exception() is not None:
            on_failure(_reason(task))
        raise
    except Exception as exc:
        on_failure(exc)


async def _uncancellable(task: asyncio.Future[Any]) -> None:
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            continue


def _reason(task: asyncio.Future[Any]) -> BaseException:
    if task.cancelled():
        return asyncio.CancelledError("hop batch cancelled")
    exc = task.exception()
    assert exc is not None
    return exc
