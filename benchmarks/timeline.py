"""Where a call's milliseconds go: its timeline through the worker, stateless and reactor.

``python -m benchmarks.timeline --broker HOST:PORT [--rate 250] [--seconds 10]
[--variant name:VAR=value,...] [--out DIR]``

A fresh worker per contender and variant is offered ``--rate`` requests per
second. Every record a call leaves on the broker carries the time it was
created (Kafka's ``CreateTime``, in ms): the request (the caller's send), the
hop to the reactor topic (written when its bundle closes), the reactor's
changelog record (the write that applied it), the response. With the moment
the caller read the response, they cut each call into stages, and the stages'
medians and p99s over the calls after a warm-up are its timeline. Nothing in
the worker is instrumented: the timeline costs the worker nothing, and what it
shows is what the broker saw. The figures are ms-grained (Kafka's timestamps):
read them over many calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic_core import from_json

from benchmarks.caps import ECHO_ID, REACTOR_ID
from benchmarks.contenders import start_worker, topics_to_create
from benchmarks.kafka import create_topics, delete_topics
from benchmarks.measure import Reader, bench_producer, offer, percentiles, wait_ready
from benchmarks.progress import Progress
from benchmarks.steady import parse_variant
from benchmarks.workload import TopicSet
from packetflow.hops.bundle import is_bundle, unpack
from packetflow.records import RawRecord
from packetflow.topics import TopicNames
from tests.e2e.support import committed_records

__all__ = ["STAGES", "Stamps", "stages_of", "timeline"]

REACTOR = REACTOR_ID.split(".")[0]
KINDS = {"packetflow_stateless": ECHO_ID, "packetflow_reactor": REACTOR_ID}

STAGES = {
    "packetflow_stateless": [
        ("request loop: fetch, check, execute, answer written", "request", "response"),
        ("answer to the caller", "response", "received"),
    ],
    "packetflow_reactor": [
        ("request loop: fetch, check, hop written (linger)", "request", "hop"),
        ("hop: broker, agent fetch and batch, apply", "hop", "changelog"),
        ("changelog on the broker, answer written", "changelog", "response"),
        ("answer to the caller", "response", "received"),
    ],
}
"""Per contender, its stages: a name, and the stamps (ms) it starts and ends at."""


@dataclass
class Stamps:
    """The ms timestamps of each call, by request id and by the record they come from."""

    by_id: dict[str, dict[str, float]]

    def note(self, request_id: str, where: str, at_ms: float) -> None:
        """``where`` happened at ``at_ms`` for the call (the first time it did)."""
        self.by_id.setdefault(request_id, {}).setdefault(where, at_ms)


def stages_of(kind: str, stamps: Stamps, ids: Iterable[str]) -> dict[str, dict[str, float]]:
    """Each stage's percentiles (ms) over the calls of ``ids`` whose stamps are all there."""
    names = STAGES[kind]
    complete = [
        s
        for i in ids
        if (s := stamps.by_id.get(i)) and all(w in s for _, a, b in names for w in (a, b))
    ]
    table = {
        stage: percentiles([s[end] - s[start] for s in complete]) for stage, start, end in names
    }
    table["end to end"] = percentiles([s["received"] - s["request"] for s in complete])
    return table


def _hop_ids(record: Any) -> list[str]:
    """The request ids a reactor topic record carries (a bundle: each of its hops')."""
    raw = RawRecord(
        record.topic,
        record.partition,
        record.offset,
        record.key,
        record.value,
        tuple(record.headers or ()),
    )
    hops = unpack(raw) if is_bundle(raw) else [raw]
    return [str(from_json(h.value or b"{}").get("id", "")) for h in hops]


def _applied_ids(record: Any) -> list[str]:
    """The request ids a reactor state record names as applied."""
    doc = from_json(record.value) if record.value else None
    return [str(entry[0]) for entry in (doc or {}).get("applied", ())]


async def collect(kind: str, broker: str, topics: TopicSet, app_id: str, stamps: Stamps) -> None:
    """Add the stamps of the records each call left on the broker."""
    names = TopicNames(topics.prefix)
    for record in (await committed_records(broker, topics.requests, topics.partitions))[0]:
        stamps.note(from_json(record.value).get("id", ""), "request", record.timestamp)
    for record in (await committed_records(broker, topics.responses, topics.partitions))[0]:
        stamps.note(from_json(record.value).get("correlation_id", ""), "response", record.timestamp)
    if kind != "packetflow_reactor":
        return
    for record in (await committed_records(broker, names.reactor(REACTOR), topics.partitions))[0]:
        for request_id in _hop_ids(record):
            stamps.note(request_id, "hop", record.timestamp)
    changelog = f"{app_id}-reactor-{REACTOR}-changelog"
    for record in (await committed_records(broker, changelog, topics.partitions))[0]:
        for request_id in _applied_ids(record):
            stamps.note(request_id, "changelog", record.timestamp)


async def _offer_and_receive(
    broker: str,
    topics: TopicSet,
    rate: float,
    seconds: float,
    mark: str,
    stamps: Stamps,
    progress: Progress,
) -> list[str]:
    """Offer the calls; note when each answer is read. Returns the ids offered."""
    total = int(rate * seconds)
    producer = bench_producer(broker)
    await producer.start()
    async with Reader(broker, topics) as reader:
        sender = asyncio.create_task(offer(producer, topics, rate, total, mark))
        seen, deadline = 0, time.perf_counter() + seconds + 60
        try:
            while seen < total and time.perf_counter() < deadline:
                records = await reader.batch(20)
                now_ms = time.time() * 1000
                for record in records:
                    cid = str(from_json(record.value).get("correlation_id", ""))
                    if cid.startswith(mark):
                        stamps.note(cid, "received", now_ms)
                        seen += 1
                progress.update(f"timeline at {rate:,.0f} req/s", seen, total)
            await sender
        finally:
            sender.cancel()
            await producer.stop()
    return [f"{mark}{seq:08d}" for seq in range(total)]


async def timeline(
    kind: str,
    broker: str,
    rate: float,
    seconds: float,
    warmup: float,
    env: dict[str, str],
    workdir: Path,
    progress: Progress,
    partitions: int = 4,
) -> dict[str, dict[str, float]]:
    """One contender's timeline: each stage's percentiles (ms) after ``warmup`` seconds."""
    prefix = f"tl-{uuid.uuid4().hex[:8]}"
    topics = TopicSet(prefix, partitions, KINDS[kind])
    await create_topics(broker, topics_to_create(kind, topics), partitions)
    worker = start_worker(kind, topics, broker, workdir, **env)
    stamps = Stamps({})
    try:
        await wait_ready(broker, topics, worker.alive)
        ids = await _offer_and_receive(
            broker, topics, rate, warmup + seconds, "tl-", stamps, progress
        )
        await collect(kind, broker, topics, prefix, stamps)
    except Exception as exc:
        raise RuntimeError(f"{kind}: {exc}\n{worker.tail()}") from exc
    finally:
        worker.stop()
        await delete_topics(broker, prefix)
    return stages_of(kind, stamps, ids[int(rate * warmup) :])


def render(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """The timelines as a Markdown table: p50 / p99 ms per stage."""
    lines = ["| contender | stage | p50 ms | p99 ms |", "|---|---|---|---|"]
    for name, table in results.items():
        for stage, cut in table.items():
            if cut.get("samples"):
                lines.append(f"| {name} | {stage} | {cut['p50']:.1f} | {cut['p99']:.1f} |")
    return "\n".join(lines)


def plot(results: dict[str, dict[str, dict[str, float]]], path: Path) -> None:
    """Each contender's median stages as one stacked bar: where the milliseconds go."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 2.2 + 0.5 * len(results)))
    colors: dict[str, str] = {}
    palette = [f"C{i}" for i in range(10)]  # the default colour cycle
    for row, table in enumerate(results.values()):
        left = 0.0
        for stage, cut in table.items():
            if stage == "end to end" or not cut.get("samples"):
                continue
            first = stage not in colors
            color = colors.setdefault(stage, palette[len(colors) % len(palette)])
            label = stage if first else None
            ax.barh(row, cut["p50"], left=left, color=color, edgecolor="white", label=label)
            left += cut["p50"]
    ax.set_yticks(range(len(results)), list(results))
    ax.set_xlabel("ms (median of each stage)")
    ax.invert_yaxis()
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", required=True)
    parser.add_argument("--rate", type=float, default=250.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--kind", action="append", choices=sorted(KINDS))
    parser.add_argument("--variant", action="append", type=parse_variant, default=[])
    parser.add_argument("--out", type=Path, default=Path(".run/timeline"))
    return parser.parse_args()


async def _main(args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    results: dict[str, dict[str, dict[str, float]]] = {}
    variants = args.variant or [("default", {})]
    for kind in args.kind or list(KINDS):
        for name, env in variants:
            label = kind if len(variants) == 1 else f"{kind} [{name}]"
            progress.log(f"{label} at {args.rate:,.0f} req/s")
            results[label] = await timeline(
                kind, args.broker, args.rate, args.seconds, args.warmup, env, args.out, progress
            )
    return results


def main() -> None:
    args = _args()
    args.out.mkdir(parents=True, exist_ok=True)
    progress = Progress()
    try:
        results = asyncio.run(_main(args, progress))
    finally:
        progress.close()
    (args.out / "timeline.json").write_text(json.dumps(results, indent=2))
    plot(results, args.out / "timeline.png")
    print(render(results))


if __name__ == "__main__":
    main()
