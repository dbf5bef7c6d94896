"""On the real broker: a transaction's offsets commit only for the group's current member."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from packetflow.faust.patches import GroupMember, group_member
from packetflow.faust.patches.fenced_offsets import OffsetsFenced, fence_offset_commits
from packetflow.kafka.committed import committed_offsets

DEADLINE_S = 60.0  # for the group to form: a deadline for a hang, not a timing threshold


async def _member(bootstrap: str, topic: str, group: str) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    async with asyncio.timeout(DEADLINE_S):
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
    return consumer


async def _commit(producer: AIOKafkaProducer, topic: str, group: str, offset: int) -> None:
    await producer.begin_transaction()
    await producer.send_and_wait(topic, b"answer", partition=0)
    try:
        await producer.send_offsets_to_transaction({TopicPartition(topic, 0): offset}, group)
    except BaseException:
        await producer.abort_transaction()
        raise
    await producer.commit_transaction()


async def test_offsets_of_a_stale_generation_are_refused_and_the_transaction_aborted(
    kafka_bootstrap: str,
) -> None:
    topic = f"e2e-fenced-{uuid.uuid4().hex[:8]}"
    group = f"{topic}-group"
    fence_offset_commits()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id=topic)
    await producer.start()
    await producer.begin_transaction()
    await producer.send_and_wait(topic, b"request", partition=0)  # creates the topic
    await producer.commit_transaction()
    consumer = await _member(kafka_bootstrap, topic, group)
    try:
        member = group_member(consumer, group)
        await _commit(producer, topic, member, 1)
        stale = GroupMember(group, member.generation_id - 1, member.member_id)
        with pytest.raises(OffsetsFenced, match="ILLEGAL_GENERATION"):
            await _commit(producer, topic, stale, 2)
        stranger = GroupMember(group, member.generation_id, "expelled-member")
        with pytest.raises(OffsetsFenced, match="UNKNOWN_MEMBER_ID"):
            await _commit(producer, topic, stranger, 3)
        found = await committed_offsets(kafka_bootstrap, group, [TopicPartition(topic, 0)])
        assert found == {TopicPartition(topic, 0): 1}  # only the current member's commit
    finally:
        await consumer.stop()
        await producer.stop()
