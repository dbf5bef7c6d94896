"""The public API: what ``from packetflow import ...`` offers."""

from __future__ import annotations

import subprocess
import sys

import pytest

import packetflow


def test_every_public_name_imports() -> None:
    missing = [
        name for name in packetflow.__all__ if name != "app" and not hasattr(packetflow, name)
    ]
    assert missing == []
    assert set(packetflow.__all__) <= set(dir(packetflow))


def test_the_names_of_the_quickstart_import_from_the_package() -> None:
    from packetflow import CapabilityTester, Client, Emit, Reactor, Window
    from packetflow.client import Client as ClientClass
    from packetflow.reactor.declare import Reactor as ReactorClass
    from packetflow.testing import CapabilityTester as TesterClass

    assert (Client, Reactor, CapabilityTester) == (ClientClass, ReactorClass, TesterClass)
    assert Emit.__module__ == Window.__module__ == "packetflow.reactor.declare"


def test_importing_the_package_loads_neither_client_nor_tester() -> None:
    probe = (
        "import sys, packetflow; "
        "print(sorted(m for m in ('packetflow.client', 'packetflow.testing') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="Nope"):
        packetflow.Nope  # type: ignore[attr-defined]  # noqa: B018
