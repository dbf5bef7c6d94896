"""The registry: one capability per id, lookup, and the published contracts."""

from __future__ import annotations

from typing import Any

import pytest

from packetflow import CallContext, Capability, Registry, capability
from packetflow.errors import CapabilityDefinitionError


def make(cap_id: str) -> Capability:
    @capability(id=cap_id, intent=f"Capability {cap_id}", requires=["x"])
    def execute(payload: Any, ctx: CallContext) -> dict[str, Any]:
        return {}

    return execute


def test_duplicate_id_names_both_origins() -> None:
    def first(payload: Any, ctx: CallContext) -> dict[str, Any]:
        return {}

    def second(payload: Any, ctx: CallContext) -> dict[str, Any]:
        return {}

    registry = Registry([capability(id="same", intent="One")(first)])
    with pytest.raises(CapabilityDefinitionError) as info:
        registry.register(capability(id="same", intent="Two")(second))
    message = str(info.value)
    assert message.startswith("capability 'same': duplicate id")
    assert f"already registered by {first.__module__}.{first.__qualname__}" in message
    assert f"again by {second.__module__}.{second.__qualname__}" in message
    assert registry.get("same") is not None
    assert registry.get("same").execute is first  # type: ignore[union-attr]


def test_duplicate_in_constructor_is_refused() -> None:
    with pytest.raises(CapabilityDefinitionError, match="duplicate id"):
        Registry([make("dup"), make("dup")])


def test_same_capability_twice_is_fine() -> None:
    cap = make("once")
    registry = Registry([cap, cap])
    registry.register(cap)
    assert len(registry) == 1
    assert list(registry) == [cap]


def test_lookup_and_ids() -> None:
    b, a = make("b.cap"), make("a-cap")
    registry = Registry([b, a])
    assert registry.get("a-cap") is a
    assert registry.get("missing") is None
    assert "b.cap" in registry
    assert "missing" not in registry
    assert registry.ids() == ["a-cap", "b.cap"]
    assert len(registry) == 2


def test_describe_all_is_sorted_and_carries_the_protocol() -> None:
    registry = Registry([make("zeta"), make("alpha")])
    described = registry.describe_all()
    assert [d["id"] for d in described] == ["alpha", "zeta"]
    for entry in described:
        assert entry["protocol"]["versions"] == ["1.0"]
        assert set(entry["protocol"]["features"]) >= {"json", "dead_letter", "heartbeat"}
        assert entry["requires"]["required"] == ["x"]
    assert described[0]["intent"] == "Capability alpha"


def test_describe_of_unknown_id_raises_key_error() -> None:
    with pytest.raises(KeyError):
        Registry().describe("missing")


@pytest.mark.parametrize(
    ("thing", "named"),
    [
        (lambda payload, ctx: {}, "<function"),
        ("streams.profile", "streams.profile"),
    ],
)
def test_registering_a_non_capability_is_refused(thing: Any, named: str) -> None:
    with pytest.raises(CapabilityDefinitionError, match="declare it with @capability") as info:
        Registry().register(thing)
    assert named in info.value.capability_id


def test_non_capability_with_an_id_attribute_is_named_by_it() -> None:
    class Impostor:
        id = "impostor"

    with pytest.raises(CapabilityDefinitionError, match="capability 'impostor': is not a Cap"):
        Registry([Impostor()])  # type: ignore[list-item]
