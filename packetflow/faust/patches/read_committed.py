"""Exactly once: Faust's consumer reads only committed records.

The request loop writes hops in transactions, so the agents must skip the
hops of aborted ones. Faust offers no setting for the isolation level of the
aiokafka consumer it creates; the consumer's thread creates it, and aiokafka
reads the level when it starts its fetcher.
"""

from __future__ import annotations

from typing import Any

__all__ = ["read_committed"]


def read_committed(app: Any) -> None:
    """Make the aiokafka consumer Faust creates read only committed records (once)."""
    thread = app.consumer._thread
    create = thread._create_consumer
    if getattr(create, "packetflow_read_committed", False):
        return

    def create_read_committed(*args: Any, **kwargs: Any) -> Any:
        consumer = create(*args, **kwargs)
        consumer._isolation_level = "read_committed"  # read when it starts its fetcher
        return consumer

    create_read_committed.packetflow_read_committed = True  # type: ignore[attr-defined]
    thread._create_consumer = create_read_committed
