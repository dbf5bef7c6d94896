"""Permissions as values, with a declared implication lattice and scoped grants.

A permission is a name and an optional scope: ``file.read("/docs/a")``,
``file.admin``. Names imply other names through a declared, transitive
lattice (``file.admin ⇒ file.write ⇒ file.read``). A grant implies a required
permission when its name implies the required name and its scope covers the
required scope:

- a grant without scope covers every scope (and the unscoped permission);
- a grant ``"/docs/*"`` covers ``/docs`` itself and every path below it
  (``/docs/a``, ``/docs/a/b``), never ``/docsX``;
- ``"*"`` covers every scope; any other grant scope covers only itself;
- a scoped grant never covers an unscoped requirement;
- a required path with ``.`` or ``..`` segments or an empty segment is covered
  by nothing (no traversal out of a granted subtree).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_LATTICE",
    "Lattice",
    "Permission",
    "PermissionFamily",
    "PermissionsSpec",
    "implies",
    "parse_permission",
]


@dataclass(frozen=True, slots=True, order=True)
class Permission:
    """A permission value: ``name`` and an optional ``scope``."""

    name: str
    scope: str | None = None

    def __str__(self) -> str:
        return self.name if self.scope is None else f"{self.name}:{self.scope}"

    def __call__(self, scope: str) -> Permission:
        """The same permission narrowed to ``scope``: ``file.read("/docs/a")``."""
        return Permission(self.name, scope)


def parse_permission(text: str) -> Permission:
    """``"file.read:/docs/*"`` → ``Permission("file.read", "/docs/*")``."""
    name, sep, scope = text.partition(":")
    if not name or (sep and not scope):
        raise ValueError(f"not a permission: {text!r} (expected NAME or NAME:SCOPE)")
    return Permission(name, scope if sep else None)


class Lattice:
    """Which permission names imply which, transitively (a name implies itself)."""

    def __init__(self, edges: Mapping[str, Iterable[str]] | None = None) -> None:
        self._edges: dict[str, set[str]] = {}
        self._closure: dict[str, frozenset[str]] = {}
        for stronger, weaker in (edges or {}).items():
            for name in weaker:
                self.declare(stronger, name)

    def declare(self, stronger: str, weaker: str) -> None:
        """Declare ``stronger ⇒ weaker``."""
        self._edges.setdefault(stronger, set()).add(weaker)
        self._closure.clear()

    def implied_by(self, name: str) -> frozenset[str]:
        """Every name that ``name`` implies, including itself."""
        found = self._closure.get(name)
        if found is None:
            seen, todo = {name}, [name]
            while todo:
                for weaker in self._edges.get(todo.pop(), ()):
                    if weaker not in seen:
                        seen.add(weaker)
                        todo.append(weaker)
            found = self._closure[name] = frozenset(seen)
        return found

    def implies(self, grant: Permission, required: Permission) -> bool:
        """Whether holding ``grant`` is enough for ``required``."""
        return required.name in self.implied_by(grant.name) and _covers(grant.scope, required.scope)

    def allows(self, grants: Iterable[Permission], required: Permission) -> bool:
        """Whether any grant implies ``required``."""
        return any(self.implies(g, required) for g in grants)


class PermissionFamily:
    """Levels of one resource, strongest first: ``PermissionFamily("file", "admin", "read")``.

    Declares ``file.admin ⇒ file.write ⇒ file.read`` in ``lattice`` and gives
    attribute access: ``file.read`` is ``Permission("file.read")``, and
    ``file.read("/docs/a")`` its scoped form.
    """

    def __init__(self, resource: str, *levels: str, lattice: Lattice) -> None:
        if not levels:
            raise ValueError(f"permission family {resource!r} needs at least one level")
        self.resource = resource
        self.levels = levels
        for stronger, weaker in itertools.pairwise(levels):
            lattice.declare(f"{resource}.{stronger}", f"{resource}.{weaker}")

    def __getattr__(self, level: str) -> Permission:
        if level in self.levels:
            return Permission(f"{self.resource}.{level}")
        raise AttributeError(f"{self.resource} has no level {level!r}; levels: {self.levels}")


DEFAULT_LATTICE = Lattice()

PermissionsSpec = Sequence[Permission] | Callable[[Any], Iterable[Permission]]
"""What a call needs: fixed permissions, or a function of its payload naming them."""


def implies(grant: Permission, required: Permission, lattice: Lattice | None = None) -> bool:
    """Whether ``grant`` implies ``required`` (in ``lattice``, default the global one)."""
    return (lattice or DEFAULT_LATTICE).implies(grant, required)


def _covers(grant_scope: str | None, required_scope: str | None) -> bool:
    if grant_scope is None or grant_scope == "*":
        return True
    if required_scope is None or not _is_clean(required_scope):
        return False
    if grant_scope.endswith("/*"):
        base = grant_scope[:-2]
        return required_scope == base or required_scope.startswith(base + "/")
    return grant_scope == required_scope


def _is_clean(path: str) -> bool:
    if not path.startswith("/"):
        return "/" not in path  # a plain scope such as a tenant id
    parts = path.split("/")[1:]
    return all(p not in ("", ".", "..") for p in parts) or path == "/"
