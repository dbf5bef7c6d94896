"""The client against a broker that is not there: a clear error, nothing left open."""

from __future__ import annotations

import gc
import warnings

import pytest
from aiokafka.errors import KafkaConnectionError

from packetflow.client import Client


async def test_a_client_that_cannot_connect_raises_and_leaves_nothing_open() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(KafkaConnectionError):
            async with Client("127.0.0.1:1"):  # nothing listens on port 1
                pass
        gc.collect()
    unclosed = [w for w in caught if "Unclosed" in str(w.message)]
    assert unclosed == []
