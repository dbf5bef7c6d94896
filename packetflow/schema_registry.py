"""Optional Confluent Schema Registry: register PacketFlow's schemas, resolve unknown ids.

With ``PACKETFLOW_SCHEMA_REGISTRY_URL`` set, a worker registers every schema
under the subject of its record name (the registry's ``RecordNameStrategy``:
``io.packetflow.v1.CapabilityRequest``…, because one topic carries several
record types) and writes the ids the registry assigns. A record framed with an
id PacketFlow did not register (another writer's version of a schema) is
decoded with the writer's schema fetched from the registry and resolved to
PacketFlow's own (Avro schema resolution). Without a URL the local ids of
:data:`packetflow.avro.LOCAL_SCHEMA_IDS` are used and no registry is contacted.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from packetflow.avro import LOCAL_SCHEMA_IDS, load_schema

__all__ = ["SchemaRegistry", "SchemaRegistryError", "subject_of"]

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryError(RuntimeError):
    """The registry could not be reached or refused a request."""


def subject_of(name: str) -> str:
    """The subject of one of PacketFlow's schemas: its full record name."""
    schema = load_schema(name)
    return f"{schema['namespace']}.{schema['name']}"


class SchemaRegistry:
    """A minimal client of the Confluent Schema Registry REST API (v1)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._writers: dict[int, dict[str, Any]] = {}

    def register_all(self) -> dict[str, int]:
        """Register every PacketFlow schema; the ids the registry assigned, by name."""
        ids = {}
        for name in LOCAL_SCHEMA_IDS:
            body = {"schema": json.dumps(load_schema(name))}
            reply = self._request("POST", f"/subjects/{subject_of(name)}/versions", body)
            ids[name] = int(reply["id"])
        return ids

    def writer_schema(self, schema_id: int) -> dict[str, Any]:
        """The schema a record with ``schema_id`` was written with (cached)."""
        schema = self._writers.get(schema_id)
        if schema is None:
            reply = self._request("GET", f"/schemas/ids/{schema_id}")
            schema = json.loads(reply["schema"])
            if not isinstance(schema, dict):
                raise SchemaRegistryError(f"schema {schema_id} is not an Avro record")
            self._writers[schema_id] = schema
        return schema

    def _request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": CONTENT_TYPE}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                reply: dict[str, Any] = json.loads(resp.read())
                return reply
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise SchemaRegistryError(f"{method} {path}: HTTP {exc.code} {detail}") from None
        except (OSError, ValueError) as exc:
            raise SchemaRegistryError(f"{method} {self.url}{path}: {exc}") from None
