"""Start-up declares PacketFlow's topics and waits for them; the producer's metadata then holds
those topics, not every topic of the cluster."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from packetflow.worker.declare import DeclareTopics

pytestmark = pytest.mark.integration


class Declared:
    """A topic of ``app.packetflow_topics``: created on the broker by ``maybe_declare``."""

    def __init__(self, admin: AIOKafkaAdminClient, name: str) -> None:
        self.topics = (name,)
        self._admin = admin

    async def maybe_declare(self) -> None:
        await self._admin.create_topics([NewTopic(self.topics[0], 2, 1)])


def app_with(producer: AIOKafkaProducer, topics: list[Declared], changelog: Declared) -> Any:
    """What DeclareTopics reads of a Faust app: its topics, its tables' changelog topics and its
    producer's aiokafka client."""
    faust_producer = SimpleNamespace(_ensure_producer=lambda: producer)
    tables = {"state": SimpleNamespace(changelog_topic=changelog)}
    return SimpleNamespace(packetflow_topics=topics, tables=tables, producer=faust_producer)


async def test_the_producer_knows_only_packetflow_s_topics_on_a_busy_cluster(
    kafka_bootstrap: str,
) -> None:
    run = uuid.uuid4().hex[:8]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        others = [NewTopic(f"decl-{run}-other-{n}", 4, 1) for n in range(20)]
        await admin.create_topics(others)
        changelog = Declared(admin, f"decl-{run}-state-changelog")
        mine = [Declared(admin, f"decl-{run}-mine-{n}") for n in range(3)]
        await DeclareTopics(app_with(producer, mine, changelog)).on_start()
        mine.append(changelog)
        cluster = producer.client.cluster
        assert set(cluster.topics()) == {t.topics[0] for t in mine}  # visible, nothing else
        for topic in mine:  # as declared, not auto-created by a metadata request before
            assert cluster.partitions_for_topic(topic.topics[0]) == {0, 1}
    finally:
        await producer.stop()
        names = [t for t in await admin.list_topics() if t.startswith(f"decl-{run}")]
        await admin.delete_topics(names)
        await admin.close()
