"""``ops/kafka`` driven from Python on a port and run dir of one's own.

The test session, the benchmark and the crash test each run their own broker
through this one wrapper; each decides for itself when to stop it.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["OPS_KAFKA", "OpsKafka"]

OPS_KAFKA = Path(__file__).resolve().parent / "kafka"


@dataclass
class OpsKafka:
    """``ops/kafka`` bound to one client port (the controller listens on the next one) and run
    dir."""

    port: int
    run_dir: Path
    script: Path = OPS_KAFKA

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The caller's environment with this broker's port, controller port and run dir."""
        return {
            **os.environ,
            "PACKETFLOW_KAFKA_PORT": str(self.port),
            "PACKETFLOW_KAFKA_CONTROLLER_PORT": str(self.port + 1),
            "PACKETFLOW_RUN_DIR": str(self.run_dir),
        }

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``ops/kafka ARGS`` and capture its output (never raises on exit codes)."""
        return subprocess.run(
            [str(self.script), *args],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def must(self, *args: str, timeout: float = 900) -> str:
        """Run ``ops/kafka ARGS``; its output, or ``RuntimeError`` with it if it failed."""
        proc = self.run(*args, timeout=timeout)
        output = f"{proc.stdout}{proc.stderr}".strip()
        if proc.returncode != 0:
            raise RuntimeError(f"ops/kafka {' '.join(args)} failed:\n{output}")
        return output
