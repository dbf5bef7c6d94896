"""Values the groups derive from their fields, and the groups' own definitions."""

from __future__ import annotations

import pytest

from packetflow.settings import (
    IngressSettings,
    KafkaSettings,
    Settings,
    TuningSettings,
)
from packetflow.settings.base import Group


@pytest.mark.parametrize(
    ("broker", "bootstrap"),
    [
        ("127.0.0.1:9092", "127.0.0.1:9092"),
        ("kafka://k1:9092", "k1:9092"),
        ("kafka://k1:9092,kafka://k2:9092", "k1:9092,k2:9092"),
        ("k1:9092,kafka://k2:9092", "k1:9092,k2:9092"),
        ("kafka://k1:9092, kafka://k2:9092", "k1:9092,k2:9092"),
    ],
)
def test_bootstrap_servers_strip_the_kafka_scheme(broker: str, bootstrap: str) -> None:
    assert KafkaSettings(broker=broker).bootstrap_servers == bootstrap


def test_lingering_fetch_waits_and_the_reactor_cache_can_be_turned_off() -> None:
    settings = Settings.from_env(
        {
            "PACKETFLOW_HOP_LINGER_MS": "0",
            "PACKETFLOW_FETCH_WAIT_MS": "0",
            "PACKETFLOW_HOP_BATCH_WAIT_MS": "0",
            "PACKETFLOW_REACTOR_CACHE_BYTES": "0",
        }
    )
    assert settings.tuning.hop_linger_ms == 0
    assert settings.tuning.fetch_wait_ms == 0
    assert settings.tuning.hop_batch_wait_ms == 0
    assert settings.reactors.cache_bytes == 0
    assert TuningSettings().hop_batch_wait_ms == 3


@pytest.mark.parametrize(
    ("inbound", "outbound"), [(2048, 1_048_576), (1_048_576, 1_048_576), (5_000_000, 5_000_000)]
)
def test_records_refused_for_size_are_still_written_whole(inbound: int, outbound: int) -> None:
    """A small request limit does not shrink what the worker writes: a 3 KB request refused
    under a 2 KB limit is still dead-lettered byte for byte."""
    s = Settings.from_env({"PACKETFLOW_MAX_RECORD_BYTES": str(inbound)})
    assert s.ingress.outbound_record_bytes == outbound


@pytest.mark.parametrize(("inbound", "transfer"), [(2048, 1_048_576), (5_000_000, 10_000_000)])
def test_a_transfer_holds_two_records_at_the_limit(inbound: int, transfer: int) -> None:
    assert IngressSettings(max_record_bytes=inbound).transfer_bytes == transfer


@pytest.mark.parametrize(("timeout", "heartbeat"), [(30, 3), (5, 1), (1, 1), (100, 10)])
def test_heartbeats_come_ten_times_a_session_timeout(timeout: int, heartbeat: int) -> None:
    assert KafkaSettings(session_timeout=timeout).heartbeat_interval == heartbeat


def groups() -> list[type[Group]]:
    return [Settings, *Settings.groups().values()]


@pytest.mark.parametrize("group", groups(), ids=lambda g: g.__name__)
def test_every_field_names_its_variable_and_is_described(group: type[Group]) -> None:
    for name, info in group.model_fields.items():
        if name in group.groups():
            assert info.title, f"{group.__name__}.{name} has no title"
            continue
        assert isinstance(info.validation_alias, str), f"{group.__name__}.{name}"
        assert info.validation_alias.startswith("PACKETFLOW_"), info.validation_alias
        assert info.description, f"{group.__name__}.{name} has no description"


def test_no_two_fields_read_the_same_variable() -> None:
    names = [variable for group in groups() for variable in group.variables()]
    assert len(names) == len(set(names))
