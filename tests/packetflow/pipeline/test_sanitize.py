"""Payload limits and sanitization: what a record may hold, and what is stripped from it."""

from __future__ import annotations

import copy
import json
import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import from_json

from packetflow.errors import ErrorType, PayloadTooLarge, ProtocolError
from packetflow.pipeline.sanitize import Limits, json_is_clean, sanitize
from packetflow.testing import CapabilityTester
from streams import user_profile_transform

SMALL = Limits(max_depth=3, max_width=3)
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def nested(depth: int) -> dict[str, Any]:
    """``depth`` nested objects: nested(1) == {}, nested(2) == {"a": {}}."""
    doc: dict[str, Any] = {}
    for _ in range(depth - 1):
        doc = {"a": doc}
    return doc


def too_large(value: Any, limits: Limits = SMALL, where: str = "payload") -> PayloadTooLarge:
    with pytest.raises(PayloadTooLarge) as info:
        sanitize(value, limits, where)
    return info.value


# --- depth ----------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_nesting_up_to_max_depth_is_accepted(depth: int) -> None:
    assert sanitize(nested(depth), SMALL) == nested(depth)


def test_nesting_beyond_max_depth_names_the_field() -> None:
    error = too_large(nested(4))
    assert error.error_type is ErrorType.PAYLOAD_TOO_LARGE
    assert error.message == "payload.a.a.a is nested deeper than 3 levels"
    assert error.details == {"field": "payload.a.a.a", "max_depth": 3}


def test_path_names_list_indexes_and_keys() -> None:
    value = {"a": [0, 1, 2, {"b": {"c": 1}}]}
    error = too_large(value, Limits(max_depth=3, max_width=4))
    assert error.details["field"] == "payload.a[3].b"
    assert error.message == "payload.a[3].b is nested deeper than 3 levels"


def test_lists_count_as_nesting_like_objects() -> None:
    assert sanitize([[[]]], SMALL) == [[[]]]
    assert too_large([[[[]]]]).details["field"] == "payload[0][0][0]"


def test_scalars_do_not_count_as_a_level() -> None:
    assert sanitize({"a": {"b": {"c": "deep enough"}}}, SMALL) == {"a": {"b": {"c": "deep enough"}}}


def test_the_path_starts_with_the_field_being_checked() -> None:
    assert too_large(nested(4), where="context").details["field"] == "context.a.a.a"


def test_default_depth_is_32() -> None:
    assert Limits().max_depth == 32
    assert sanitize(nested(32), Limits()) == nested(32)
    assert too_large(nested(33), Limits()).details["max_depth"] == 32


# --- width ----------------------------------------------------------------------------------


def test_width_up_to_the_limit_is_accepted() -> None:
    value = {"a": [1, 2, 3], "b": {"x": 1, "y": 2, "z": 3}, "c": "x" * 10_000}
    assert sanitize(value, SMALL) == value


def test_too_many_items_names_the_list() -> None:
    error = too_large({"a": [0, 1, 2, {"b": [1, 2, 3, 4, 5]}]}, Limits(max_width=4))
    assert error.message == "payload.a[3].b has more than 4 items"
    assert error.details == {"field": "payload.a[3].b", "max_width": 4}


def test_too_many_keys_names_the_object() -> None:
    error = too_large({"a": {"k1": 1, "k2": 2, "k3": 3, "k4": 4}})
    assert error.details == {"field": "payload.a", "max_width": 3}


def test_too_many_keys_at_the_top_names_the_field_itself() -> None:
    assert too_large({"k1": 1, "k2": 2, "k3": 3, "k4": 4}).details["field"] == "payload"


def test_default_width_is_ten_thousand() -> None:
    assert sanitize(list(range(10_000)), Limits()) == list(range(10_000))
    assert too_large(list(range(10_001)), Limits()).details["max_width"] == 10_000


# --- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_non_finite_numbers_are_a_protocol_error(number: float) -> None:
    with pytest.raises(ProtocolError) as info:
        sanitize({"a": [1, {"x": number}]}, SMALL)
    assert info.value.message == "payload.a[1].x holds a number out of range"
    assert info.value.details == {"field": "payload.a[1].x"}


@pytest.mark.parametrize("number", [0, -1, 2**70, -(2**200), 1.5, 1e308, -5e-324, True, None])
def test_finite_numbers_and_big_integers_pass(number: Any) -> None:
    assert sanitize({"n": number}, SMALL) == {"n": number}


# --- strings --------------------------------------------------------------------------------

STRIPPED = [
    chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]
]


@pytest.mark.parametrize("char", STRIPPED, ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_are_stripped_from_strings_and_keys(char: str) -> None:
    value = {f"k{char}ey": [f"a{char}b", {"x": f"{char}{char}c{char}"}]}
    assert sanitize(value, SMALL) == {"key": ["ab", {"x": "c"}]}


def test_tab_newline_and_carriage_return_are_kept() -> None:
    value = {"k\tey\n": "line 1\r\nline 2\tend"}
    assert sanitize(value, SMALL) == value


@pytest.mark.parametrize(
    "text", ["Zoë", "日本語", "\U0001f600", "\u00a0no-break space", "\u200b", "\u2028", "\ufeff"]
)
def test_other_unicode_is_untouched(text: str) -> None:
    assert sanitize({text: text}, SMALL) == {text: text}


def test_input_is_not_modified() -> None:
    value = {"a\x00": ["b\x01", {"c": "\x7f"}]}
    before = copy.deepcopy(value)
    assert sanitize(value, SMALL) == {"a": ["b", {"c": ""}]}
    assert value == before


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
clean_text = st.text().filter(lambda s: not CONTROL.search(s))
clean_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | clean_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(clean_text, inner, max_size=4),
    max_leaves=20,
)


@given(value=clean_values)
def test_clean_input_comes_back_unchanged(value: Any) -> None:
    assert sanitize(value, Limits()) == value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@given(value=json_values)
def test_output_holds_no_control_characters_and_is_stable(value: Any) -> None:
    cleaned = sanitize(value, Limits())
    assert not any(CONTROL.search(s) for s in _strings(cleaned))
    assert sanitize(cleaned, Limits()) == cleaned
    json.dumps(cleaned)  # still JSON


# --- through the worker's request path ------------------------------------------------------


def request(payload: Any, context: Any = None, request_id: str = "req-1") -> bytes:
    doc = {
        "version": "1.0",
        "type": "capability_request",
        "id": request_id,
        "capability_id": "user_profile_transform",
        "payload": payload,
        "context": context or {"user_id": "u1"},
        "metadata": {"reply_partition": 0},
    }
    return json.dumps(doc).encode()


async def test_over_deep_payload_is_dead_lettered_and_answered_payload_too_large() -> None:
    tester = CapabilityTester([user_profile_transform], limits=Limits(max_depth=4))
    value = request({"user_id": "u1", "profile": {"a": [{"b": {}}]}})
    headers = [("traceparent", b"00-abc-def-01"), ("x-app", b"demo")]
    run = await tester.send_raw(value, key=b"req-1", headers=headers)

    [dead] = run.dead_letters
    assert (dead.key, dead.value) == (b"req-1", value)
    assert dict(dead.headers)["packetflow.error.type"] == b"payload_too_large"
    assert list(dead.headers[:2]) == headers

    assert run.error is not None
    assert run.error.type == "payload_too_large"
    assert run.error.details == {"field": "payload.profile.a[0].b", "max_depth": 4}
    [answer] = run.on(run.topics.errors)
    assert answer["correlation_id"] == "req-1"
    assert answer["capability_id"] == "user_profile_transform"
    assert answer["metadata"]["error_code"] == "E008"
    assert not run.on(run.topics.responses)
    assert [a.outcome for a in run.audit] == ["dead_letter"]


async def test_too_wide_context_is_dead_lettered() -> None:
    tester = CapabilityTester([user_profile_transform], limits=Limits(max_width=3))
    value = request({"user_id": "u1", "profile": {}}, {"tags": [1, 2, 3, 4]})
    run = await tester.send_raw(value, key=b"req-1")
    assert len(run.dead_letters) == 1
    assert run.error is not None
    assert run.error.details == {"field": "context.tags", "max_width": 3}


async def test_non_finite_number_is_dead_lettered_as_protocol_error() -> None:
    value = request({"user_id": "u1", "profile": {}, "score": 1}).replace(
        b'"score": 1', b'"score": 1e400'
    )
    run = await CapabilityTester([user_profile_transform]).send_raw(value, key=b"req-1")
    assert len(run.dead_letters) == 1
    assert run.error is not None
    assert run.error.type == "protocol_error"
    assert run.error.message == "payload.score holds a number out of range"


async def test_control_characters_are_stripped_before_the_capability_sees_them() -> None:
    payload = {
        "user_id": "u\x001",
        "profile": {"email": " Ann\x07@Example.COM\x1b ", "name": "A\tB"},
    }
    context = {"user_id": "al\x00ice", "tenant\x01": "ac\x9fme\n"}
    run = await CapabilityTester([user_profile_transform]).send_raw(request(payload, context))
    assert run.response["user_id"] == "u1"
    assert run.response["transformed_profile"]["email"] == "ann@example.com"
    assert run.response["transformed_profile"]["name"] == "A\tB"
    [response] = run.on(run.topics.responses)
    assert response["context"]["user_id"] == "alice"
    assert response["context"]["tenant"] == "acme\n"
    [audit] = run.audit
    assert audit.user_id == "alice"
    assert audit.payload is not None
    assert audit.payload["user_id"] == "u1"


async def test_clean_request_is_answered_unchanged() -> None:
    payload = {"user_id": "Zoë\t日本", "profile": {"email": "a@b.co", "name": "line\r\nbreak"}}
    run = await CapabilityTester([user_profile_transform]).send_raw(request(payload))
    assert run.response["user_id"] == "Zoë\t日本"
    [audit] = run.audit
    assert audit.payload == payload


# --- the byte scan that lets clean JSON skip the walk ---------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@given(JSON_VALUES, st.booleans())
def test_json_called_clean_is_left_alone_by_the_walk(value: Any, ascii_only: bool) -> None:
    text = json.dumps({"payload": value}, ensure_ascii=ascii_only).encode()
    parsed = from_json(text)["payload"]  # as the decoder reads it
    if json_is_clean(text, SMALL):
        assert sanitize(parsed, SMALL) == parsed


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": "bell\\u0007"}',
        b'{"a": "\\b backspace"}',
        b'{"a": "\\f form feed"}',
        '{"a": "c1 \u0085 control"}'.encode(),
        '{"a": "del \u007f"}'.encode(),
        b'{"a": 1e400}',
        b'{"a": 1E400}',
        b'{"a": ' + b"9" * 400 + b".0}",
        b'{"a": [[[[]]]]}',  # deeper than SMALL allows
        b'{"a": [1, 2, 3, 4]}',  # wider than SMALL allows
    ],
)
def test_json_that_sanitizing_could_change_is_never_called_clean(text: bytes) -> None:
    assert not json_is_clean(text, SMALL)


def test_ordinary_json_is_called_clean() -> None:
    assert json_is_clean(b'{"name": "Ann", "tags": ["x"], "n": 12, "f": 1.5}', Limits())


def test_many_short_numbers_are_clean_and_one_long_one_is_not() -> None:
    short = b'{"ids": [' + b", ".join(b"123456" for _ in range(60)) + b"]}"
    assert json_is_clean(short, Limits())  # 360 digits, none in a run of 300
    assert not json_is_clean(b'{"a": [1, ' + b"7" * 310 + b"]}", Limits())
