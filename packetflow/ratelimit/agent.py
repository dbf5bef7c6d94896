"""The limiter agent: rate-limited requests hop here, keyed by ``user|capability``.

One partition, hence one worker, owns each counter, so a limit holds across the
group; the counts are in windowed tables (:mod:`.tables`).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import faust

from packetflow.kafka.records import raw_record
from packetflow.pipeline.process import Processor
from packetflow.ratelimit.rule import RateLimit
from packetflow.ratelimit.tables import TableRateLimiter
from packetflow.registry import Registry
from packetflow.settings import Settings
from packetflow.worker.agent_transactions import AgentTransactions
from packetflow.worker.agents import add_agent
from packetflow.worker.message import raw_topic
from packetflow.worker.sink import BatchSink

__all__ = ["limiter_of", "wire_limiter"]


def limiter_of(
    app: faust.App,
    settings: Settings,
    registry: Registry,
    overrides: dict[str, RateLimit],
) -> TableRateLimiter | None:
    """The worker's rate limiter: tables for each window size a capability's limit uses;
    None when no capability is rate limited (then there is no limiter topic either)."""
    windows = {
        limit.per_seconds
        for cap in registry
        if (limit := overrides.get(cap.id, cap.rate_limit)) is not None
    }
    if not windows:
        return None
    return TableRateLimiter(app, settings.kafka.topic_prefix, windows, settings.kafka.partitions)


def wire_limiter(
    app: faust.App,
    settings: Settings,
    processor: Processor,
    sink: Callable[[], BatchSink],
    transactions: Callable[[str], AgentTransactions] | None,
) -> Any:
    """The limiter topic and its agent, which counts each hop's call and runs the rest of
    its path (:meth:`~packetflow.pipeline.process.Processor.handle_hop`)."""
    hops = raw_topic(app, settings.kafka.topics.limiter, settings.kafka.partitions)

    def answerer(
        outputs_sink: BatchSink, tx: AgentTransactions | None
    ) -> Callable[[Any], Coroutine[Any, Any, None]]:
        async def answer(event: Any) -> None:
            if tx is not None and not await tx.admit(event):
                return  # exactly once: see packetflow.worker.agent_transactions
            outputs = await processor.handle_hop(raw_record(event.message), "limited")
            if tx is None:
                await outputs_sink.send(outputs)
                return
            await tx.commit(outputs)

        return answer

    def events(stream: Any) -> AsyncIterator[Any]:
        return stream.events()  # type: ignore[no-any-return]

    tx = functools.partial(transactions, "limiter") if transactions is not None else None
    add_agent(app, hops, "packetflow.limiter", events, answerer, sink, tx)
    return hops
