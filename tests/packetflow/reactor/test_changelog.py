"""Reactor state writes: the local store at once; answers only after their changelog records are
on the broker; each changelog partition's persisted offset recorded once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from aiokafka.structs import RecordMetadata, TopicPartition
from faust.types import TP
from pydantic_core import to_json

from packetflow.faust.patches import as_current
from packetflow.pipeline.refused import UndeliveredRecord
from packetflow.reactor.changelog import CHANGELOG, TableStore, deliver_after_changelog
from packetflow.records import Outbound
from tests.packetflow.worker.test_sink import TOPICS, Sink, response

CHANGELOG_TOPIC = "changelog-test-reactor-counter-changelog"


def store(kind: str = "memory://", datadir: Path | None = None, **table: Any) -> TableStore:
    where = {} if datadir is None else {"datadir": str(datadir)}
    app = faust.App("changelog-test", broker="kafka://127.0.0.1:1", store=kind, **where)
    return TableStore(app.Table("reactor-counter", default=None, partitions=8, **table))


def rocksdb(datadir: Path) -> TableStore:
    """A store on RocksDB, as in a worker (``PACKETFLOW_STORE=rocksdb``, the default)."""
    return store("rocksdb://", datadir, key_type=bytes)


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


@pytest.mark.parametrize(
    "types",
    [{}, {"key_type": str}, {"key_type": bytes, "value_type": bytes}],
    ids=["json-keys", "str-keys", "raw-values"],
)
def test_a_table_whose_serializers_are_not_raw_keys_and_json_values_is_refused(
    types: dict[str, type],
) -> None:
    with pytest.raises(ValueError, match="raw keys and JSON values"):
        store(**types)


async def test_a_write_is_read_back_at_once_and_its_changelog_record_waits() -> None:
    s = store(key_type=bytes)
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
    s = store(key_type=bytes)

    async def outside() -> None:  # a fresh task: no current event
        s.set("k1", record(1))

    with pytest.raises(RuntimeError, match="only while a hop is applied"):
        await asyncio.create_task(outside())
    assert s.take() == []


async def test_answers_go_out_only_once_the_broker_has_the_changelog_records() -> None:
    s, sink = store(key_type=bytes), Sink()
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


async def test_a_chunk_s_answers_wait_until_the_broker_has_the_previous_chunk_s() -> None:
    s, sink = store(key_type=bytes), Sink()
    gate = sink.producer.hold = asyncio.Event()
    first = await deliver_after_changelog([response(1)], s, sink.sink)  # sent, not acknowledged
    sink.producer.hold = None  # what is sent from now on is acknowledged at once
    in_hop_of_partition(2)
    s.set("k1", record(1))
    second = asyncio.create_task(deliver_after_changelog([response(2)], s, sink.sink, None, first))
    for _ in range(3):
        await asyncio.sleep(0.005)
    assert not second.done()  # the changelog is on the broker, the first answer is not
    assert sink.producer.on(TOPICS.responses) == []
    gate.set()
    await second
    await sink.settle()
    assert [r["correlation_id"] for r in sink.producer.on(TOPICS.responses)] == ["r1", "r2"]


def test_the_store_counts_the_writes_of_its_busiest_key_until_they_are_taken() -> None:
    s = store(key_type=bytes)
    in_hop_of_partition(0)
    for key in ("hot", "cold", "hot", "hot"):
        s.set(key, record(1))
    assert s.busiest == 3
    assert len(s.take()) == 4
    assert s.busiest == 0


async def test_faust_s_own_writes_are_flushed_before_the_answers_too() -> None:
    s, sink = store(key_type=bytes), Sink()
    order: list[str] = []

    async def flush() -> None:
        order.append(f"flush after {len(sink.producer.partitions)} sent")

    await deliver_after_changelog([response(1)], s, sink.sink, flush)
    order.append(f"{len(sink.producer.partitions)} sent")
    assert order == ["flush after 0 sent", "1 sent"]


async def test_a_refused_changelog_record_is_a_loss_and_no_answer_goes_out() -> None:
    s, sink = store(key_type=bytes), Sink()
    sink.producer.refuse = {CHANGELOG_TOPIC}
    in_hop_of_partition(0)
    s.set("k1", record(1))
    with pytest.raises(UndeliveredRecord) as refused:
        await deliver_after_changelog([response(1)], s, sink.sink)
    assert refused.value.record.kind == CHANGELOG
    await sink.settle()
    assert len(sink.lost) == 1  # the sink's on_lost (halt, in a worker) was called too
    assert sink.producer.delivered == []


HOT = {
    "state": {"count": 128, "note": 'é\u2028"quoted"'},
    "version": 128,
    "applied": [[f"r{i}", {"n": i}, [{"kind": "x", "data": {"f": 0.1}}], i] for i in range(128)],
}


async def test_on_rocksdb_faust_reads_what_was_written_and_the_changelog_holds_the_same_bytes(
    tmp_path: Path,
) -> None:
    s = rocksdb(tmp_path)
    in_hop_of_partition(5)
    s.set("hot", HOT)
    assert s.get("hot") == HOT
    assert s.table.data[b"hot"] == HOT  # Faust's own read of the local store
    [change] = s.take()
    assert (change.key, change.partition) == (b"hot", 5)
    assert s.table.data._get(b"hot") == change.value  # recovery writes the changelog's bytes
    faust_value, _ = s.table.changelog_topic.prepare_value(HOT, "json")
    assert json.loads(change.value or b"") == json.loads(faust_value)


async def test_on_rocksdb_a_record_faust_wrote_is_read(tmp_path: Path) -> None:
    s = rocksdb(tmp_path)
    in_hop_of_partition(1)
    s.table.data[b"old"] = HOT  # as a worker of an earlier version wrote it
    assert s.get("old") == HOT
    assert s.get("never") is None


class Recovered:
    """A changelog record as Faust's recovery hands it to the store."""

    def __init__(self, key: bytes, value: bytes, offset: int) -> None:
        tp = TP(CHANGELOG_TOPIC, 5)
        self.message = SimpleNamespace(key=key, value=value, partition=5, tp=tp, offset=offset)


async def test_a_record_faust_recovers_into_the_store_is_read_as_recovered(
    tmp_path: Path,
) -> None:
    s = rocksdb(tmp_path)
    in_hop_of_partition(5)
    s.set("hot", HOT)
    assert s.get("hot") == HOT  # now remembered
    newer = {**HOT, "version": 129, "state": {"count": 129}}
    s.table.data.apply_changelog_batch([Recovered(b"hot", to_json(newer), 1)], None, None)
    assert s.get("hot") == newer
    s.table.data.apply_changelog_batch([Recovered(b"hot", to_json(HOT), 2)], None, None)
    assert s.get("hot") == HOT


async def test_reads_are_right_with_no_records_remembered(tmp_path: Path) -> None:
    app = faust.App("no-cache", broker="kafka://127.0.0.1:1", store="rocksdb://", datadir=tmp_path)
    s = TableStore(app.Table("reactor-x", default=None, partitions=8, key_type=bytes), 0)
    in_hop_of_partition(0)
    s.set("k", HOT)
    s.set("j", record(1))
    assert (s.get("k"), s.get("j"), len(s.recent)) == (HOT, record(1), 0)


async def test_a_busy_key_s_records_are_stored_as_they_encode_whole(tmp_path: Path) -> None:
    s = rocksdb(tmp_path)
    in_hop_of_partition(2)
    s.set("busy", {"state": {"count": 0}, "version": 0, "applied": []})
    for n in range(1, 140):  # as apply does: the log's entries carried over, one added
        old = s.get("busy")
        assert old is not None
        entry = [f"r{n}", {"count": n, "note": "é\u2028"}, [{"kind": "x", "data": {}}], n]
        new = {"state": {"count": n}, "version": n, "applied": [*old["applied"], entry][-128:]}
        s.set("busy", new)
        assert s.table.data._get(b"busy") == to_json(new)
        assert s.table.data[b"busy"] == new
    assert [json.loads(c.value or b"")["version"] for c in s.take()] == list(range(140))


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
    s = store(key_type=bytes)
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
