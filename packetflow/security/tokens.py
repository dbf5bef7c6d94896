"""Credentials: JWTs (PyJWT) and attenuable Biscuit tokens (biscuit-python).

JWT: the accepted algorithms come from configuration, never from the token;
the key is chosen by algorithm family (an HMAC secret for ``HS*``, a public
key for ``RS*``/``PS*``/``ES*``), so a token cannot make the verifier use a
public key as an HMAC secret. ``exp`` is required; ``nbf``, ``iss`` and
``aud`` are checked when present or configured. Claims: ``sub`` (user id),
``roles`` (list of strings), ``permissions`` (list of ``NAME[:SCOPE]``).

Biscuit: the authority block holds ``user("id")``, ``role("r")`` and
``right("name", "scope")`` facts (scope ``"*"`` for any). A holder narrows a
token offline with :func:`attenuate`; appended blocks can only add checks,
so a narrowed token never grants more, and editing any byte breaks its
signature. biscuit-python is imported on first use: a worker that takes no
Biscuits never loads it (nor pays its memory).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from packetflow.errors import Forbidden, Unauthenticated
from packetflow.security.identity import Principal
from packetflow.security.permissions import Permission, parse_permission

__all__ = [
    "BiscuitVerifier",
    "JwtSettings",
    "JwtVerifier",
    "attenuate",
    "check_biscuit",
    "issue_biscuit",
]

_HMAC = ("HS256", "HS384", "HS512")
_ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


@dataclass(frozen=True, slots=True)
class JwtSettings:
    """How JWTs are verified."""

    algorithms: tuple[str, ...]
    secret: str | None = None
    public_key: str | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway_s: float = 30.0

    def __post_init__(self) -> None:
        unknown = [a for a in self.algorithms if a not in _HMAC + _ASYMMETRIC]
        if unknown:
            raise ValueError(f"unsupported JWT algorithms {unknown}; 'none' is never accepted")
        if any(a in _HMAC for a in self.algorithms) and not self.secret:
            raise ValueError("HS* algorithms need PACKETFLOW_JWT_SECRET")
        if any(a in _ASYMMETRIC for a in self.algorithms) and not self.public_key:
            raise ValueError("RS*/PS*/ES* algorithms need PACKETFLOW_JWT_PUBLIC_KEY")


class JwtVerifier:
    """Verifies a compact JWT and returns its principal, or raises Unauthenticated.

    A verified token is remembered (up to ``cache_size`` tokens) until its
    ``exp``: the same bytes always verify the same way, and a client sends the
    same token with many requests, so the signature is checked once.
    """

    def __init__(self, settings: JwtSettings, cache_size: int = 10_000) -> None:
        self.settings = settings
        self._cache: dict[str, tuple[Principal, float, float]] = {}
        self._cache_size = cache_size

    def verify(self, token: str) -> Principal:
        """The token's principal; every failure is ``Unauthenticated`` with the reason."""
        cached = self._cache.get(token)
        if cached is not None:
            principal, not_before, expires = cached
            now = time.time()
            if not_before - self.settings.leeway_s <= now < expires + self.settings.leeway_s:
                return principal
            del self._cache[token]
        principal = self._verify(token)
        claims = principal.claims
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[token] = (principal, float(claims.get("nbf", 0)), float(claims["exp"]))
        return principal

    def _verify(self, token: str) -> Principal:
        s = self.settings
        try:
            alg = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"malformed JWT: {exc}") from None
        if alg not in s.algorithms:
            raise Unauthenticated(
                f"JWT algorithm {alg!r} is not accepted", {"accepted": list(s.algorithms)}
            )
        key = s.secret if alg in _HMAC else s.public_key
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,  # type: ignore[arg-type]
                algorithms=[alg],
                issuer=s.issuer,
                audience=s.audience,
                leeway=s.leeway_s,
                options={"require": ["exp", "sub"], "verify_aud": s.audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"JWT rejected: {exc}") from None  # PyJWT says why in words
        return Principal(
            user_id=str(claims["sub"]),
            method="jwt",
            roles=frozenset(_strings(claims.get("roles"), "roles")),
            grants=tuple(_permissions(claims.get("permissions"))),
            claims=claims,
        )


class BiscuitVerifier:
    """Verifies a base64 Biscuit against the root public key (hex ed25519)."""

    def __init__(self, public_key_hex: str) -> None:
        self._root = _public_key(public_key_hex)

    def verify(self, token: str) -> Principal:
        """The token's principal from its authority block; attenuations run later."""
        import biscuit_auth as bis

        try:
            biscuit = bis.Biscuit.from_base64(token, self._root)
        except Exception as exc:  # biscuit raises several error types
            raise Unauthenticated(f"biscuit rejected: {_biscuit_reason(exc)}") from None
        authorizer = bis.AuthorizerBuilder("allow if true;").build(biscuit)
        users = [f.terms[0] for f in authorizer.query(bis.Rule("u($u) <- user($u)"))]
        if len(users) != 1:
            raise Unauthenticated("biscuit must name exactly one user")
        roles = [f.terms[0] for f in authorizer.query(bis.Rule("r($r) <- role($r)"))]
        rights = authorizer.query(bis.Rule("g($p, $s) <- right($p, $s)"))
        grants = [Permission(f.terms[0], None if f.terms[1] == "*" else f.terms[1]) for f in rights]
        return Principal(
            user_id=str(users[0]),
            method="biscuit",
            roles=frozenset(map(str, roles)),
            grants=tuple(grants),
            token=biscuit,
        )


def check_biscuit(principal: Principal, required: Iterable[Permission], capability: str) -> None:
    """Run the token's own checks (its attenuations) against this request."""
    if principal.token is None:
        return
    import biscuit_auth as bis

    code = (
        "".join(f"required({_lit(p.name)}, {_lit(p.scope or '')});" for p in required)
        + f"capability({_lit(capability)}); time({int(time.time())}); allow if true;"
    )
    builder = bis.AuthorizerBuilder(code)
    try:
        builder.build(principal.token).authorize()
    except bis.AuthorizationError as exc:
        raise Forbidden(
            "the token's attenuation does not allow this request", {"reason": str(exc)[:500]}
        ) from None


def issue_biscuit(
    private_key_hex: str,
    user_id: str,
    *,
    roles: Iterable[str] = (),
    grants: Iterable[Permission] = (),
) -> str:
    """A new base64 Biscuit for ``user_id`` (for tests, demos and token services)."""
    import biscuit_auth as bis

    key = _private_key(private_key_hex)
    facts = [f"user({_lit(user_id)});"]
    facts += [f"role({_lit(r)});" for r in roles]
    facts += [f"right({_lit(g.name)}, {_lit(g.scope or '*')});" for g in grants]
    return str(bis.BiscuitBuilder("".join(facts)).build(key).to_base64())


def attenuate(
    token: str,
    public_key_hex: str,
    *,
    only: Iterable[str] = (),
    scope_prefix: str | None = None,
    capabilities: Iterable[str] = (),
    expires_at: int | None = None,
) -> str:
    """Append a block that narrows ``token``: only these permission names, only
    scopes under ``scope_prefix``, only these capabilities, only until ``expires_at``."""
    import biscuit_auth as bis

    biscuit = bis.Biscuit.from_base64(token, _public_key(public_key_hex))
    checks = []
    names = sorted(set(only))
    if names:
        allowed = "[" + ", ".join(_lit(n) for n in names) + "]"
        checks.append(f"check all required($p, $s), {allowed}.contains($p);")
    if scope_prefix is not None:
        checks.append(f"check all required($p, $s), $s.starts_with({_lit(scope_prefix)});")
    caps = sorted(set(capabilities))
    if caps:
        allowed = "[" + ", ".join(_lit(c) for c in caps) + "]"
        checks.append(f"check if capability($c), {allowed}.contains($c);")
    if expires_at is not None:
        checks.append(f"check if time($t), $t <= {int(expires_at)};")
    if not checks:
        raise ValueError("attenuate needs at least one restriction")
    return str(biscuit.append(bis.BlockBuilder("".join(checks))).to_base64())


def _public_key(hex_key: str) -> Any:
    # biscuit-python's stubs predate the algorithm argument, hence Any
    module: Any = importlib.import_module("biscuit_auth")
    return module.PublicKey.from_bytes(bytes.fromhex(hex_key), module.Algorithm.Ed25519)


def _private_key(hex_key: str) -> Any:
    module: Any = importlib.import_module("biscuit_auth")
    return module.PrivateKey.from_bytes(bytes.fromhex(hex_key), module.Algorithm.Ed25519)


def _lit(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _strings(value: object, claim: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Unauthenticated(f"JWT claim {claim!r} must be a list of strings")
    return value


def _permissions(value: object) -> Iterable[Permission]:
    try:
        return [parse_permission(p) for p in _strings(value, "permissions")]
    except ValueError as exc:
        raise Unauthenticated(f"JWT claim 'permissions': {exc}") from None


def _biscuit_reason(exc: Exception) -> str:
    """Why a Biscuit was refused, in words (the library's own text names no class)."""
    text = str(exc)
    if text.startswith("Cannot decode base64"):
        return "the token is not base64"
    return "the token is malformed, or not signed by this worker's root key"
