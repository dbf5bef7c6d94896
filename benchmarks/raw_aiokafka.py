"""Contender 1, the floor: aiokafka consume → transform → produce in one asyncio loop.

``python -m benchmarks.raw_aiokafka`` with the ``BENCH_*`` variables of
:meth:`benchmarks.workload.TopicSet.env`. Records come in ``getmany`` batches;
each response is handed to the producer without awaiting its delivery. A
batch's offsets are committed once its responses are acknowledged and the
previous batch is committed, in a task of its own: the loop goes on fetching
meanwhile (awaiting each commit in the loop, as the first version of this
contender did, held every batch back by Kafka's commit linger and made the
floor's latency 3-4 times what the loop itself costs).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from benchmarks.workload import TopicSet, env_topics, respond


async def _commit(
    consumer: AIOKafkaConsumer,
    delivered: list[asyncio.Future[Any]],
    offsets: dict[Any, int],
    previous: asyncio.Future[None] | None,
) -> None:
    await asyncio.gather(*delivered)
    if previous is not None:
        await previous
    await consumer.commit(offsets)


def commit_after(
    consumer: AIOKafkaConsumer,
    batches: dict[Any, list[Any]],
    delivered: list[asyncio.Future[Any]],
    previous: asyncio.Future[None] | None,
) -> asyncio.Future[None]:
    """Commit ``batches`` once ``delivered`` are acknowledged and ``previous`` is committed,
    in a task of its own; a failed earlier commit is raised here and stops the contender."""
    offsets = {tp: records[-1].offset + 1 for tp, records in batches.items()}
    if previous is not None and previous.done():
        previous.result()
    return asyncio.ensure_future(_commit(consumer, delivered, offsets, previous))


Answer = Callable[[AIOKafkaProducer, TopicSet, dict[Any, list[Any]]], Awaitable[list[Any]]]
"""Hands the answers to a batch of fetched records to the producer; their delivery futures."""


async def serve_loop(answer: Answer, **producer_options: Any) -> None:
    """Consume the requests topic in batches, ``answer`` each, and commit each batch once its
    answers are delivered, until SIGTERM or SIGINT."""
    broker, topics = env_topics()
    consumer = AIOKafkaConsumer(
        topics.requests,
        bootstrap_servers=broker,
        group_id=topics.prefix,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all", **producer_options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await producer.start()
    await consumer.start()
    committed: asyncio.Future[None] | None = None
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=2000)
            if not batches:
                continue
            delivered = await answer(producer, topics, batches)
            committed = commit_after(consumer, batches, delivered, committed)
        if committed is not None:
            await committed
    finally:
        await consumer.stop()
        await producer.stop()


async def _respond(
    producer: AIOKafkaProducer, topics: TopicSet, batches: dict[Any, list[Any]]
) -> list[Any]:
    delivered = []
    for records in batches.values():
        for record in records:
            key, value = respond(record.value)
            delivered.append(await producer.send(topics.responses, value, key=key))
    return delivered


async def serve() -> None:
    await serve_loop(_respond)


if __name__ == "__main__":
    asyncio.run(serve())
