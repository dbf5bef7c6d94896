"""The Schema Registry client against a fake registry speaking the Confluent REST API v1.

No Schema Registry can be installed on this machine (Confluent's is not on Maven
Central, Karapace is not on PyPI), so the REST contract is served in-process.
"""

from __future__ import annotations

import copy
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import fastavro
import pytest

from packetflow.avro import LOCAL_SCHEMA_IDS, AvroCodec, AvroDecodeError, load_schema
from packetflow.envelope import CapabilityRequest
from packetflow.schema_registry import SchemaRegistry, SchemaRegistryError, subject_of


class FakeRegistry(BaseHTTPRequestHandler):
    schemas: ClassVar[dict[int, str]] = {}
    by_text: ClassVar[dict[str, int]] = {}

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = body["schema"]
        schema_id = self.by_text.setdefault(text, 100 + len(self.by_text))
        self.schemas[schema_id] = text
        self._reply(200, {"id": schema_id})

    def do_GET(self) -> None:
        schema_id = int(self.path.rsplit("/", 1)[1])
        if schema_id not in self.schemas:
            self._reply(404, {"error_code": 40403, "message": "Schema not found"})
        else:
            self._reply(200, {"schema": self.schemas[schema_id]})

    def _reply(self, status: int, doc: dict[str, Any]) -> None:
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def registry_url() -> Iterator[str]:
    FakeRegistry.schemas, FakeRegistry.by_text = {}, {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_every_schema_is_registered_under_its_record_name(registry_url: str) -> None:
    ids = SchemaRegistry(registry_url).register_all()
    assert set(ids) == set(LOCAL_SCHEMA_IDS)
    assert subject_of("request") == "io.packetflow.v1.CapabilityRequest"
    assert len(set(ids.values())) == len(ids)


def test_records_are_written_with_the_registry_ids(registry_url: str) -> None:
    registry = SchemaRegistry(registry_url)
    codec = AvroCodec(registry.register_all(), registry.writer_schema)
    request = CapabilityRequest(capability_id="x", payload={"n": 1})
    data = codec.encode("request", request.model_dump(mode="json"))
    assert int.from_bytes(data[1:5], "big") == codec.schema_id("request") >= 100
    name, doc = codec.decode(data)
    assert name == "request"
    assert CapabilityRequest.model_validate(doc) == request


def test_another_writers_version_is_resolved_to_ours(registry_url: str) -> None:
    registry = SchemaRegistry(registry_url)
    codec = AvroCodec(registry.register_all(), registry.writer_schema)
    evolved = copy.deepcopy(load_schema("request"))
    evolved["fields"].append({"name": "tenant", "type": "string", "default": ""})
    writer_id = registry._request("POST", "/subjects/x/versions", {"schema": json.dumps(evolved)})[
        "id"
    ]
    request = CapabilityRequest(capability_id="x", payload={"n": 1})
    datum = AvroCodec()._to_avro["request"](request.model_dump(mode="json"))
    out = io.BytesIO()
    out.write(b"\x00" + int(writer_id).to_bytes(4, "big"))
    fastavro.schemaless_writer(out, fastavro.parse_schema(evolved), {**datum, "tenant": "acme"})
    name, doc = codec.decode(out.getvalue())
    assert name == "request"
    assert CapabilityRequest.model_validate(doc) == request


def test_unknown_ids_and_an_unreachable_registry_are_clear_errors(registry_url: str) -> None:
    registry = SchemaRegistry(registry_url)
    codec = AvroCodec(registry.register_all(), registry.writer_schema)
    with pytest.raises(AvroDecodeError, match="schema id 999"):
        codec.decode(b"\x00" + (999).to_bytes(4, "big") + b"\x02")
    with pytest.raises(SchemaRegistryError, match=r"127\.0\.0\.1:9"):
        SchemaRegistry("http://127.0.0.1:9", timeout=2).register_all()
