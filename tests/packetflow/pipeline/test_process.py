"""The whole path for one record: every outcome is answered once and audited once; never raises."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import BaseModel

from packetflow import CallContext, Metric, Registry, capability
from packetflow.avro import AvroCodec
from packetflow.envelope import CapabilityRequest
from packetflow.errors import ErrorType, error_code
from packetflow.hops.bundle import pack
from packetflow.hops.record import ORIGIN_HEADER, PRINCIPAL_HEADER, VIA_HEADER
from packetflow.metrics import Metrics
from packetflow.pipeline import process
from packetflow.pipeline.decode import Limits
from packetflow.pipeline.process import Processor
from packetflow.pipeline.publish import DLQ_HEADERS, Publisher
from packetflow.reactor import Emit, Reactor
from packetflow.reactor.step import ReactorRuntime
from packetflow.records import Header, Outbound, RawRecord
from packetflow.testing import Execution
from packetflow.topics import TopicNames


class Greeting(BaseModel):
    greeting: str


@capability(
    intent="Greet", requires=["name"], provides=Greeting, effects=["audit_log", Metric.counter("g")]
)
def greet(payload: Any, ctx: CallContext) -> Greeting:
    return Greeting(greeting=f"Hi {payload.name}")


@capability(intent="Fail")
def fail(payload: Any, ctx: CallContext) -> None:
    raise ValueError("broken")


@capability(intent="Hang", timeout=0.02)
async def hang(payload: Any, ctx: CallContext) -> None:
    await asyncio.Event().wait()


@capability(intent="Lie", provides=Greeting)
def lie(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {"greting": "typo"}


TOPICS = TopicNames()
CONTEXT = {
    "user_id": "u1",
    "session_id": "s1",
    "timestamp": "2026-01-02T03:04:05.678Z",
    "trace_id": "t1",
    "tenant": "acme",
}


class World:
    """A processor with 8 reply partitions, fed raw records like the Faust agent does."""

    def __init__(self) -> None:
        self.metrics = Metrics()
        self.processor = Processor(
            Registry([greet, fail, hang, lie]),
            Publisher(TOPICS, "worker-1", reply_partitions=8),
            self.metrics,
            Limits(),
        )

    async def send(
        self, value: bytes | None, key: bytes | None = b"key-1", headers: tuple[Header, ...] = ()
    ) -> Execution:
        record = RawRecord(TOPICS.requests, 5, 77, key, value, headers)
        return Execution(await self.processor.handle(record), TOPICS, self.metrics)

    async def call(self, capability_id: str, payload: Any = None, **fields: Any) -> Execution:
        doc = {
            "version": "1.0",
            "type": "capability_request",
            "id": "req-1",
            "capability_id": capability_id,
            "payload": {} if payload is None else payload,
            "context": CONTEXT,
            **fields,
        }
        return await self.send(json.dumps(doc).encode())

    def count(self, outcome: str) -> float | None:
        return self.metrics.registry.get_sample_value(
            "packetflow_protocol_messages_processed_total", {"outcome": outcome}
        )


@pytest.fixture
def world() -> World:
    return World()


async def test_success_is_answered_and_audited_once(world: World) -> None:
    run = await world.call("greet", {"name": "Ada"}, metadata={"hops": 1})
    [response] = run.on(TOPICS.responses)
    assert response["payload"] == {"greeting": "Hi Ada"}
    assert response["correlation_id"] == "req-1"
    assert response["context"] == CONTEXT
    assert run.on(TOPICS.errors) == []
    assert [(e.kind, e.status) for e in run.effects] == [("audit_log", "ok"), ("metrics", "ok")]
    [audit] = run.audit
    assert (audit.outcome, audit.correlation_id, audit.capability_id) == ("ok", "req-1", "greet")
    assert (audit.user_id, audit.session_id, audit.trace_id) == ("u1", "s1", "t1")
    assert (audit.error_type, audit.error_message) == (None, None)
    assert audit.worker == "worker-1"
    assert audit.source == {"topic": TOPICS.requests, "partition": 5, "offset": 77}
    assert audit.payload == {"name": "Ada"}
    assert audit.duration_ms >= 0
    assert world.count("ok") == 1


@pytest.mark.parametrize(
    ("capability_id", "payload", "error_type"),
    [
        ("nobody", {}, ErrorType.UNKNOWN_CAPABILITY),
        ("greet", {"nom": "Ada"}, ErrorType.VALIDATION_FAILED),
        ("fail", {}, ErrorType.EXECUTION_FAILED),
        ("hang", {}, ErrorType.TIMEOUT),
        ("lie", {}, ErrorType.CONTRACT_VIOLATION),
    ],
)
async def test_failure_is_answered_with_its_code_and_audited_once(
    world: World, capability_id: str, payload: dict[str, Any], error_type: ErrorType
) -> None:
    run = await world.call(capability_id, payload)
    assert run.on(TOPICS.responses) == []
    assert run.effects == []
    [error] = run.on(TOPICS.errors)
    assert error["payload"]["error"]["type"] == error_type.value
    assert error["metadata"]["error_code"] == error_code(error_type)
    assert (error["correlation_id"], error["capability_id"]) == ("req-1", capability_id)
    assert error["context"] == CONTEXT
    [audit] = run.audit
    assert (audit.outcome, audit.error_type) == ("error", error_type.value)
    assert audit.error_message == error["payload"]["error"]["message"]
    assert (audit.correlation_id, audit.user_id) == ("req-1", "u1")
    assert world.count("error") == 1
    failures = world.metrics.registry.get_sample_value(
        "packetflow_capability_execution_error_total",
        {"capability": capability_id, "type": error_type.value},
    )
    assert failures == 1


async def test_undecodable_record_is_dead_lettered_answered_and_audited(world: World) -> None:
    headers = (("traceparent", b"00-t-s-01"), ("x-origin", b"legacy"))
    run = await world.send(b'{"version": "1.0", "id": ', b"key-1", headers)
    [dead] = run.dead_letters
    assert (dead.key, dead.value) == (b"key-1", b'{"version": "1.0", "id": ')
    assert dead.headers[:2] == headers
    extra = dict(dead.headers[2:])
    assert extra[DLQ_HEADERS["topic"]] == TOPICS.requests.encode()
    assert (extra[DLQ_HEADERS["partition"]], extra[DLQ_HEADERS["offset"]]) == (b"5", b"77")
    assert extra[DLQ_HEADERS["class"]] == b"ProtocolError"
    assert extra[DLQ_HEADERS["message"]].startswith(b"value is not valid UTF-8 JSON")
    [error] = run.on(TOPICS.errors)
    assert error["correlation_id"] == "key-1"
    assert error["metadata"]["error_code"] == error_code(ErrorType.PROTOCOL_ERROR)
    [audit] = run.audit
    assert (audit.outcome, audit.correlation_id, audit.error_type) == (
        "dead_letter",
        "key-1",
        "protocol_error",
    )
    assert world.count("dead_letter") == 1


async def test_dead_letter_without_any_id_gets_no_answer(world: World) -> None:
    run = await world.send(b"\xff\xfe", key=None)
    assert len(run.dead_letters) == 1
    assert run.on(TOPICS.errors) == []
    assert run.on(TOPICS.responses) == []
    assert [a.outcome for a in run.audit] == ["dead_letter"]


async def test_decodable_envelope_with_bad_fields_is_answered_where_asked(world: World) -> None:
    doc = {"version": "2.0", "id": "req-9", "capability_id": "greet"}
    run = await world.send(json.dumps({**doc, "metadata": {"reply_partition": 6}}).encode())
    [error] = [r for r in run.records if r.topic == TOPICS.errors]
    assert (error.key, error.partition) == (b"req-9", 6)
    body = json.loads(error.value)
    assert body["payload"]["error"]["type"] == "unsupported_version"
    assert body["capability_id"] == "greet"
    assert [a.correlation_id for a in run.audit] == ["req-9"]


@pytest.mark.parametrize(("asked", "used"), [(7, 7), (8, None)])
async def test_reply_partition(world: World, asked: int, used: int | None) -> None:
    ok = await world.call("greet", {"name": "Ada"}, metadata={"reply_partition": asked})
    failed = await world.call("fail", metadata={"reply_partition": asked})
    assert [r.partition for r in ok.records if r.topic == TOPICS.responses] == [used]
    assert [r.partition for r in failed.records if r.topic == TOPICS.errors] == [used]


async def test_trace_headers_follow_the_answer(world: World) -> None:
    doc = {"version": "1.0", "type": "capability_request", "capability_id": "greet"}
    headers = (("traceparent", b"00-abc-def-01"), ("x-api-key", b"secret"))
    run = await world.send(json.dumps({**doc, "payload": {"name": "A"}}).encode(), b"k", headers)
    [response] = [r for r in run.records if r.topic == TOPICS.responses]
    assert ("traceparent", b"00-abc-def-01") in response.headers
    assert "x-api-key" not in dict(response.headers)
    assert json.loads(response.value)["correlation_id"] == "k"


async def test_heartbeat_is_answered_with_the_worker_identity(world: World) -> None:
    run = await world.send(b'{"version": "1.0", "type": "heartbeat", "id": "hb-1"}')
    [answer] = run.on(TOPICS.responses)
    assert (answer["type"], answer["correlation_id"]) == ("heartbeat", "hb-1")
    assert answer["payload"] == {"worker": "worker-1", "status": "alive", "capabilities": 4}
    assert world.count("heartbeat") == 1


async def test_heartbeat_is_audited(world: World) -> None:
    run = await world.send(b'{"version": "1.0", "type": "heartbeat", "id": "hb-1"}')
    assert [(a.outcome, a.correlation_id) for a in run.audit] == [("heartbeat", "hb-1")]


@pytest.mark.parametrize("target", ["check", "execute", "run_effects"])
async def test_internal_bug_is_still_answered_and_audited(
    world: World, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug in packetflow")

    monkeypatch.setattr(process, target, broken)
    run = await world.call("greet", {"name": "Ada"})
    [error] = run.on(TOPICS.errors)
    assert error["payload"]["error"] == {
        "type": "internal_error",
        "message": "internal error: RuntimeError",
        "details": {},
    }
    assert error["metadata"]["error_code"] == "E099"
    assert error["correlation_id"] == "req-1"
    assert run.on(TOPICS.responses) == []
    assert [(a.outcome, a.error_type) for a in run.audit] == [("error", "internal_error")]


async def test_avro_request_is_answered_in_avro(world: World) -> None:
    codec = AvroCodec()
    request = CapabilityRequest(id="req-1", capability_id="greet", payload={"name": "Ada"})
    run = await world.send(codec.encode("request", request.model_dump(mode="json")))
    [response] = [r for r in run.records if r.topic == TOPICS.responses]
    assert ("content-type", b"application/avro") in response.headers
    assert codec.decode(response.value)[1]["payload"] == {"greeting": "Hi Ada"}
    assert [a.outcome for a in run.audit] == ["ok"]


async def test_processor_survives_a_huge_version_number(world: World) -> None:
    run = await world.send(json.dumps({"version": "9" * 5000 + ".0", "id": "r"}).encode())
    assert [a.outcome for a in run.audit] == ["dead_letter"]


async def test_processor_survives_avro_context_extra_null(world: World) -> None:
    request = CapabilityRequest(id="req-1", capability_id="greet", payload={"name": "Ada"})
    good = AvroCodec().encode("request", request.model_dump(mode="json"))
    # context is the first record after version, id and intent; its extra is the string "{}"
    bad = good.replace(b"\x04{}", b"\x08null", 1)
    assert bad != good
    run = await world.send(bad)
    assert [a.outcome for a in run.audit] == ["dead_letter"]


async def test_decoder_bug_still_dead_letters_and_audits(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug in a decoder")

    monkeypatch.setattr(process, "decode", broken)
    value = json.dumps({"version": "1.0", "capability_id": "greet"}).encode()
    run = await world.send(value, b"key-1")
    [dead] = run.dead_letters
    assert (dead.key, dead.value) == (b"key-1", value)
    assert (
        dict(dead.headers)[DLQ_HEADERS["message"]] == b"record could not be decoded: RuntimeError"
    )
    assert run.on(TOPICS.responses) == []
    assert [(a.outcome, a.error_type) for a in run.audit] == [("dead_letter", "protocol_error")]


async def test_sensitive_fields_are_masked_in_the_audit_record() -> None:
    @capability(intent="Log in", requires=["user", "password"], sensitive=["password"])
    def login(payload: Any, ctx: CallContext) -> dict[str, Any]:
        return {}

    world = World()
    world.processor.registry.register(login)
    run = await world.call("login", {"user": "ada", "password": "hunter2"})
    assert run.ok
    assert [a.payload for a in run.audit] == [{"user": "ada", "password": "***"}]
    failed = await world.call("login", {"password": "hunter2"})
    assert [a.payload for a in failed.audit] == [{"password": "***"}]
    assert not any(b"hunter2" in r.value for r in run.records + failed.records)


class Tally(BaseModel):
    count: int = 0


class Add(BaseModel):
    key: str


tally = Reactor("tally", state=Tally, key="key")


@tally.intent(intent="Count one for a key", requires=Add)
def add(payload: Add, state: Tally) -> tuple[Tally, list[Emit]]:
    return Tally(count=state.count + 1), []


class Hops:
    """A worker's processor: reactor requests leave the requests topic as hop records."""

    def __init__(self, dedup_window: int = 128) -> None:
        self.metrics = Metrics()
        self.processor = Processor(
            Registry([add]),
            Publisher(TOPICS, "worker-1", reply_partitions=8),
            self.metrics,
            Limits(),
            reactors=ReactorRuntime(dedup_window=dedup_window),
            reactor_topic=TOPICS.reactor,
        )

    async def hop(self, key: str, offset: int, headers: tuple[Header, ...] = ()) -> Outbound:
        doc = {
            "version": "1.0",
            "type": "capability_request",
            "id": f"req-{offset}",
            "capability_id": "tally.add",
            "payload": {"key": key},
            "context": CONTEXT,
        }
        request = RawRecord(TOPICS.requests, 2, offset, None, json.dumps(doc).encode(), headers)
        [out] = await self.processor.handle(request)
        assert out.kind == "hop"
        return out

    async def consume(self, out: Outbound, offset: int = 500) -> Execution:
        record = RawRecord(out.topic, 3, offset, out.key, out.value, out.headers)
        return Execution(await self.processor.handle_hop(record, "reactor"), TOPICS, self.metrics)


async def test_a_damaged_bundle_goes_to_the_dlq_whole_and_is_audited() -> None:
    hops = Hops()
    bundle = pack([await hops.hop("a", 1), await hops.hop("b", 2)], partition=3)
    damaged = Outbound(bundle.topic, None, (bundle.value or b"")[:-3], bundle.headers, 3)
    run = await hops.consume(damaged)
    [dead] = run.dead_letters
    assert dead.value == damaged.value  # the original bytes, nothing lost
    assert dict(dead.headers)[DLQ_HEADERS["type"]] == b"protocol_error"
    assert b"bundle value is malformed" in dict(dead.headers)[DLQ_HEADERS["message"]]
    [audit] = run.audit
    assert audit.outcome == "dead_letter"
    assert run.on(TOPICS.responses) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (PRINCIPAL_HEADER, None),
        (PRINCIPAL_HEADER, b"not json"),
        (PRINCIPAL_HEADER, b'{"grants": ["bad:"]}'),
        (ORIGIN_HEADER, b"no-colons"),
    ],
)
async def test_a_hop_with_a_missing_or_malformed_header_is_dead_lettered(
    name: str, value: bytes | None
) -> None:
    hops = Hops()
    hop = await hops.hop("a", 1)
    kept = tuple(h for h in hop.headers if h[0] != name)
    headers = kept if value is None else (*kept, (name, value))
    run = await hops.consume(Outbound(hop.topic, hop.key, hop.value, headers))
    [dead] = run.dead_letters
    assert dead.value == hop.value
    assert name.encode() in dict(dead.headers)[DLQ_HEADERS["message"]]
    assert [a.outcome for a in run.audit] == ["dead_letter"]


async def test_a_hop_redelivered_after_its_key_outran_the_id_log_is_not_applied_again() -> None:
    hops = Hops(dedup_window=4)
    sent = [await hops.hop("hot", n) for n in range(10)]
    for n, hop in enumerate(sent):
        await hops.consume(hop, 500 + n)
    again = await hops.consume(sent[2], 500)  # redelivered: the commit did not cover it
    [answer] = again.on(TOPICS.responses)
    assert answer["correlation_id"] == "req-2"
    assert answer["metadata"]["replayed"] is True
    assert (answer["payload"], answer["metadata"]["version"]) == ({"count": 10}, 10)
    [after] = (await hops.consume(await hops.hop("hot", 10), 510)).on(TOPICS.responses)
    assert after["payload"] == {"count": 11}  # applied ten times, not eleven


async def test_a_client_cannot_forge_where_its_request_comes_from() -> None:
    forged = ((ORIGIN_HEADER, b"packetflow.requests:2:999999"), (VIA_HEADER, b"x:1"))
    hop = await Hops().hop("a", 7, forged)
    headers = [h for h in hop.headers if h[0] in (ORIGIN_HEADER, VIA_HEADER)]
    assert headers == [(ORIGIN_HEADER, f"{TOPICS.requests}:2:7".encode())]


async def test_each_hop_of_a_bundle_is_answered_in_order() -> None:
    hops = Hops()
    bundle = pack(
        [await hops.hop("a", 10), await hops.hop("b", 11), await hops.hop("a", 12)], partition=3
    )
    run = await hops.consume(bundle)
    answers = [(r["correlation_id"], r["payload"]) for r in run.on(TOPICS.responses)]
    assert answers == [
        ("req-10", {"count": 1}),
        ("req-11", {"count": 1}),
        ("req-12", {"count": 2}),
    ]
    assert [a.source for a in run.audit] == [
        {"topic": TOPICS.requests, "partition": 2, "offset": n} for n in (10, 11, 12)
    ]
    assert run.dead_letters == []


async def test_a_response_too_large_for_the_broker_is_an_error_that_keeps_the_request() -> None:
    metrics = Metrics()
    processor = Processor(
        Registry([greet]),
        Publisher(TOPICS, "worker-1", reply_partitions=8, max_record_bytes=2048),
        metrics,
        Limits(),
    )
    doc = {
        "version": "1.0",
        "type": "capability_request",
        "id": "req-big",
        "capability_id": "greet",
        "payload": {"name": "A" * 3000},
        "context": CONTEXT,
        "metadata": {"reply_partition": 3},
    }
    trace = ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    record = RawRecord(TOPICS.requests, 5, 77, b"k", json.dumps(doc).encode(), (trace,))
    run = Execution(await processor.handle(record), TOPICS, metrics)
    assert run.on(TOPICS.responses) == []
    [answer] = [r for r in run.records if r.topic == TOPICS.errors]
    [error] = run.on(TOPICS.errors)
    assert error["payload"]["error"]["type"] == "internal_error"
    assert error["metadata"]["error_code"] == "E099"
    assert "limit" in error["payload"]["error"]["message"]
    assert (error["correlation_id"], error["capability_id"]) == ("req-big", "greet")
    assert error["context"]["user_id"] == "u1"
    assert answer.partition == 3
    assert trace in answer.headers
    [audit] = run.audit
    assert (audit.outcome, audit.error_type) == ("error", "internal_error")
