"""Calls in Avro (Confluent wire format), answered in Avro, against the real worker."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Callable

import pytest

from packetflow.avro import AvroCodec
from packetflow.client import CallError, Client
from tests.e2e.support import Worker, collect


@pytest.fixture
async def avro_client(worker: Worker) -> AsyncIterator[Client]:
    async with Client(worker.broker, topics=worker.topics, encoding="avro") as c:
        yield c


async def test_avro_call_is_answered_in_avro(avro_client: Client, worker: Worker) -> None:
    payload = {"user_id": "u-avro", "profile": {"email": " Avro@Example.ORG "}, "n": 2**70}
    result = await avro_client.call(
        "user_profile_transform", payload, context={"trace_id": "trace-avro-1", "team": "x"}
    )
    assert result["transformed_profile"]["email"] == "avro@example.org"

    def is_answer(m: object) -> bool:
        return dict(getattr(m, "headers", ())).get("content-type") == b"application/avro"

    answers = await collect(worker.broker, worker.topics.responses, is_answer, 1)
    schema, doc = AvroCodec().decode(answers[0].value)
    assert schema == "response"
    assert doc["type"] == "capability_response"


async def test_avro_error_answer(avro_client: Client) -> None:
    with pytest.raises(CallError) as info:
        await avro_client.call("user_profile_transform", {"user_id": 7})
    assert info.value.type == "validation_failed"


def test_cli_call_in_avro(run_cli: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    out = run_cli("call", "system_health", "--encoding", "avro")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "healthy"
