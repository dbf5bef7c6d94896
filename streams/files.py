"""File-style capabilities with scoped permissions (seed 001's ``FileCap``).

``file.admin ⇒ file.write ⇒ file.read``; each call needs the permission for
its own path, so a grant on ``/docs/*`` reads ``/docs/a`` but not ``/etc/passwd``.
These read a small built-in tree and report what a write or delete would do;
the stateful file reactor of the reactor issue keeps real contents.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, Field

from packetflow import AuditLog, CallContext, capability
from packetflow.errors import PacketFlowError
from packetflow.security import DEFAULT_LATTICE, Permission, PermissionFamily

file = PermissionFamily("file", "admin", "write", "read", lattice=DEFAULT_LATTICE)

TREE = {
    "/docs/readme.md": "PacketFlow demo document.\n",
    "/docs/guide/intro.md": "Capabilities, reactors, effects.\n",
    "/etc/passwd": "root:x:0:0::/root:/bin/sh\n",
}


class FilePath(BaseModel):
    """A path in the demo tree."""

    path: str = Field(pattern=r"^/", max_length=1024)


class FileWrite(FilePath):
    """A path and the content to write."""

    content: str = Field(max_length=65536)


class FileContent(BaseModel):
    """A file's content."""

    path: str
    content: str


class FileReceipt(BaseModel):
    """What a write or delete did."""

    path: str
    action: str
    sha256: str | None = None
    size: int | None = None


def _needs(level: Permission) -> Any:
    return lambda payload: [level(payload.path)]


@capability(
    intent="Read a file (needs file.read on its path)",
    requires=FilePath,
    provides=FileContent,
    permissions=_needs(file.read),
)
def file_read(payload: FilePath, ctx: CallContext) -> FileContent:
    """Return the file's content from the demo tree."""
    if payload.path not in TREE:
        raise PacketFlowError(f"no such file {payload.path!r}")
    return FileContent(path=payload.path, content=TREE[payload.path])


@capability(
    intent="Write a file (needs file.write on its path)",
    requires=FileWrite,
    provides=FileReceipt,
    permissions=_needs(file.write),
    effects=[AuditLog(level="info")],
)
def file_write(payload: FileWrite, ctx: CallContext) -> FileReceipt:
    """Report the write: size and checksum of the new content."""
    digest = hashlib.sha256(payload.content.encode()).hexdigest()
    return FileReceipt(path=payload.path, action="write", sha256=digest, size=len(payload.content))


@capability(
    intent="Delete a file (needs file.admin on its path)",
    requires=FilePath,
    provides=FileReceipt,
    permissions=_needs(file.admin),
    effects=[AuditLog(level="warning")],
)
def file_delete(payload: FilePath, ctx: CallContext) -> FileReceipt:
    """Report the deletion."""
    return FileReceipt(path=payload.path, action="delete")
