"""Reactor state writes: the local store at once; answers only after their changelog records are
on the broker; each changelog partition's persisted offset recorded once."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from aiokafka.structs import RecordMetadata, TopicPartition
from faust.types import TP

from packetflow.records import Outbound
from packetflow.worker.changelog import CHANGELOG, TableStore, deliver_after_changelog
from packetflow.worker.reactors import as_current
from packetflow.worker.sink import UndeliveredRecord
from tests.packetflow.worker.test_sink import TOPICS, Sink, response

CHANGELOG_TOPIC = "changelog-test-reactor-counter-changelog"


def store() -> TableStore:
    app = faust.App("changelog-test", broker="kafka://127.0.0.1:1", store="memory://")
    table = app.Table("reactor-counter", default=None, partitions=8, key_type=bytes)
    return TableStore(table)


class Hop:
    """An event of a reactor topic's ``partition`` (as Faust's tables see it)."""

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


HOPS: list[Hop] = []  # as_current holds a weak reference


def in_hop_of_partition(partition: int) -> None:
    """Make a hop of ``partition`` the event being applied (as the reactor agent does)."""
    HOPS.append(Hop(partition))
    as_current(HOPS[-1])


def record(count: int) -> dict[str, Any]:
    return {"state": {"count": count}, "version": count, "applied": []}


async def test_a_write_is_read_back_at_once_and_its_changelog_record_waits() -> None:
    s = store()
    in_hop_of_partition(3)
    s.set("k1", record(1))
    s.set("k1", record(2))
    assert s.get("k1") == record(2)
    assert s.get("never") is None
    changes = s.take()
    assert [(c.topic, c.key, c.partition, c.kind) for c in changes] == [
        (CHANGELOG_TOPIC, b"k1", 3, CHANGELOG),
        (CHANGELOG_TOPIC, b"k1", 3, CHANGELOG),
    ]
    assert [json.loads(c.value or b"") for c in changes] == [record(1), record(2)]
    assert s.take() == []


async def test_a_write_outside_a_hop_is_refused() -> None:
    s = store()

    async def outside() -> None:  # a fresh task: no current event
        s.set("k1", record(1))

    with pytest.raises(RuntimeError, match="only while a hop is applied"):
        await asyncio.create_task(outside())
    assert s.take() == []


async def test_answers_go_out_only_once_the_broker_has_the_changelog_records() -> None:
    s, sink = store(), Sink()
    sink.producer.hold = asyncio.Event()
    in_hop_of_partition(2)
    s.set("k1", record(1))
    delivering = asyncio.create_task(deliver_after_changelog([response(1)], s, sink.sink))
    for _ in range(3):
        await asyncio.sleep(0.005)
    assert sink.producer.partitions == [(CHANGELOG_TOPIC, 2)]  # the answer waits
    sink.producer.hold.set()
    await delivering
    await sink.settle()
    assert [t for t, _, _ in sink.producer.delivered] == [CHANGELOG_TOPIC, TOPICS.responses]


async def test_faust_s_own_writes_are_flushed_before_the_answers_too() -> None:
    s, sink = store(), Sink()
    order: list[str] = []

    async def flush() -> None:
        order.append(f"flush after {len(sink.producer.partitions)} sent")

    await deliver_after_changelog([response(1)], s, sink.sink, flush)
    order.append(f"{len(sink.producer.partitions)} sent")
    assert order == ["flush after 0 sent", "1 sent"]


async def test_a_refused_changelog_record_is_a_loss_and_no_answer_goes_out() -> None:
    s, sink = store(), Sink()
    sink.producer.refuse = {CHANGELOG_TOPIC}
    in_hop_of_partition(0)
    s.set("k1", record(1))
    with pytest.raises(UndeliveredRecord) as refused:
        await deliver_after_changelog([response(1)], s, sink.sink)
    assert refused.value.record.kind == CHANGELOG
    await sink.settle()
    assert len(sink.lost) == 1  # the sink's on_lost (halt, in a worker) was called too
    assert sink.producer.delivered == []


def delivered(partition: int, base_offset: int | None) -> asyncio.Future[Any]:
    fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    tp = TopicPartition(CHANGELOG_TOPIC, partition)
    meta = None if base_offset is None else RecordMetadata(
        CHANGELOG_TOPIC, partition, tp, base_offset, -1, 0, 0
    )  # fmt: skip
    fut.set_result(meta)
    return fut


def changes(count: int) -> list[Outbound]:
    return [Outbound(CHANGELOG_TOPIC, b"k", b"{}", kind=CHANGELOG) for _ in range(count)]


async def test_each_partition_s_last_changelog_offset_is_persisted_once() -> None:
    s = store()
    persisted: list[tuple[TP, int]] = []
    s.table.data.set_persisted_offset = lambda tp, offset: persisted.append((tp, offset))
    s.persisted(
        [
            (changes(3), delivered(1, 100)),  # offsets 100-102
            (changes(2), delivered(4, 7)),  # 7-8
            (changes(1), delivered(1, 103)),
            (changes(5), delivered(6, None)),  # acks=0: no offset known, nothing persisted
        ]
    )
    assert sorted(persisted) == [(TP(CHANGELOG_TOPIC, 1), 103), (TP(CHANGELOG_TOPIC, 4), 8)]
