"""State records of recently used reactor keys: decoded, and encoded item by item.

A busy key's record holds its last request ids with their results, so it can
be kilobytes, and each request reads it (decode) and writes it (encode) whole.
:class:`RecentRecords` keeps, per key, the decoded record with the bytes it
came from; a read reuses it only while the store holds exactly those bytes.
It also keeps the encoding of each item of the record's lists: the next
record of the key shares all but one of its log entries with this one, and
:func:`encode` then encodes only what is new.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from operator import is_
from typing import Any

from pydantic_core import to_json

__all__ = ["Encodings", "RecentRecords", "encode"]

Encodings = dict[str, tuple[list[Any], list[bytes]]]
"""Per list field of a record: its items and each item's JSON (the items are held, and
never changed: state records are not changed in place)."""


def encode(record: dict[str, Any], known: Encodings | None = None) -> tuple[bytes, Encodings]:
    """``record`` as compact JSON (the bytes ``to_json(record)`` gives), and the encodings
    of its lists' items. A list that continues one in ``known`` (the same items, by
    identity, with some dropped from its start and some added at its end, as a key's
    request-id log does) has only its new items encoded.
    """
    fields: list[bytes] = []
    encodings: Encodings = {}
    for name, value in record.items():
        if type(value) is list:
            parts = _parts(value, known.get(name) if known else None)
            encodings[name] = (value, parts)
            fields.append(to_json(name) + b":[" + b",".join(parts) + b"]")
        else:
            fields.append(to_json(name) + b":" + to_json(value))
    return b"{" + b",".join(fields) + b"}", encodings


def _parts(items: list[Any], before: tuple[list[Any], list[bytes]] | None) -> list[bytes]:
    """The JSON of each item, reusing ``before``'s for the items it shares (see :func:`encode`)."""
    if before is not None:
        old, old_parts = before
        for added in (1, 0):  # one request applied, or a replay writing the record again
            kept = len(items) - added
            dropped = len(old) - kept
            if dropped >= 0 and kept >= 0 and all(map(is_, items[:kept], old[dropped:])):
                return old_parts[dropped:] + [to_json(item) for item in items[kept:]]
    return [to_json(item) for item in items]


@dataclass(slots=True)
class _Kept:
    value: bytes
    record: dict[str, Any]
    encodings: Encodings | None = None
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.value) * (1 if self.encodings is None else 2)


class RecentRecords:
    """Records of recently used keys, within ``max_bytes`` of their encoded size.

    A key's item encodings count as much again. A record larger than an eighth
    of the budget is not kept. Decoded, a record takes about four times its
    encoded size in memory.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        """Bytes counted for the records kept."""
        self._kept: OrderedDict[bytes, _Kept] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def __contains__(self, key: bytes) -> bool:
        return key in self._kept

    def get(self, key: bytes, value: bytes) -> dict[str, Any] | None:
        """The record decoded from ``value`` if it is kept for ``key``, else None."""
        kept = self._kept.get(key)
        if kept is None or kept.value != value:
            return None
        self._kept.move_to_end(key)
        return kept.record

    def encodings(self, key: bytes) -> Encodings | None:
        """The item encodings of the record kept for ``key``, if any."""
        kept = self._kept.get(key)
        return None if kept is None else kept.encodings

    def put(
        self,
        key: bytes,
        value: bytes,
        record: dict[str, Any],
        encodings: Encodings | None = None,
    ) -> None:
        """Keep ``record`` (decoded from, or encoded as, ``value``) for ``key``."""
        old = self._kept.pop(key, None)
        if old is not None:
            self.size -= old.size
        if len(value) * 8 > self.max_bytes:
            return
        kept = self._kept[key] = _Kept(value, record, encodings)
        self.size += kept.size
        while self.size > self.max_bytes:
            _, evicted = self._kept.popitem(last=False)
            self.size -= evicted.size
