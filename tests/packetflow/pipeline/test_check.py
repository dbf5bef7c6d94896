"""Step 2: unknown capabilities and payloads that break the ``requires`` contract."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from packetflow import CallContext, Registry, capability
from packetflow.envelope import CapabilityRequest
from packetflow.errors import ErrorType, InvalidPayload, UnknownCapability
from packetflow.pipeline.check import check


class Address(BaseModel):
    city: str
    zip: str = Field(pattern=r"^\d{5}$")


class Signup(BaseModel):
    email: str
    age: int = Field(ge=0)
    addresses: list[Address] = []


@capability(intent="Sign a user up", requires=Signup)
def signup(payload: Signup, ctx: CallContext) -> dict[str, Any]:
    return {}


@capability(intent="Greet", requires=["name"])
def greet(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {}


REGISTRY = Registry([signup, greet])


def request(capability_id: str, payload: dict[str, Any]) -> CapabilityRequest:
    return CapabilityRequest(capability_id=capability_id, payload=payload)


def test_unknown_capability_lists_what_is_available() -> None:
    with pytest.raises(UnknownCapability) as info:
        check(request("sign_up", {}), REGISTRY)
    assert info.value.error_type is ErrorType.UNKNOWN_CAPABILITY
    assert info.value.message == "no capability 'sign_up' is registered"
    assert info.value.details == {"capability_id": "sign_up", "available": ["greet", "signup"]}


def test_invalid_payload_names_every_field_path() -> None:
    payload = {"age": -1, "addresses": [{"city": "Oslo", "zip": "SECRET-99"}, {"zip": "12345"}]}
    with pytest.raises(InvalidPayload) as info:
        check(request("signup", payload), REGISTRY)
    error = info.value
    assert error.error_type is ErrorType.VALIDATION_FAILED
    assert error.message == "payload does not satisfy the requires contract of 'signup'"
    assert [(e["field"], e["type"]) for e in error.details["errors"]] == [
        ("email", "missing"),
        ("age", "greater_than_equal"),
        ("addresses.0.zip", "string_pattern_mismatch"),
        ("addresses.1.city", "missing"),
    ]
    assert all(e["message"] for e in error.details["errors"])


def test_invalid_payload_does_not_echo_input_values() -> None:
    payload = {"email": ["hunter2-secret"], "age": "hunter2-age", "addresses": "hunter2-addr"}
    with pytest.raises(InvalidPayload) as info:
        check(request("signup", payload), REGISTRY)
    assert "hunter2" not in json.dumps(info.value.details) + info.value.message


def test_list_form_requires_reports_missing_field() -> None:
    with pytest.raises(InvalidPayload) as info:
        check(request("greet", {"nom": "Ada"}), REGISTRY)
    assert info.value.details["errors"] == [
        {"field": "name", "message": "Field required", "type": "missing"}
    ]


def test_valid_payload_becomes_the_requires_model() -> None:
    checked = check(request("signup", {"email": "a@b.c", "age": "42"}), REGISTRY)
    assert checked.capability is signup
    assert isinstance(checked.payload, Signup)
    assert (checked.payload.email, checked.payload.age) == ("a@b.c", 42)
