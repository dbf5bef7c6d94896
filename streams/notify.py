"""``send_notification``: render a message and hand it to a custom ``notification`` effect."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from packetflow import AuditLog, CallContext, Custom, EffectInvocation, Metric, capability


class NotificationRequest(BaseModel):
    """Who to notify, on which channel, with which template values."""

    recipient: str = Field(min_length=1)
    channel: Literal["email", "slack", "sms"] = "email"
    template: Literal["capability_executed", "welcome"] = "welcome"
    values: dict[str, str] = {}


class NotificationResult(BaseModel):
    """The rendered message and where it goes."""

    recipient: str
    channel: str
    message: str


TEMPLATES = {
    "welcome": "Welcome, {name}!",
    "capability_executed": "Capability {capability} ran for {name}.",
}


def deliver(invocation: EffectInvocation) -> Mapping[str, Any]:
    """The custom effect: a real deployment would call a mail or chat API here."""
    return {
        "channel": invocation.result["channel"],
        "recipient": invocation.result["recipient"],
        "message": invocation.result["message"],
        "queued_by": invocation.context.get("user_id"),
    }


@capability(
    intent="Render a notification from a template and queue it for delivery",
    requires=NotificationRequest,
    provides=NotificationResult,
    effects=[
        AuditLog(level="info"),
        Metric.histogram("notification_render"),
        Custom("notification", deliver, {"transport": "effects-topic"}),
    ],
    rate_limit="100/60s",
)
def send_notification(payload: NotificationRequest, ctx: CallContext) -> NotificationResult:
    """Fill the template; missing values are left as ``{name}`` placeholders."""
    values = {"name": payload.recipient, "capability": ctx.capability_id, **payload.values}
    message = TEMPLATES[payload.template].format_map(_Keep(values))
    return NotificationResult(recipient=payload.recipient, channel=payload.channel, message=message)


class _Keep(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
