"""Committed offsets are asked for, stable, until the broker answers for every partition."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError, NodeNotReadyError

from packetflow.kafka import committed
from packetflow.kafka.committed import Answer, CommittedOffsetsUnknown, committed_offsets

A, B = TopicPartition("t.requests", 0), TopicPartition("t.requests", 1)
UNSTABLE = 88  # UNSTABLE_OFFSET_COMMIT: a transaction's offsets wait for their markers


@dataclass
class Broker:
    """Answers each OffsetFetch with the next of ``answers`` (an exception is raised)."""

    answers: list[Answer | KafkaError]
    asked: list[tuple[str, list[TopicPartition]]] = field(default_factory=list)

    async def ask(self, group: str, tps: list[TopicPartition]) -> Answer:
        self.asked.append((group, tps))
        answer = self.answers.pop(0)
        if isinstance(answer, KafkaError):
            raise answer
        return answer


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(committed, "RETRY_S", 0)


async def test_partitions_left_out_pending_or_failed_are_asked_for_again() -> None:
    broker = Broker(
        [
            (0, {A: (12, 0)}),  # B left out: aiokafka would take it for one with no commit
            NodeNotReadyError(),
            (14, {}),  # the top-level error: the coordinator is loading
            (0, {A: (12, 0), B: (30, UNSTABLE)}),
            (0, {A: (12, 0), B: (-1, 0)}),
        ]
    )
    found = await committed_offsets("b", "g", [A, B], ask=broker.ask)
    assert found == {A: 12, B: None}  # -1: B has no commit, said so by the broker
    assert len(broker.asked) == 5
    assert broker.asked[0] == ("g", [A, B])


async def test_no_answer_before_the_deadline_is_an_error_not_a_partition_without_commit() -> None:
    broker = Broker([(0, {A: (12, 0), B: (30, UNSTABLE)})] * 100)
    with pytest.raises(CommittedOffsetsUnknown, match="88"):
        await committed_offsets("b", "g", [A, B], deadline_s=0, ask=broker.ask)


async def test_no_partitions_asks_nothing() -> None:
    broker = Broker([])
    assert await committed_offsets("b", "g", [], ask=broker.ask) == {}
    assert broker.asked == []
