"""Free TCP ports for the processes our scripts and tests start on 127.0.0.1.

A port the kernel hands out for ``bind(0)`` comes from the ephemeral range,
which is also where every outgoing connection takes its local port. Between
choosing such a port and the server binding it, a client socket (a worker's
connection to the broker, say) may take it, and the server then fails with
"Address already in use". Kafka is worse off: it needs two ports (client and
KRaft controller) and rebinds both when the crash test restarts it.

So ports are chosen below the ephemeral range, where no outgoing connection
lands, and each one is checked by binding it.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["free_ports"]

LOWEST = 10_000
"""Ports below this are left to well-known services."""

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_DEFAULT_EPHEMERAL_LOW = 32_768
_ATTEMPTS = 200


def ephemeral_low(range_file: Path = _RANGE_FILE) -> int:
    """The first port of this host's ephemeral range (Linux's default if unknown)."""
    try:
        return int(range_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _DEFAULT_EPHEMERAL_LOW


def bindable(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a listening socket could bind ``host:port`` right now."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_ports(count: int = 1, host: str = "127.0.0.1", *, rng: random.Random | None = None) -> int:
    """The first of ``count`` consecutive ports, all bindable now and below the ephemeral range.

    Raises ``RuntimeError`` if no such run of ports is found.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    pick = rng or random.Random()
    top = max(ephemeral_low(), LOWEST + count) - count
    for _ in range(_ATTEMPTS):
        first = pick.randrange(LOWEST, top)
        if all(bindable(first + i, host) for i in range(count)):
            return first
    raise RuntimeError(
        f"no {count} consecutive free ports on {host} between {LOWEST} and {top + count - 1}"
    )
