"""``user_profile_transform``: normalize an email, validate a phone, report what was done."""

from __future__ import annotations

import re
import time
from typing import Literal

from pydantic import BaseModel, Field

from packetflow import AuditLog, CallContext, Metric, capability

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")

Transformation = Literal["normalize_email", "validate_phone", "trim_name"]
Rule = Literal["email_required", "phone_format"]


class Profile(BaseModel):
    """The profile fields this capability understands."""

    email: str | None = None
    phone: str | None = None
    name: str | None = None


class TransformRequest(BaseModel):
    """Which profile to transform, how, and which rules to check."""

    user_id: str = Field(min_length=1)
    profile: Profile
    transformations: list[Transformation] = ["normalize_email", "validate_phone"]
    validation_rules: list[Rule] = []


class ValidationIssue(BaseModel):
    """One rule a profile breaks."""

    field: str
    rule: str
    message: str


class ValidationReport(BaseModel):
    """Whether the transformed profile satisfies every requested rule."""

    valid: bool
    errors: list[ValidationIssue]


class OperationLog(BaseModel):
    """What was applied, and how long it took."""

    operations_applied: int
    operations: list[str]
    duration_ms: float


class TransformResult(BaseModel):
    """The transformed profile with its validation report and operation log."""

    user_id: str
    transformed_profile: Profile
    validation_results: ValidationReport
    operation_log: OperationLog


@capability(
    intent="Transform a user profile: normalize the email, validate the phone, report the result",
    requires=TransformRequest,
    provides=TransformResult,
    effects=[AuditLog(level="info"), Metric.counter("user_transforms")],
)
def user_profile_transform(payload: TransformRequest, ctx: CallContext) -> TransformResult:
    """Apply the requested transformations in order, then check the rules."""
    started = time.perf_counter()
    profile = payload.profile.model_copy()
    applied: list[str] = []
    issues: list[ValidationIssue] = []
    for op in payload.transformations:
        if op == "normalize_email" and profile.email is not None:
            profile.email = profile.email.strip().lower()
            applied.append(op)
        elif op == "trim_name" and profile.name is not None:
            profile.name = " ".join(profile.name.split())
            applied.append(op)
        elif op == "validate_phone" and profile.phone is not None:
            profile.phone = re.sub(r"[\s().-]", "", profile.phone)
            applied.append(op)
            if not _PHONE.match(profile.phone):
                issues.append(_issue("phone", "validate_phone", "phone is not E.164 (+CC...)"))
    for rule in payload.validation_rules:
        if rule == "email_required" and not (profile.email and _EMAIL.match(profile.email)):
            issues.append(_issue("email", rule, "a valid email is required"))
        elif rule == "phone_format" and profile.phone and not _PHONE.match(profile.phone):
            issues.append(_issue("phone", rule, "phone is not E.164 (+CC...)"))
    return TransformResult(
        user_id=payload.user_id,
        transformed_profile=profile,
        validation_results=ValidationReport(valid=not issues, errors=issues),
        operation_log=OperationLog(
            operations_applied=len(applied),
            operations=applied,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        ),
    )


def _issue(field: str, rule: str, message: str) -> ValidationIssue:
    return ValidationIssue(field=field, rule=rule, message=message)
