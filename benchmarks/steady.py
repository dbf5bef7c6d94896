"""A contender under a steady offered rate, in variants alternated side by side.

``python -m benchmarks.steady --broker HOST:PORT --kind packetflow_reactor --rate 2500
--mode capacity --variant default: --variant linger25:PACKETFLOW_HOP_LINGER_MS=25``

Each variant is a set of environment variables for a fresh worker; rounds
alternate their order (A B, B A, ...). ``capacity`` offers ``--rate`` for
``--seconds`` and counts answers per second from the 3rd second on (offer
more than the contender answers: it is then what a worker keeps up with under
that load); ``latency`` offers it after a 2 s warm-up and reports p50/p99;
``drain`` pre-produces ``--rate`` x ``--seconds`` requests and counts how fast
a fresh worker answers them after the first 10 %, as the full benchmark
(``python -m benchmarks``) does. All report the worker's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.caps import ECHO_ID
from benchmarks.contenders import CAPABILITY, CONTENDERS, Worker, start_worker, topics_to_create
from benchmarks.kafka import create_topics, delete_topics
from benchmarks.measure import (
    Reader,
    bench_producer,
    latency_run,
    offer,
    produce_backlog,
    throughput_run,
    wait_ready,
)
from benchmarks.progress import Progress
from benchmarks.workload import TopicSet

SKIP_S = 3.0
"""Capacity is counted from this second of the offered load on."""


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    """``name:VAR=value,VAR=value`` (``name:`` for the defaults)."""
    name, sep, assignments = spec.partition(":")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{spec!r}: expected NAME:VAR=value,... ")
    env = {}
    for item in filter(None, assignments.split(",")):
        var, eq, value = item.partition("=")
        if not eq or not var:
            raise argparse.ArgumentTypeError(f"{spec!r}: {item!r} is not VAR=value")
        env[var] = value
    return name, env


async def capacity(
    worker: Worker, broker: str, topics: TopicSet, rate: float, seconds: float, progress: Progress
) -> dict[str, Any]:
    """Answers per second, and CPU per answer, from :data:`SKIP_S` to the end of the offer."""
    producer = bench_producer(broker)
    await producer.start()
    async with Reader(broker, topics) as reader:
        sender = asyncio.create_task(offer(producer, topics, rate, int(rate * seconds), "cap-"))
        started = time.perf_counter()
        answered, mark = 0, None
        try:
            while (elapsed := time.perf_counter() - started) < seconds:
                if mark is None and elapsed >= SKIP_S:
                    mark = (answered, elapsed, worker.cpu())
                answered += sum(1 for r in await reader.batch(50) if b'"cap-' in (r.value or b""))
                progress.update(f"capacity at {rate:,.0f} req/s offered", answered, None)
            end, cpu = time.perf_counter() - started, worker.cpu()
        finally:
            sender.cancel()
            await producer.stop()
    assert mark is not None
    counted = answered - mark[0]
    return {
        "answered_rps": counted / (end - mark[1]),
        "cpu_us_per_request": (cpu - mark[2]) / counted * 1e6 if counted else None,
    }


async def latency(
    worker: Worker, broker: str, topics: TopicSet, rate: float, seconds: float, progress: Progress
) -> dict[str, Any]:
    """p50/p99 after a 2 s warm-up, and the worker's CPU (cores) over the run."""
    cpu, started = worker.cpu(), time.perf_counter()
    run = await latency_run(broker, topics, rate, seconds, 2.0, progress, drain_timeout=30)
    cores = (worker.cpu() - cpu) / (time.perf_counter() - started)
    return {"p50_ms": run["ms"]["p50"], "p99_ms": run["ms"]["p99"], "cpu_cores": cores}


async def measure_steady(
    kind: str,
    broker: str,
    prefix: str,
    rate: float,
    seconds: float,
    workdir: Path,
    progress: Progress,
    mode: str = "capacity",
    env: dict[str, str] | None = None,
    keys: int = 0,
    settle_s: float = 2.0,
) -> dict[str, Any]:
    """A fresh worker of ``kind`` (environment ``env``) on fresh topics, measured once, from
    ``settle_s`` after its first answer; requests cycle through ``keys`` reactor keys (0: a
    new key each)."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    topics = TopicSet(name, 8, CAPABILITY.get(kind, ECHO_ID), keys)
    await create_topics(broker, topics_to_create(kind, topics), 8)
    if mode == "drain":
        return await _drain(kind, broker, topics, int(rate * seconds), workdir, progress, env)
    worker = start_worker(kind, topics, broker, workdir, **(env or {}))
    try:
        await wait_ready(broker, topics, worker.alive)
        await asyncio.sleep(settle_s)
        measure = capacity if mode == "capacity" else latency
        found = await measure(worker, broker, topics, rate, seconds, progress)
    finally:
        worker.stop()
        await delete_topics(broker, topics.prefix)  # its requests, answers and internal topics
    return {"offered_rps": rate, "seconds": seconds, **found}


async def _drain(
    kind: str,
    broker: str,
    topics: TopicSet,
    count: int,
    workdir: Path,
    progress: Progress,
    env: dict[str, str] | None,
) -> dict[str, Any]:
    """A fresh worker answering a backlog of ``count`` requests (see the module doc)."""
    try:
        await produce_backlog(broker, topics, count, progress)
        worker = start_worker(kind, topics, broker, workdir, **(env or {}))
        try:
            run = await throughput_run(
                broker, topics, count, count // 10, worker.cpu, worker.alive, progress, 300
            )
        finally:
            worker.stop()
    finally:
        await delete_topics(broker, topics.prefix)
    return {
        "backlog": count,
        "answered_rps": run["rps"],
        "cpu_us_per_request": run["cpu_us_per_request"],
    }


async def main(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    """Every variant ``args.rounds`` times, alternating their order."""
    variants = dict(args.variant)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    progress = Progress()
    for n in range(args.rounds):
        order = list(variants) if n % 2 == 0 else list(reversed(variants))
        for name in order:
            result = await measure_steady(
                args.kind,
                args.broker,
                "steady",
                args.rate,
                args.seconds,
                args.workdir,
                progress,
                args.mode,
                variants[name],
                args.keys,
            )
            results[name].append(result)
            shown = ", ".join(f"{k} {v:,.1f}" for k, v in result.items() if v is not None)
            progress.log(f"round {n + 1}/{args.rounds} {name}: {shown}")
    return results


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.steady",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--broker", required=True, help="HOST:PORT of a running broker")
    p.add_argument("--kind", choices=list(CONTENDERS), default="packetflow_reactor")
    p.add_argument("--mode", choices=("capacity", "latency", "drain"), default="capacity")
    p.add_argument("--rate", type=float, default=2500.0, help="requests/s offered")
    p.add_argument("--seconds", type=float, default=12.0, help="how long it is offered")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument(
        "--keys",
        type=int,
        default=0,
        help="reactor keys the requests cycle through (each then remembers its last request "
        "ids, PACKETFLOW_REACTOR_DEDUP_WINDOW); default 0: a new key per request",
    )
    p.add_argument(
        "--variant",
        type=parse_variant,
        action="append",
        default=[],
        help="NAME:VAR=value,... (repeat; default: one variant, the defaults)",
    )
    p.add_argument("--workdir", type=Path, default=Path("/tmp/packetflow-steady"))
    p.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = p.parse_args()
    args.variant = args.variant or [("default", {})]
    return args


if __name__ == "__main__":
    arguments = _args()
    figures = asyncio.run(main(arguments))
    print(json.dumps(figures, indent=1))
    if arguments.out is not None:
        arguments.out.write_text(json.dumps(figures, indent=1))
