"""The worker's request loop: an aiokafka consumer of its own feeding the :class:`Ingress`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer

from packetflow.faust.patches import kafka_producer
from packetflow.metrics import Metrics
from packetflow.pipeline.process import Processor
from packetflow.pipeline.publish import Publisher
from packetflow.records import Outbound
from packetflow.settings import Settings
from packetflow.worker.batches import Place
from packetflow.worker.committed import committed_offsets
from packetflow.worker.heap import freeze_startup_heap
from packetflow.worker.ingress import Ingress, IngressConfig, WaitForBatch
from packetflow.worker.logs import undo_spinner_debug
from packetflow.worker.message import partitioner
from packetflow.worker.sink import replacements
from packetflow.worker.transactions import Transactions, transactional_producer

__all__ = ["FETCH_MIN_BYTES", "fetch_options", "ingress_group", "seek_committed", "serve_ingress"]

log = logging.getLogger("packetflow.ingress")


def ingress_group(settings: Settings) -> str:
    """The consumer group of the requests topic (Faust's own group is ``app_id``)."""
    return f"{settings.app_id}.requests"


FETCH_MIN_BYTES = 65_536
"""With ``PACKETFLOW_FETCH_WAIT_MS``: the broker answers a fetch once it holds this much."""


def fetch_options(settings: Settings) -> dict[str, int]:
    """How long the broker may hold a fetch of requests for more to arrive (default: not)."""
    if settings.fetch_wait_ms == 0:
        return {"fetch_min_bytes": 1}
    return {"fetch_min_bytes": FETCH_MIN_BYTES, "fetch_max_wait_ms": settings.fetch_wait_ms}


def request_consumer(settings: Settings) -> AIOKafkaConsumer:
    """A consumer of the requests topic that commits only what the ingress tells it to."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=ingress_group(settings),
        client_id=f"{settings.worker_id}-requests",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",  # a client's aborted transaction is no request
        session_timeout_ms=settings.session_timeout * 1000,
        heartbeat_interval_ms=settings.heartbeat_interval * 1000,
        max_partition_fetch_bytes=settings.transfer_bytes,
        **fetch_options(settings),
    )


async def serve_ingress(
    app: Any, settings: Settings, processor: Processor, publisher: Publisher, metrics: Metrics
) -> None:
    """Answer the requests topic until the app stops; crash the app on any loss."""
    undo_spinner_debug()
    consumer = request_consumer(settings)
    config = IngressConfig(
        batch=settings.batch,
        concurrency=settings.concurrency,
        bundle=settings.hop_bundle,
        linger_ms=settings.hop_linger_ms,
        batch_wait_ms=settings.hop_batch_wait_ms,
    )
    place = partitioner(app)
    transactions = _transactions(settings, place, publisher, metrics)
    ingress = Ingress(
        consumer,
        kafka_producer(app),
        processor.handle,
        publisher,
        metrics,
        config,
        place,
        transactions=transactions,
    )
    # exactly once, partitions are placed at their stable commits (at least once, aiokafka's)
    place_at = functools.partial(seek_committed, consumer, settings, ingress)
    listener = WaitForBatch(ingress, place_at if settings.exactly_once else None)
    consumer.subscribe([settings.topics.requests], listener=listener)
    app.packetflow_request_consumer = consumer
    if transactions is not None:
        await transactions.start()  # fences the transactions of this worker id's predecessor
    await consumer.start()
    freeze_startup_heap()
    log.info("consuming %s as group %s", settings.topics.requests, ingress_group(settings))
    try:
        await ingress.run(lambda: bool(app.should_stop))
    except Exception as exc:  # nothing of the batch was committed: crash, be redelivered
        if not app.should_stop:
            log.critical("request loop stopped: %r", exc)
            await app.crash(exc)
    finally:
        await consumer.stop()
        if transactions is not None:
            await transactions.stop()


async def seek_committed(
    consumer: Any, settings: Settings, ingress: Ingress | None, assigned: set[Any]
) -> None:
    """Seek each assigned partition to its committed offset, as the broker names it.

    aiokafka would take a partition the broker did not answer for (a coordinator
    still loading after a restart) for one with no commit, and read it from the
    start again (:mod:`~packetflow.worker.committed`). A partition with no commit is
    sought to its beginning, as ``auto_offset_reset="earliest"`` would.
    """
    found = await committed_offsets(settings.bootstrap_servers, ingress_group(settings), assigned)
    mine = ingress.answered() if ingress is not None else {}
    for tp, offset in found.items():
        if tp in mine and (offset is None or offset < mine[tp]):
            offset = mine[tp]  # never behind this worker's own transactions
        if offset is not None:
            consumer.seek(tp, offset)
    unset = [tp for tp, offset in found.items() if offset is None]
    if unset:  # auto_offset_reset="earliest", explicitly: every partition is placed here
        await consumer.seek_to_beginning(*unset)


def _transactions(
    settings: Settings, place: Place, publisher: Publisher, metrics: Metrics
) -> Transactions | None:
    """The request loop's transactions when exactly once, else None."""
    if not settings.exactly_once:
        return None

    def replace(refused: Sequence[Outbound], exc: BaseException) -> list[Outbound]:
        return replacements(refused, exc, publisher, metrics)

    return Transactions(
        lambda: transactional_producer(settings, "requests"),
        ingress_group(settings),
        place,
        replace,
    )
