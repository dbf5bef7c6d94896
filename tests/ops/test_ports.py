"""ops.ports: free ports for brokers and workers, chosen where client sockets never land."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.ports import LOWEST, bindable, ephemeral_low, free_ports


class Scripted(random.Random):
    """A ``random.Random`` whose ``randrange`` returns the given ports in order."""

    def __init__(self, *ports: int) -> None:
        super().__init__()
        self.ports: Iterator[int] = iter(ports)

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:  # type: ignore[override]
        return next(self.ports)


@pytest.fixture
def listening() -> Iterator[int]:
    """A port below the ephemeral range with a server listening on it."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        port = free_ports(1)
        server.bind(("127.0.0.1", port))
        server.listen()
        yield port


def test_count_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="count must be at least 1, got 0"):
        free_ports(0)


def test_a_port_in_use_is_not_bindable(listening: int) -> None:
    assert not bindable(listening)


def test_ports_are_below_the_ephemeral_range_and_bindable() -> None:
    for _ in range(20):
        first = free_ports(2)
        assert first >= LOWEST
        assert first + 1 < ephemeral_low()
        assert bindable(first)
        assert bindable(first + 1)


def test_a_run_with_a_port_in_use_is_skipped(listening: int) -> None:
    """The controller port (first + 1) taken rules the pair out, as Kafka would fail on it."""
    other = free_ports(2)
    assert free_ports(2, rng=Scripted(listening - 1, other)) == other


def test_gives_up_with_a_clear_error_when_nothing_is_free(listening: int) -> None:
    with pytest.raises(RuntimeError, match=r"no 1 consecutive free ports on 127\.0\.0\.1"):
        free_ports(1, rng=Scripted(*[listening] * 500))


@pytest.mark.parametrize("text", ["", "garbage", "\n"])
def test_an_unreadable_range_falls_back_to_linux_default(tmp_path: Path, text: str) -> None:
    bad = tmp_path / "range"
    bad.write_text(text)
    assert ephemeral_low(bad) == 32_768
    assert ephemeral_low(tmp_path / "missing") == 32_768


def test_the_range_file_is_read(tmp_path: Path) -> None:
    good = tmp_path / "range"
    good.write_text("40000\t60999\n")
    assert ephemeral_low(good) == 40_000
