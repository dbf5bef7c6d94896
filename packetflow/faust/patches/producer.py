"""The aiokafka producer under a Faust app's producer.

PacketFlow writes batches straight to aiokafka (``create_batch``,
``send_batch``) and reads its cluster metadata; Faust's producer wraps one
and creates it on first use, with no public accessor.
"""

from __future__ import annotations

from typing import Any

__all__ = ["kafka_producer"]


def kafka_producer(app: Any) -> Any:
    """The ``AIOKafkaProducer`` under ``app``'s producer (created if it is not yet)."""
    return app.producer._ensure_producer()
