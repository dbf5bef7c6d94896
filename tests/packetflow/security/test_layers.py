"""``packetflow.security`` sits below capabilities and the request path: it never imports them."""

from __future__ import annotations

import ast
from pathlib import Path

import packetflow.security

ABOVE = ("capability", "context", "registry", "discovery", "pipeline", "worker", "testing")
"""Modules of ``packetflow`` that use security; security importing them would be a cycle."""


def upward_imports(source: str) -> list[str]:
    """The ``packetflow.<above>`` modules a source imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "packetflow" and len(parts) > 1 and parts[1] in ABOVE:
                found.append(name)
    return found


def test_the_check_sees_an_upward_import() -> None:
    assert upward_imports("from packetflow.capability import Capability") == [
        "packetflow.capability"
    ]
    assert upward_imports("import packetflow.pipeline.check") == ["packetflow.pipeline.check"]
    assert upward_imports("from packetflow.security.identity import Principal") == []


def test_no_security_module_imports_upward() -> None:
    root = Path(packetflow.security.__file__).parent
    offenders = {
        path.name: found
        for path in sorted(root.glob("*.py"))
        if (found := upward_imports(path.read_text()))
    }
    assert offenders == {}
