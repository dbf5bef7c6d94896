"""Contender 1b: the floor of PacketFlow's required work, written plainly on aiokafka.

``python -m benchmarks.raw_checked`` with the ``BENCH_*`` variables of
:meth:`benchmarks.workload.TopicSet.env`. The loop of :mod:`benchmarks.raw_aiokafka`,
plus the work the issues require of every request, done the direct way:

- the request envelope validated by a pydantic model (its payload by the
  capability's ``requires`` model, :class:`benchmarks.caps.EchoIn`);
- the ``authorization`` JWT verified (HS256, PyJWT; a verified token is
  remembered until its ``exp``, as PacketFlow does);
- the capability called, its result validated by its ``provides`` model;
- three records out, like PacketFlow's: the response, one effect record and
  one audit record (with the request payload), appended to one aiokafka batch per topic-partition as
  PacketFlow's request loop does (``BENCH_SEND_EACH=1``: one ``send()`` per
  record, the plain way, which costs about 25 us more per record).

What it leaves out is PacketFlow's own: the registry lookup, permissions,
sanitising, limits, metrics, error answers, dead letters and ordering after a
failed delivery. So PacketFlow's throughput over this one's says what the
framework costs on top of the required work, and this one's over raw
aiokafka's what that work costs.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import jwt
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2
from pydantic import BaseModel
from pydantic_core import to_json

from benchmarks.caps import EchoIn, EchoOut, bench_echo
from benchmarks.raw_aiokafka import serve_loop
from benchmarks.workload import JWT_SECRET, TopicSet

__all__ = ["Request", "Tokens", "answer", "send_each", "serve", "write_batches"]


class Request(BaseModel):
    """The request envelope, as a plain pydantic model."""

    version: Literal["1.0"]
    type: Literal["capability_request"]
    id: str
    capability_id: str
    payload: EchoIn
    context: dict[str, Any] = {}
    metadata: dict[str, Any] = {}


class Tokens:
    """HS256 JWTs verified once each, then remembered until their ``exp``."""

    def __init__(self) -> None:
        self._seen: dict[bytes, tuple[str, float]] = {}

    def user_of(self, headers: Any) -> str:
        """The ``sub`` of the request's bearer token; raises on a missing or bad one."""
        value = next((v for k, v in headers if k == "authorization"), None)
        if value is None:
            raise PermissionError("no authorization header")
        cached = self._seen.get(value)
        if cached is not None and time.time() < cached[1]:
            return cached[0]
        token = value.removeprefix(b"Bearer ").decode()
        claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], options={"require": ["exp"]})
        self._seen[value] = (str(claims["sub"]), float(claims["exp"]))
        return str(claims["sub"])


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def answer(record: Any, tokens: Tokens, worker: str) -> tuple[bytes, bytes, bytes, bytes]:
    """The key, response, effect and audit values for one request record."""
    started = time.perf_counter()
    user = tokens.user_of(record.headers)
    request = Request.model_validate_json(record.value)
    result = await bench_echo.execute(request.payload, None)  # type: ignore[arg-type]  # unread
    out = EchoOut.model_validate(result.model_dump())
    key = request.id.encode()
    response = to_json(
        {
            "version": "1.0",
            "type": "capability_response",
            "id": uuid.uuid4().hex,
            "correlation_id": request.id,
            "capability_id": request.capability_id,
            "payload": out.model_dump(),
            "timestamp": _now(),
        }
    )
    effect = to_json(
        {"kind": "metric", "name": "bench_echo", "correlation_id": request.id, "at": _now()}
    )
    audit = to_json(
        {
            "id": uuid.uuid4().hex,
            "timestamp": _now(),
            "outcome": "ok",
            "correlation_id": request.id,
            "capability_id": request.capability_id,
            "user_id": user,
            "session_id": request.context.get("session_id"),
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "worker": worker,
            "source": {
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
            },
            "payload": request.payload.model_dump(),
        }
    )
    return key, response, effect, audit


Out = tuple[str, bytes, bytes]
"""topic, key, value"""


async def send_each(
    producer: AIOKafkaProducer, outs: list[Out], partitions: int
) -> list[asyncio.Future[Any]]:
    """Each record through ``producer.send``: the plain way."""
    return [await producer.send(topic, value, key=key) for topic, key, value in outs]


async def write_batches(
    producer: AIOKafkaProducer, outs: list[Out], partitions: int
) -> list[asyncio.Future[Any]]:
    """The records appended to one batch per topic-partition (a full one is sent and another
    begun), the way PacketFlow's request loop writes them; each record's partition is the
    one Kafka's default partitioner gives its key."""
    open_: dict[tuple[str, int], Any] = {}
    delivered = []
    for topic, key, value in outs:
        tp = (topic, (murmur2(key) & 0x7FFFFFFF) % partitions)
        if tp not in open_:
            open_[tp] = producer.create_batch()
        batch = open_[tp]
        if batch.append(timestamp=None, key=key, value=value, headers=[]) is None:
            delivered.append(await producer.send_batch(batch, topic, partition=tp[1]))
            open_[tp] = batch = producer.create_batch()
            batch.append(timestamp=None, key=key, value=value, headers=[])
    for (topic, partition), batch in open_.items():
        delivered.append(await producer.send_batch(batch, topic, partition=partition))
    return delivered


async def serve() -> None:
    write = send_each if os.environ.get("BENCH_SEND_EACH") == "1" else write_batches
    tokens, worker = Tokens(), f"raw-{uuid.uuid4().hex[:8]}"

    async def answer_all(
        producer: AIOKafkaProducer, topics: TopicSet, batches: dict[Any, list[Any]]
    ) -> list[asyncio.Future[Any]]:
        outs = []
        for records in batches.values():
            for record in records:
                key, response, effect, audit = await answer(record, tokens, worker)
                outs += [(topics.responses, key, response), (topics.effects, key, effect)]
                outs.append((topics.audit, key, audit))
        return await write(producer, outs, topics.partitions)

    # PacketFlow's batch size (PACKETFLOW_PRODUCER_BATCH_BYTES)
    await serve_loop(answer_all, max_batch_size=524_288)


if __name__ == "__main__":
    asyncio.run(serve())
