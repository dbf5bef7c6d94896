"""Answered batches are committed in order, once acknowledged, and never after a loss."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import KafkaError

from packetflow.ingress.commits import Deliveries
from packetflow.kafka.batches import Sent


@dataclass
class Consumer:
    commits: list[dict[Any, int]] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    error: Exception | None = None

    def assignment(self) -> set[Any]:
        return {0, 1, 2}

    async def commit(self, offsets: Mapping[Any, int] | None = None) -> None:
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        self.commits.append(dict(offsets or {}))


async def nothing_to_settle(sent: Sent) -> None:
    return None


def acked() -> Sent:
    fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    fut.set_result(None)
    return [([], fut)]


async def test_batches_acknowledged_while_one_is_committed_share_the_next_commit() -> None:
    consumer = Consumer()
    deliveries = Deliveries(consumer, nothing_to_settle, limit=10)
    for partition in (0, 1, 2):
        deliveries.add(acked(), {partition: 11})
    await deliveries.acknowledged()  # the first commit is waiting on the coordinator
    consumer.gate.set()
    await deliveries.drain()
    assert consumer.commits == [{0: 11}, {1: 11, 2: 11}]


async def test_a_failed_commit_stops_every_later_one() -> None:
    consumer = Consumer(error=KafkaError("coordinator unavailable"))
    consumer.gate.set()
    deliveries = Deliveries(consumer, nothing_to_settle)
    deliveries.add(acked(), {0: 11})
    with pytest.raises(KafkaError):
        await deliveries.drain()
    consumer.error = None
    deliveries.add(acked(), {1: 11})
    await deliveries.acknowledged()
    background = asyncio.all_tasks() - {asyncio.current_task()}
    if background:
        await asyncio.wait(background, timeout=5)  # a commit started now would be done
    with pytest.raises(KafkaError):
        await deliveries.drain()
    assert consumer.commits == []


async def test_a_batch_whose_settling_finds_a_loss_is_not_committed_nor_any_after_it() -> None:
    consumer = Consumer()
    consumer.gate.set()

    async def lost(sent: Sent) -> None:
        raise RuntimeError("an audit record was refused")

    deliveries = Deliveries(consumer, lost)
    deliveries.add(acked(), {0: 11})
    with pytest.raises(RuntimeError, match="audit"):
        await deliveries.drain()
    assert consumer.commits == []


async def test_a_loss_is_raised_once_and_not_logged_again_by_the_later_batches() -> None:
    """Batches after a loss fail with it too; when the loop stops on the loss, they must not
    each log it again as a task exception never retrieved."""
    reported: list[str] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, ctx: reported.append(ctx["message"]))
    try:
        consumer = Consumer()
        consumer.gate.set()

        async def lost(sent: Sent) -> None:
            raise RuntimeError("an audit record was refused")

        deliveries = Deliveries(consumer, lost, limit=10)
        for partition in (0, 1, 2):
            deliveries.add(acked(), {partition: 11})
        background = asyncio.all_tasks() - {asyncio.current_task()}
        with pytest.raises(RuntimeError, match="audit"):
            await deliveries.drain()
        await asyncio.wait(background)
        del deliveries, background
        gc.collect()
    finally:
        loop.set_exception_handler(None)
    assert reported == []
