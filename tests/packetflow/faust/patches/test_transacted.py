"""Exactly once: Faust's consumer commits nothing; what transactions commit is recorded where
Faust and the strict seek read it. On Faust's own consumer, no broker needed."""

from __future__ import annotations

import faust
from aiokafka import TopicPartition
from faust.types import TP

from packetflow.faust.patches import record_transacted
from packetflow.faust.patches.offsets import strict_offsets
from packetflow.faust.patches.transacted import commit_in_transactions

HOPS = TP("app.reactor.counter", 0)


def app() -> faust.App:
    return faust.App("transacted-test", broker="kafka://127.0.0.1:1")  # never connected


def test_faust_commits_nothing_and_forgets_acked_offsets_under_transactions() -> None:
    consumer = app().consumer
    consumer._acked[HOPS] = [5, 6, 8]
    consumer._acked_index[HOPS] = {5, 6, 8}
    commit_in_transactions(consumer.app)
    assert consumer._new_offset(HOPS) is None
    assert consumer._acked[HOPS] == []
    assert consumer._acked_index[HOPS] == set()


def test_a_transaction_s_offsets_are_faust_s_committed_offsets_and_the_next_seek() -> None:
    faust_app = app()
    record_transacted(faust_app, {TopicPartition(HOPS.topic, HOPS.partition): 43})
    assert faust_app.consumer._committed_offset[HOPS] == 43  # what Faust reports
    assert strict_offsets(faust_app).transacted == {HOPS: 43}  # where a seek goes
