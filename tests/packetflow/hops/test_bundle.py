"""A bundle carries its hop records unchanged, in order; a damaged one is refused, saying where."""

from __future__ import annotations

import pytest

from packetflow.errors import ErrorType
from packetflow.hops.bundle import (
    BUNDLE_HEADER,
    MalformedBundle,
    framed_size,
    is_bundle,
    pack,
    unpack,
)
from packetflow.records import Outbound, RawRecord


def hop(n: int, **changes: object) -> Outbound:
    fields: dict[str, object] = {
        "topic": "pf.reactor.counter",
        "key": f"key-{n}".encode(),
        "value": f'{{"n": {n}}}'.encode(),
        "headers": (("packetflow-principal", b'{"user_id": "u"}'), ("traceparent", b"00-ab")),
        "kind": "hop",
    }
    fields.update(changes)
    return Outbound(**fields)  # type: ignore[arg-type]


def consumed(out: Outbound, offset: int = 41) -> RawRecord:
    partition = out.partition if out.partition is not None else 0
    return RawRecord(out.topic, partition, offset, out.key, out.value, out.headers, 1_700)


def test_a_damaged_bundle_is_refused_at_every_cut_saying_where() -> None:
    bundle = pack([hop(1), hop(2), hop(3)], partition=5)
    value = bundle.value or b""
    for cut in range(len(value)):
        damaged = consumed(Outbound(bundle.topic, None, value[:cut], bundle.headers, 5))
        with pytest.raises(MalformedBundle) as refused:
            unpack(damaged)
        assert refused.value.error_type is ErrorType.PROTOCOL_ERROR
        assert refused.value.details["reason"] == "malformed bundle"
        assert 0 <= refused.value.details["byte"] <= cut


def test_trailing_bytes_an_unknown_format_and_a_negative_length_are_refused() -> None:
    bundle = pack([hop(1), hop(2)], partition=0)
    trailing = Outbound(bundle.topic, None, (bundle.value or b"") + b"x", bundle.headers, 0)
    with pytest.raises(MalformedBundle, match="1 bytes after the last hop"):
        unpack(consumed(trailing))
    future = Outbound(bundle.topic, None, bundle.value, ((BUNDLE_HEADER, b"2"),), 0)
    with pytest.raises(MalformedBundle, match="format b'2' is not supported"):
        unpack(consumed(future))
    negative = b"\x00\x00\x00\x01" + b"\x00\x00" + b"\xff\xff\xff\xfe"
    with pytest.raises(MalformedBundle, match="negative length"):
        unpack(consumed(Outbound(bundle.topic, None, negative, bundle.headers, 0)))


def test_hops_come_back_unchanged_in_order_at_the_bundles_position() -> None:
    hops = [
        hop(1),
        hop(2, key=None, headers=()),
        hop(3, value=None),
        hop(4, value=bytes(range(256)), headers=(("ünïcode", b""), ("bin", b"\x00\xff"))),
    ]
    bundle = pack(hops, partition=6)
    assert (bundle.topic, bundle.partition, bundle.key, bundle.kind) == (
        "pf.reactor.counter",
        6,
        None,
        "hop",
    )
    record = consumed(bundle, offset=99)
    assert is_bundle(record)
    back = unpack(record)
    assert [(r.key, r.value, r.headers) for r in back] == [
        (h.key, h.value, h.headers) for h in hops
    ]
    assert {(r.topic, r.partition, r.offset, r.timestamp_ms) for r in back} == {
        ("pf.reactor.counter", 6, 99, 1_700)
    }


def test_a_plain_hop_is_not_a_bundle() -> None:
    assert not is_bundle(consumed(hop(1)))


def test_framed_size_is_what_a_hop_adds_to_the_value() -> None:
    one, two = hop(1), hop(22, value=bytes(300), headers=(("h", b"v"),))
    single = len(pack([one], 0).value or b"")
    both = len(pack([one, two], 0).value or b"")
    assert single == 4 + framed_size(one)
    assert both - single == framed_size(two)
