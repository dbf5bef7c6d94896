"""The permission lattice and scope matching, exactly as documented."""

from __future__ import annotations

import pytest

from packetflow.security import Lattice, Permission, PermissionFamily, parse_permission


@pytest.fixture
def lattice() -> Lattice:
    lat = Lattice()
    PermissionFamily("file", "admin", "write", "read", lattice=lat)
    return lat


def test_implication_is_transitive_and_one_way(lattice: Lattice) -> None:
    assert lattice.implies(Permission("file.admin"), Permission("file.read"))
    assert lattice.implies(Permission("file.write"), Permission("file.read"))
    assert not lattice.implies(Permission("file.read"), Permission("file.write"))
    assert not lattice.implies(Permission("file.write"), Permission("file.admin"))
    assert not lattice.implies(Permission("file.admin"), Permission("user.read"))


@pytest.mark.parametrize(
    ("grant", "required", "allowed"),
    [
        ("file.read:/docs/*", "file.read:/docs/a", True),
        ("file.read:/docs/*", "file.read:/docs/a/b", True),
        ("file.read:/docs/*", "file.read:/docs", True),
        ("file.read:/docs/*", "file.read:/docsX", False),
        ("file.read:/docs/*", "file.read:/docs/../etc", False),
        ("file.read:/docs/*", "file.read:/docs/./a", False),
        ("file.read:/docs/*", "file.read:/docs//a", False),
        ("file.read:/docs/a", "file.read:/docs/a", True),
        ("file.read:/docs/a", "file.read:/docs/a/b", False),
        ("file.read", "file.read:/anything", True),
        ("file.read:*", "file.read:/anything", True),
        ("file.read:/docs/*", "file.read", False),
        ("file.admin:/docs/*", "file.read:/docs/x", True),
        ("file.admin:/docs/*", "file.read:/etc/x", False),
    ],
)
def test_scopes(lattice: Lattice, grant: str, required: str, allowed: bool) -> None:
    assert lattice.implies(parse_permission(grant), parse_permission(required)) is allowed


def test_family_gives_permission_values() -> None:
    file = PermissionFamily("doc", "admin", "read", lattice=Lattice())
    assert file.read("/a") == Permission("doc.read", "/a")
    assert str(file.admin) == "doc.admin"
    with pytest.raises(AttributeError, match="no level 'write'"):
        _ = file.write


@pytest.mark.parametrize("text", ["", ":/x", "file.read:"])
def test_parse_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError, match="not a permission"):
        parse_permission(text)
