"""ops/run (``make run``): Ctrl-C stops everything it started, and nothing else is left."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from ops.ports import free_ports

READY_LINE = "PacketFlow is running"
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0


def _in_group(pgid: int, name: str) -> bool:
    found = subprocess.run(["pgrep", "-g", str(pgid), "-x", name], capture_output=True, check=False)
    return found.returncode == 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.integration
def test_ctrl_c_leaves_no_process_behind(
    ops_dir: Path, kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PACKETFLOW_BROKER": kafka_bootstrap,  # ops/run starts no broker of its own then
        "PACKETFLOW_TOPIC_PREFIX": prefix,
        "PACKETFLOW_APP_ID": prefix,
        "PACKETFLOW_WEB_PORT": str(free_ports()),
        "PACKETFLOW_DATA_DIR": str(tmp_path / "data"),
    }
    # its own process group, as a shell gives a foreground job: Ctrl-C signals the whole group
    proc = subprocess.Popen(
        [str(ops_dir / "run")],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    pgid = proc.pid
    try:
        seen: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:  # ends when ops/run exits
            seen.append(line)
            if READY_LINE in line:
                break
        assert any(READY_LINE in line for line in seen), "".join(seen[-40:])
        # steady state, where a person presses Ctrl-C: ops/run follows the worker's log
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _in_group(pgid, "tail") and time.monotonic() < deadline:
            time.sleep(0.1)  # poll interval of the readiness check
        assert _in_group(pgid, "tail"), "ops/run never started following the worker log"
        os.killpg(pgid, signal.SIGINT)
        proc.wait(timeout=STOP_TIMEOUT_S)
        left = subprocess.run(
            ["pgrep", "-g", str(pgid), "-a"], capture_output=True, text=True, check=False
        ).stdout
        assert not _group_alive(pgid), f"left running after Ctrl-C:\n{left}"
    finally:
        if _group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT_S)
