"""Reactors on the real broker: keyed state, at-most-once application, effects in order,
state queries answered by the owner, and recovery from the changelog."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from packetflow.client import CallError, Client
from packetflow.hops.bundle import pack
from packetflow.hops.record import hop_record
from packetflow.kafka.partition import kafka_partition
from packetflow.records import RawRecord
from packetflow.security.identity import Principal
from packetflow.security.permissions import parse_permission
from tests.e2e.support import (
    Worker,
    collect,
    field_is,
    json_of,
    running_group,
    start_worker,
    wait_ready,
)


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=15) as resp:
        return dict(json.loads(resp.read()))


async def state_over_http(worker: Worker, reactor: str, key: str) -> dict[str, Any]:
    """GET the state; while a rebalance settles a worker answers 5xx, so poll (30 s)."""
    url = f"http://127.0.0.1:{worker.web_port}/reactors/{reactor}/{key}"
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        try:
            return await asyncio.to_thread(_get, url)
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or asyncio.get_running_loop().time() > deadline:
                raise
        except urllib.error.URLError:  # the web server starts after the agents
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.2)


async def test_increments_apply_in_order_and_are_queryable(client: Client, worker: Worker) -> None:
    key = f"c-{uuid.uuid4().hex[:8]}"
    values = [
        (await client.call("counter.increment", {"counter_id": key}))["value"] for _ in range(10)
    ]
    assert values == list(range(1, 11))
    assert await client.call("counter.get", {"counter_id": key}) == {"value": 10}
    effects = await collect(
        worker.broker,
        worker.topics.effects,
        lambda m: m.key == f"counter:{key}".encode(),
        10,
    )
    versions = [json_of(e)["data"]["version"] for e in effects]
    assert versions == list(range(1, 11))  # one partition, in order
    state = await state_over_http(worker, "counter", key)
    assert (state["state"], state["version"]) == ({"value": 10}, 10)
    assert state["windows"]["per_minute"] >= 1


async def reactor_topic_offsets(worker: Worker) -> tuple[dict[int, int], dict[int, int]]:
    """Faust's group's committed offsets and the end offsets of the counter's topic, for the
    partitions holding records (an empty one has nothing to commit)."""
    topic = worker.topics.reactor("counter")
    tps = [TopicPartition(topic, p) for p in range(4)]
    admin = AIOKafkaAdminClient(bootstrap_servers=worker.broker)
    consumer = AIOKafkaConsumer(bootstrap_servers=worker.broker, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        group = await admin.list_consumer_group_offsets(worker.topics.prefix, partitions=tps)
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
        await admin.close()
    committed = {tp.partition: meta.offset for tp, meta in group.items() if meta.offset >= 0}
    return committed, {tp.partition: offset for tp, offset in ends.items() if offset > 0}


async def test_every_processed_hop_is_committed(client: Client, worker: Worker) -> None:
    """Faust's commit reaches the end of the reactor topic once every hop is answered: a
    restart reads nothing again (the strict commit rule of faust/patches/offsets.py never
    stalls)."""
    run = uuid.uuid4().hex[:8]
    for i in range(12):  # keys over most partitions
        await client.call("counter.increment", {"counter_id": f"commit-{run}-{i}"})
    deadline = asyncio.get_running_loop().time() + 60  # Faust commits every 2.8 s
    committed, ends = await reactor_topic_offsets(worker)
    while committed != ends and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.5)
        committed, ends = await reactor_topic_offsets(worker)
    assert committed == ends


def increment_request(counter_id: str, request_id: str) -> bytes:
    return json.dumps(
        {
            "version": "1.0",
            "type": "capability_request",
            "id": request_id,
            "capability_id": "counter.increment",
            "payload": {"counter_id": counter_id},
        }
    ).encode()


async def test_a_bundle_on_the_reactor_topic_is_answered_hop_by_hop(worker: Worker) -> None:
    """A bundle written as the request loop writes one (three hops for one key, in the key's
    partition) is read by the reactor agent and each hop applied, in order."""
    key = f"bundle-{uuid.uuid4().hex[:8]}"
    topic = worker.topics.reactor("counter")
    principal = Principal(user_id="bundler", method="jwt", grants=(parse_permission("*"),))
    hops = [
        hop_record(
            RawRecord(worker.topics.requests, 0, n, None, increment_request(key, f"{key}-{n}")),
            topic,
            principal,
            key,
        )
        for n in range(3)
    ]
    partition = kafka_partition(key.encode(), 4)
    bundle = pack(hops, partition)
    producer = AIOKafkaProducer(bootstrap_servers=worker.broker)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, bundle.value, partition=partition, headers=list(bundle.headers)
        )
    finally:
        await producer.stop()
    answers = await collect(
        worker.broker,
        worker.topics.responses,
        lambda m: str((json_of(m) or {}).get("correlation_id", "")).startswith(key),
        3,
    )
    by_id = {json_of(a)["correlation_id"]: json_of(a)["payload"] for a in answers}
    assert by_id == {f"{key}-{n}": {"value": n + 1} for n in range(3)}


async def test_a_burst_of_reactor_requests_is_applied_once_each_in_order(worker: Worker) -> None:
    """Many requests in flight at once (hops bundled per partition): every one answered, each
    key's effects carry versions 1..n in order."""
    run = uuid.uuid4().hex[:8]
    keys = [f"burst-{run}-{k}" for k in range(5)]
    producer = AIOKafkaProducer(bootstrap_servers=worker.broker, linger_ms=50)
    await producer.start()
    try:
        sent = [
            await producer.send(worker.topics.requests, increment_request(key, f"{key}-{n}"))
            for n in range(40)
            for key in keys
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    answers = await collect(
        worker.broker,
        worker.topics.responses,
        lambda m: str((json_of(m) or {}).get("correlation_id", "")).startswith(f"burst-{run}"),
        200,
        timeout=60,
    )
    assert len({json_of(a)["correlation_id"] for a in answers}) == 200
    for key in keys:
        effect_key = f"counter:{key}".encode()
        effects = await collect(
            worker.broker, worker.topics.effects, lambda m, k=effect_key: m.key == k, 40
        )
        assert [json_of(e)["data"]["version"] for e in effects] == list(range(1, 41))


async def test_reset_needs_admin(client: Client) -> None:
    with pytest.raises(CallError) as info:
        await client.call("counter.reset", {"counter_id": "x"})
    assert info.value.type == "forbidden"


async def test_a_redelivered_request_is_answered_not_reapplied(worker: Worker) -> None:
    key = f"dup-{uuid.uuid4().hex[:8]}"
    request_id = f"req-{uuid.uuid4().hex[:8]}"
    doc = {
        "version": "1.0",
        "type": "capability_request",
        "id": request_id,
        "capability_id": "counter.increment",
        "payload": {"counter_id": key, "by": 5},
    }
    producer = AIOKafkaProducer(bootstrap_servers=worker.broker)
    await producer.start()
    try:
        for _ in range(3):  # the same request, delivered three times
            await producer.send_and_wait(worker.topics.requests, json.dumps(doc).encode())
    finally:
        await producer.stop()
    answers = await collect(
        worker.broker, worker.topics.responses, field_is("correlation_id", request_id), 3
    )
    docs = [json_of(a) for a in answers]
    assert [d["payload"] for d in docs] == [{"value": 5}] * 3
    assert [d["metadata"]["replayed"] for d in docs] == [False, True, True]
    state = await state_over_http(worker, "counter", key)
    assert state["state"] == {"value": 5}


@pytest.fixture(scope="module")
async def pair(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[Worker]]:
    """Two workers of one group sharing the reactor partitions."""
    workdirs = [Path(tmp_path_factory.mktemp(f"pair{n}")) for n in range(2)]
    async with running_group(kafka_bootstrap, workdirs) as workers:
        yield workers


async def test_state_queries_answer_from_the_owner(pair: list[Worker]) -> None:
    async with pair[0].client() as client:
        keys = [f"k{i}" for i in range(8)]
        for key in keys:
            await client.call("counter.increment", {"counter_id": key, "by": 3})
    deadline = asyncio.get_running_loop().time() + 30
    for key in keys:  # every worker answers for every key: locally or through the owner
        answers = [await state_over_http(w, "counter", key) for w in pair]
        # right after a rebalance a worker's routing table may lag for a moment
        while answers[0]["worker"] != answers[1]["worker"]:
            assert asyncio.get_running_loop().time() < deadline, answers
            answers = [await state_over_http(w, "counter", key) for w in pair]
        assert [a["state"] for a in answers] == [{"value": 3}, {"value": 3}]


async def test_state_survives_a_restart_of_every_worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    prefix = f"restart-{uuid.uuid4().hex[:8]}"
    env = {"PACKETFLOW_TOPIC_PREFIX": prefix, "PACKETFLOW_APP_ID": prefix}
    first = start_worker(kafka_bootstrap, Path(tmp_path_factory.mktemp("r1")), **env)
    try:
        await wait_ready(first)
        async with first.client() as client:
            for _ in range(7):
                await client.call("counter.increment", {"counter_id": "survivor"})
    finally:
        first.stop()
    # a new worker with an empty data directory recovers the state from the changelog
    second = start_worker(kafka_bootstrap, Path(tmp_path_factory.mktemp("r2")), **env)
    try:
        await wait_ready(second)
        async with second.client() as client:
            assert await client.call("counter.get", {"counter_id": "survivor"}) == {"value": 7}
            assert (await client.call("counter.increment", {"counter_id": "survivor"}))[
                "value"
            ] == 8
    finally:
        second.stop()


async def test_cli_reads_a_reactor_state(client: Client, worker: Worker) -> None:
    key = f"cli-{uuid.uuid4().hex[:8]}"
    await client.call("counter.increment", {"counter_id": key, "by": 4})
    exe = Path(sys.executable).parent / "packetflow"
    url = f"http://127.0.0.1:{worker.web_port}"
    out = await asyncio.to_thread(
        subprocess.run,
        [str(exe), "state", "counter", key, "--worker", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["state"] == {"value": 4}


async def test_a_later_worker_takes_over_and_a_clean_shutdown_hands_over(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    prefix = f"handover-{uuid.uuid4().hex[:8]}"
    env = {"PACKETFLOW_TOPIC_PREFIX": prefix, "PACKETFLOW_APP_ID": prefix}
    first = start_worker(
        kafka_bootstrap, Path(tmp_path_factory.mktemp("h1")), PACKETFLOW_WORKER_ID="a", **env
    )
    second: Worker | None = None
    try:
        await wait_ready(first)
        async with first.client() as client:
            for i in range(12):
                await client.call("counter.increment", {"counter_id": f"h{i}", "by": i + 1})
        second = start_worker(
            kafka_bootstrap, Path(tmp_path_factory.mktemp("h2")), PACKETFLOW_WORKER_ID="b", **env
        )
        await wait_ready(second)  # joins later: the group rebalances, "b" takes partitions
        owners = set()
        for i in range(12):
            state = await state_over_http(second, "counter", f"h{i}")
            assert state["state"] == {"value": i + 1}
            owners.add(state["worker"])
        assert owners == {"a", "b"}  # both serve state after the rebalance
        first.stop()  # a clean shutdown hands every partition to "b"
        for i in range(12):
            state = await state_over_http(second, "counter", f"h{i}")
            while state["worker"] != "b":  # until the rebalance after the shutdown settles
                state = await state_over_http(second, "counter", f"h{i}")
            assert state["state"] == {"value": i + 1}
        async with second.client() as client:
            assert (await client.call("counter.increment", {"counter_id": "h0"}))["value"] == 2
    finally:
        first.stop()
        if second is not None:
            second.stop()
