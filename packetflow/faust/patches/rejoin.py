"""A rebalance on request, so that Faust reads every partition again from its commit.

aiokafka rejoins its group when its coordinator is asked to
(``GroupCoordinator.request_rejoin``, what aiokafka itself calls on a
subscription change); Faust's consumer then revokes and assigns the partitions,
and seeks each to its committed offset. An exactly-once agent that finds a
record its stream never handed over asks for this instead of committing past
it (:mod:`packetflow.worker.agent_transactions`). The consumer lives in Faust's
consumer thread, so the request is made in that thread's loop.
"""

from __future__ import annotations

from typing import Any

__all__ = ["request_rejoin"]


def request_rejoin(app: Any) -> None:
    """Have ``app``'s consumer rejoin its group at once (a rebalance follows)."""
    thread = app.consumer._thread
    coordinator = thread._ensure_consumer()._coordinator
    thread.thread_loop.call_soon_threadsafe(coordinator.request_rejoin)
