"""Faust's consumer counts a record as processed only if it was, in the current generation.

While a rebalance or a table recovery runs (flow control suspended), and for
records fetched before the last rebalance (an older consumer generation),
Faust's stream skips records and acks them anyway, so that its lag does not
grow (``faust/streams.py`` and its Cython twin). It then seeks back to the
committed offset and reads them again. Those early acks let a commit run
ahead of the second reading: a crash in that window would lose the records.

:func:`count_only_current_acks` makes such an ack count for nothing: the
record is done with (so Faust's ``wait_empty`` does not wait for it), but its
offset is not offered for commit; the commit covers it once the record is
read again and processed. A batch that finishes during a rebalance is then
processed again after it (at least once; reactors recognize the request id).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["count_only_current_acks"]


def count_only_current_acks(app: Any) -> None:
    """Wrap ``app.consumer.ack`` so stale acks never reach Faust's commit bookkeeping."""
    consumer = app.consumer
    if getattr(consumer.ack, "packetflow_guard", False):
        return
    consumer.ack = _guarded(consumer.ack, app)


def _guarded(ack: Callable[[Any], bool], app: Any) -> Callable[[Any], bool]:
    def ack_if_current(message: Any) -> bool:
        generation = message.generation_id  # None: not a record of Faust's Kafka consumer
        current = generation is None or generation == app.consumer_generation_id
        if current and app.flow_control.is_active():
            return ack(message)
        message.acked = True  # done with, as Faust's own ack of an already committed offset
        return False

    ack_if_current.packetflow_guard = True  # type: ignore[attr-defined]
    return ack_if_current
