"""Mask declared sensitive fields before a payload reaches audit records or logs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "mask"]

MASK = "***"


def mask(payload: dict[str, Any], sensitive: Iterable[str]) -> dict[str, Any]:
    """A copy of ``payload`` with each dotted path in ``sensitive`` replaced by ``***``.

    A path names a field (``password``) or a nested one (``profile.ssn``); a
    list on the way masks the field in every item.
    """
    paths = [p.split(".") for p in sensitive]
    if not paths:
        return payload
    out: dict[str, Any] = _copy(payload)
    for path in paths:
        _mask(out, path)
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _mask(node: Any, path: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _mask(item, path)
        return
    if not isinstance(node, dict) or path[0] not in node:
        return
    if len(path) == 1:
        node[path[0]] = MASK
    else:
        _mask(node[path[0]], path[1:])
