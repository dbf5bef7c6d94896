"""Find capabilities: configured modules and the ``packetflow.capabilities`` entry points."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from types import ModuleType

from packetflow.capability import Capability
from packetflow.reactor.declare import Reactor
from packetflow.registry import Registry

__all__ = ["ENTRY_POINT_GROUP", "CapabilityLoadError", "capabilities_in", "load_registry"]

ENTRY_POINT_GROUP = "packetflow.capabilities"


class CapabilityLoadError(ImportError):
    """A capability module named in the configuration cannot be imported."""


def capabilities_in(obj: object) -> Iterator[Capability]:
    """Capabilities in a module (its top-level names), a reactor, an iterable, or one."""
    if isinstance(obj, Capability):
        yield obj
    elif isinstance(obj, Reactor):
        yield from obj.capabilities
    elif isinstance(obj, ModuleType):
        for value in vars(obj).values():
            if isinstance(value, Capability | Reactor):
                yield from capabilities_in(value)
    elif isinstance(obj, Iterable) and not isinstance(obj, str | bytes):
        for item in obj:
            yield from capabilities_in(item)


def load_registry(modules: Iterable[str], *, use_entry_points: bool = True) -> Registry:
    """Import each module, collect its capabilities, add entry-point ones; refuse duplicates."""
    registry = Registry()
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            raise CapabilityLoadError(
                f"capability module {name!r} cannot be imported: {exc}"
                " (check PACKETFLOW_CAPABILITIES and that the module is on sys.path)"
            ) from exc
        for cap in capabilities_in(module):
            registry.register(cap)
    if use_entry_points:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            for cap in capabilities_in(ep.load()):
                registry.register(cap)
    return registry
