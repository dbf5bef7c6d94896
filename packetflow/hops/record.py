"""Hop records: a request re-keyed for the internal topic of the stage that owns its key.

In a worker a request that needs keyed state hops through an internal topic
keyed by that state's key, so the partition (hence the one worker) that owns
the key sees every request for it: a rate-limited request through the
limiter topic keyed by ``user|capability``, a reactor request through its
reactor's topic keyed by the state key (:func:`hop_record`,
:func:`principal_from_hop`). In-process (tests) both run inline.

Each hop names the request's first position (``packetflow-origin``) and, after
the limiter topic, the limiter partition it came through (``packetflow-via``):
:func:`source_of` makes of them the ordered stream a reactor marks as applied.
"""

from __future__ import annotations

import json
from functools import lru_cache

from packetflow.errors import ProtocolError
from packetflow.records import Header, Outbound, RawRecord
from packetflow.security.authenticate import AUTH_HEADER
from packetflow.security.identity import Principal
from packetflow.security.permissions import parse_permission

__all__ = [
    "ORIGIN_HEADER",
    "PRINCIPAL_HEADER",
    "VIA_HEADER",
    "Source",
    "hop_record",
    "origin_of",
    "principal_from_hop",
    "source_of",
]

PRINCIPAL_HEADER = "packetflow-principal"
ORIGIN_HEADER = "packetflow-origin"
VIA_HEADER = "packetflow-via"
_HOP_HEADERS = (AUTH_HEADER, PRINCIPAL_HEADER, ORIGIN_HEADER, VIA_HEADER)

Source = tuple[str, int]
"""Where a hop comes from: its ordered stream (``topic:partition`` of the request, and
``/topic:partition`` of the limiter partition it came through) and its offset there."""


def hop_record(
    record: RawRecord, topic: str, principal: Principal, key: str, via: str | None = None
) -> Outbound:
    """The request, unchanged but for its credential, re-keyed for an internal stage.

    ``record`` is at its origin (a second hop's is the first one's, see :func:`origin_of`):
    whatever ``packetflow-*`` headers a client sent are replaced, never trusted.
    """
    headers: list[Header] = [h for h in record.headers if h[0] not in _HOP_HEADERS]
    headers.append((PRINCIPAL_HEADER, _principal_header(principal)))
    origin = f"{record.topic}:{record.partition}:{record.offset}"
    headers.append((ORIGIN_HEADER, origin.encode()))
    if via is not None:
        headers.append((VIA_HEADER, via.encode()))
    return Outbound(topic, key.encode(), record.value or b"", tuple(headers), kind="hop")


def source_of(consumed: RawRecord, origin: RawRecord) -> Source | None:
    """The ordered stream and offset a consumed hop comes from; None without an origin.

    One worker at a time reads a stream's partition in order and sends its hops in
    that order (one producer, one request in flight per partition), and a replay
    sends the same hops again at the same offsets: a reactor key that has applied
    offset ``n`` of a stream has seen every hop of that stream up to ``n``.
    """
    if consumed.header(ORIGIN_HEADER) is None:
        return None
    via = consumed.header(VIA_HEADER)
    stream = f"{origin.topic}:{origin.partition}"
    if via is not None:
        stream += "/" + via.decode(errors="replace")
    return stream, origin.offset


_HEADERS: dict[int, tuple[Principal, bytes]] = {}  # by id; the entry keeps its principal alive


def _principal_header(principal: Principal) -> bytes:
    """``principal`` as header bytes; encoded once per principal (they are cached per token)."""
    hit = _HEADERS.get(id(principal))
    if hit is not None and hit[0] is principal:
        return hit[1]
    value = json.dumps(principal.to_header()).encode()
    if len(_HEADERS) >= 1024:
        _HEADERS.clear()
    _HEADERS[id(principal)] = (principal, value)
    return value


def principal_from_hop(record: RawRecord) -> Principal:
    """The principal the first hop established (internal topics are written by PacketFlow).

    Raises :class:`ProtocolError` when the header is missing or malformed.
    """
    raw = record.header(PRINCIPAL_HEADER)
    if raw is None:
        raise ProtocolError(
            f"hop record without a {PRINCIPAL_HEADER} header", {"header": PRINCIPAL_HEADER}
        )
    try:
        return _principal_of(raw)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ProtocolError(
            f"hop record with a malformed {PRINCIPAL_HEADER} header: {exc}"[:500],
            {"header": PRINCIPAL_HEADER},
        ) from None


@lru_cache(maxsize=1024)
def _principal_of(raw: bytes) -> Principal:
    """The principal of a header (immutable, so one object serves every record carrying it)."""
    doc = json.loads(raw)
    return Principal(
        user_id=doc.get("user_id"),
        method=doc.get("method", "anonymous"),
        roles=frozenset(doc.get("roles", ())),
        grants=tuple(parse_permission(g) for g in doc.get("grants", ())),
    )


def origin_of(record: RawRecord) -> RawRecord:
    """The record as it was first consumed (topic, partition, offset) for audit.

    Raises :class:`ProtocolError` when the origin header is malformed.
    """
    raw = record.header(ORIGIN_HEADER)
    if raw is None:
        return record
    try:
        topic, partition, offset = raw.decode().rsplit(":", 2)
        return RawRecord(
            topic, int(partition), int(offset), record.key, record.value, record.headers
        )
    except ValueError:  # includes UnicodeDecodeError
        raise ProtocolError(
            f"hop record with a malformed {ORIGIN_HEADER} header: {raw[:100]!r}",
            {"header": ORIGIN_HEADER},
        ) from None
