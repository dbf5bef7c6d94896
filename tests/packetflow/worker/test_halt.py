"""A hop batch is finished or the process ends: Faust would ack and commit it either way."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import NoReturn

import pytest

from packetflow.worker.halt import EXIT_LOST, finish


class Halted(Exception):
    """Stands in for the end of the process."""


def halted(reason: BaseException) -> NoReturn:
    raise Halted(reason)


async def test_a_batch_that_completes_returns_its_result() -> None:
    async def work() -> int:
        await asyncio.sleep(0)
        return 3

    assert await finish(work(), halted) == 3


async def test_a_batch_that_fails_halts_with_its_error() -> None:
    async def work() -> None:
        raise ConnectionError("producer not running")

    with pytest.raises(Halted) as raised:
        await finish(work(), halted)
    assert isinstance(raised.value.args[0], ConnectionError)


async def test_a_cancelled_agent_finishes_its_batch_before_it_stops() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    done: list[str] = []

    async def work() -> None:
        started.set()
        await release.wait()
        done.append("answers sent")

    agent = asyncio.ensure_future(finish(work(), halted))
    await started.wait()
    agent.cancel()  # the worker is stopping
    await asyncio.sleep(0)
    assert not agent.done()  # still waiting for the batch
    agent.cancel()  # a second cancellation does not cut it short either
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await agent
    assert done == ["answers sent"]


async def test_a_batch_failing_after_the_agent_was_cancelled_halts() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def work() -> None:
        started.set()
        await release.wait()
        raise RuntimeError("Cannot flush: Producer not Running")

    agent = asyncio.ensure_future(finish(work(), halted))
    await started.wait()
    agent.cancel()
    release.set()
    with pytest.raises(Halted):
        await agent


async def test_a_batch_cancelled_from_inside_halts() -> None:
    async def work() -> None:
        raise asyncio.CancelledError

    with pytest.raises(Halted):
        await finish(work(), halted)


def test_halt_ends_the_process_at_once_with_its_status_and_a_log_line() -> None:
    script = (
        "import atexit\n"
        "from packetflow.worker.halt import halt\n"
        "atexit.register(print, 'cleanup ran')\n"
        "try:\n"
        "    halt(RuntimeError('audit record not delivered'))\n"
        "finally:\n"
        "    print('finally ran')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == EXIT_LOST
    assert proc.stdout == ""  # no finally block, no exit handler: nothing could commit
    assert "stopping the worker without a commit" in proc.stderr
    assert "audit record not delivered" in proc.stderr
