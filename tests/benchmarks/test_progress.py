"""The benchmark's progress: permanent lines always, the live bar only on a terminal."""

from __future__ import annotations

import io

from benchmarks.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_only_the_logged_lines_are_written() -> None:
    out = io.StringIO()
    progress = Progress(out)
    progress.update("pre-producing requests", 5, 10)
    progress.log("[round 1/2] PacketFlow stateless")
    progress.close()
    assert out.getvalue() == "[round 1/2] PacketFlow stateless\n"


def test_on_a_terminal_the_bar_shows_the_phase_and_count() -> None:
    out = Terminal()
    progress = Progress(out)
    progress.update("throughput: responses", 3, 8, "responses")
    progress.update("throughput: responses", 8, 8, "responses")
    progress.close()
    assert "throughput: responses" in out.getvalue()
    assert "8/8" in out.getvalue()


def test_a_new_phase_replaces_the_last_one() -> None:
    out = Terminal()
    progress = Progress(out)
    progress.update("first", 1, 2)
    progress.update("second", 1, None)
    progress.close()
    tail = out.getvalue().rsplit("first", 1)[-1]
    assert "second" in tail
