"""``send_notification``: render a template and hand it to the custom ``notification`` effect."""

from __future__ import annotations

from typing import Any

import pytest

from packetflow.testing import Execution, execute_capability
from streams import send_notification


async def notify(payload: dict[str, Any]) -> Execution:
    return await execute_capability(send_notification, payload, {"user_id": "ops-1"})


async def test_welcome_is_rendered_and_queued() -> None:
    run = await notify({"recipient": "ada@example.com", "values": {"name": "Ada"}})
    assert run.response == {
        "recipient": "ada@example.com",
        "channel": "email",
        "message": "Welcome, Ada!",
    }
    effect = run.assert_effect_executed("notification")
    assert effect.data == {
        "channel": "email",
        "recipient": "ada@example.com",
        "message": "Welcome, Ada!",
        "queued_by": "ops-1",
    }
    assert (effect.capability_id, effect.user_id) == ("send_notification", "ops-1")
    run.assert_effect_executed("audit_log")
    assert run.assert_metric_emitted("notification_render") == 1.0


async def test_template_defaults_fill_in_recipient_and_capability() -> None:
    run = await notify({"recipient": "#ops", "channel": "slack", "template": "capability_executed"})
    assert run.response["message"] == "Capability send_notification ran for #ops."
    assert run.assert_effect_executed("notification").data["channel"] == "slack"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"recipient": ""}, "recipient"),
        ({"recipient": "a", "channel": "pigeon"}, "channel"),
        ({"recipient": "a", "template": "goodbye"}, "template"),
        ({"recipient": "a", "values": {"name": 3}}, "values.name"),
    ],
)
async def test_invalid_request_is_rejected_without_effects(
    payload: dict[str, Any], field: str
) -> None:
    run = await notify(payload)
    assert run.error is not None
    assert run.error.type == "validation_failed"
    assert [e["field"] for e in run.error.details["errors"]] == [field]
    assert run.effects == []
