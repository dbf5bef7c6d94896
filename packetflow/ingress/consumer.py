"""The request loop's aiokafka consumer: its group, its fetches, where it reads from."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer

from packetflow.ingress.loop import Ingress
from packetflow.kafka.committed import committed_offsets
from packetflow.settings import Settings, TuningSettings

__all__ = [
    "FETCH_MIN_BYTES",
    "fetch_options",
    "ingress_group",
    "request_consumer",
    "seek_committed",
]


def ingress_group(settings: Settings) -> str:
    """The consumer group of the requests topic (Faust's own group is ``app_id``)."""
    return f"{settings.kafka.app_id}.requests"


FETCH_MIN_BYTES = 65_536
"""With ``PACKETFLOW_FETCH_WAIT_MS``: the broker answers a fetch once it holds this much."""


def fetch_options(tuning: TuningSettings) -> dict[str, int]:
    """How long the broker may hold a fetch of requests for more to arrive (default: not)."""
    if tuning.fetch_wait_ms == 0:
        return {"fetch_min_bytes": 1}
    return {"fetch_min_bytes": FETCH_MIN_BYTES, "fetch_max_wait_ms": tuning.fetch_wait_ms}


def request_consumer(settings: Settings) -> AIOKafkaConsumer:
    """A consumer of the requests topic that commits only what the ingress tells it to."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        group_id=ingress_group(settings),
        client_id=f"{settings.kafka.worker_id}-requests",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",  # a client's aborted transaction is no request
        session_timeout_ms=settings.kafka.session_timeout * 1000,
        heartbeat_interval_ms=settings.kafka.heartbeat_interval * 1000,
        max_partition_fetch_bytes=settings.ingress.transfer_bytes,
        **fetch_options(settings.tuning),
    )


async def seek_committed(
    consumer: Any, settings: Settings, ingress: Ingress | None, assigned: set[Any]
) -> None:
    """Seek each assigned partition to its committed offset, as the broker names it.

    aiokafka would take a partition the broker did not answer for (a coordinator
    still loading after a restart) for one with no commit, and read it from the
    start again (:mod:`~packetflow.kafka.committed`). A partition with no commit is
    sought to its beginning, as ``auto_offset_reset="earliest"`` would.
    """
    found = await committed_offsets(
        settings.kafka.bootstrap_servers, ingress_group(settings), assigned
    )
    mine = ingress.answered() if ingress is not None else {}
    for tp, offset in found.items():
        if tp in mine and (offset is None or offset < mine[tp]):
            offset = mine[tp]  # never behind this worker's own transactions
        if offset is not None:
            consumer.seek(tp, offset)
    unset = [tp for tp, offset in found.items() if offset is None]
    if unset:  # auto_offset_reset="earliest", explicitly: every partition is placed here
        await consumer.seek_to_beginning(*unset)
