"""Attenuable Biscuit tokens: narrowed offline, never widened."""

from __future__ import annotations

import base64
import time

import biscuit_auth as bis
import pytest

from packetflow.security import Permission
from packetflow.security.authenticate import Authenticator
from packetflow.security.tokens import BiscuitVerifier, attenuate, issue_biscuit
from packetflow.testing import CapabilityTester
from streams import files

KEYS = bis.KeyPair()
PRIVATE = bytes(KEYS.private_key.to_bytes()).hex()
PUBLIC = bytes(KEYS.public_key.to_bytes()).hex()


@pytest.fixture(scope="module")
def tester() -> CapabilityTester:
    auth = Authenticator(required=True, biscuit=BiscuitVerifier(PUBLIC))
    return CapabilityTester(files.capabilities, authenticator=auth)


def full_token() -> str:
    grants = [Permission("file.write", "/docs/*")]  # write ⇒ read
    return issue_biscuit(PRIVATE, "ann", roles=["editor"], grants=grants)


async def _call(tester: CapabilityTester, token: str, cap: str, path: str) -> str | None:
    payload = {"path": path, "content": "x"} if cap == "files.write" else {"path": path}
    run = await tester.execute(cap, payload, authorization=f"Biscuit {token}")
    return run.error.type if run.error else "ok"


async def test_issued_token_carries_its_grants(tester: CapabilityTester) -> None:
    token = full_token()
    assert await _call(tester, token, "files.read", "/docs/readme.md") == "ok"
    assert await _call(tester, token, "files.write", "/docs/new.md") == "ok"
    assert await _call(tester, token, "files.read", "/etc/passwd") == "forbidden"


async def test_attenuated_to_read_only_under_a_subtree(tester: CapabilityTester) -> None:
    narrowed = attenuate(full_token(), PUBLIC, only=["file.read"], scope_prefix="/docs/guide/")
    assert await _call(tester, narrowed, "files.read", "/docs/guide/intro.md") == "ok"
    assert await _call(tester, narrowed, "files.read", "/docs/readme.md") == "forbidden"
    assert await _call(tester, narrowed, "files.write", "/docs/guide/x.md") == "forbidden"


async def test_attenuation_can_expire_and_restrict_capabilities(tester: CapabilityTester) -> None:
    expired = attenuate(full_token(), PUBLIC, expires_at=int(time.time()) - 1)
    assert await _call(tester, expired, "files.read", "/docs/readme.md") == "forbidden"
    only_read = attenuate(full_token(), PUBLIC, capabilities=["files.read"])
    assert await _call(tester, only_read, "files.read", "/docs/readme.md") == "ok"
    assert await _call(tester, only_read, "files.write", "/docs/a.md") == "forbidden"


async def test_a_block_adding_rights_does_not_widen(tester: CapabilityTester) -> None:
    narrowed = attenuate(full_token(), PUBLIC, only=["file.read"])
    token = bis.Biscuit.from_base64(narrowed, KEYS.public_key)
    widened = token.append(bis.BlockBuilder('right("file.admin", "*"); user("root");'))
    assert await _call(tester, widened.to_base64(), "files.write", "/docs/a.md") == "forbidden"
    assert await _call(tester, widened.to_base64(), "files.read", "/etc/passwd") == "forbidden"


async def test_editing_the_bytes_breaks_the_signature(tester: CapabilityTester) -> None:
    narrowed = attenuate(full_token(), PUBLIC, only=["file.read"])
    raw = bytearray(base64.urlsafe_b64decode(narrowed + "=" * (-len(narrowed) % 4)))
    for position in (len(raw) // 3, len(raw) // 2, len(raw) - 10):
        edited = bytearray(raw)
        edited[position] ^= 0x01
        forged = base64.urlsafe_b64encode(bytes(edited)).decode().rstrip("=")
        assert await _call(tester, forged, "files.write", "/docs/a.md") == "unauthenticated"


async def test_dropping_the_attenuation_block_is_detected(tester: CapabilityTester) -> None:
    narrowed = attenuate(full_token(), PUBLIC, only=["file.read"])
    original = full_token()
    # splicing another token's authority block under this one's signature fails
    half = len(narrowed) // 2
    spliced = original[:half] + narrowed[half:]
    assert await _call(tester, spliced, "files.write", "/docs/a.md") == "unauthenticated"


def test_attenuate_needs_a_restriction() -> None:
    with pytest.raises(ValueError, match="at least one restriction"):
        attenuate(full_token(), PUBLIC)


@pytest.mark.parametrize(
    "token",
    [
        "not-a-biscuit",
        base64.urlsafe_b64encode(b"\x00" * 64).decode(),
        issue_biscuit(bytes(bis.KeyPair().private_key.to_bytes()).hex(), "mallory"),  # other key
    ],
    ids=["garbage", "zeros", "other-key"],
)
def test_a_rejected_biscuit_is_explained_in_words(token: str) -> None:
    from packetflow.errors import Unauthenticated

    with pytest.raises(Unauthenticated) as info:
        BiscuitVerifier(PUBLIC).verify(token)
    message = info.value.message
    assert message.startswith("biscuit rejected: ")
    assert "Error" not in message  # no Python exception class name
    assert len(message) > len("biscuit rejected: ") + 10
