"""The hole reader on the real broker: commit markers and aborted records are no record."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaProducer
from faust.types import TP

from packetflow.worker.holes import HoleReader


async def test_a_hole_of_markers_and_aborted_records_holds_no_record(
    kafka_bootstrap: str,
) -> None:
    topic = f"e2e-holes-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id=topic)
    await producer.start()
    try:
        for value, commit in ((b"a", True), (b"aborted", False), (b"b", True)):
            await producer.begin_transaction()
            await producer.send_and_wait(topic, value, partition=0)
            await (producer.commit_transaction() if commit else producer.abort_transaction())
    finally:
        await producer.stop()
    # the log: a@0, marker@1, aborted@2, marker@3, b@4, marker@5
    reader = HoleReader(kafka_bootstrap)
    try:
        tp = TP(topic, 0)
        assert not await reader.holds_record(tp, 1, 4)
        assert await reader.holds_record(tp, 1, 5)  # b
        assert await reader.holds_record(tp, 0, 1)  # a
        assert not await reader.holds_record(tp, 5, 6)
    finally:
        await reader.stop()
