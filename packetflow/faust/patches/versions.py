"""The versions of Faust, mode and aiokafka the patches were tested on.

Every module of this package relies on private names of these libraries; any
other version may have renamed or changed them. :func:`warn_untested` says so
in the worker's log when the patches are installed; the unit tests under
``tests/packetflow/faust/patches`` fail on it (see ``docs/development.md``,
"Upgrading Faust").
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

__all__ = ["TESTED", "untested", "warn_untested"]

TESTED: dict[str, str] = {
    "faust-streaming": "0.15.3",
    "mode-streaming": "0.7.1",
    "aiokafka": "0.14.0",
}
"""Distribution name -> the version the patches were tested on."""

log = logging.getLogger("packetflow.faust")


def installed(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def untested() -> dict[str, str | None]:
    """The distributions whose installed version is not the tested one, with that version."""
    found = {name: installed(name) for name in TESTED}
    return {name: v for name, v in found.items() if v != TESTED[name]}


def warn_untested() -> None:
    """Log a warning for each distribution installed at a version the patches were not
    tested on."""
    for name, found in untested().items():
        log.warning(
            "%s %s is installed; PacketFlow's Faust patches were tested on %s only "
            "(docs/development.md, Upgrading Faust)",
            name,
            found or "(not found)",
            TESTED[name],
        )
