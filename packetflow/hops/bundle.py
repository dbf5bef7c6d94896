"""Many hop records in one Kafka record, so the stage that reads them pays its per-record
cost once per bundle.

A hop record (:func:`~packetflow.hops.record.hop_record`) is read by a
Faust agent, and Faust's stream costs hundreds of microseconds per record
whatever the record holds. The hops of one batch that go to the same
partition of the same internal topic are therefore written as one *bundle*:
a record marked with the :data:`BUNDLE_HEADER` whose value frames each hop's
headers, key and value, in order. All of them hash to the bundle's
partition, so the one worker owning their keys reads them, in the order they
were written. A group of one is written as the plain hop record.

Format 1 (integers big-endian): ``u32`` hop count, then once per hop::

    u16 header count, then per header: u16 name length, name (UTF-8),
                                       u32 value length, value
    i32 key length (-1: no key), key
    i32 value length (-1: no value), value

A value that does not hold exactly the announced hops is malformed: the
bundle goes to the dead-letter topic whole, its bytes unchanged.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from packetflow.errors import ProtocolError
from packetflow.records import Header, Outbound, RawRecord

__all__ = [
    "BUNDLE_BYTES",
    "BUNDLE_HEADER",
    "BUNDLE_VERSION",
    "MalformedBundle",
    "framed_size",
    "is_bundle",
    "pack",
    "unpack",
]

BUNDLE_HEADER = "packetflow-bundle"
BUNDLE_VERSION = b"1"
BUNDLE_BYTES = 262_144
"""The most a bundle's framed hops take (a hop larger than that travels alone)."""

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")


class MalformedBundle(ProtocolError):
    """A record marked as a bundle whose value does not frame hop records."""


def is_bundle(record: RawRecord) -> bool:
    """Whether ``record`` carries a bundle rather than one hop."""
    return record.header(BUNDLE_HEADER) is not None


def framed_size(hop: Outbound) -> int:
    """Bytes ``hop`` takes in a bundle's value."""
    size = 2 + 4 + 4 + len(hop.key or b"") + len(hop.value or b"")
    return size + sum(6 + len(name.encode()) + len(value) for name, value in hop.headers)


def pack(hops: Sequence[Outbound], partition: int) -> Outbound:
    """One record carrying ``hops`` (all for one topic and ``partition``), in their order."""
    parts: list[bytes] = [_U32.pack(len(hops))]
    for hop in hops:
        parts.append(_U16.pack(len(hop.headers)))
        for name, value in hop.headers:
            encoded = name.encode()
            parts += (_U16.pack(len(encoded)), encoded, _U32.pack(len(value)), value)
        parts += _blob(hop.key)
        parts += _blob(hop.value)
    headers: tuple[Header, ...] = ((BUNDLE_HEADER, BUNDLE_VERSION),)
    return Outbound(hops[0].topic, None, b"".join(parts), headers, partition, kind="hop")


def _blob(data: bytes | None) -> Iterable[bytes]:
    if data is None:
        return (_I32.pack(-1),)
    return (_I32.pack(len(data)), data)


def unpack(record: RawRecord) -> list[RawRecord]:
    """The hop records of a bundle, each as if consumed at the bundle's position.

    Raises :class:`MalformedBundle` (saying where and why) when the value does
    not frame whole hop records or the format is not one this version reads.
    """
    version = record.header(BUNDLE_HEADER)
    if version != BUNDLE_VERSION:
        raise MalformedBundle(
            f"bundle format {version!r} is not supported (this worker reads {BUNDLE_VERSION!r})",
            {"reason": "unsupported bundle format"},
        )
    reader = _Reader(record.value or b"")
    hops: list[RawRecord] = []
    try:
        for _ in range(reader.u32()):
            headers = tuple(
                (reader.take(reader.u16()).decode(), reader.take(reader.u32()))
                for _ in range(reader.u16())
            )
            key, value = reader.blob(), reader.blob()
            hops.append(
                RawRecord(
                    record.topic,
                    record.partition,
                    record.offset,
                    key,
                    value,
                    headers,
                    record.timestamp_ms,
                )
            )
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise _malformed(f"{exc}", reader.at, len(hops)) from None
    if not hops:
        raise _malformed("no hop record", reader.at, 0)
    if not reader.done():
        left = len(reader.data) - reader.at
        raise _malformed(f"{left} bytes after the last hop", reader.at, len(hops))
    return hops


def _malformed(why: str, at: int, hop: int) -> MalformedBundle:
    return MalformedBundle(
        f"bundle value is malformed at byte {at} (hop {hop}): {why}",
        {"reason": "malformed bundle", "byte": at, "hop": hop},
    )


class _Reader:
    """Reads the framed fields of a bundle's value, checking every length."""

    __slots__ = ("at", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def done(self) -> bool:
        return self.at >= len(self.data)

    def u16(self) -> int:
        (n,) = _U16.unpack_from(self.data, self.at)
        self.at += 2
        return int(n)

    def u32(self) -> int:
        (n,) = _U32.unpack_from(self.data, self.at)
        self.at += 4
        return int(n)

    def take(self, size: int) -> bytes:
        end = self.at + size
        if end > len(self.data):
            raise ValueError(f"{size} bytes announced, {len(self.data) - self.at} left")
        chunk = self.data[self.at : end]
        self.at = end
        return chunk

    def blob(self) -> bytes | None:
        (n,) = _I32.unpack_from(self.data, self.at)
        self.at += 4
        if n < -1:
            raise ValueError(f"negative length {n}")
        return None if n == -1 else self.take(n)
