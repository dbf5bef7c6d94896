"""Consumed records, from aiokafka or from Faust, become the same RawRecord."""

from __future__ import annotations

from types import SimpleNamespace

from aiokafka.structs import ConsumerRecord

from packetflow.records import RawRecord
from packetflow.worker.message import consumer_record, raw_record


def aiokafka_record(headers: tuple[tuple[str, bytes | None], ...]) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        "t.requests", 3, 42, 1_700_000_000_123, 0, b"k", b"{}", None, 1, 2, headers
    )


def test_an_aiokafka_record_keeps_everything_it_had() -> None:
    record = consumer_record(aiokafka_record((("a", b"1"), ("a", b"2"))))
    assert record == RawRecord(
        "t.requests", 3, 42, b"k", b"{}", (("a", b"1"), ("a", b"2")), 1_700_000_000_123
    )
    assert record.header("a") == b"2"  # the last one wins


def test_a_null_header_value_becomes_empty_bytes() -> None:
    record = consumer_record(aiokafka_record((("a", b"1"), ("empty", None))))
    assert record.headers == (("a", b"1"), ("empty", b""))


def test_a_faust_message_with_dict_headers_and_seconds() -> None:
    message = SimpleNamespace(
        topic="t.hop",
        partition=0,
        offset=7,
        key=None,
        value=b"v",
        headers={"traceparent": b"00-1", "gone": None},
        timestamp=1_700_000_000.5,
    )
    record = raw_record(message)
    assert record.headers == (("traceparent", b"00-1"), ("gone", b""))
    assert record.timestamp_ms == 1_700_000_000_500


def test_no_headers_at_all() -> None:
    message = SimpleNamespace(
        topic="t", partition=0, offset=0, key=None, value=None, headers=None, timestamp=None
    )
    assert raw_record(message).headers == ()
