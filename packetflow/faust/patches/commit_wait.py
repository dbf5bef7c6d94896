"""Faust's commit waits until the replacement answers of refused responses are on the broker.

Faust flushes the producer and commits. A response refused in that flush has
its replacement still to send (:class:`packetflow.worker.sink.Resends`):
without the wait, the commit would pass the request while its replacement
could still be refused (a loss).
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Settles", "commit_after_resends"]


class Settles(Protocol):
    """Replacement answers on their way: :meth:`settle` returns once each is delivered."""

    async def settle(self) -> None: ...


def commit_after_resends(app: Any, resends: Settles) -> None:
    """Make Faust's commit flush the producer and wait for ``resends`` first (once)."""
    consumer = app.consumer
    commit_offsets = consumer._commit_offsets
    if getattr(commit_offsets, "packetflow_resends", None) is resends:
        return  # installed already

    async def commit_when_answered(offsets: Any, start_new_transaction: bool = True) -> bool:
        await app.producer.flush()  # every delivery known: refused responses have resends
        await resends.settle()  # ... delivered, or the process has halted
        done: bool = await commit_offsets(offsets, start_new_transaction=start_new_transaction)
        return done

    commit_when_answered.packetflow_resends = resends  # type: ignore[attr-defined]
    consumer._commit_offsets = commit_when_answered
