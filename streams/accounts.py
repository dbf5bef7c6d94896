"""Account capabilities showing RBAC and ABAC (seed 000, "Security Model")."""

from __future__ import annotations

from pydantic import BaseModel, Field

from packetflow import AuditLog, CallContext, capability


class DeleteUser(BaseModel):
    """Which user to delete."""

    user_id: str = Field(min_length=1)


class Deleted(BaseModel):
    """Who was deleted, by whom."""

    deleted: str
    by: str | None


@capability(
    intent="Delete a user account (administrators only)",
    requires=DeleteUser,
    provides=Deleted,
    authorize=["admin", "super_admin"],
    effects=[AuditLog(level="warning")],
)
def admin_user_delete(payload: DeleteUser, ctx: CallContext) -> Deleted:
    """RBAC: runs only for callers holding the ``admin`` or ``super_admin`` role."""
    return Deleted(deleted=payload.user_id, by=ctx.user_id)


class ProfileUpdates(BaseModel):
    """Fields a user may change; the password never appears in audit records."""

    display_name: str | None = Field(default=None, max_length=100)
    email: str | None = None
    password: str | None = Field(default=None, min_length=8)


class UpdateProfile(BaseModel):
    """Whose profile, and what changes."""

    user_id: str = Field(min_length=1)
    updates: ProfileUpdates


class ProfileUpdated(BaseModel):
    """Which fields changed."""

    user_id: str
    changed: list[str]


def owner_or_admin(payload: UpdateProfile, ctx: CallContext) -> bool:
    """ABAC: users may update only their own profile; admins any."""
    return (ctx.principal.verified and payload.user_id == ctx.user_id) or "admin" in ctx.roles


@capability(
    intent="Update a user's profile (the user themself, or an admin)",
    requires=UpdateProfile,
    provides=ProfileUpdated,
    authorize=owner_or_admin,
    sensitive=["updates.password"],
    effects=[AuditLog(level="info")],
)
def user_profile_update(payload: UpdateProfile, ctx: CallContext) -> ProfileUpdated:
    """Report the fields that would change (storage is the application's concern)."""
    changed = sorted(k for k, v in payload.updates.model_dump().items() if v is not None)
    return ProfileUpdated(user_id=payload.user_id, changed=changed)
