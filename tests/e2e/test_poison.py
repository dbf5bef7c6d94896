"""Poison records on the real broker: records too large to dead-letter whole never stop a worker.

A gzip-compressed 5 MB request, a request carrying 600 KB of headers, and 5 MB of garbage on a
reactor topic are each answered (where they can be) once, dead-lettered in their described form,
and passed; the worker keeps answering, never restarts, and does not answer them again after a
restart on the same group.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from packetflow.pipeline.oversize import DESCRIBED_HEADER
from tests.e2e.support import Worker, start_worker, wait_ready
from tests.e2e.test_dead_letters import read_to_end

BIG = 5 * 1024 * 1024


def request_doc(request_id: str, filler: int) -> bytes:
    doc = {
        "version": "1.0",
        "type": "capability_request",
        "id": request_id,
        "capability_id": "system_health",
        "payload": {"filler": "x" * filler},
    }
    return json.dumps(doc).encode()


async def produce_gzip(worker: Worker, topic: str, records: list[tuple[bytes, bytes, Any]]) -> None:
    """Produce compressed records, as a client allowed large requests would."""
    producer = AIOKafkaProducer(
        bootstrap_servers=worker.broker,
        compression_type="gzip",
        max_request_size=16 * 1024 * 1024,
        acks="all",
    )
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


def by_key(records: list[Any], key: bytes) -> list[Any]:
    return [r for r in records if r.key == key]


async def test_records_too_large_to_dead_letter_whole_never_stop_a_worker(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    worker = start_worker(kafka_bootstrap, tmp_path)
    try:
        await wait_ready(worker)
        pid = worker.proc.pid
        gzip_value = request_doc("poison-gzip", BIG)
        fat_headers = [("x-filler", b"h" * 600_000), ("traceparent", b"00-" + b"1" * 32 + b"-01")]
        headers_value = b"{not json" + b"z" * 614_000
        reactor_garbage = b"\x00garbage" * (BIG // 8)
        await produce_gzip(
            worker,
            worker.topics.requests,
            [
                (b"poison-gzip", gzip_value, []),
                (b"poison-headers", headers_value, fat_headers),
            ],
        )
        await produce_gzip(
            worker, worker.topics.reactor("counter"), [(b"poison-reactor", reactor_garbage, [])]
        )
        async with worker.client() as client:
            health = await client.call("system_health", {}, timeout=60)
            counted = await client.call("counter.increment", {"counter_id": "p1"}, timeout=60)
        assert health["status"] in ("healthy", "degraded")
        assert counted["value"] == 1
        assert worker.proc.poll() is None
        assert worker.proc.pid == pid  # never restarted

        worker.stop()
        worker.restart()  # same group, same data dir: nothing of the above is answered again
        await wait_ready(worker)
        async with worker.client() as client:
            await client.call("system_health", {}, timeout=60)
        worker.stop()

        topics = worker.topics
        seen = await read_to_end(worker.broker, [topics.errors, topics.dlq, topics.audit])
        for key, value, error_type in [
            (b"poison-gzip", gzip_value, "payload_too_large"),
            (b"poison-headers", headers_value, "payload_too_large"),
        ]:
            [answer] = by_key(seen[topics.errors], key)
            assert json.loads(answer.value)["payload"]["error"]["type"] == error_type
            [audit] = by_key(seen[topics.audit], key)
            assert json.loads(audit.value)["outcome"] == "dead_letter"
            [dead] = by_key(seen[topics.dlq], key)
            assert_described(dead, value, topics.requests)
        [dead] = by_key(seen[topics.dlq], b"poison-reactor")
        assert_described(dead, reactor_garbage, topics.reactor("counter"))
    finally:
        worker.stop()


def assert_described(dead: Any, original: bytes, topic: str) -> None:
    headers = dict(dead.headers)
    assert dead.value is None
    assert headers[DESCRIBED_HEADER] == b"too large to store whole"
    assert headers["__connect.errors.topic"] == topic.encode()
    assert headers["packetflow.dlq.value.bytes"] == str(len(original)).encode()
    assert headers["packetflow.dlq.value.sha256"] == hashlib.sha256(original).hexdigest().encode()
    assert "x-filler" not in headers
