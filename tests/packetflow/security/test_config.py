"""The authenticator and rate limits built from the auth settings, and their refusals."""

from __future__ import annotations

from pathlib import Path

import biscuit_auth as bis
import pytest

from packetflow.security import Permission, RateLimit
from packetflow.security.config import authenticator_from, rate_limit_overrides
from packetflow.settings import AuthSettings, Settings, SettingsError

SECRET = "s" * 40


def test_the_defaults_require_a_credential_and_accept_no_token() -> None:
    auth = authenticator_from(AuthSettings())
    assert auth.required
    assert (auth.jwt, auth.biscuit, auth.anonymous_grants) == (None, None, ())


def test_every_verifier_the_variables_describe_is_built(tmp_path: Path) -> None:
    pem = tmp_path / "key.pem"
    pem.write_text("-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n")
    public = bytes(bis.KeyPair().public_key.to_bytes()).hex()
    settings = Settings.from_env(
        {
            "PACKETFLOW_AUTH": "optional",
            "PACKETFLOW_ANONYMOUS_GRANTS": "counter.basic, file.read:/public/*",
            "PACKETFLOW_JWT_ALGORITHMS": "HS256,RS256",
            "PACKETFLOW_JWT_SECRET": SECRET,
            "PACKETFLOW_JWT_PUBLIC_KEY": f"@{pem}",
            "PACKETFLOW_JWT_ISSUER": "acme",
            "PACKETFLOW_JWT_LEEWAY": "5",
            "PACKETFLOW_BISCUIT_PUBLIC_KEY": public,
        }
    )
    auth = authenticator_from(settings.auth)
    assert not auth.required
    assert auth.anonymous_grants == (
        Permission("counter.basic"),
        Permission("file.read", "/public/*"),
    )
    assert auth.jwt is not None
    jwt = auth.jwt.settings
    assert (jwt.algorithms, jwt.secret, jwt.issuer, jwt.audience) == (
        ("HS256", "RS256"),
        SECRET,
        "acme",
        None,
    )
    assert jwt.public_key == pem.read_text()
    assert jwt.leeway_s == 5.0
    assert auth.biscuit is not None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PACKETFLOW_JWT_ALGORITHMS": "HS256"}, "PACKETFLOW_JWT_*: HS* algorithms need"),
        ({"PACKETFLOW_JWT_ALGORITHMS": "none"}, "PACKETFLOW_JWT_*: unsupported JWT algorithms"),
        ({"PACKETFLOW_ANONYMOUS_GRANTS": "counter.basic,:x"}, "PACKETFLOW_ANONYMOUS_GRANTS: "),
        ({"PACKETFLOW_BISCUIT_PUBLIC_KEY": "not-hex"}, "PACKETFLOW_BISCUIT_PUBLIC_KEY: expected"),
        ({"PACKETFLOW_BISCUIT_PUBLIC_KEY": "abcd"}, "PACKETFLOW_BISCUIT_PUBLIC_KEY: expected"),
    ],
)
def test_unusable_credentials_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    settings = Settings.from_env(env)
    with pytest.raises(SettingsError) as info:
        authenticator_from(settings.auth)
    assert str(info.value).startswith(message)


def test_rate_limit_overrides_are_parsed_and_checked() -> None:
    s = Settings.from_env({"PACKETFLOW_RATE_LIMITS": " greet=10/1s , other=5/60s ,"})
    assert rate_limit_overrides(s.auth) == {
        "greet": RateLimit(10, 1.0),
        "other": RateLimit(5, 60.0),
    }
    with pytest.raises(SettingsError, match="PACKETFLOW_RATE_LIMITS item 'greet'"):
        rate_limit_overrides(AuthSettings(rate_limits=("greet",)))
    with pytest.raises(SettingsError, match="PACKETFLOW_RATE_LIMITS item 'greet=fast'"):
        rate_limit_overrides(AuthSettings(rate_limits=("greet=fast",)))
