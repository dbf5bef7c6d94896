"""A transaction's offsets go with the consumer's generation and member; a stale one is fenced."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from aiokafka.structs import OffsetAndMetadata, TopicPartition

from packetflow.faust.patches import GroupMember, group_member
from packetflow.faust.patches.fenced_offsets import (
    MemberTxnOffsetCommit,
    OffsetsFenced,
    _MemberOffsetCommitHandler,
)

TP = TopicPartition("app.requests", 3)


class TxnManager:
    transactional_id, producer_id, producer_epoch = "app.w0.requests", 7, 2

    def __init__(self) -> None:
        self.committed: list[tuple[TopicPartition, int, str]] = []
        self.errors: list[BaseException] = []

    def offset_committed(self, tp: TopicPartition, offset: int, group: str) -> None:
        self.committed.append((tp, offset, group))

    def error_transaction(self, exc: BaseException) -> None:
        self.errors.append(exc)


def _handler(group: str) -> tuple[Any, TxnManager]:
    txn = TxnManager()
    sender = SimpleNamespace(_txn_manager=txn, _retry_backoff=0.1)
    offsets = {TP: OffsetAndMetadata(42, "")}
    return _MemberOffsetCommitHandler(sender, offsets, group), txn


def _response(code: int) -> Any:
    return SimpleNamespace(API_VERSION=3, topics=[(TP.topic, [(TP.partition, code, {})], {})])


def test_the_member_and_generation_of_the_consumer_go_with_the_offsets() -> None:
    consumer = SimpleNamespace(_coordinator=SimpleNamespace(generation=12, member_id="w0-abc"))
    member = group_member(consumer, "app.requests")
    handler, _ = _handler(member)
    request = handler.create_request()
    assert isinstance(request, MemberTxnOffsetCommit)
    struct = request.build(MemberTxnOffsetCommit._CLASSES[0])
    assert (struct.group_id, struct.generation_id, struct.member_id) == (
        "app.requests",
        12,
        "w0-abc",
    )
    assert struct.topics == [(TP.topic, [(3, 42, -1, "", {})], {})]
    assert (struct.producer_id, struct.producer_epoch) == (7, 2)


def test_a_plain_group_id_is_sent_as_aiokafka_does() -> None:
    handler, _ = _handler("app")
    assert not isinstance(handler.create_request(), MemberTxnOffsetCommit)


def test_offsets_of_a_stale_generation_fail_the_transaction() -> None:
    handler, txn = _handler(GroupMember("app.requests", 11, "w0-abc"))
    assert handler.handle_response(_response(22)) is None
    [error] = txn.errors
    assert isinstance(error, OffsetsFenced)
    assert "ILLEGAL_GENERATION" in str(error)
    assert txn.committed == []


def test_offsets_the_broker_takes_are_committed() -> None:
    handler, txn = _handler(GroupMember("app.requests", 12, "w0-abc"))
    assert handler.handle_response(_response(0)) is None
    assert txn.committed == [(TP, 42, "app.requests")]
    assert txn.errors == []
