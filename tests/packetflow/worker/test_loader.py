"""Finding capabilities: in modules, iterables, entry points; refusing what cannot load."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import streams
from packetflow import CallContext, capability
from packetflow.errors import CapabilityDefinitionError
from packetflow.worker.loader import CapabilityLoadError, capabilities_in, load_registry


@capability(intent="One")
def one(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {}


@capability(intent="Two")
def two(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {}


CAPABILITY_MODULE = """
from packetflow import CallContext, capability

NOT_A_CAPABILITY = "ignored"

@capability(id="{cap_id}", intent="Declared in {module}")
def execute(payload, ctx: CallContext):
    return {{}}
"""


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path for throw-away capability modules, forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("pf_tmp_"):
            del sys.modules[name]


def write_module(directory: Path, module: str, source: str) -> None:
    (directory / f"{module}.py").write_text(textwrap.dedent(source))


def test_capabilities_in_a_single_capability() -> None:
    assert list(capabilities_in(one)) == [one]


def test_capabilities_in_nested_iterables_skip_other_things() -> None:
    found = list(capabilities_in([one, "two", 3, (two, [one]), {"k": "v"}]))
    assert found == [one, two, one]


def test_capabilities_in_a_module_are_its_top_level_capabilities() -> None:
    module = ModuleType("pf_fake")
    module.__dict__.update(first=one, second=two, helper=lambda: None, text="one")
    assert list(capabilities_in(module)) == [one, two]


def test_unknown_module_names_the_setting() -> None:
    with pytest.raises(CapabilityLoadError) as info:
        load_registry(["pf_no_such_module"], use_entry_points=False)
    message = str(info.value)
    assert "capability module 'pf_no_such_module' cannot be imported" in message
    assert "PACKETFLOW_CAPABILITIES" in message
    assert isinstance(info.value, ImportError)


def test_module_with_a_missing_dependency_names_both(module_dir: Path) -> None:
    write_module(module_dir, "pf_tmp_needs_dep", "import pf_tmp_missing_dependency\n")
    with pytest.raises(CapabilityLoadError) as info:
        load_registry(["pf_tmp_needs_dep"], use_entry_points=False)
    assert "'pf_tmp_needs_dep'" in str(info.value)
    assert "pf_tmp_missing_dependency" in str(info.value)


def test_loading_streams_gives_the_shipped_capabilities() -> None:
    registry = load_registry(["streams"])
    shipped = {"user_profile_transform", "send_notification", "system_health"}
    assert shipped <= set(registry.ids())
    assert registry.ids() == sorted(c.id for c in capabilities_in(streams))
    assert registry.get("system_health") is streams.system_health


def test_same_module_twice_is_fine() -> None:
    registry = load_registry(["streams", "streams.profile"], use_entry_points=False)
    assert registry.get("user_profile_transform") is streams.user_profile_transform


def test_two_modules_declaring_the_same_id_are_refused(module_dir: Path) -> None:
    for module in ("pf_tmp_first", "pf_tmp_second"):
        write_module(module_dir, module, CAPABILITY_MODULE.format(cap_id="clash", module=module))
    assert [c.id for c in capabilities_in(__import__("pf_tmp_first"))] == ["clash"]
    with pytest.raises(CapabilityDefinitionError) as info:
        load_registry(["pf_tmp_first", "pf_tmp_second"], use_entry_points=False)
    message = str(info.value)
    assert message.startswith("capability 'clash': duplicate id")
    assert "pf_tmp_first.execute" in message
    assert "pf_tmp_second.execute" in message


def test_malformed_capability_fails_at_load_naming_it(module_dir: Path) -> None:
    write_module(
        module_dir,
        "pf_tmp_bad",
        """
        from packetflow import capability

        @capability(intent="")
        def bad(payload, ctx):
            return {}
        """,
    )
    with pytest.raises(CapabilityDefinitionError, match="capability 'bad': intent is missing"):
        load_registry(["pf_tmp_bad"], use_entry_points=False)
