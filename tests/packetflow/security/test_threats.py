"""Every attack the security issue lists: denied with a structured error, audited, nothing runs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from packetflow import CallContext, capability
from packetflow.security.authenticate import Authenticator
from packetflow.security.tokens import JwtSettings, JwtVerifier
from packetflow.testing import CapabilityTester, Execution
from streams import admin_user_delete, files, user_profile_update

SECRET = "s3cret-for-tests-only-0123456789abcdef"
ISSUER, AUDIENCE = "https://issuer.test", "packetflow"
RAN: list[str] = []


@capability(intent="Record that it ran", provides=["ran"])
def probe(payload: Any, ctx: CallContext) -> dict[str, Any]:
    RAN.append(ctx.user_id or "")
    return {"ran": True}


@pytest.fixture(autouse=True)
def _reset() -> None:
    RAN.clear()


@pytest.fixture(scope="module")
def rsa_pem() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


@pytest.fixture(scope="module")
def tester(rsa_pem: tuple[bytes, str]) -> CapabilityTester:
    verifier = JwtVerifier(
        JwtSettings(
            algorithms=("HS256", "RS256"),
            secret=SECRET,
            public_key=rsa_pem[1],
            issuer=ISSUER,
            audience=AUDIENCE,
            leeway_s=0,
        )
    )
    caps = [probe, admin_user_delete, user_profile_update, *files.capabilities]
    return CapabilityTester(caps, authenticator=Authenticator(required=True, jwt=verifier))


def token(sub: str = "alice", key: Any = SECRET, alg: str = "HS256", **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, **claims}
    return str(jwt.encode(body, key, algorithm=alg))


def error_type(run: Execution) -> str | None:
    return run.error.type if run.error else None


def denied(run: Execution, error_type: str) -> None:
    assert run.error is not None, f"expected {error_type}, got a response {run.response}"
    assert run.error.type == error_type, run.error
    [audit] = run.audit
    assert (audit.outcome, audit.error_type) == ("error", error_type)
    assert RAN == []


async def test_no_credential_is_refused_when_required(tester: CapabilityTester) -> None:
    denied(await tester.execute("probe", {}), "unauthenticated")


async def test_forged_signature(tester: CapabilityTester) -> None:
    forged = token(key="not-the-secret-0123456789abcdef0123")
    denied(await tester.execute("probe", {}, authorization=f"Bearer {forged}"), "unauthenticated")


async def test_alg_none(tester: CapabilityTester) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    claims = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    unsigned = f"{header}.{body}."
    run = await tester.execute("probe", {}, authorization=f"Bearer {unsigned}")
    denied(run, "unauthenticated")
    assert "not accepted" in run.error.message  # type: ignore[union-attr]


async def test_hs_rs_algorithm_confusion(
    tester: CapabilityTester, rsa_pem: tuple[bytes, str]
) -> None:
    # the attacker signs HS256 with the *public* RSA key as the HMAC secret
    header = {"alg": "HS256", "typ": "JWT"}
    now = int(time.time())
    claims = json.dumps({"sub": "mallory", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 60})

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(claims.encode())}"
    mac = hmac.new(rsa_pem[1].encode(), signing_input.encode(), hashlib.sha256).digest()
    confused = f"{signing_input}.{b64(mac)}"
    denied(await tester.execute("probe", {}, authorization=f"Bearer {confused}"), "unauthenticated")


async def test_rs256_token_is_accepted(
    tester: CapabilityTester, rsa_pem: tuple[bytes, str]
) -> None:
    good = token(key=rsa_pem[0], alg="RS256")
    run = await tester.execute("probe", {}, authorization=f"Bearer {good}")
    assert run.ok
    assert RAN == ["alice"]


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 10}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "not yet valid"),
        ({"aud": "someone-else"}, "wrong audience"),
        ({"iss": "https://evil.test"}, "wrong issuer"),
    ],
)
async def test_claims_that_do_not_hold(
    tester: CapabilityTester, claims: dict[str, Any], reason: str
) -> None:
    bad = token(**claims)
    denied(await tester.execute("probe", {}, authorization=f"Bearer {bad}"), "unauthenticated")


async def test_token_for_a_with_context_user_b(tester: CapabilityTester) -> None:
    run = await tester.execute(
        "probe", {}, {"user_id": "bob"}, authorization=f"Bearer {token(sub='alice')}"
    )
    denied(run, "unauthenticated")


async def test_missing_role(tester: CapabilityTester) -> None:
    auth = f"Bearer {token(roles=['user'])}"
    run = await tester.execute("admin_user_delete", {"user_id": "bob"}, authorization=auth)
    denied(run, "forbidden")
    assert run.error.details["required_roles"] == ["admin", "super_admin"]  # type: ignore[union-attr]


async def test_admin_role_allows(tester: CapabilityTester) -> None:
    auth = f"Bearer {token(roles=['admin'])}"
    run = await tester.execute("admin_user_delete", {"user_id": "bob"}, authorization=auth)
    assert run.response == {"deleted": "bob", "by": "alice"}


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "/docs/../etc/passwd", "/docsX/secret", "/docs//readme.md"]
)
async def test_scoped_grant_used_outside_its_scope(tester: CapabilityTester, path: str) -> None:
    auth = f"Bearer {token(permissions=['file.read:/docs/*'])}"
    run = await tester.execute("files.read", {"path": path}, authorization=auth)
    assert error_type(run) == "forbidden"
    assert run.audit[0].outcome == "error"


async def test_scoped_grant_inside_scope_and_implication(tester: CapabilityTester) -> None:
    reader = f"Bearer {token(permissions=['file.read:/docs/*'])}"
    new_file = {"path": "/docs/guide/new.md", "content": "hello"}
    writer = await tester.execute("files.write", new_file, authorization=reader)
    assert error_type(writer) == "forbidden"
    admin = f"Bearer {token(permissions=['file.admin:/docs/*'])}"  # admin ⇒ write ⇒ read
    wrote = await tester.execute("files.write", new_file, authorization=admin)
    assert wrote.response["exists"] is True
    run = await tester.execute("files.read", {"path": new_file["path"]}, authorization=reader)
    assert run.response["content"] == "hello"


async def test_predicate_bypass_attempts(tester: CapabilityTester) -> None:
    alice = f"Bearer {token(sub='alice')}"
    update = {"user_id": "bob", "updates": {"display_name": "pwned"}}
    # claiming to be bob in the context does not help: the token says alice
    run = await tester.execute(
        "user_profile_update", update, {"user_id": "bob"}, authorization=alice
    )
    assert error_type(run) == "unauthenticated"
    # no context claim: the verified identity is alice, not bob
    run = await tester.execute("user_profile_update", update, authorization=alice)
    assert error_type(run) == "forbidden"
    own = {"user_id": "alice", "updates": {"display_name": "Alice"}}
    assert (await tester.execute("user_profile_update", own, authorization=alice)).ok


async def test_sensitive_fields_are_masked_in_audit(tester: CapabilityTester) -> None:
    auth = f"Bearer {token(sub='alice')}"
    update = {"user_id": "alice", "updates": {"password": "correct horse battery"}}
    run = await tester.execute("user_profile_update", update, authorization=auth)
    assert run.ok
    [audit] = run.audit
    assert audit.payload == {"user_id": "alice", "updates": {"password": "***"}}
    assert audit.user_id == "alice"
