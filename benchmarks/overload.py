"""Overload: offer a multiple of the measured capacity and watch the worker's memory.

A worker that buffers what it cannot process grows until it dies; one that
applies backpressure leaves the excess on the broker as consumer lag. This
pass offers ``factor`` times the contender's sustained throughput for ``seconds``
to a fresh worker and samples its RSS and the lag (requests sent minus
responses read) once a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.caps import ECHO_ID
from benchmarks.contenders import CAPABILITY, Plan, Worker, start_worker
from benchmarks.kafka import create_topics
from benchmarks.measure import Reader, bench_producer, offer, wait_ready
from benchmarks.progress import Progress
from benchmarks.workload import TopicSet

__all__ = ["overload_run"]


async def overload_run(
    kind: str,
    broker: str,
    prefix: str,
    plan: Plan,
    capacity_rps: float,
    factor: float,
    seconds: float,
    workdir: Path,
    progress: Progress,
) -> dict[str, Any]:
    """RSS and lag of contender ``kind`` while offered ``factor * capacity_rps``."""
    topics = TopicSet(f"{prefix}-{kind}-over", plan.partitions, CAPABILITY.get(kind, ECHO_ID))
    await create_topics(broker, [topics.requests, topics.responses], plan.partitions)
    worker = start_worker(kind, topics, broker, workdir)
    rate = capacity_rps * factor
    sent = [0]
    try:
        await wait_ready(broker, topics, worker.alive)
        await asyncio.sleep(plan.settle_s)
        rss_start = worker.rss_mb()
        producer = bench_producer(broker)
        await producer.start()
        try:
            async with Reader(broker, topics) as reader:
                total = int(rate * seconds)
                sender = asyncio.create_task(offer(producer, topics, rate, total, "over-", sent))
                label = f"overload x{factor:g}: seconds"
                samples, answered, elapsed = await _watch(
                    worker, reader, sender, sent, lambda n: progress.update(label, n, int(seconds))
                )
        finally:
            await producer.stop()
        if not worker.alive():
            raise RuntimeError(f"the worker died under overload:\n{worker.tail()}")
        rss_max = max((x["rss_mb"] for x in samples), default=rss_start)
        return {
            "status": "ok",
            "factor": factor,
            "capacity_rps": capacity_rps,
            "offered_rps": rate,
            "achieved_offer_rps": sent[0] / elapsed,
            "answered_rps": answered / elapsed,
            "seconds": elapsed,
            "rss_start_mb": rss_start,
            "rss_max_mb": rss_max,
            "rss_growth_mb": rss_max - rss_start,
            "lag_end": sent[0] - answered,
            "samples": samples,
        }
    finally:
        worker.stop()


async def _watch(
    worker: Worker,
    reader: Reader,
    sender: asyncio.Task[None],
    sent: list[int],
    tick: Callable[[int], None],
) -> tuple[list[dict[str, float]], int, float]:
    """Read responses while ``sender`` runs; sample RSS and lag once a second."""
    samples: list[dict[str, float]] = []
    started = next_sample = time.perf_counter()
    answered = 0
    while not sender.done() and worker.alive():
        answered += len(await reader.batch(100))
        now = time.perf_counter()
        if now >= next_sample:
            next_sample += 1.0
            lag = max(0, sent[0] - answered)  # the readiness probe was answered too
            samples.append({"t_s": round(now - started, 2), "rss_mb": worker.rss_mb(), "lag": lag})
            tick(len(samples))
    if worker.alive():
        await sender
    return samples, answered, time.perf_counter() - started
