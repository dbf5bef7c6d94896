"""A transaction's offsets committed with the consumer's group generation (KIP-447).

aiokafka commits a transaction's offsets with TxnOffsetCommit v0, which names
no consumer: a worker expelled from its group (it stalled past the rebalance
timeout, say, while its partitions went to another worker) can still commit
the transaction it had open, and the records it answered are answered twice.
A crash run did exactly that: the new owner re-read a partition while the
expelled worker committed its batch of it a second later.

Here the group id handed to ``send_offsets_to_transaction`` may be a
:class:`GroupMember`, a ``str`` (aiokafka passes it along unchanged) that also
carries the consumer's generation and member id. aiokafka's handler then sends
TxnOffsetCommit v3 with them, and the broker refuses the offsets of a member or
generation that is no longer the group's: the transaction fails with
:class:`OffsetsFenced` and is aborted, so nothing of it is ever seen.
"""

from __future__ import annotations

import collections
from types import SimpleNamespace
from typing import Any, TypeAlias

from aiokafka.errors import CommitFailedError
from aiokafka.producer import sender
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactString,
    Int16,
    Int32,
    Int64,
    Schema,
    TaggedFields,
)

__all__ = ["GroupMember", "OffsetsFenced", "faust_member", "fence_offset_commits", "group_member"]

FENCED = {
    22: "ILLEGAL_GENERATION",
    25: "UNKNOWN_MEMBER_ID",
    27: "REBALANCE_IN_PROGRESS",
    82: "FENCED_INSTANCE_ID",
}
"""Error codes with which the broker refuses offsets of a stale member or generation."""


class OffsetsFenced(CommitFailedError):  # type: ignore[misc]
    """The group has moved on: this consumer's offsets are not its to commit."""


class GroupMember(str):
    """A consumer group id that carries the generation and member id of its consumer."""

    generation_id: int
    member_id: str

    def __new__(cls, group_id: str, generation_id: int, member_id: str) -> GroupMember:
        member = super().__new__(cls, group_id)
        member.generation_id = generation_id
        member.member_id = member_id
        return member


def group_member(consumer: Any, group_id: str) -> GroupMember:
    """``group_id`` with the generation and member id ``consumer`` (an ``AIOKafkaConsumer``)
    holds in it now."""
    coordinator = consumer._coordinator
    return GroupMember(group_id, coordinator.generation, coordinator.member_id)


def faust_member(app: Any, group_id: str) -> GroupMember:
    """``group_id`` with the member Faust's consumer (in its own thread) is in it now."""
    return group_member(app.consumer._thread._ensure_consumer(), group_id)


class _TxnOffsetCommitResponse_v3(Response):  # type: ignore[misc]
    API_KEY = 28
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "topics",
            CompactArray(
                ("name", CompactString("utf-8")),
                (
                    "partitions",
                    CompactArray(
                        ("partition_index", Int32), ("error_code", Int16), ("tags", TaggedFields)
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _TxnOffsetCommitRequest_v3(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 28
    API_VERSION = 3
    RESPONSE_TYPE = _TxnOffsetCommitResponse_v3
    SCHEMA = Schema(
        ("transactional_id", CompactString("utf-8")),
        ("group_id", CompactString("utf-8")),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("generation_id", Int32),
        ("member_id", CompactString("utf-8")),
        ("group_instance_id", CompactString("utf-8")),
        (
            "topics",
            CompactArray(
                ("name", CompactString("utf-8")),
                (
                    "partitions",
                    CompactArray(
                        ("partition_index", Int32),
                        ("committed_offset", Int64),
                        ("committed_leader_epoch", Int32),
                        ("committed_metadata", CompactString("utf-8")),
                        ("tags", TaggedFields),
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


_Struct: TypeAlias = _TxnOffsetCommitRequest_v3


class MemberTxnOffsetCommit(Request[_Struct]):  # type: ignore[misc]
    """TxnOffsetCommit v3: a transaction's offsets, for a group member of a generation."""

    API_KEY = 28

    def __init__(
        self,
        transactional_id: str,
        producer: tuple[int, int],
        member: GroupMember,
        offsets: dict[str, list[tuple[int, int, str]]],
    ) -> None:
        self._transactional_id = transactional_id
        self._producer = producer
        self._member = member
        self._offsets = offsets

    def build(self, request_struct_class: type[_Struct]) -> _Struct:
        """The request (brokers since Kafka 2.5 take v3)."""
        member = self._member
        topics: list[Any] = [
            (topic, [(p, offset, -1, meta, {}) for p, offset, meta in parts], {})
            for topic, parts in self._offsets.items()
        ]
        producer_id, epoch = self._producer
        return request_struct_class(
            self._transactional_id,
            str(member),
            producer_id,
            epoch,
            member.generation_id,
            member.member_id,
            None,
            topics,
            {},
        )


class _MemberOffsetCommitHandler(sender.TxnOffsetCommitHandler):  # type: ignore[misc]
    """aiokafka's handler, sending v3 with the member when the group id carries one."""

    def create_request(self) -> Any:
        member = self._group_id
        if not isinstance(member, GroupMember):
            return super().create_request()
        txn = self._sender._txn_manager
        offsets: dict[str, list[tuple[int, int, str]]] = collections.defaultdict(list)
        for tp, offset in sorted(self._offsets.items()):
            offsets[tp.topic].append((tp.partition, offset.offset, offset.metadata))
        producer = (txn.producer_id, txn.producer_epoch)
        return MemberTxnOffsetCommit(txn.transactional_id, producer, member, dict(offsets))

    def handle_response(self, resp: Any) -> Any:
        if getattr(resp, "API_VERSION", 0) < 3:
            return super().handle_response(resp)
        errors = [(t, [(p, code) for p, code, _ in parts]) for t, parts, _ in resp.topics]
        fenced = sorted(
            {FENCED[code] for _, parts in errors for _, code in parts if code in FENCED}
        )
        if fenced:
            member = self._group_id
            why = f"generation {member.generation_id}, member {member.member_id!r}: {fenced}"
            self._sender._txn_manager.error_transaction(OffsetsFenced(why))
            return None
        return super().handle_response(SimpleNamespace(errors=errors))


def fence_offset_commits() -> None:
    """Have aiokafka's transactional producers send a :class:`GroupMember`'s offsets with it."""
    sender.TxnOffsetCommitHandler = _MemberOffsetCommitHandler
