"""Create PacketFlow's topics before anything consumes or produces them.

Two races are closed here. A client that produces to a topic the broker does
not know makes it auto-create the topic with ``num.partitions`` (1 by
default); and a consumer that subscribes to a topic created a few
milliseconds earlier may not see it in the broker's metadata yet, ignore it,
and not be assigned its partitions until the next metadata refresh (minutes).
So every topic PacketFlow consumes or writes is created as soon as the
producer runs, and start-up goes on only once the metadata shows them all.

Those topics are then registered with the producer's client: an aiokafka
client that knows of no topic asks the broker for the metadata of every
topic in the cluster, and keeps it: on a broker with many other topics, memory
that grows with the cluster, fetched again at every refresh.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import mode

from packetflow.worker.message import kafka_client

__all__ = ["DeclareTopics"]

log = logging.getLogger("packetflow.worker")

METADATA_WAIT_S = 30.0
POLL_S = 0.1  # between metadata refreshes while the new topics propagate


class DeclareTopics(mode.Service):
    """Creates ``app.packetflow_topics`` and the tables' changelog topics, and waits until the
    broker's metadata lists them."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._app = app

    async def on_start(self) -> None:
        """Declare every topic (existing ones are left as they are), then wait for them."""
        # the tables' changelogs too: Faust's router finds a key's owner in their metadata
        changelogs = [table.changelog_topic for table in self._app.tables.values()]
        topics = [*self._app.packetflow_topics, *changelogs]
        for topic in topics:
            await topic.maybe_declare()
        names = {name for topic in topics for name in topic.topics}
        client = kafka_client(self._app)
        for name in names:  # only once created: a metadata request auto-creates a topic it names
            client.add_topic(name)  # the producer's metadata: these, not the whole cluster's
        loop = asyncio.get_running_loop()
        deadline = loop.time() + METADATA_WAIT_S
        while True:
            await client.force_metadata_update()
            missing = sorted(n for n in names if not client.cluster.partitions_for_topic(n))
            if not missing:
                return
            if loop.time() > deadline:
                log.warning(
                    "topics not in the broker's metadata after %.0f s: %s", METADATA_WAIT_S, missing
                )
                return
            await asyncio.sleep(POLL_S)
