"""Faust's commit waits for the replacement answers of refused responses: on Faust's own
consumer."""

from __future__ import annotations

import faust

from packetflow.faust.patches.commit_wait import commit_after_resends
from packetflow.kafka.batches import acknowledged
from tests.packetflow.worker.test_sink import TOPICS, Sink, response


async def test_faust_commits_only_after_the_resends() -> None:
    """Flush, resends, then the commit."""
    s = Sink()
    s.producer.refuse, s.producer.refuse_times = {TOPICS.responses}, 1
    app = faust.App("sink-test", broker="kafka://127.0.0.1:1")  # never connected
    sent = await s.sink.send([response(1)])
    answered_at_commit: list[int] = []

    async def flush() -> None:
        await acknowledged(sent)

    async def commit_offsets(offsets: object, start_new_transaction: bool = True) -> bool:
        answered_at_commit.append(len(s.producer.on(TOPICS.errors)))
        return True

    app.producer.flush = flush
    app.consumer._commit_offsets = commit_offsets
    commit_after_resends(app, s.resends)
    commit_after_resends(app, s.resends)  # installed once
    assert await app.consumer._commit_offsets({})
    assert answered_at_commit == [1]
