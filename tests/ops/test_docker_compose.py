"""docker-compose.yml: the pieces of the local stack must point at each other.

Each check is one a user of ``docker compose up`` would hit: a worker dialling a listener
the broker does not advertise, Prometheus scraping the wrong port, Grafana without data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = load_yaml(REPO_ROOT / "docker-compose.yml")
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    result = compose.get("services")
    assert isinstance(result, dict), "docker-compose.yml has no services"
    return result


def env_of(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict, from either the mapping or the list form."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def published_ports(service: dict[str, Any]) -> dict[int, int]:
    """container port -> host port for the ``ports`` a service publishes."""
    result: dict[int, int] = {}
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            target = str(entry["target"])
            published = str(entry.get("published", target))
        else:
            parts = str(entry).split("/")[0].split(":")
            target, published = parts[-1], parts[-2] if len(parts) > 1 else parts[-1]
        result[int(target)] = int(published)
    return result


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """container path -> host path for a service's bind mounts."""
    result: dict[str, Path] = {}
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            source, target = entry["source"], entry["target"]
        else:
            source, target = str(entry).split(":")[:2]
        result[target] = (REPO_ROOT / source).resolve()
    return result


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """``NAME://host:port,...`` -> {NAME: (host, port)}."""
    result: dict[str, tuple[str, int]] = {}
    for item in value.split(","):
        name, _, address = item.strip().partition("://")
        host, _, port = address.rpartition(":")
        result[name] = (host, int(port))
    return result


def container_names(services: dict[str, Any], name: str) -> set[str]:
    """Names other containers on the compose network can resolve for a service."""
    service = services[name]
    return {name, service.get("hostname", name), service.get("container_name", name)}


@pytest.fixture(scope="module")
def kafka_env(services: dict[str, Any]) -> dict[str, str]:
    return env_of(services["kafka"])


def test_stack_has_broker_worker_prometheus_and_grafana(services: dict[str, Any]) -> None:
    assert {"kafka", "worker", "prometheus", "grafana"} <= services.keys()


def test_broker_is_apache_kafka_4_in_kraft_combined_mode(
    services: dict[str, Any], kafka_env: dict[str, str]
) -> None:
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", services["kafka"]["image"])
    assert "KAFKA_ZOOKEEPER_CONNECT" not in kafka_env
    roles = {role.strip() for role in kafka_env["KAFKA_PROCESS_ROLES"].split(",")}
    assert roles == {"broker", "controller"}


def test_controller_quorum_voter_is_this_node_on_its_controller_listener(
    services: dict[str, Any], kafka_env: dict[str, str]
) -> None:
    bound = listeners(kafka_env["KAFKA_LISTENERS"])
    controller_name = kafka_env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert controller_name in bound, "the controller listener is not bound"

    voters = kafka_env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    assert len(voters) == 1
    node_id, _, address = voters[0].partition("@")
    host, _, port = address.rpartition(":")
    assert node_id == kafka_env["KAFKA_NODE_ID"]
    assert host in container_names(services, "kafka") | {"localhost"}
    assert int(port) == bound[controller_name][1]


def test_every_listener_has_a_security_protocol(kafka_env: dict[str, str]) -> None:
    mapped = {
        pair.split(":")[0] for pair in kafka_env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    }
    bound = listeners(kafka_env["KAFKA_LISTENERS"])
    advertised = listeners(kafka_env["KAFKA_ADVERTISED_LISTENERS"])

    assert bound.keys() <= mapped
    assert advertised.keys() <= bound.keys(), "advertised listeners the broker does not bind"
    assert kafka_env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised


def test_single_broker_internal_topics_need_one_replica(kafka_env: dict[str, str]) -> None:
    assert kafka_env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert kafka_env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert kafka_env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "1"


def test_worker_dials_a_listener_the_broker_advertises_to_containers(
    services: dict[str, Any], kafka_env: dict[str, str]
) -> None:
    advertised = listeners(kafka_env["KAFKA_ADVERTISED_LISTENERS"])
    bound = listeners(kafka_env["KAFKA_LISTENERS"])
    broker = env_of(services["worker"])["PACKETFLOW_BROKER"].removeprefix("kafka://")
    host, _, port = broker.rpartition(":")

    matching = [name for name, address in advertised.items() if address == (host, int(port))]
    assert matching, f"{broker} is not one of the advertised listeners {advertised}"
    assert host in container_names(services, "kafka"), "the worker must dial the kafka service"
    assert bound[matching[0]][1] == int(port)


def test_host_clients_get_an_advertised_listener_on_a_published_port(
    services: dict[str, Any], kafka_env: dict[str, str]
) -> None:
    advertised = listeners(kafka_env["KAFKA_ADVERTISED_LISTENERS"])
    bound = listeners(kafka_env["KAFKA_LISTENERS"])
    published = published_ports(services["kafka"])

    for_host = {
        name
        for name, (host, port) in advertised.items()
        if host in {"localhost", "127.0.0.1"} and published.get(bound[name][1]) == port
    }
    assert for_host, f"no advertised listener is reachable from the host: {advertised}"


def test_broker_healthcheck_asks_a_bound_listener_for_api_versions(
    services: dict[str, Any], kafka_env: dict[str, str]
) -> None:
    test = services["kafka"]["healthcheck"]["test"]
    command = test if isinstance(test, str) else " ".join(test)
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in command
    match = re.search(r"--bootstrap-server\s+(\S+):(\d+)", command)
    assert match, command
    ports = {port for _, port in listeners(kafka_env["KAFKA_LISTENERS"]).values()}
    assert int(match[2]) in ports


def test_worker_runs_the_packetflow_faust_app(services: dict[str, Any]) -> None:
    worker = services["worker"]
    command = worker.get("command")
    if command is None:
        context = (
            worker["build"] if isinstance(worker["build"], str) else worker["build"]["context"]
        )
        dockerfile = REPO_ROOT / context / "Dockerfile"
        cmds = re.findall(r"^CMD\s+(\[.*\])\s*$", dockerfile.read_text(), re.MULTILINE)
        assert cmds, f"{dockerfile} has no exec-form CMD"
        command = json.loads(cmds[-1])
    if isinstance(command, str):
        command = command.split()
    assert command[:4] == ["faust", "-A", "packetflow", "worker"]


def test_worker_starts_after_the_broker_is_healthy(services: dict[str, Any]) -> None:
    assert depends_on(services["worker"]).get("kafka") == "service_healthy"


def test_worker_publishes_its_web_port(services: dict[str, Any]) -> None:
    worker = services["worker"]
    web_port = int(env_of(worker)["PACKETFLOW_WEB_PORT"])
    assert web_port in published_ports(worker)


def test_prometheus_scrapes_the_worker_metrics_page(services: dict[str, Any]) -> None:
    config_path = mounts(services["prometheus"]).get("/etc/prometheus/prometheus.yml")
    assert config_path, "prometheus.yml is not mounted into the prometheus service"
    assert config_path.is_file(), f"{config_path} does not exist"
    web_port = env_of(services["worker"])["PACKETFLOW_WEB_PORT"]
    worker_targets = {f"{name}:{web_port}" for name in container_names(services, "worker")}

    jobs = load_yaml(config_path)["scrape_configs"]
    scraping = [
        job
        for job in jobs
        for static in job.get("static_configs", [])
        if worker_targets & set(static.get("targets", []))
    ]
    assert scraping, f"no scrape job targets {sorted(worker_targets)}"
    assert all(job.get("metrics_path", "/metrics") == "/metrics" for job in scraping)


def test_grafana_provisions_the_prometheus_service_as_a_datasource(
    services: dict[str, Any],
) -> None:
    provisioning = mounts(services["grafana"]).get("/etc/grafana/provisioning")
    assert provisioning, "grafana provisioning is not mounted"
    files = sorted((provisioning / "datasources").glob("*.y*ml"))
    assert files, f"no datasource files under {provisioning / 'datasources'}"

    sources = [ds for path in files for ds in load_yaml(path).get("datasources", [])]
    prometheus = [ds for ds in sources if ds.get("type") == "prometheus"]
    assert prometheus, "no prometheus datasource"
    url = urlsplit(prometheus[0]["url"])
    assert url.hostname in container_names(services, "prometheus")
    assert url.port == 9090  # the port Prometheus listens on inside its container
