"""Payload limits and string sanitization, applied while decoding.

Rules (documented in docs/protocol.md):

- nesting deeper than ``max_depth`` or a container with more than ``max_width``
  items or keys → ``payload_too_large``;
- numbers that are not finite (``1e400``) → ``protocol_error``;
- control characters U+0000-U+001F except TAB, LF and CR, and U+007F-U+009F,
  are removed from every string and key;
- invalid UTF-8 and lone surrogates never get this far: the decoders refuse them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from packetflow.errors import PayloadTooLarge, ProtocolError

__all__ = ["Limits", "json_is_clean", "sanitize"]

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# What JSON text needs to hold a control character (\b, \f, \u00XX, U+007F raw,
# U+0080-U+009F raw) or a number out of float range (an exponent, 300+ digits).
_ESCAPES = re.compile(rb"\\[bfu]")
_C1 = re.compile(rb"\xc2[\x80-\x9f]")
_NUMBERS = bytes.maketrans(b"123456789E", b"000000000e")  # digits as 0, exponents as e
_LONG_NUMBER = re.compile(rb"[0-9]{300}")  # looked for only when there are 300 digits


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits checked before anything else is done with a record."""

    max_record_bytes: int = 1_048_576
    max_depth: int = 32
    max_width: int = 10_000


def json_is_clean(text: bytes, limits: Limits) -> bool:
    """True if :func:`sanitize` cannot change or refuse anything parsed from JSON ``text``.

    A cheap scan of the bytes, so the common record skips the walk: fewer
    brackets than ``max_depth`` bound the nesting, fewer commas than
    ``max_width`` bound every container, and none of the sequences that can
    spell a control character or an out-of-range number occurs. It may say
    False for a clean text (then the walk decides), never True for a dirty one.
    """
    if (
        text.count(b"[") + text.count(b"{") >= limits.max_depth
        or (len(text) >= limits.max_width and text.count(b",") >= limits.max_width)
        or (b"\\" in text and _ESCAPES.search(text))
        or b"\x7f" in text
        or (b"\xc2" in text and _C1.search(text))
    ):
        return False
    numbers = text.translate(_NUMBERS)  # one pass instead of a regex (3x slower) per check
    return b"0e" not in numbers and (numbers.count(b"0") < 300 or not _LONG_NUMBER.search(text))


def sanitize(value: Any, limits: Limits, where: str = "payload") -> Any:
    """``value`` with control characters removed; raises on limits and non-finite numbers."""
    try:
        return _clean(value, limits, 0)
    except _Fault as fault:
        path = where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in fault.path)
        if fault.kind == "depth":
            raise PayloadTooLarge(
                f"{path} is nested deeper than {limits.max_depth} levels",
                {"field": path, "max_depth": limits.max_depth},
            ) from None
        if fault.kind == "width":
            raise PayloadTooLarge(
                f"{path} has more than {limits.max_width} items",
                {"field": path, "max_width": limits.max_width},
            ) from None
        raise ProtocolError(f"{path} holds a number out of range", {"field": path}) from None


class _Fault(Exception):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.path: list[str | int] = []


def _clean(value: Any, limits: Limits, depth: int) -> Any:
    if isinstance(value, str):
        return _CONTROL.sub("", value) if _CONTROL.search(value) else value
    if isinstance(value, dict):
        _check(value, limits, depth)
        out = {}
        for k, v in value.items():
            try:
                out[_clean(k, limits, depth)] = _clean(v, limits, depth + 1)
            except _Fault as fault:
                fault.path.insert(0, k)
                raise
        return out
    if isinstance(value, list):
        _check(value, limits, depth)
        items = []
        for i, v in enumerate(value):
            try:
                items.append(_clean(v, limits, depth + 1))
            except _Fault as fault:
                fault.path.insert(0, i)
                raise
        return items
    if isinstance(value, float) and not math.isfinite(value):
        raise _Fault("number")
    return value


def _check(container: dict[Any, Any] | list[Any], limits: Limits, depth: int) -> None:
    if depth >= limits.max_depth:
        raise _Fault("depth")
    if len(container) > limits.max_width:
        raise _Fault("width")
