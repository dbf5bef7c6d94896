"""Verified JWTs are remembered until they expire, never past it."""

from __future__ import annotations

import time

import jwt
import pytest

from packetflow.errors import Unauthenticated
from packetflow.security.tokens import JwtSettings, JwtVerifier

SECRET = "cache-secret-0123456789abcdef0123456789"


def _token(exp: float) -> str:
    return str(jwt.encode({"sub": "ann", "exp": int(exp)}, SECRET, algorithm="HS256"))


def test_a_token_is_verified_once_then_served_from_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = JwtVerifier(JwtSettings(algorithms=("HS256",), secret=SECRET, leeway_s=0))
    token = _token(time.time() + 60)
    first = verifier.verify(token)
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: pytest.fail("verified twice"))
    assert verifier.verify(token) is first


def test_a_cached_token_stops_working_when_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = JwtVerifier(JwtSettings(algorithms=("HS256",), secret=SECRET, leeway_s=0))
    now = time.time()
    token = _token(now + 5)
    assert verifier.verify(token).user_id == "ann"
    calls: list[str] = []

    def expired(*args: object, **kwargs: object) -> None:
        calls.append("decode")
        raise jwt.ExpiredSignatureError("Signature has expired")

    monkeypatch.setattr(time, "time", lambda: now + 10)  # past exp: the cache must not answer
    monkeypatch.setattr(jwt, "decode", expired)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)
    assert calls == ["decode"]


def test_a_rejected_token_is_not_cached() -> None:
    verifier = JwtVerifier(JwtSettings(algorithms=("HS256",), secret=SECRET, leeway_s=0))
    forged = str(jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, "x" * 40, "HS256"))
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            verifier.verify(forged)
