"""One builder for PacketFlow's Faust agents: the reactors', the limiter's, and the ones to come.

Every agent has the same life: it takes its stream's events (one by one or in
batches), answers each item through its sink, at least once, or in a
transaction of its own, exactly once (:mod:`.agent_transactions`), and ends
the process if an item cannot be finished (:mod:`.halt`). Only how it takes
events and how it answers them differ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import faust

from packetflow.worker.agent_transactions import AgentTransactions
from packetflow.worker.halt import finish
from packetflow.worker.sink import BatchSink

__all__ = ["Answer", "Answerer", "Take", "add_agent"]

Take = Callable[[Any], AsyncIterator[Any]]
"""The items of a Faust stream an agent answers: ``stream.events()``, or batches of them."""

Answer = Callable[[Any], Coroutine[Any, Any, None]]
"""Answers one item of the stream."""

Answerer = Callable[[BatchSink, AgentTransactions | None], Answer]
"""Given the agent's sink and transactions (None at least once), what answers one item."""


def add_agent(
    app: faust.App,
    topic: Any,
    name: str,
    take: Take,
    answerer: Answerer,
    sink: Callable[[], BatchSink],
    transactions: Callable[[], AgentTransactions] | None,
) -> None:
    """Declare the agent ``name`` on ``topic`` (one at a time: the order of a partition's
    records is the order they are answered in)."""

    async def handle(stream: Any) -> None:
        tx = transactions() if transactions is not None else None
        answer = answerer(sink(), tx)
        if tx is not None:
            await tx.start()  # fences this worker id's predecessor
        try:
            async for item in take(stream):
                await finish(answer(item))  # never acked half-done: see packetflow.worker.halt
        finally:
            if tx is not None:
                await tx.stop()

    app.agent(topic, name=name, concurrency=1)(handle)
