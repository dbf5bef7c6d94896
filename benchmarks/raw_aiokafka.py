"""Contender 1, the floor: aiokafka consume → transform → produce in one asyncio loop.

``python -m benchmarks.raw_aiokafka`` with the ``BENCH_*`` variables of
:meth:`benchmarks.workload.TopicSet.env`. Records come in ``getmany`` batches;
each response is handed to the producer without awaiting its delivery; after
each batch the producer is flushed and the consumed offsets committed.
"""

from __future__ import annotations

import asyncio
import signal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from benchmarks.workload import env_topics, respond


async def serve() -> None:
    broker, topics = env_topics()
    consumer = AIOKafkaConsumer(
        topics.requests,
        bootstrap_servers=broker,
        group_id=topics.prefix,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await producer.start()
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=2000)
            if not batches:
                continue
            for records in batches.values():
                for record in records:
                    key, value = respond(record.value)
                    await producer.send(topics.responses, value, key=key)
            await producer.flush()
            await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(serve())
