"""Hops name the ordered stream they come from; a reactor marks what it applied from each."""

from __future__ import annotations

from packetflow.hops.record import ORIGIN_HEADER, VIA_HEADER, origin_of, source_of
from packetflow.records import RawRecord


def consumed(*headers: tuple[str, bytes]) -> RawRecord:
    return RawRecord("packetflow.reactor.tally", 3, 500, b"k", b"{}", headers)


def test_a_hop_from_the_requests_topic_comes_from_its_partition() -> None:
    hop = consumed((ORIGIN_HEADER, b"packetflow.requests:2:41"))
    assert source_of(hop, origin_of(hop)) == ("packetflow.requests:2", 41)


def test_a_hop_through_the_limiter_comes_from_both_partitions() -> None:
    hop = consumed((ORIGIN_HEADER, b"packetflow.requests:2:41"), (VIA_HEADER, b"limited:5"))
    assert source_of(hop, origin_of(hop)) == ("packetflow.requests:2/limited:5", 41)


def test_a_hop_that_names_no_origin_has_no_source() -> None:
    hop = consumed()
    assert source_of(hop, origin_of(hop)) is None
