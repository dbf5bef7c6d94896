"""Load generation and measurement, from the benchmark process.

Requests go to the contender's request topic; a separate consumer (assigned
to every partition of the response topic, from the beginning, no group)
reads the answers. Latency = receive wall clock - ``payload.sent_ns``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic_core import from_json

from benchmarks.progress import Progress
from benchmarks.workload import TopicSet, auth_headers, request_value

__all__ = [
    "Reader",
    "bench_producer",
    "latency_run",
    "offer",
    "percentiles",
    "produce_backlog",
    "throughput_run",
    "wait_ready",
]


class Reader:
    """Reads a response topic from its beginning; ``async with Reader(...) as r``."""

    def __init__(self, broker: str, topics: TopicSet) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=broker,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",  # answers of an exactly-once worker: once committed
        )
        self._parts = [TopicPartition(topics.responses, p) for p in range(topics.partitions)]

    async def __aenter__(self) -> Reader:
        await self._consumer.start()
        self._consumer.assign(self._parts)
        await self._consumer.seek_to_beginning(*self._parts)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def batch(self, timeout_ms: int = 100) -> list[Any]:
        """The records fetched within ``timeout_ms`` (maybe none)."""
        got = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=1000)
        return [r for records in got.values() for r in records]


def bench_producer(broker: str, linger_ms: int = 0) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=broker, acks="all", linger_ms=linger_ms, max_batch_size=65536
    )


async def produce_backlog(broker: str, topics: TopicSet, count: int, progress: Progress) -> int:
    """Pre-produce ``count`` requests ``tp-<seq>``; returns the mean value size."""
    producer = bench_producer(broker, linger_ms=5)
    await producer.start()
    size = 0
    headers = list(auth_headers())
    try:
        pending: list[asyncio.Future[Any]] = []
        for seq in range(count):
            value = request_value(
                f"tp-{seq:08d}", seq, time.time_ns(), topics.capability, topics.keys
            )
            size += len(value)
            key = f"tp-{seq:08d}".encode()
            pending.append(await producer.send(topics.requests, value, key=key, headers=headers))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
                progress.update("pre-producing requests", seq + 1, count)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return size // max(count, 1)


async def wait_ready(
    broker: str, topics: TopicSet, alive: Callable[[], bool], timeout: float = 180
) -> float:
    """Send probes until the contender answers one; returns the seconds it took."""
    started = time.perf_counter()
    producer = bench_producer(broker)
    await producer.start()
    try:
        async with Reader(broker, topics) as reader:
            probe = 0
            while time.perf_counter() - started < timeout:
                if probe == 0 or time.perf_counter() - started > 10 * probe:
                    value = request_value(f"probe-{probe}", -1, time.time_ns(), topics.capability)
                    await producer.send_and_wait(
                        topics.requests, value, key=b"probe", headers=list(auth_headers())
                    )
                    probe += 1
                if await reader.batch(200):
                    return time.perf_counter() - started
                if not alive():
                    raise RuntimeError("the contender exited before it answered")
    finally:
        await producer.stop()
    raise TimeoutError(f"the contender did not answer within {timeout:.0f}s")


async def offer(
    producer: AIOKafkaProducer,
    topics: TopicSet,
    rate: float,
    total: int,
    mark: str,
    sent: list[int] | None = None,
) -> None:
    """Send ``total`` requests ``<mark><seq>`` at ``rate`` per second; ``sent[0]`` counts them."""
    headers = list(auth_headers())
    t0 = time.perf_counter()
    for seq in range(total):
        ahead = t0 + seq / rate - time.perf_counter()
        if ahead > 0.001:
            await asyncio.sleep(ahead)
        value = request_value(
            f"{mark}{seq:08d}", seq, time.time_ns(), topics.capability, topics.keys
        )
        key = f"{mark}{seq:08d}".encode()
        await producer.send(topics.requests, value, key=key, headers=headers)
        if sent is not None:
            sent[0] = seq + 1


def percentiles(values: list[float]) -> dict[str, float]:
    """Nearest-rank p50/p95/p99 and max of ``values`` (milliseconds), plus the mean."""
    ordered = sorted(values)
    n = len(ordered)

    def rank(p: float) -> float:
        return ordered[min(n - 1, max(0, int(p * n + 0.999999) - 1))]

    return {
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": ordered[-1],
        "mean": sum(ordered) / n,
        "samples": n,
    }


async def latency_run(
    broker: str,
    topics: TopicSet,
    rate: float,
    duration: float,
    warmup: float,
    progress: Progress,
    tag: str = "a",
    drain_timeout: float = 60,
) -> dict[str, Any]:
    """Offer ``rate`` req/s for ``warmup + duration`` s; latency of those after the warm-up.

    Request ids are ``lat<tag>-<seq>``, so runs on the same topics do not mix.
    """
    mark = f"lat{tag}-"
    total = int(rate * (warmup + duration))
    skip = int(rate * warmup)
    latencies: dict[int, float] = {}
    producer = bench_producer(broker)
    await producer.start()
    async with Reader(broker, topics) as reader:
        sender = asyncio.create_task(offer(producer, topics, rate, total, mark))
        deadline = time.perf_counter() + warmup + duration + drain_timeout
        try:
            while len(latencies) < total and time.perf_counter() < deadline:
                records = await reader.batch(50)
                now_ns = time.time_ns()
                for record in records:
                    doc = from_json(record.value)
                    cid = str(doc.get("correlation_id", ""))
                    if cid.startswith(mark):
                        latencies[int(cid[len(mark) :])] = (
                            now_ns - doc["payload"]["sent_ns"]
                        ) / 1e6
                progress.update(f"latency at {rate:,.0f} req/s", len(latencies), total)
            await sender
        finally:
            sender.cancel()
            await producer.stop()
    kept = [v for seq, v in latencies.items() if seq >= skip]
    if not kept:
        raise RuntimeError("no response arrived during the latency run")
    return {
        "offered_rps": rate,
        "duration_s": duration,
        "warmup_s": warmup,
        "sent": total,
        "answered": len(latencies),
        "ms": percentiles(kept),
    }


async def throughput_run(
    broker: str,
    topics: TopicSet,
    count: int,
    warmup: int,
    cpu: Callable[[], float],
    alive: Callable[[], bool],
    progress: Progress,
    timeout: float,
) -> dict[str, Any]:
    """Read ``count`` responses to the backlog; rate and CPU after the first ``warmup``.

    Call it right after starting the contender: the clock of the sustained rate
    starts at the batch that crosses ``warmup`` responses, so start-up is excluded.
    """
    started = time.perf_counter()
    seen = 0
    first = warm = end = None
    warm_seen = 0
    cpu_warm = 0.0
    async with Reader(broker, topics) as reader:
        while seen < count:
            records = await reader.batch(100)
            now = time.perf_counter()
            if records:
                first = first if first is not None else now
                seen += len(records)
                if warm is None and seen >= warmup:
                    warm, warm_seen, cpu_warm = now, seen, cpu()
                end = now
            progress.update("throughput: responses", seen, count)
            if now - started > timeout:
                raise TimeoutError(f"{seen} of {count} responses after {timeout:.0f}s")
            if not records and not alive():
                raise RuntimeError(f"the contender exited after {seen} responses")
    cpu_end = cpu()
    assert first is not None
    assert warm is not None
    assert end is not None
    window = end - warm
    measured = seen - warm_seen
    from_first = (seen - 1) / (end - first) if end > first else 0.0
    return {
        "requests": count,
        "warmup": warm_seen,
        "measured": measured,
        "window_s": window,
        "rps": measured / window if window > 0 else from_first,
        "rps_from_first": from_first,
        "first_response_s": first - started,
        "cpu_s": cpu_end - cpu_warm,
        "cpu_us_per_request": (cpu_end - cpu_warm) / measured * 1e6 if measured else 0.0,
        "cpu_utilisation": (cpu_end - cpu_warm) / window if window > 0 else 0.0,
    }
