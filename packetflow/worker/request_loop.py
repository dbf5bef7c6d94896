"""The request loop inside the Faust worker: started with the app, stops it on a loss.

The loop itself (:mod:`packetflow.ingress`) knows nothing of Faust; this is where
it is given the app's producer, the processor and the refused-record replacements.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer

from packetflow.faust.patches import group_member, kafka_producer
from packetflow.ingress.consumer import ingress_group, request_consumer, seek_committed
from packetflow.ingress.loop import Ingress, IngressConfig, WaitForBatch
from packetflow.kafka.batches import Place
from packetflow.kafka.transactions import Replace, Transactions, transactional_producer
from packetflow.metrics import Metrics
from packetflow.pipeline.process import Processor
from packetflow.pipeline.publish import Publisher
from packetflow.pipeline.refused import replacer
from packetflow.settings import Settings
from packetflow.worker.heap import freeze_startup_heap
from packetflow.worker.logs import undo_spinner_debug
from packetflow.worker.message import partitioner

__all__ = ["serve_ingress"]

log = logging.getLogger("packetflow.ingress")


async def serve_ingress(
    app: Any, settings: Settings, processor: Processor, publisher: Publisher, metrics: Metrics
) -> None:
    """Answer the requests topic until the app stops; crash the app on any loss."""
    undo_spinner_debug()
    consumer = request_consumer(settings)
    config = IngressConfig(
        batch=settings.ingress.batch,
        concurrency=settings.ingress.concurrency,
        bundle=settings.tuning.hop_bundle,
        linger_ms=settings.tuning.hop_linger_ms,
        batch_wait_ms=settings.tuning.hop_batch_wait_ms,
    )
    place = partitioner(app)
    replace = replacer(publisher, metrics)
    transactions = _transactions(settings, consumer, place, replace)
    ingress = Ingress(
        consumer,
        kafka_producer(app),
        processor.handle,
        replace,
        config,
        place,
        transactions=transactions,
        batched=metrics.batch_size.observe,
    )
    # exactly once, partitions are placed at their stable commits (at least once, aiokafka's)
    place_at = functools.partial(seek_committed, consumer, settings, ingress)
    listener = WaitForBatch(ingress, place_at if settings.kafka.exactly_once else None)
    consumer.subscribe([settings.kafka.topics.requests], listener=listener)
    app.packetflow_request_consumer = consumer
    if transactions is not None:
        await transactions.start()  # fences the transactions of this worker id's predecessor
    await consumer.start()
    freeze_startup_heap()
    log.info("consuming %s as group %s", settings.kafka.topics.requests, ingress_group(settings))
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


def _transactions(
    settings: Settings, consumer: AIOKafkaConsumer, place: Place, replace: Replace
) -> Transactions | None:
    """The request loop's transactions when exactly once, else None; their offsets go with
    the consumer's group member, so a member the group expelled cannot commit them."""
    if not settings.kafka.exactly_once:
        return None
    return Transactions(
        lambda: transactional_producer(settings, "requests"),
        functools.partial(group_member, consumer, ingress_group(settings)),
        place,
        replace,
    )
