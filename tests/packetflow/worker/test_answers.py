"""Reactor answers leave after the flush that makes their state durable, in order, behind the
agent; a failed delivery stops the ones after it; commits wait for begun deliveries only."""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

import faust
import pytest

from packetflow.records import Outbound
from packetflow.worker.answers import AnswerQueue, Outstanding, UndeliveredAnswers
from packetflow.worker.batches import Sent
from packetflow.worker.sink import Resends, commit_after_resends


class Failed(Exception):
    """What ``on_failure`` received (a real worker halts)."""


def out(n: int) -> Outbound:
    return Outbound("t.responses", f"r{n}".encode(), b"{}")


class Broker:
    """Flushes finish when the test says so; sends are logged and acknowledged on demand."""

    def __init__(self) -> None:
        self.flushes: list[asyncio.Future[None]] = []
        self.sent: list[list[bytes | None]] = []
        self.acks: list[asyncio.Future[Any]] = []
        self.failures: list[BaseException] = []

    async def flush(self) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.flushes.append(done)
        await done

    async def send(self, outputs: list[Outbound]) -> Sent:
        self.sent.append([o.key for o in outputs])
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return [(outputs, ack)]

    def failed(self, exc: BaseException) -> NoReturn:
        self.failures.append(exc)
        raise Failed from exc

    def queue(self, outstanding: Outstanding, in_flight: int = 2) -> AnswerQueue:
        return AnswerQueue(self.flush, self.send, outstanding, in_flight, self.failed)


async def turns(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_a_failed_flush_halts_and_the_answers_after_it_are_not_sent() -> None:
    broker, outstanding = Broker(), Outstanding()
    answers = broker.queue(outstanding)
    await answers.submit([out(1)])
    await answers.submit([out(2)])
    await turns()
    broker.flushes[0].set_exception(OSError("broker gone"))
    broker.flushes[1].set_result(None)
    await outstanding.settle()
    assert broker.sent == []
    assert [type(e) for e in broker.failures] == [OSError, UndeliveredAnswers]


async def test_answers_wait_for_their_flush_and_leave_in_submit_order() -> None:
    broker, outstanding = Broker(), Outstanding()
    answers = broker.queue(outstanding)
    await answers.submit([out(1), out(2)])
    await answers.submit([out(3)])
    await turns()
    assert broker.sent == []  # no flush finished: nothing is sent
    broker.flushes[1].set_result(None)  # the later flush finishes first ...
    await turns()
    assert broker.sent == []  # ... its answers still wait for the earlier ones
    broker.flushes[0].set_result(None)
    await turns()
    assert broker.sent == [[b"r1", b"r2"], [b"r3"]]


async def test_no_more_than_in_flight_deliveries_run() -> None:
    broker, outstanding = Broker(), Outstanding()
    answers = broker.queue(outstanding, in_flight=2)
    await answers.submit([out(1)])
    await answers.submit([out(2)])
    third = asyncio.ensure_future(answers.submit([out(3)]))
    await turns()
    assert not third.done()  # the agent waits for the oldest delivery
    broker.flushes[0].set_result(None)
    await turns()
    broker.acks[0].set_result(None)
    await turns()
    assert third.done()


async def test_a_commit_waits_for_deliveries_begun_before_it_not_after() -> None:
    broker, outstanding = Broker(), Outstanding()
    answers = broker.queue(outstanding, in_flight=5)
    await answers.submit([out(1)])
    settled = asyncio.ensure_future(outstanding.settle())
    await turns()
    await answers.submit([out(2)])  # begun after the commit started waiting
    await turns()
    broker.flushes[0].set_result(None)
    await turns()
    assert not settled.done()  # sent, not yet acknowledged
    broker.acks[0].set_result(None)
    await turns()
    assert settled.done()  # although the second delivery still runs
    assert len(broker.flushes) == 2
    assert not broker.flushes[1].done()


async def test_faust_commits_after_the_answers_of_acked_events_are_acknowledged() -> None:
    broker, outstanding = Broker(), Outstanding()
    answers = broker.queue(outstanding)
    app = faust.App("answers-test", broker="kafka://127.0.0.1:1")  # never connected
    acked_at_commit: list[bool] = []

    async def no_flush() -> None:
        return None

    async def commit_offsets(offsets: object, start_new_transaction: bool = True) -> bool:
        acked_at_commit.append(broker.acks[0].done())
        return True

    app.producer.flush = no_flush
    app.consumer._commit_offsets = commit_offsets
    commit_after_resends(app, Resends(), outstanding)
    await answers.submit([out(1)])
    commit = asyncio.ensure_future(app.consumer._commit_offsets({}))
    await turns()
    broker.flushes[0].set_result(None)
    await turns()
    assert not commit.done()
    broker.acks[0].set_result(None)
    assert await commit
    assert acked_at_commit == [True]


@pytest.mark.parametrize("count", [1, 3])
async def test_drain_waits_for_every_delivery(count: int) -> None:
    broker, outstanding = Broker(), Outstanding()
    answers = broker.queue(outstanding, in_flight=count)
    for n in range(count):
        await answers.submit([out(n)])
    drained = asyncio.ensure_future(answers.drain())
    await turns()
    for flush in broker.flushes:
        flush.set_result(None)
    await turns()
    assert not drained.done()
    for ack in broker.acks:
        ack.set_result(None)
    await drained
    assert len(broker.sent) == count
