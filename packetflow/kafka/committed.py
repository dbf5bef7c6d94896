"""A group's committed offsets, stable and asked until the broker answers for every partition.

Two things make aiokafka's consumer read partitions again from an older
offset than the one committed:

- it asks with OffsetFetch v1-v3, which the broker answers with the last
  *stable* commit: while a transaction's offsets wait for their commit
  markers (just after the transaction committed, or while the broker loads
  after a restart), the offset before, or none;
- it takes a partition missing from the answer, or answered with an error,
  for one with no commit, and ignores the answer's top-level error code.

At least once that means answers sent twice; exactly once it must not happen.
:func:`committed_offsets` asks with OffsetFetch v7 and ``require_stable``
(KIP-447: a partition with pending transactional offsets is answered
``UNSTABLE_OFFSET_COMMIT``) and asks again until every partition is answered
without an error (``-1``: it truly has no commit).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeAlias

from aiokafka import TopicPartition
from aiokafka.client import AIOKafkaClient, CoordinationType
from aiokafka.errors import KafkaError
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    Boolean,
    CompactArray,
    CompactString,
    Int16,
    Int32,
    Int64,
    Schema,
    TaggedFields,
)

__all__ = ["Answer", "CommittedOffsetsUnknown", "committed_offsets"]

log = logging.getLogger("packetflow.worker")

RETRY_S = 0.2
"""Between two questions to a broker that did not answer for every partition."""

Answer = tuple[int, dict[TopicPartition, tuple[int, int]]]
"""An OffsetFetch answer: its top-level error code, and per partition (offset, error code)."""

Ask = Callable[[str, list[TopicPartition]], Awaitable[Answer]]


class CommittedOffsetsUnknown(RuntimeError):
    """The broker did not say where a partition's commit is before the deadline."""


async def committed_offsets(
    bootstrap: str,
    group: str,
    partitions: Collection[TopicPartition],
    deadline_s: float = 90.0,
    ask: Ask | None = None,
) -> dict[TopicPartition, int | None]:
    """Each partition's stable committed offset for ``group`` (None: no commit).

    Raises :class:`CommittedOffsetsUnknown` after ``deadline_s`` without an answer
    for every partition: better a worker restarted than partitions read again. The
    default outlasts a transaction's timeout (60 s), after which the broker aborts the
    open transaction of a worker that died and is not back.
    """
    wanted = sorted(set(partitions))
    if not wanted:
        return {}
    client: AIOKafkaClient | None = None
    if ask is None:
        client = AIOKafkaClient(bootstrap_servers=bootstrap, client_id="packetflow-offsets")
        await client.bootstrap()
        ask = _asker(client)
    try:
        give_up = time.monotonic() + deadline_s
        while True:
            why = await _ask_once(ask, group, wanted)
            if isinstance(why, dict):
                return why
            if time.monotonic() >= give_up:
                raise CommittedOffsetsUnknown(f"group {group}: {why}")
            log.info("committed offsets of group %s not known yet (%s): asking again", group, why)
            await asyncio.sleep(RETRY_S)  # a retry's backoff
    finally:
        if client is not None:
            await client.close()


async def _ask_once(
    ask: Ask, group: str, wanted: list[TopicPartition]
) -> dict[TopicPartition, int | None] | str:
    """The offsets, or why the answer does not give them all."""
    try:
        error, found = await ask(group, wanted)
    except KafkaError as exc:  # a coordinator away or loading
        return repr(exc)
    if error:
        return f"error {error}"
    missing = [tp for tp in wanted if tp not in found]
    failed = {tp: found[tp][1] for tp in wanted if tp in found and found[tp][1]}
    if missing or failed:  # 88: a transaction's offsets are pending
        return f"no answer for {missing}, errors {failed}"
    return {tp: found[tp][0] if found[tp][0] >= 0 else None for tp in wanted}


def _asker(client: AIOKafkaClient) -> Ask:
    async def ask(group: str, wanted: list[TopicPartition]) -> Answer:
        node = await client.coordinator_lookup(CoordinationType.GROUP, group)
        by_topic: dict[str, list[int]] = {}
        for tp in wanted:
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        response = await client.send(node, StableOffsetFetch(group, by_topic))
        found = {
            TopicPartition(topic, p[0]): (int(p[1]), int(p[4]))
            for topic, parts, _ in response.topics
            for p in parts
        }
        return int(response.error_code), found

    return ask


class _OffsetFetchResponse_v7(Response):  # type: ignore[misc]
    API_KEY = 9
    API_VERSION = 7
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
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
                        ("metadata", CompactString("utf-8")),
                        ("error_code", Int16),
                        ("tags", TaggedFields),
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("error_code", Int16),
        ("tags", TaggedFields),
    )


class _OffsetFetchRequest_v7(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 9
    API_VERSION = 7
    RESPONSE_TYPE = _OffsetFetchResponse_v7
    SCHEMA = Schema(
        ("group_id", CompactString("utf-8")),
        (
            "topics",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("partition_indexes", CompactArray(Int32)),
                ("tags", TaggedFields),
            ),
        ),
        ("require_stable", Boolean),
        ("tags", TaggedFields),
    )


_Struct: TypeAlias = _OffsetFetchRequest_v7


class StableOffsetFetch(Request[_Struct]):  # type: ignore[misc]
    """OffsetFetch v7 with ``require_stable`` (brokers since Kafka 2.5)."""

    API_KEY = 9

    def __init__(self, group: str, partitions: dict[str, list[int]]) -> None:
        self._group = group
        self._partitions = partitions

    def build(self, request_struct_class: type[_Struct]) -> _Struct:
        """The request, for the version the broker and this class share."""
        topics: list[Any] = [(t, ps, {}) for t, ps in self._partitions.items()]
        return request_struct_class(self._group, topics, True, {})
