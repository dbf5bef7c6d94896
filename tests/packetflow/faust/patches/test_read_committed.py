"""Exactly once: the aiokafka consumer Faust creates reads only committed records."""

from __future__ import annotations

import asyncio

import faust

from packetflow.faust.patches.read_committed import read_committed


async def test_faust_s_consumer_reads_only_committed_records() -> None:
    app = faust.App("read-committed-test", broker="kafka://127.0.0.1:1")  # never connected
    read_committed(app)
    read_committed(app)  # installed once
    thread = app.consumer._thread
    consumer = thread._create_consumer(loop=asyncio.get_running_loop())  # not started
    assert consumer._isolation_level == "read_committed"
    assert thread._create_consumer.packetflow_read_committed
