"""Worker settings from ``PACKETFLOW_*`` variables: parsing, defaults and refusals."""

from __future__ import annotations

import pytest

from packetflow.settings import KafkaSettings, Settings, SettingsError

OLD_VARIABLES = (
    "APP_ID",
    "AUTH",
    "ANONYMOUS_GRANTS",
    "BATCH",
    "BISCUIT_PUBLIC_KEY",
    "BROKER",
    "CAPABILITIES",
    "CONCURRENCY",
    "DATA_DIR",
    "ENCODING",
    "FETCH_WAIT_MS",
    "GUARANTEE",
    "HOP_BATCH_WAIT_MS",
    "HOP_BUNDLE",
    "HOP_LINGER_MS",
    "JWT_ALGORITHMS",
    "JWT_AUDIENCE",
    "JWT_ISSUER",
    "JWT_LEEWAY",
    "JWT_PUBLIC_KEY",
    "JWT_SECRET",
    "MAX_PAYLOAD_DEPTH",
    "MAX_PAYLOAD_WIDTH",
    "MAX_RECORD_BYTES",
    "PARTITIONS",
    "PRODUCER_BATCH_BYTES",
    "RATE_LIMITS",
    "REACTOR_BATCH",
    "REACTOR_CACHE_BYTES",
    "REACTOR_DEDUP_WINDOW",
    "REPLICATION",
    "SCHEMA_REGISTRY_URL",
    "SESSION_TIMEOUT",
    "STANDBY_REPLICAS",
    "STORE",
    "STREAM_BUFFER",
    "TOPIC_PREFIX",
    "WEB_BIND",
    "WEB_HOST",
    "WEB_PORT",
    "WORKER_ID",
)
"""Every variable the flat settings of before the groups read: none may stop working."""


def variables() -> set[str]:
    return set(Settings.variables()).union(*(g.variables() for g in Settings.groups().values()))


def test_every_variable_of_before_the_groups_is_still_read() -> None:
    assert {f"PACKETFLOW_{name}" for name in OLD_VARIABLES} <= variables()


def test_defaults_when_nothing_is_set() -> None:
    s = Settings.from_env({})
    assert s.kafka.broker == "127.0.0.1:9092"
    assert (s.kafka.app_id, s.kafka.topic_prefix) == ("packetflow", "packetflow")
    assert (s.kafka.partitions, s.kafka.replication, s.ingress.concurrency) == (8, 1, 8)
    assert s.capabilities == ("streams",)
    assert (s.web.port, s.web.bind) == (6066, "0.0.0.0")
    assert s.ingress.max_record_bytes == 1_048_576
    assert s.kafka.worker_id


def test_settings_built_in_code_are_the_defaults_not_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PACKETFLOW_PARTITIONS", "5")
    assert Settings().kafka.partitions == 8
    assert Settings(kafka=KafkaSettings(partitions=3)).kafka.partitions == 3
    assert Settings.from_env().kafka.partitions == 5
    assert Settings.from_env({}).kafka.partitions == 8  # a mapping given is all that is read


def test_empty_values_keep_defaults() -> None:
    s = Settings.from_env({"PACKETFLOW_PARTITIONS": "", "PACKETFLOW_CAPABILITIES": ""})
    assert (s.kafka.partitions, s.capabilities) == (8, ("streams",))


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
            "PACKETFLOW_STORE": "memory",
            "PACKETFLOW_JWT_ALGORITHMS": "RS256, ES256",
            "PACKETFLOW_WEB_HOST": "10.0.0.7",
            "UNRELATED": "ignored",
        }
    )
    assert s.kafka.broker == "kafka://k1:9092"
    assert s.kafka.partitions == 3
    assert s.capabilities == ("streams", "acme.caps")
    assert s.web.port == 0
    assert s.ingress.max_record_bytes == 2048
    assert s.kafka.worker_id == "worker-7"
    assert s.reactors.store == "memory"
    assert s.auth.jwt_algorithms == ("RS256", "ES256")
    assert s.web.host == "10.0.0.7"
    assert s.kafka.topics.requests == "acme.requests"
    assert s.kafka.topics.outputs() == (
        "acme.responses",
        "acme.errors",
        "acme.effects",
        "acme.audit",
        "acme.dlq",
    )


def test_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACKETFLOW_CONCURRENCY", "2")
    assert Settings.from_env().ingress.concurrency == 2


@pytest.mark.parametrize(
    ("var", "raw", "fault"),
    [
        ("PACKETFLOW_PARTITIONS", "eight", "expected an integer"),
        ("PACKETFLOW_PARTITIONS", "1.5", "expected an integer"),
        ("PACKETFLOW_PARTITIONS", "0x10", "expected an integer"),
        ("PACKETFLOW_REPLICATION", "0", "must be at least 1"),
        ("PACKETFLOW_CONCURRENCY", "-3", "must be at least 1"),
        ("PACKETFLOW_BATCH", "0", "must be at least 1"),
        ("PACKETFLOW_SESSION_TIMEOUT", "30s", "expected an integer"),
        ("PACKETFLOW_WEB_PORT", "http", "expected an integer"),
        ("PACKETFLOW_WEB_PORT", "70000", "must be at most 65535"),
        ("PACKETFLOW_WEB_PORT", "-1", "must be at least 0"),
        ("PACKETFLOW_MAX_RECORD_BYTES", "1MB", "expected an integer"),
        ("PACKETFLOW_CAPABILITIES", " , ,", "expected comma-separated module names"),
        ("PACKETFLOW_CAPABILITIES", ",", "expected comma-separated module names"),
        ("PACKETFLOW_HOP_LINGER_MS", "-1", "must be at least 0"),
        ("PACKETFLOW_HOP_LINGER_MS", "5ms", "expected an integer"),
        ("PACKETFLOW_FETCH_WAIT_MS", "-20", "must be at least 0"),
        ("PACKETFLOW_HOP_BATCH_WAIT_MS", "-1", "must be at least 0"),
        ("PACKETFLOW_HOP_BATCH_WAIT_MS", "3ms", "expected an integer"),
        ("PACKETFLOW_REACTOR_CACHE_BYTES", "-1", "must be at least 0"),
        ("PACKETFLOW_REACTOR_CACHE_BYTES", "2MB", "expected an integer"),
        ("PACKETFLOW_REACTOR_DEDUP_WINDOW", "0", "must be at least 1"),
        ("PACKETFLOW_STANDBY_REPLICAS", "-1", "must be at least 0"),
        ("PACKETFLOW_JWT_LEEWAY", "half a minute", "expected an integer"),
    ],
)
def test_bad_values_name_the_variable(var: str, raw: str, fault: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({var: raw})
    assert str(info.value) == f"{var}={raw!r}: {fault}"


@pytest.mark.parametrize(
    ("var", "raw", "choices"),
    [
        ("PACKETFLOW_ENCODING", "xml", "('json', 'avro')"),
        ("PACKETFLOW_AUTH", "maybe", "('required', 'optional')"),
        ("PACKETFLOW_STORE", "redis", "('rocksdb', 'memory')"),
        ("PACKETFLOW_GUARANTEE", "once", "('at_least_once', 'exactly_once')"),
        ("PACKETFLOW_ENCODING", "JSON", "('json', 'avro')"),
    ],
)
def test_choice_settings_name_the_choices(var: str, raw: str, choices: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({var: raw})
    assert str(info.value) == f"{var}={raw!r}: expected one of {choices}"


def test_every_bad_variable_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(
            {
                "PACKETFLOW_PARTITIONS": "many",
                "PACKETFLOW_WEB_PORT": "99999",
                "PACKETFLOW_CAPABILITIES": ",",
            }
        )
    message = str(info.value)
    for part in (
        "PACKETFLOW_PARTITIONS='many': expected an integer",
        "PACKETFLOW_WEB_PORT='99999': must be at most 65535",
        "PACKETFLOW_CAPABILITIES=',': expected comma-separated module names",
    ):
        assert part in message
    assert "pydantic" not in message
    assert "validation error" not in message


def test_a_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


def test_the_guarantee_is_at_least_once_unless_exactly_once_is_asked() -> None:
    assert not Settings.from_env({}).kafka.exactly_once
    assert Settings.from_env({"PACKETFLOW_GUARANTEE": "exactly_once"}).kafka.exactly_once
    with pytest.raises(SettingsError, match="PACKETFLOW_GUARANTEE='once'"):
        Settings.from_env({"PACKETFLOW_GUARANTEE": "once"})


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(ValueError, match="frozen"):
        s.kafka.partitions = 3  # type: ignore[misc]
