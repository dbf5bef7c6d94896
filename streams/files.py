"""The seed's file reactor: files kept in reactor state, with scoped permissions.

``file.admin ⇒ file.write ⇒ file.read``; each call needs the permission for
its own path, so a grant on ``/docs/*`` reads ``/docs/a`` but not
``/etc/passwd`` (or ``/docs/../etc/passwd``). Each path is a key of the
``files`` reactor: one writer per file, every change durable and audited.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, Field

from packetflow import Emit, Reactor
from packetflow.security import DEFAULT_LATTICE, Permission, PermissionFamily

file = PermissionFamily("file", "admin", "write", "read", lattice=DEFAULT_LATTICE)


class File(BaseModel):
    """A file's state: its content, if it exists."""

    exists: bool = False
    content: str = ""
    sha256: str | None = None


class FilePath(BaseModel):
    """A path: the reactor key."""

    path: str = Field(pattern=r"^/", max_length=1024)


class FileWrite(FilePath):
    """A path and its new content."""

    content: str = Field(max_length=65536)


files = Reactor("files", state=File, key="path")


def _needs(level: Permission) -> Any:
    return lambda payload: [level(payload.path)]


@files.query(
    intent="Read a file (needs file.read on its path)",
    requires=FilePath,
    permissions=_needs(file.read),
)
def read(payload: FilePath, state: File) -> File:
    """The file as it is."""
    return state


@files.intent(
    intent="Write a file (needs file.write on its path)",
    requires=FileWrite,
    permissions=_needs(file.write),
)
def write(payload: FileWrite, state: File) -> tuple[File, list[Emit]]:
    """Replace the content."""
    digest = hashlib.sha256(payload.content.encode()).hexdigest()
    new = File(exists=True, content=payload.content, sha256=digest)
    return new, [Emit("written", {"path": payload.path, "sha256": digest})]


@files.intent(
    intent="Delete a file (needs file.admin on its path)",
    requires=FilePath,
    permissions=_needs(file.admin),
)
def delete(payload: FilePath, state: File) -> tuple[File, list[Emit]]:
    """Remove the file."""
    return File(), [Emit("deleted", {"path": payload.path, "existed": state.exists})]
