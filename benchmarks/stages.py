"""In-process costs: PacketFlow's request path per stage, JSON vs Avro, the registry.

Each figure is the median of a few timed passes over many distinct records, in
µs per record (ms per call for whole-registry operations). A stage that fails
(the library moved under the benchmark) is reported as ``{"error": ...}``.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from pydantic_core import from_json, to_json

from benchmarks.caps import ECHO_ID, bench_echo
from benchmarks.raw_checked import Tokens, answer
from benchmarks.registry_fixture import build_registry, discovery_request
from benchmarks.workload import JWT_SECRET, auth_headers, request_value, respond
from packetflow.avro import AvroCodec
from packetflow.encoding import Encoder, Encoding
from packetflow.envelope import CapabilityRequest, CapabilityResponse
from packetflow.metrics import Metrics
from packetflow.pipeline.check import check
from packetflow.pipeline.decode import Limits, decode
from packetflow.pipeline.effect import run_effects
from packetflow.pipeline.execute import execute
from packetflow.pipeline.process import Processor
from packetflow.pipeline.publish import Publisher
from packetflow.records import RawRecord
from packetflow.registry import Registry
from packetflow.security.config import authenticator_from
from packetflow.settings import AuthSettings
from packetflow.topics import TopicNames

__all__ = ["encoding_costs", "registry_costs", "stage_costs"]

REPEATS = 5


def _us(seconds: float, count: int) -> float:
    return seconds / count * 1e6


def _time(fn: Callable[[Any], object], items: Sequence[Any]) -> float:
    """Median µs per item of ``fn`` over ``items``."""
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        for item in items:
            fn(item)
        runs.append(time.perf_counter() - started)
    return _us(statistics.median(runs), len(items))


async def _atime(fn: Callable[[Any], Awaitable[object]], items: Sequence[Any]) -> float:
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        for item in items:
            await fn(item)
        runs.append(time.perf_counter() - started)
    return _us(statistics.median(runs), len(items))


def _records(count: int, headers: Iterable[tuple[str, bytes]] = ()) -> list[RawRecord]:
    return [
        RawRecord(
            "bench.requests",
            i % 8,
            i,
            f"r-{i}".encode(),
            request_value(f"r-{i}", i, 1),
            (*headers,),
        )
        for i in range(count)
    ]


async def stage_costs(count: int) -> dict[str, Any]:
    """µs per record of each step of the request path, and of the whole ``Processor.handle``."""
    auth = AuthSettings(mode="required", jwt_algorithms=("HS256",), jwt_secret=JWT_SECRET)
    authenticator = authenticator_from(auth)
    registry = Registry([bench_echo])
    metrics = Metrics()
    publisher = Publisher(TopicNames("bench"), "bench-worker", 8)
    limits = Limits()
    records = _records(count, auth_headers())
    out: dict[str, Any] = {"records": count}

    async def stage(name: str, run: Callable[[], Awaitable[float]]) -> None:
        try:
            out[name] = await run()
        except Exception as exc:
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}

    requests = [_request(decode(r, limits)) for r in records]
    pairs = list(zip(records, requests, strict=True))
    principals = [authenticator.authenticate(rec, req) for rec, req in pairs]
    checked = [check(req, registry, p) for req, p in zip(requests, principals, strict=True)]
    results = [await execute(c) for c in checked]
    effects = [
        await run_effects(c, r, 0.0001, metrics) for c, r in zip(checked, results, strict=True)
    ]

    async def timed(fn: Callable[[Any], object], items: Sequence[Any]) -> float:
        return _time(fn, items)

    await stage("decode", lambda: timed(lambda r: decode(r, limits), records))
    await stage(
        "authenticate (JWT HS256)", lambda: timed(lambda p: authenticator.authenticate(*p), pairs)
    )
    await stage(
        "check (lookup, requires, authorize)",
        lambda: timed(lambda i: check(requests[i], registry, principals[i]), range(count)),
    )
    await stage("execute (incl. provides)", lambda: _atime(execute, checked))
    await stage(
        "effects",
        lambda: _atime(lambda i: run_effects(checked[i], results[i], 1e-4, metrics), range(count)),
    )
    await stage(
        "publish: response record",
        lambda: timed(
            lambda i: publisher.response(requests[i], results[i], 0.1, records[i]),
            range(count),
        ),
    )
    await stage(
        "publish: effect records",
        lambda: timed(lambda es: [publisher.effect(e) for e in es], effects),
    )
    processor = Processor(registry, publisher, metrics, limits, authenticator=authenticator)
    await stage("whole path (Processor.handle)", lambda: _atime(processor.handle, records))
    try:
        out["shares of Processor.handle (cProfile)"] = await _shares(processor, records)
    except Exception as exc:
        out["shares of Processor.handle (cProfile)"] = {"error": f"{type(exc).__name__}: {exc}"}
    tokens = Tokens()
    await stage(
        "required work by hand (raw_checked's answer)",
        lambda: _atime(lambda r: answer(r, tokens, "bench-worker"), records),
    )
    values = [r.value for r in records]
    await stage(
        "raw contenders' transform (parse, transform, dump)", lambda: timed(respond, values)
    )
    return out


# label -> (file suffix, function name) whose cumulative time is a share of handle's
_SHARES = {
    "decode": ("pipeline/decode.py", "decode"),
    "authenticate": ("security/authenticate.py", "authenticate"),
    "check": ("pipeline/check.py", "check"),
    "execute (without the capability's own task)": ("pipeline/execute.py", "execute"),
    "capability function": ("benchmarks/caps.py", "bench_echo"),
    "effects": ("pipeline/effect.py", "run_effects"),
    "publish: response": ("pipeline/publish.py", "response"),
    "publish: effect": ("pipeline/publish.py", "effect"),
    "publish: audit": ("pipeline/publish.py", "audit"),
    "audit record": ("pipeline/process.py", "_audit"),
    "metrics (prometheus labels/inc/observe)": ("prometheus_client/metrics.py", "labels"),
}


async def _shares(processor: Processor, records: Sequence[RawRecord]) -> dict[str, float]:
    """Where ``Processor.handle``'s time goes, as shares of its cumulative time."""
    prof = cProfile.Profile()
    prof.enable()
    for record in records:
        await processor.handle(record)
    prof.disable()
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    cum: dict[tuple[str, str], float] = {}
    for (file, _, func), row in stats.items():
        key = (file.replace("\\", "/"), func)
        cum[key] = cum.get(key, 0.0) + row[3]
    total = sum(
        t for (f, fn), t in cum.items() if f.endswith("pipeline/process.py") and fn == "handle"
    )

    def share(suffix: str, name: str) -> float:
        return sum(t for (f, fn), t in cum.items() if f.endswith(suffix) and fn == name) / total

    return {label: share(*where) for label, where in _SHARES.items()}


def encoding_costs(count: int) -> dict[str, Any]:
    """µs per message: JSON vs Avro encode (a response) and decode (a request)."""
    codec = AvroCodec()
    encoder = Encoder(codec)
    json_values = [request_value(f"r-{i}", i, 1) for i in range(count)]
    docs = [from_json(v) for v in json_values]
    dumped = [CapabilityRequest.model_validate(d).model_dump(mode="json") for d in docs]
    avro_values = [codec.encode("request", d) for d in dumped]
    responses = [
        CapabilityResponse(
            correlation_id=d["id"], capability_id=ECHO_ID, payload=d["payload"], metadata={"w": 1}
        )
        for d in docs
    ]
    avro_records = [
        RawRecord("t", 0, i, None, v, (("content-type", b"application/avro"),))
        for i, v in enumerate(avro_values)
    ]
    json_records = [RawRecord("t", 0, i, None, v) for i, v in enumerate(json_values)]
    limits = Limits()
    return {
        "messages": count,
        "bytes": {
            "request_json": statistics.mean(map(len, json_values)),
            "request_avro": statistics.mean(map(len, avro_values)),
            "response_json": statistics.mean(
                len(encoder.encode("response", r, Encoding.JSON)) for r in responses
            ),
            "response_avro": statistics.mean(
                len(encoder.encode("response", r, Encoding.AVRO)) for r in responses
            ),
        },
        "us": {
            "encode response: JSON (Encoder)": _time(
                lambda r: encoder.encode("response", r, Encoding.JSON), responses
            ),
            "encode response: Avro (Encoder)": _time(
                lambda r: encoder.encode("response", r, Encoding.AVRO), responses
            ),
            "decode request bytes: JSON (pydantic_core)": _time(from_json, json_values),
            "decode request bytes: Avro (AvroCodec)": _time(codec.decode, avro_values),
            "decode + validate: JSON (model_validate_json)": _time(
                CapabilityRequest.model_validate_json, json_values
            ),
            "decode + validate: Avro (decode, model_validate)": _time(
                lambda v: CapabilityRequest.model_validate(codec.decode(v)[1]), avro_values
            ),
            "pipeline decode(): JSON record": _time(lambda r: decode(r, limits), json_records),
            "pipeline decode(): Avro record": _time(
                lambda r: decode(r, limits, codec), avro_records
            ),
        },
    }


async def registry_costs(size: int = 1000, lookups: int = 20000) -> dict[str, Any]:
    """Registry with ``size`` capabilities: build, lookup, check, describe_all, discovery."""
    started = time.perf_counter()
    registry = build_registry(size)
    build_ms = (time.perf_counter() - started) * 1000
    ids = [random.choice(registry.ids()) for _ in range(lookups)]
    unknown = CapabilityRequest(capability_id="no.such.capability")

    def describe_all_ms(serialise: bool) -> float:
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            listing = registry.describe_all()
            if serialise:
                to_json(listing)
            runs.append(time.perf_counter() - t)
        return statistics.median(runs) * 1000

    out: dict[str, Any] = {
        "capabilities": len(registry),
        "build_ms": build_ms,
        "get_us": _time(registry.get, ids),
        "contains_us": _time(registry.__contains__, ids),
        "check_unknown_id_us": _time(
            lambda _: _raises(lambda: check(unknown, registry)), range(2000)
        ),
        "describe_all_ms": describe_all_ms(False),
        "describe_all_json_ms": describe_all_ms(True),
    }
    try:
        checked = check(discovery_request(), registry)
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            await execute(checked)
            runs.append(time.perf_counter() - t)
        out["discover_call_ms"] = statistics.median(runs) * 1000
    except Exception as exc:
        out["discover_call_ms"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return out


def _request(message: object) -> CapabilityRequest:
    assert isinstance(message, CapabilityRequest)
    return message


def _raises(fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception:
        return
    raise AssertionError("expected an error")


if __name__ == "__main__":  # a quick look without a broker
    print(asyncio.run(stage_costs(500)))
    print(encoding_costs(500))
    print(asyncio.run(registry_costs()))
