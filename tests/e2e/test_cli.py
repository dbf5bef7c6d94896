"""The ``packetflow`` command against the real worker."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_call_system_health_prints_a_healthy_report(run_cli: Cli) -> None:
    out = run_cli("call", "system_health", "--user", "cli-user")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "healthy"


def test_call_with_a_payload(run_cli: Cli) -> None:
    payload = json.dumps({"user_id": "u", "profile": {"email": "X@Y.ORG"}})
    out = run_cli("call", "user_profile_transform", "--payload", payload)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["transformed_profile"]["email"] == "x@y.org"


def test_error_answer_exits_1_with_the_error_record(run_cli: Cli) -> None:
    out = run_cli("call", "no_such_capability")
    assert out.returncode == 1
    assert json.loads(out.stderr)["payload"]["error"]["type"] == "unknown_capability"


def test_bad_payload_argument_exits_2(run_cli: Cli) -> None:
    out = run_cli("call", "system_health", "--payload", "{not json")
    assert out.returncode == 2
    assert json.loads(out.stderr)["error"]["type"] == "usage"


def test_capabilities_lists_the_registry_topic(run_cli: Cli) -> None:
    out = run_cli("capabilities", "--json")
    assert out.returncode == 0, out.stderr
    ids = {c["id"] for c in json.loads(out.stdout)}
    assert {"user_profile_transform", "system_health", "send_notification"} <= ids
    assert "admin_user_delete" not in ids  # discovery shows an anonymous caller what it may call
    everything = run_cli("capabilities", "--all", "--json")
    assert "admin_user_delete" in {c["id"] for c in json.loads(everything.stdout)}
    described = run_cli("capabilities", "user_profile_transform")
    contract = json.loads(described.stdout)
    assert "profile" in contract["requires"]["properties"]
    assert contract["protocol"]["versions"] == ["1.0"]


def test_tail_audit_shows_the_call(run_cli: Cli) -> None:
    assert run_cli("call", "system_health", "--trace", "trace-tail-1").returncode == 0
    out = run_cli("tail", "audit", "--from-beginning", "--idle-timeout", "3")
    assert out.returncode == 0, out.stderr
    assert '"trace_id": "trace-tail-1"' in out.stdout


def test_ping(run_cli: Cli) -> None:
    out = run_cli("ping")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "alive"
