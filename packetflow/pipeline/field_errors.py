"""Envelope validation errors in the protocol's words, not pydantic's or Python's.

Each error is ``{"field", "message", "type"}``; a field of the wrong JSON type is
``wrong_type`` and also says what was ``expected``. Input values are never echoed.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

__all__ = ["envelope_details"]

_KINDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "float_type": "a number",
    "list_type": "a list",
    "dict_type": "a JSON object",
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
}
"""What a field of each pydantic type error should have been, in JSON's words."""

_FIELDS = {
    "metadata.timeout": "an integer number of milliseconds",
    "metadata.reply_partition": "an integer partition",
}
"""Fields whose expectation says more than their JSON type."""

_BOUNDS = {
    "missing": "is required",
    "string_too_short": "must be at least {min_length} characters long",
    "string_too_long": "must be at most {max_length} characters long",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
}


def envelope_details(exc: ValidationError) -> dict[str, Any]:
    """``{"errors": [...]}`` for a refused envelope, one entry per wrong field."""
    return {"errors": [_error(err) for err in exc.errors(include_url=False)]}


def _error(err: Any) -> dict[str, Any]:
    field = ".".join(str(part) for part in err["loc"]) or "(root)"
    kind: str = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", '"')
        if isinstance(err.get("input"), str):
            return _entry(field, f"must be one of {expected}", "not_one_of", expected)
        return _entry(field, f"must be {expected}", "wrong_type", expected)
    if kind in _KINDS:
        expected = _FIELDS.get(field, _KINDS[kind])
        return _entry(field, f"must be {expected}", "wrong_type", expected)
    try:
        message = _BOUNDS[kind].format_map(ctx)
    except (KeyError, ValueError):
        message = str(err["msg"])
    return {"field": field, "message": message, "type": kind}


def _entry(field: str, message: str, kind: str, expected: str) -> dict[str, Any]:
    return {"field": field, "message": message, "type": kind, "expected": expected}
