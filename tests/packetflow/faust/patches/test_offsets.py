"""Faust's commit advances only over records that were processed: on Faust's own consumer,
with the broker calls it makes replaced (no broker needed)."""

from __future__ import annotations

from typing import Any

import faust
import pytest
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from packetflow.faust.patches.acks import count_only_current_acks
from packetflow.faust.patches.offsets import strict_offsets
from tests.packetflow.faust.patches.fakes import FaustBroker, consumer_message

HOPS = TP("t.reactor.counter", 4)
CHANGELOG = TP("t-reactor-counter-changelog", 4)


@pytest.fixture
def broker() -> FaustBroker:
    return FaustBroker(committed={HOPS: None, CHANGELOG: None}, earliest={HOPS: 0, CHANGELOG: 0})


@pytest.fixture
def app(broker: FaustBroker) -> Any:
    app = faust.App("offsets-test", broker="kafka://127.0.0.1:1")  # never connected
    app.topics.acks_enabled_for = lambda topic: topic == HOPS.topic  # the agent's topic
    broker.serve(app.consumer)
    count_only_current_acks(app)
    strict_offsets(app)
    app.consumer_generation_id = 3
    app.flow_control.resume()
    return app


def record(offset: int, generation: int = 3) -> ConsumerMessage:
    return consumer_message(HOPS, offset, generation)


def ack(app: Any, *offsets: int) -> None:
    for offset in offsets:
        record(offset).ack(app.consumer)


def commit_offset(app: Any) -> int | None:
    """The offset Faust would commit for the partition now."""
    offset: int | None = app.consumer._new_offset(HOPS)
    return offset


def test_a_skipped_record_at_the_committed_offset_holds_the_commit(app: Any) -> None:
    app.consumer._committed_offset[HOPS] = 379
    record(379, generation=2).ack(app.consumer)  # skipped by the stream: does not count
    ack(app, *range(380, 391))
    assert commit_offset(app) is None  # Faust's own rule would commit 391, past 379
    ack(app, 379)  # read again and processed
    assert commit_offset(app) == 391


def test_a_run_of_skipped_records_holds_the_commit(app: Any) -> None:
    app.consumer._committed_offset[HOPS] = 382
    ack(app, *range(388, 540))  # 382-387 skipped
    assert commit_offset(app) is None
    ack(app, *range(382, 388))
    assert commit_offset(app) == 540


async def test_offsets_the_fetch_loop_did_not_see_are_not_taken_for_gaps(app: Any) -> None:
    app.consumer._committed_offset[HOPS] = 382
    await app.consumer._add_gap(HOPS, 382, 387)  # the fetch loop jumped from 381 to 388
    ack(app, *range(388, 400))
    assert commit_offset(app) is None  # Faust's rule would fill 382-387 in: 400


def test_the_commit_moves_over_each_processed_run_in_turn(app: Any) -> None:
    app.consumer._committed_offset[HOPS] = 10
    ack(app, 10, 11, 12, 14)
    assert commit_offset(app) == 13
    app.consumer._committed_offset[HOPS] = 13  # Faust records what it committed
    assert commit_offset(app) is None
    ack(app, 13)
    assert commit_offset(app) == 15


async def test_a_partition_with_no_commit_is_read_from_its_first_record(
    app: Any, broker: FaustBroker
) -> None:
    broker.earliest[HOPS] = 7  # retention removed 0-6
    await app.consumer.perform_seek()  # after every rebalance
    assert (HOPS, 7) in broker.seeks  # aiokafka would leave it where it was reading
    ack(app, 8, 9)  # 7 was skipped in the old generation
    assert commit_offset(app) is None  # Faust: no commit, no head check, 10
    ack(app, 7)
    assert commit_offset(app) == 10


async def test_a_partition_committed_at_zero_holds_on_its_first_record(
    app: Any, broker: FaustBroker
) -> None:
    broker.committed[HOPS] = 0
    await app.consumer.perform_seek()
    assert app.consumer._committed_offset[HOPS] is None  # how Faust records a commit at 0
    ack(app, 1, 2)
    assert commit_offset(app) is None
    ack(app, 0)
    assert commit_offset(app) == 3


async def test_a_changelog_partition_is_left_where_recovery_puts_it(
    app: Any, broker: FaustBroker
) -> None:
    await app.consumer.perform_seek()
    assert [tp for tp, _ in broker.seeks] == [HOPS]


async def test_a_committed_partition_is_sought_by_aiokafka_alone(
    app: Any, broker: FaustBroker
) -> None:
    broker.committed[HOPS] = 25
    await app.consumer.perform_seek()
    assert broker.seeks == []
    ack(app, 25, 26)
    assert commit_offset(app) == 27


def test_exactly_once_is_refused_with_the_reason() -> None:
    app = faust.App(
        "offsets-eos", broker="kafka://127.0.0.1:1", processing_guarantee="exactly_once"
    )
    with pytest.raises(RuntimeError, match="exactly_once"):
        strict_offsets(app)


def test_installing_twice_installs_once(app: Any) -> None:
    new_offset = app.consumer._new_offset
    assert strict_offsets(app) is strict_offsets(app)
    assert app.consumer._new_offset == new_offset


async def test_a_seek_goes_to_the_stable_commit_the_broker_names(
    app: Any, broker: FaustBroker
) -> None:
    broker.committed[HOPS] = 25  # aiokafka's answer: the commit before a pending transaction's

    async def confirm(tps: list[TP]) -> dict[TP, int | None]:
        return {HOPS: 31}

    strict_offsets(app).confirm = confirm
    await app.consumer.perform_seek()
    assert broker.seeks == [(HOPS, 31)]


async def test_a_partition_the_broker_named_no_commit_for_is_asked_again(
    app: Any, broker: FaustBroker
) -> None:
    async def confirm(tps: list[TP]) -> dict[TP, int | None]:
        return {HOPS: 41}  # answered this time: the coordinator had not loaded it yet

    strict_offsets(app).confirm = confirm
    await app.consumer.perform_seek()
    assert broker.seeks == [(HOPS, 41)]  # not its first record: 0 to 40 are answered
    ack(app, 41)
    assert commit_offset(app) == 42


async def test_a_partition_truly_without_a_commit_is_still_read_from_its_first_record(
    app: Any, broker: FaustBroker
) -> None:
    async def confirm(tps: list[TP]) -> dict[TP, int | None]:
        return dict.fromkeys(tps)

    strict_offsets(app).confirm = confirm
    await app.consumer.perform_seek()
    assert broker.seeks == [(HOPS, 0)]


async def test_a_seek_goes_to_what_this_worker_s_transactions_committed_if_further(
    app: Any, broker: FaustBroker
) -> None:
    broker.committed[HOPS] = 25  # the broker's answer, a moment behind the last transaction
    strict_offsets(app).transacted[HOPS] = 30
    await app.consumer.perform_seek()
    assert broker.seeks == [(HOPS, 30)]
