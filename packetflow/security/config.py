"""The verifiers and rate limits that :class:`~packetflow.settings.AuthSettings` describe."""

from __future__ import annotations

from pathlib import Path

from packetflow.ratelimit.rule import RateLimit
from packetflow.security.authenticate import Authenticator
from packetflow.security.permissions import Permission, parse_permission
from packetflow.security.tokens import BiscuitVerifier, JwtSettings, JwtVerifier
from packetflow.settings import AuthSettings, SettingsError

__all__ = ["authenticator_from", "rate_limit_overrides"]


def authenticator_from(auth: AuthSettings) -> Authenticator:
    """The authenticator ``auth`` describes; :class:`SettingsError` names a bad variable."""
    return Authenticator(
        required=auth.mode == "required",
        jwt=_jwt(auth),
        biscuit=_biscuit(auth),
        anonymous_grants=_grants(auth),
    )


def rate_limit_overrides(auth: AuthSettings) -> dict[str, RateLimit]:
    """``PACKETFLOW_RATE_LIMITS="cap=10/1s,other=100/1m"`` as a mapping."""
    out: dict[str, RateLimit] = {}
    for item in auth.rate_limits:
        cap, sep, spec = item.partition("=")
        try:
            if not sep or not cap.strip():
                raise ValueError("expected CAPABILITY=REQUESTS/SECONDS")
            out[cap.strip()] = RateLimit.parse(spec.strip())
        except ValueError as exc:
            variable = AuthSettings.variable("rate_limits")
            raise SettingsError(f"{variable} item {item!r}: {exc}") from None
    return out


def _jwt(auth: AuthSettings) -> JwtVerifier | None:
    if not auth.jwt_algorithms:
        return None
    public_key = auth.jwt_public_key
    if public_key is not None and public_key.startswith("@"):
        public_key = Path(public_key[1:]).read_text()
    try:
        return JwtVerifier(
            JwtSettings(
                algorithms=auth.jwt_algorithms,
                secret=auth.jwt_secret,
                public_key=public_key,
                issuer=auth.jwt_issuer,
                audience=auth.jwt_audience,
                leeway_s=float(auth.jwt_leeway),
            )
        )
    except ValueError as exc:
        raise SettingsError(f"PACKETFLOW_JWT_*: {exc}") from None


def _biscuit(auth: AuthSettings) -> BiscuitVerifier | None:
    if auth.biscuit_public_key is None:
        return None
    try:
        return BiscuitVerifier(auth.biscuit_public_key)
    except ValueError as exc:
        variable = AuthSettings.variable("biscuit_public_key")
        raise SettingsError(f"{variable}: expected an Ed25519 public key in hex ({exc})") from None


def _grants(auth: AuthSettings) -> tuple[Permission, ...]:
    try:
        return tuple(parse_permission(grant) for grant in auth.anonymous_grants)
    except ValueError as exc:
        variable = AuthSettings.variable("anonymous_grants")
        raise SettingsError(f"{variable}: {exc}") from None
