"""The request loop's consumer: how long the broker may hold a fetch, where it reads from."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition

from packetflow.ingress import consumer as requests
from packetflow.ingress.consumer import FETCH_MIN_BYTES, fetch_options
from packetflow.settings import Settings, TuningSettings


def test_by_default_the_broker_answers_a_fetch_as_soon_as_a_request_is_there() -> None:
    assert fetch_options(TuningSettings()) == {"fetch_min_bytes": 1}


def test_a_fetch_wait_lets_the_broker_gather_requests_for_that_long() -> None:
    assert fetch_options(TuningSettings(fetch_wait_ms=20)) == {
        "fetch_min_bytes": FETCH_MIN_BYTES,
        "fetch_max_wait_ms": 20,
    }


async def test_assigned_partitions_are_read_from_the_commit_the_broker_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = TopicPartition("packetflow.requests", 0), TopicPartition("packetflow.requests", 1)
    asked: list[tuple[str, set[TopicPartition]]] = []

    async def committed(bootstrap: str, group: str, tps: Any) -> dict[TopicPartition, int | None]:
        asked.append((group, set(tps)))
        return {a: 17, b: None}

    monkeypatch.setattr(requests, "committed_offsets", committed)
    seeks: list[tuple[TopicPartition, int]] = []

    async def seek_to_beginning(*tps: TopicPartition) -> None:
        seeks.extend((tp, 0) for tp in tps)

    consumer = SimpleNamespace(
        seek=lambda tp, offset: seeks.append((tp, offset)), seek_to_beginning=seek_to_beginning
    )
    await requests.seek_committed(consumer, Settings(), None, {a, b})
    assert asked == [("packetflow.requests", {a, b})]
    assert seeks == [(a, 17), (b, 0)]  # b has no commit: read from its first record
