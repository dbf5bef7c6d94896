"""Requests as any Kafka client would produce them: hand-written JSON bytes, and garbage."""

from __future__ import annotations

import json
import uuid

from packetflow.client import Client
from tests.e2e.support import Worker, collect, field_is, json_of, produce


async def test_hand_written_json_request_gets_its_response(worker: Worker) -> None:
    request_id = f"readme-{uuid.uuid4().hex[:8]}"
    value = (
        b'{"version": "1.0", "type": "capability_request", "id": "' + request_id.encode() + b'",'
        b' "capability_id": "system_health", "payload": {},'
        b' "context": {"user_id": "kcat-user"}}'
    )
    await produce(worker, value)
    [response] = await collect(
        worker.broker, worker.topics.responses, field_is("correlation_id", request_id), 1
    )
    doc = json_of(response)
    assert doc["type"] == "capability_response"
    assert doc["payload"]["status"] == "healthy"
    assert response.key == request_id.encode()


async def test_garbage_goes_to_the_dlq_unchanged_and_the_worker_goes_on(
    worker: Worker, client: Client
) -> None:
    key = f"garbage-{uuid.uuid4().hex[:8]}".encode()
    garbage = b"\xff\x00 not json {{{"
    await produce(worker, garbage, key=key)
    [dead] = await collect(worker.broker, worker.topics.dlq, lambda m: m.key == key, 1)
    assert dead.value == garbage
    headers = dict(dead.headers)
    assert headers["__connect.errors.topic"] == worker.topics.requests.encode()
    assert headers["packetflow.error.type"] == b"protocol_error"
    assert int(headers["__connect.errors.offset"]) >= 0
    # the key is the only correlation left: the caller still hears back
    [error] = await collect(
        worker.broker, worker.topics.errors, field_is("correlation_id", key.decode()), 1
    )
    assert json_of(error)["payload"]["error"]["type"] == "protocol_error"
    # and the next valid request is answered
    assert (await client.call("system_health"))["status"] == "healthy"


async def test_unsupported_major_version_is_answered(worker: Worker) -> None:
    request_id = f"v2-{uuid.uuid4().hex[:8]}"
    doc = {"version": "2.0", "type": "capability_request", "id": request_id, "capability_id": "x"}
    await produce(worker, json.dumps(doc).encode())
    [error] = await collect(
        worker.broker, worker.topics.errors, field_is("correlation_id", request_id), 1
    )
    body = json_of(error)["payload"]["error"]
    assert body["type"] == "unsupported_version"
    assert body["details"]["supported"] == ["1.0"]
