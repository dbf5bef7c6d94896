"""Worker settings from ``PACKETFLOW_*`` variables: parsing, defaults and refusals."""

from __future__ import annotations

import pytest

from packetflow.settings import Settings, SettingsError


def test_defaults_when_nothing_is_set() -> None:
    s = Settings.from_env({})
    assert s.broker == "127.0.0.1:9092"
    assert (s.app_id, s.topic_prefix) == ("packetflow", "packetflow")
    assert (s.partitions, s.replication, s.concurrency) == (8, 1, 8)
    assert s.capabilities == ("streams",)
    assert (s.web_port, s.web_bind) == (6066, "0.0.0.0")
    assert s.max_record_bytes == 1_048_576
    assert s.worker_id


def test_empty_values_keep_defaults() -> None:
    s = Settings.from_env({"PACKETFLOW_PARTITIONS": "", "PACKETFLOW_CAPABILITIES": ""})
    assert (s.partitions, s.capabilities) == (8, ("streams",))


def test_every_kind_of_value_is_parsed() -> None:
    s = Settings.from_env(
        {
            "PACKETFLOW_BROKER": "kafka://k1:9092",
            "PACKETFLOW_TOPIC_PREFIX": "acme",
            "PACKETFLOW_PARTITIONS": "3",
            "PACKETFLOW_CAPABILITIES": " streams , acme.caps ,, ",
            "PACKETFLOW_WEB_PORT": "0",
            "PACKETFLOW_MAX_RECORD_BYTES": "2048",
            "PACKETFLOW_WORKER_ID": "worker-7",
            "UNRELATED": "ignored",
        }
    )
    assert s.broker == "kafka://k1:9092"
    assert s.partitions == 3
    assert s.capabilities == ("streams", "acme.caps")
    assert s.web_port == 0
    assert s.max_record_bytes == 2048
    assert s.worker_id == "worker-7"
    assert s.topics.requests == "acme.requests"
    assert s.topics.outputs() == (
        "acme.responses",
        "acme.errors",
        "acme.effects",
        "acme.audit",
        "acme.dlq",
    )


def test_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACKETFLOW_CONCURRENCY", "2")
    assert Settings.from_env().concurrency == 2


@pytest.mark.parametrize(
    ("var", "raw", "fault"),
    [
        ("PACKETFLOW_PARTITIONS", "eight", "expected an integer"),
        ("PACKETFLOW_PARTITIONS", "1.5", "expected an integer"),
        ("PACKETFLOW_REPLICATION", "0", "must be at least 1"),
        ("PACKETFLOW_CONCURRENCY", "-3", "must be at least 1"),
        ("PACKETFLOW_WEB_PORT", "http", "expected an integer"),
        ("PACKETFLOW_WEB_PORT", "70000", "not a TCP port"),
        ("PACKETFLOW_MAX_RECORD_BYTES", "1MB", "expected an integer"),
        ("PACKETFLOW_CAPABILITIES", " , ,", "expected comma-separated module names"),
        ("PACKETFLOW_HOP_LINGER_MS", "-1", "must be at least 0"),
        ("PACKETFLOW_HOP_LINGER_MS", "5ms", "expected an integer"),
        ("PACKETFLOW_FETCH_WAIT_MS", "-20", "must be at least 0"),
        ("PACKETFLOW_HOP_BATCH_WAIT_MS", "-1", "must be at least 0"),
        ("PACKETFLOW_HOP_BATCH_WAIT_MS", "3ms", "expected an integer"),
        ("PACKETFLOW_REACTOR_CACHE_BYTES", "-1", "must be at least 0"),
        ("PACKETFLOW_REACTOR_CACHE_BYTES", "2MB", "expected an integer"),
    ],
)
def test_bad_values_name_the_variable(var: str, raw: str, fault: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({var: raw})
    assert str(info.value) == f"{var}={raw!r}: {fault}"


def test_negative_web_port_is_refused() -> None:
    with pytest.raises(SettingsError, match="PACKETFLOW_WEB_PORT='-1'"):
        Settings.from_env({"PACKETFLOW_WEB_PORT": "-1"})


@pytest.mark.parametrize(
    ("var", "raw", "choices"),
    [
        ("PACKETFLOW_ENCODING", "xml", "('json', 'avro')"),
        ("PACKETFLOW_AUTH", "maybe", "('required', 'optional')"),
    ],
)
def test_choice_settings_name_the_choices(var: str, raw: str, choices: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({var: raw})
    assert str(info.value) == f"{var}={raw!r}: expected one of {choices}"


def test_rate_limit_overrides_are_parsed_and_checked() -> None:
    s = Settings.from_env({"PACKETFLOW_RATE_LIMITS": " greet=10/1s , other=5/60s ,"})
    assert sorted(s.rate_limit_overrides()) == ["greet", "other"]
    with pytest.raises(SettingsError, match="PACKETFLOW_RATE_LIMITS item 'greet'"):
        Settings(rate_limits="greet").rate_limit_overrides()


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
    assert Settings(broker=broker).bootstrap_servers == bootstrap


def test_lingering_fetch_waits_and_the_reactor_cache_can_be_turned_off() -> None:
    settings = Settings.from_env(
        {
            "PACKETFLOW_HOP_LINGER_MS": "0",
            "PACKETFLOW_FETCH_WAIT_MS": "0",
            "PACKETFLOW_HOP_BATCH_WAIT_MS": "0",
            "PACKETFLOW_REACTOR_CACHE_BYTES": "0",
        }
    )
    assert settings.hop_linger_ms == 0
    assert settings.fetch_wait_ms == 0
    assert settings.hop_batch_wait_ms == 0
    assert settings.reactor_cache_bytes == 0
    assert Settings().hop_batch_wait_ms == 3


@pytest.mark.parametrize(
    ("inbound", "outbound"), [(2048, 1_048_576), (1_048_576, 1_048_576), (5_000_000, 5_000_000)]
)
def test_records_refused_for_size_are_still_written_whole(inbound: int, outbound: int) -> None:
    """A small request limit does not shrink what the worker writes: a 3 KB request refused
    under a 2 KB limit is still dead-lettered byte for byte."""
    s = Settings.from_env({"PACKETFLOW_MAX_RECORD_BYTES": str(inbound)})
    assert s.outbound_record_bytes == outbound


def test_the_guarantee_is_at_least_once_unless_exactly_once_is_asked() -> None:
    assert not Settings.from_env({}).exactly_once
    assert Settings.from_env({"PACKETFLOW_GUARANTEE": "exactly_once"}).exactly_once
    with pytest.raises(SettingsError, match="PACKETFLOW_GUARANTEE='once'"):
        Settings.from_env({"PACKETFLOW_GUARANTEE": "once"})
