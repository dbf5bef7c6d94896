"""1,000 capabilities as module globals: ``PACKETFLOW_CAPABILITIES=benchmarks.many_caps``."""

from __future__ import annotations

from benchmarks.registry_fixture import declare_capability

COUNT = 1000

globals().update({f"cap_{i:04d}": declare_capability(i) for i in range(COUNT)})
