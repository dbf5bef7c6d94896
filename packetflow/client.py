"""An asyncio client on aiokafka: call capabilities, send, ping, read topics.

Replies reach the caller without it reading everyone's responses: each client
picks one *reply partition* (a stable hash of its id), asks the worker to
answer there (``metadata.reply_partition``), and reads only that partition of
the responses and errors topics, starting at their end.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic_core import from_json

from packetflow.avro import AvroCodec
from packetflow.encoding import Encoder, Encoding, encoding_of
from packetflow.envelope import (
    CapabilityError,
    CapabilityRequest,
    Context,
    ErrorBody,
    Heartbeat,
    MessageType,
    RequestMetadata,
    new_id,
    now_iso,
)
from packetflow.records import RawRecord
from packetflow.topics import TopicNames

__all__ = ["REPLY_GRACE_S", "CallError", "CallTimeout", "Client", "TopicRecord", "read_topic"]

REPLY_GRACE_S = 2.0
"""How much longer than its timeout a call waits for the worker's ``timeout`` error."""


class CallError(Exception):
    """A call answered with a ``capability_error``; ``record`` is the whole record."""

    def __init__(self, record: CapabilityError) -> None:
        self.record = record
        self.error: ErrorBody = record.payload.error
        self.type = self.error.type
        self.code = str(record.metadata.get("error_code", ""))
        super().__init__(f"{self.type} ({self.code}): {self.error.message}")


class CallTimeout(TimeoutError):
    """No answer arrived within the call's timeout."""


@dataclass(frozen=True, slots=True)
class TopicRecord:
    """A record read from a topic, with its value parsed as JSON when it is JSON."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int

    def json(self) -> Any:
        """The value parsed as JSON, or None if it is not JSON."""
        try:
            return from_json(self.value) if self.value is not None else None
        except ValueError:
            return None


class Client:
    """Calls capabilities through Kafka. Use ``async with Client(...) as client``."""

    def __init__(
        self,
        broker: str = "127.0.0.1:9092",
        *,
        topics: TopicNames | None = None,
        client_id: str | None = None,
        discover_timeout: float = 30.0,
        encoding: Encoding | str = Encoding.JSON,
        authorization: str | None = None,
        codec: AvroCodec | None = None,
    ) -> None:
        self.broker = broker.removeprefix("kafka://")
        self.topics = topics or TopicNames()
        self.client_id = client_id or f"packetflow-client-{new_id()[:12]}"
        self.reply_partition: int | None = None
        self._discover_timeout = discover_timeout
        self.encoding = Encoding(encoding)
        self.authorization = authorization
        """Sent as the ``authorization`` header: ``"Bearer <JWT>"`` or ``"Biscuit <token>"``."""
        self._encoder = Encoder(codec)
        """``codec``: Avro ids of a Schema Registry (default: the local ids)."""
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Any]] = {}

    async def __aenter__(self) -> Client:
        try:
            await self.start()
        except BaseException:
            await self.stop()  # what did start is closed, not left to the garbage collector
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Connect, choose the reply partition, and start reading replies from now on."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.broker, client_id=self.client_id, acks="all", linger_ms=1
        )
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.broker,
            client_id=self.client_id,
            enable_auto_commit=False,
            isolation_level="read_committed",  # an exactly-once worker's aborted answers: unseen
        )
        await self._consumer.start()
        partitions = await self._reply_partitions()
        self.reply_partition = zlib.crc32(self.client_id.encode()) % partitions
        tps = [TopicPartition(t, self.reply_partition) for t in self._reply_topics()]
        self._consumer.assign(tps)
        await self._consumer.seek_to_end(*tps)
        for tp in tps:  # resolve positions now, so no reply to a later request is missed
            await self._consumer.position(tp)
        self._reader = asyncio.create_task(self._read_replies(), name=f"{self.client_id}-replies")

    async def stop(self) -> None:
        """Fail pending calls and close the connections."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError("client stopped"))
        self._pending.clear()
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()

    async def call(
        self,
        capability_id: str,
        payload: Mapping[str, Any] | None = None,
        *,
        context: Context | Mapping[str, Any] | None = None,
        timeout: float = 30.0,
        intent: str = "",
        priority: str = "normal",
    ) -> dict[str, Any]:
        """Call a capability and return its response payload.

        Raises :class:`CallError` on a ``capability_error`` answer and
        :class:`CallTimeout` when none arrives within ``timeout`` seconds.
        """
        request = self._request(capability_id, payload, context, timeout, intent, priority)
        # The worker enforces `timeout`; wait a little longer for its structured answer.
        answer = await self._roundtrip(request.id, self._encode(request), timeout + REPLY_GRACE_S)
        return dict(answer)

    async def send(
        self,
        capability_id: str,
        payload: Mapping[str, Any] | None = None,
        *,
        context: Context | Mapping[str, Any] | None = None,
        intent: str = "",
    ) -> str:
        """Send a request without waiting for its answer; return its id."""
        request = self._request(capability_id, payload, context, None, intent, "normal")
        await self._produce(request.id, self._encode(request))
        return request.id

    async def ping(self, timeout: float = 10.0) -> dict[str, Any]:
        """Send a heartbeat; return the answering worker's identity and time."""
        beat = Heartbeat(
            metadata={"reply_partition": self.reply_partition},
            context=Context(timestamp=now_iso()),
        )
        answer = await self._roundtrip(beat.id, self._encode(beat), timeout)
        return dict(answer)

    def _request(
        self,
        capability_id: str,
        payload: Mapping[str, Any] | None,
        context: Context | Mapping[str, Any] | None,
        timeout: float | None,
        intent: str,
        priority: str,
    ) -> CapabilityRequest:
        ctx = context if isinstance(context, Context) else Context.model_validate(context or {})
        if ctx.timestamp is None:
            ctx = ctx.model_copy(update={"timestamp": now_iso()})
        if ctx.trace_id is None:
            ctx = ctx.model_copy(update={"trace_id": new_id()})
        metadata = RequestMetadata.model_validate(
            {
                "priority": priority,
                "timeout": int(timeout * 1000) if timeout else None,
                "reply_partition": self.reply_partition,
            }
        )
        return CapabilityRequest(
            capability_id=capability_id,
            intent=intent,
            payload=dict(payload or {}),
            context=ctx,
            metadata=metadata,
        )

    async def _roundtrip(self, request_id: str, value: bytes, timeout: float) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = fut
        try:
            await self._produce(request_id, value)
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise CallTimeout(f"no answer to request {request_id} within {timeout} s") from None
        finally:
            self._pending.pop(request_id, None)

    async def _produce(self, request_id: str, value: bytes) -> None:
        if self._producer is None:
            raise RuntimeError("client is not started: use `async with Client(...)`")
        headers = [
            self.encoding.header,
            ("packetflow-request-id", request_id.encode()),
        ]
        if self.authorization:
            headers.append(("authorization", self.authorization.encode()))
        await self._producer.send_and_wait(
            self.topics.requests, value, key=request_id.encode(), headers=headers
        )

    def _reply_topics(self) -> tuple[str, str]:
        return (self.topics.responses, self.topics.errors)

    async def _reply_partitions(self) -> int:
        """Partitions of the reply topics, waiting for a worker to create them."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.broker, client_id=self.client_id)
        await admin.start()
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._discover_timeout
            while True:
                found = await admin.describe_topics(list(self._reply_topics()))
                counts = {t["topic"]: len(t.get("partitions") or ()) for t in found}
                if all(counts.get(t) for t in self._reply_topics()):
                    return min(counts.values())
                if loop.time() > deadline:
                    missing = [t for t in self._reply_topics() if not counts.get(t)]
                    raise ConnectionError(
                        f"topics {missing} do not exist on {self.broker}:"
                        " is a PacketFlow worker running?"
                    )
                await asyncio.sleep(0.25)  # poll interval while a worker creates its topics
        finally:
            await admin.close()

    async def _read_replies(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                for message in messages:
                    self._resolve(self._reply_doc(message))

    def _reply_doc(self, message: Any) -> Any:
        record = RawRecord(
            message.topic,
            message.partition,
            message.offset,
            message.key,
            message.value,
            tuple(message.headers or ()),
        )
        try:
            if encoding_of(record) is Encoding.AVRO:
                return self._encoder.codec.decode(message.value)[1]
            return from_json(message.value) if message.value else None
        except ValueError:  # not an answer PacketFlow wrote: not ours to resolve
            return None

    def _encode(self, record: CapabilityRequest | Heartbeat) -> bytes:
        schema = "request" if isinstance(record, CapabilityRequest) else "heartbeat"
        return self._encoder.encode(schema, record, self.encoding)

    def _resolve(self, doc: Any) -> None:
        if not isinstance(doc, dict):
            return
        fut = self._pending.get(str(doc.get("correlation_id")))
        if fut is None or fut.done():
            return
        if doc.get("type") == MessageType.CAPABILITY_ERROR:
            fut.set_exception(CallError(CapabilityError.model_validate(doc)))
        else:
            fut.set_result(doc.get("payload") or {})


async def read_topic(
    broker: str,
    topic: str,
    *,
    from_beginning: bool = False,
    idle_timeout: float | None = None,
) -> AsyncIterator[TopicRecord]:
    """Yield records of every partition of ``topic``; stop after ``idle_timeout`` s of silence."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker.removeprefix("kafka://"),
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
        group_id=None,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(
                timeout_ms=int(idle_timeout * 1000) if idle_timeout else 1000
            )
            if not batches and idle_timeout is not None:
                return
            for messages in batches.values():
                for m in messages:
                    yield TopicRecord(
                        m.topic,
                        m.partition,
                        m.offset,
                        m.key,
                        m.value,
                        tuple(m.headers or ()),
                        m.timestamp,
                    )
    finally:
        await consumer.stop()
