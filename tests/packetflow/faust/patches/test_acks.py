"""Faust's commit never covers a record acked while skipped (rebalance, recovery, an older
generation): on Faust's own consumer, no broker needed."""

from __future__ import annotations

from typing import Any

import faust
import pytest
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from packetflow.faust.patches.acks import count_only_current_acks
from tests.packetflow.faust.patches.fakes import consumer_message

PARTITION = TP("t.reactor.counter", 0)


@pytest.fixture
def app() -> Any:
    app = faust.App("acks-test", broker="kafka://127.0.0.1:1")  # never connected
    app.topics.acks_enabled_for = lambda topic: True  # as for a topic an agent consumes
    count_only_current_acks(app)
    app.consumer_generation_id = 3
    app.flow_control.resume()  # running: no rebalance, no recovery
    return app


def record(offset: int, generation: int | None = 3) -> ConsumerMessage:
    return consumer_message(PARTITION, offset, generation)


def commit_offset(app: Any) -> int | None:
    """The offset Faust would commit for the partition now."""
    offset: int | None = app.consumer._new_offset(PARTITION)
    return offset


def test_records_of_the_current_generation_are_committed(app: Any) -> None:
    for offset in range(3):
        assert record(offset).ack(app.consumer)
    assert commit_offset(app) == 3


def test_a_record_of_an_older_generation_is_done_with_but_not_committed(app: Any) -> None:
    for offset in range(3):
        record(offset).ack(app.consumer)
    stale = record(3, generation=2)  # fetched before the last rebalance, skipped by the stream
    assert not stale.ack(app.consumer)
    assert stale.acked  # Faust's wait_empty does not wait for it
    assert commit_offset(app) == 3  # not 4: offset 3 is read again and processed first


def test_no_ack_counts_while_flow_is_suspended(app: Any) -> None:
    app.flow_control.suspend()  # a rebalance or a table recovery is running
    skipped = record(0)
    assert not skipped.ack(app.consumer)
    assert skipped.acked
    assert commit_offset(app) is None
    app.flow_control.resume()
    assert record(0).ack(app.consumer)  # read again after the seek: now it counts
    assert commit_offset(app) == 1


def test_installing_twice_wraps_once(app: Any) -> None:
    guard = app.consumer.ack
    count_only_current_acks(app)
    assert app.consumer.ack is guard
