"""``user_profile_transform``: normalize the email, strip and validate the phone, report rules."""

from __future__ import annotations

from typing import Any

import pytest

from packetflow.testing import Execution, execute_capability
from streams import user_profile_transform


async def transform(payload: dict[str, Any]) -> Execution:
    return await execute_capability(user_profile_transform, payload, {"user_id": "u1"})


async def test_email_is_normalized_and_phone_stripped() -> None:
    run = await transform(
        {
            "user_id": "u1",
            "profile": {"email": "  Ada.Lovelace@Example.COM ", "phone": "+44 (20) 7946-0958"},
        }
    )
    result = run.response
    assert result["user_id"] == "u1"
    assert result["transformed_profile"] == {
        "email": "ada.lovelace@example.com",
        "phone": "+442079460958",
        "name": None,
    }
    assert result["validation_results"] == {"valid": True, "errors": []}
    log = result["operation_log"]
    assert (log["operations_applied"], log["operations"]) == (
        2,
        ["normalize_email", "validate_phone"],
    )


@pytest.mark.parametrize("phone", ["555-0100", "0044 20 7946 0958", "+1 (555) CALL-NOW", "+12"])
async def test_phone_that_is_not_e164_is_reported(phone: str) -> None:
    run = await transform({"user_id": "u1", "profile": {"phone": phone}})
    report = run.response["validation_results"]
    assert report["valid"] is False
    assert report["errors"] == [
        {"field": "phone", "rule": "validate_phone", "message": "phone is not E.164 (+CC...)"}
    ]


async def test_requested_validation_rules_are_reported() -> None:
    run = await transform(
        {
            "user_id": "u1",
            "profile": {"email": "not-an-email", "phone": "555 0100", "name": "  Ada   L  "},
            "transformations": ["trim_name"],
            "validation_rules": ["email_required", "phone_format"],
        }
    )
    result = run.response
    assert result["transformed_profile"] == {
        "email": "not-an-email",
        "phone": "555 0100",
        "name": "Ada L",
    }
    assert [(e["field"], e["rule"]) for e in result["validation_results"]["errors"]] == [
        ("email", "email_required"),
        ("phone", "phone_format"),
    ]
    assert result["operation_log"]["operations"] == ["trim_name"]


async def test_missing_email_breaks_email_required() -> None:
    run = await transform({"user_id": "u1", "profile": {}, "validation_rules": ["email_required"]})
    assert run.response["validation_results"]["errors"] == [
        {"field": "email", "rule": "email_required", "message": "a valid email is required"}
    ]
    assert run.response["operation_log"]["operations_applied"] == 0


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        pytest.param({"profile": {}}, ["user_id"], id="no-user"),
        pytest.param({"user_id": "", "profile": {}}, ["user_id"], id="empty-user"),
        pytest.param({"user_id": "u1"}, ["profile"], id="no-profile"),
        pytest.param(
            {"user_id": "u1", "profile": {}, "transformations": ["shout"]},
            ["transformations.0"],
            id="unknown-transformation",
        ),
        pytest.param(
            {"user_id": "u1", "profile": {"email": 5}, "validation_rules": ["strict"]},
            ["profile.email", "validation_rules.0"],
            id="wrong-types",
        ),
    ],
)
async def test_invalid_payload_is_rejected(payload: dict[str, Any], fields: list[str]) -> None:
    run = await transform(payload)
    assert not run.ok
    assert run.error is not None
    assert run.error.type == "validation_failed"
    assert [e["field"] for e in run.error.details["errors"]] == fields
    assert run.effects == []


async def test_effects_are_audit_log_and_counter() -> None:
    run = await transform({"user_id": "u1", "profile": {"email": "a@b.co"}})
    assert run.assert_effect_executed("audit_log").user_id == "u1"
    assert run.assert_metric_emitted("user_transforms") == 1.0
