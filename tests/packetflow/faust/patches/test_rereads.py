"""Records a stream skipped and Faust never read again are read again: on Faust's own
consumer, with the broker calls replaced (no broker needed)."""

from __future__ import annotations

import logging
from typing import Any

import faust
import pytest
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from packetflow.faust.patches.acks import count_only_current_acks
from packetflow.faust.patches.offsets import strict_offsets
from packetflow.faust.patches.rereads import RereadWatch
from packetflow.metrics import Metrics
from tests.packetflow.faust.patches.fakes import FaustBroker, consumer_message

HOPS = TP("t.reactor.counter", 2)
OTHER = TP("t.reactor.counter", 3)
CHANGELOG = TP("t-reactor-counter-changelog", 2)


@pytest.fixture
def broker() -> FaustBroker:
    return FaustBroker(
        positions={HOPS: 382, OTHER: 50, CHANGELOG: 900}, earliest={HOPS: 0, OTHER: 0}
    )


@pytest.fixture
def app(broker: FaustBroker) -> Any:
    app = faust.App("rereads-test", broker="kafka://127.0.0.1:1")  # never connected
    app.topics.acks_enabled_for = lambda topic: topic == HOPS.topic
    consumer = app.consumer
    consumer.assignment = lambda: {HOPS, OTHER, CHANGELOG}
    broker.serve(consumer)
    count_only_current_acks(app)
    strict_offsets(app)
    consumer._committed_offset.update({HOPS: 379, OTHER: 50})  # OTHER: all processed
    app.consumer_generation_id = 3
    app.flow_control.resume()
    return app


@pytest.fixture
def watch(app: Any) -> RereadWatch:
    return RereadWatch(app, strict_offsets(app), Metrics())


def held(app: Any, tp: TP, offset: int) -> ConsumerMessage:
    """A record a stream has taken and not finished."""
    message = consumer_message(tp, offset)
    app.consumer.track_message(message)
    return message


async def test_a_partition_read_past_a_skipped_record_is_read_again(
    watch: RereadWatch, broker: FaustBroker
) -> None:
    assert await watch.check() == []  # one look: it may still be on its way to the stream
    assert await watch.check() == [HOPS]
    assert broker.seeks == [(HOPS, 379)]
    assert await watch.check() == []  # reading from 379 again
    rereads = watch.metrics.registry.get_sample_value(
        "packetflow_rereads_total", {"topic": HOPS.topic}
    )
    assert rereads == 1


async def test_a_record_a_stream_holds_is_not_read_again(
    app: Any, watch: RereadWatch, broker: FaustBroker
) -> None:
    message = held(app, HOPS, 379)
    for offset in range(50, 53):
        app.consumer.ack(consumer_message(OTHER, offset))  # the stream moves on elsewhere
        assert await watch.check() == []
    assert message in app.consumer._unacked_messages  # still held by the stream
    assert broker.seeks == []


async def test_a_partition_that_moves_on_between_looks_is_left_alone(
    app: Any, watch: RereadWatch, broker: FaustBroker
) -> None:
    assert await watch.check() == []
    app.consumer.ack(consumer_message(HOPS, 379))  # it was in the stream's buffer after all
    assert await watch.check() == []
    assert broker.seeks == []


async def test_a_partition_not_read_past_its_committed_offset_is_left_alone(
    watch: RereadWatch, broker: FaustBroker
) -> None:
    broker.positions[HOPS] = 379  # nothing fetched since the commit
    for _ in range(3):
        assert await watch.check() == []
    assert broker.seeks == []


async def test_nothing_is_read_again_while_a_rebalance_runs(
    app: Any, watch: RereadWatch, broker: FaustBroker
) -> None:
    assert await watch.check() == []
    app.flow_control.suspend()  # Faust seeks to the committed offsets itself afterwards
    assert await watch.check() == []
    app.flow_control.resume()
    assert await watch.check() == []  # a first look again
    assert await watch.check() == [HOPS]


async def test_a_stream_busy_with_one_batch_is_not_taken_for_a_skip(
    app: Any, watch: RereadWatch, broker: FaustBroker
) -> None:
    message = held(app, OTHER, 51)  # e.g. the producer waits for a restarting broker
    for _ in range(3):
        assert await watch.check() == []
    assert broker.seeks == []
    app.consumer.ack(message)  # the stream moves again, and 379 was not among its records
    app.consumer.ack(held(app, OTHER, 52))
    assert await watch.check() == [HOPS]


async def test_records_removed_by_retention_are_reported_and_skipped(
    app: Any, watch: RereadWatch, broker: FaustBroker, caplog: pytest.LogCaptureFixture
) -> None:
    broker.earliest[HOPS] = 381
    await watch.check()
    with caplog.at_level(logging.WARNING, logger="packetflow.worker"):
        assert await watch.check() == [HOPS]
    assert broker.seeks == [(HOPS, 381)]
    assert "offsets 379 to 380 were deleted" in caplog.text
    app.consumer.ack(consumer_message(HOPS, 381))
    assert app.consumer._new_offset(HOPS) == 382
