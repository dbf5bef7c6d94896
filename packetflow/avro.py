"""Avro binary encoding of every record type, in the Confluent wire format.

A record is ``0x00`` + a 4-byte big-endian schema id + the Avro binary body.
The schemas are ``schemas/*.avsc``. Fields of free structure (``payload``,
``details``, ``metadata``…) are Avro strings with ``"logicalType": "json"``
holding a JSON document: readers that ignore the logical type still see
valid JSON, and any JSON value (big integers, nesting, unicode) round-trips
exactly. A record's unknown extra fields travel in its ``extra`` JSON field.

Without a Schema Registry, ids come from :data:`LOCAL_SCHEMA_IDS`.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import fastavro
from pydantic_core import from_json, to_json

__all__ = [
    "LOCAL_SCHEMA_IDS",
    "MAGIC_BYTE",
    "SCHEMA_DIR",
    "AvroCodec",
    "AvroDecodeError",
    "load_schema",
]

MAGIC_BYTE = 0
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

LOCAL_SCHEMA_IDS: dict[str, int] = {
    "request": 1,
    "response": 2,
    "error": 3,
    "heartbeat": 4,
    "effect": 5,
    "audit": 6,
    "dead_letter": 7,
}
"""Schema ids used when no Schema Registry is configured (documented in docs/protocol.md)."""

_HEADER = struct.Struct(">bI")
Convert = Callable[[Any], Any]


class AvroDecodeError(ValueError):
    """Bytes that are not a record of a known schema in the Confluent wire format."""


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed ``schemas/<name>.avsc``."""
    doc: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.avsc").read_text())
    return doc


class AvroCodec:
    """Encodes and decodes records of the named schemas; thread-safe, reusable."""

    def __init__(
        self,
        ids: Mapping[str, int] = LOCAL_SCHEMA_IDS,
        writer_schemas: Callable[[int], dict[str, Any]] | None = None,
    ) -> None:
        """``ids``: the id each schema is written with; ``writer_schemas``: how to fetch
        the schema of an id not among them (a Schema Registry), for schema resolution."""
        self._ids = dict(ids)
        self._names = {v: k for k, v in self._ids.items()}
        self._fetch = writer_schemas
        self._writers: dict[int, tuple[str, Any]] = {}
        self._full_names = {_full_name(load_schema(n)): n for n in self._ids}
        self._parsed = {n: fastavro.parse_schema(load_schema(n)) for n in self._ids}
        self._to_avro = {n: _converter(load_schema(n), to_avro=True) for n in self._ids}
        self._from_avro = {n: _converter(load_schema(n), to_avro=False) for n in self._ids}

    def schema_id(self, name: str) -> int:
        """The id under which ``name`` is written."""
        return self._ids[name]

    def _schema_of(self, schema_id: int) -> tuple[str, Any]:
        """Our schema's name and the writer schema of ``schema_id``."""
        name = self._names.get(schema_id)
        if name is not None:
            return name, self._parsed[name]
        known = self._writers.get(schema_id)
        if known is not None:
            return known
        if self._fetch is None:
            raise AvroDecodeError(f"unknown schema id {schema_id}; known: {sorted(self._names)}")
        try:
            writer = self._fetch(schema_id)
            name = self._full_names[_full_name(writer)]
            known = (name, fastavro.parse_schema(writer))
        except KeyError:
            raise AvroDecodeError(f"schema id {schema_id} is not a PacketFlow record") from None
        except Exception as exc:  # the registry is down, or the schema is not Avro
            raise AvroDecodeError(f"schema id {schema_id}: {exc}") from None
        self._writers[schema_id] = known
        return known

    def encode(self, name: str, doc: Mapping[str, Any]) -> bytes:
        """Frame and encode a JSON-ready dict (``model.model_dump(mode="json")``)."""
        out = io.BytesIO()
        out.write(_HEADER.pack(MAGIC_BYTE, self._ids[name]))
        fastavro.schemaless_writer(out, self._parsed[name], self._to_avro[name](doc))
        return out.getvalue()

    def decode(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """The schema name and the JSON-ready dict of a framed record."""
        if len(data) < _HEADER.size:
            raise AvroDecodeError(f"{len(data)} bytes is too short for the Avro wire format")
        magic, schema_id = _HEADER.unpack_from(data)
        if magic != MAGIC_BYTE:
            raise AvroDecodeError(f"unknown magic byte {magic:#04x}, expected 0x00")
        name, writer = self._schema_of(schema_id)
        body = io.BytesIO(data[_HEADER.size :])
        try:
            datum = fastavro.schemaless_reader(body, writer, self._parsed[name])
        except Exception as exc:  # fastavro raises many types on bad bytes
            raise AvroDecodeError(f"not a valid {name} record: {_avro_reason(exc)}") from None
        if body.tell() != len(data) - _HEADER.size:
            raise AvroDecodeError(f"{len(data) - _HEADER.size - body.tell()} trailing bytes")
        try:
            return name, self._from_avro[name](datum)
        except AvroDecodeError:
            raise
        except ValueError as exc:
            raise AvroDecodeError(f"a json field of {name} is not JSON: {exc}") from None


def _full_name(schema: Mapping[str, Any]) -> str:
    return f"{schema.get('namespace', '')}.{schema['name']}"


def _is_json(t: Any) -> bool:
    return isinstance(t, dict) and t.get("type") == "string" and t.get("logicalType") == "json"


def _converter(t: Any, *, to_avro: bool) -> Convert:
    """A function mapping a JSON-ready value to its Avro datum (or back) for type ``t``."""
    if _is_json(t):
        return _dump if to_avro else _load
    if isinstance(t, list):  # a union: only ["null", X] is used
        inner = _converter(next(x for x in t if x != "null"), to_avro=to_avro)
        return lambda v: None if v is None else inner(v)
    if isinstance(t, dict) and t.get("type") == "record":
        return _record(t, to_avro=to_avro)
    if isinstance(t, dict) and t.get("type") == "array":
        item = _converter(t["items"], to_avro=to_avro)
        return lambda v: [item(x) for x in v]
    return _same


def _record(schema: dict[str, Any], *, to_avro: bool) -> Convert:
    fields = [(f["name"], _converter(f["type"], to_avro=to_avro)) for f in schema["fields"]]
    names = frozenset(name for name, _ in fields)
    has_extra = "extra" in names and any(
        f["name"] == "extra" and _is_json(f["type"]) for f in schema["fields"]
    )

    declared = [(n, c) for n, c in fields if n != "extra" or not has_extra]
    known = frozenset(n for n, _ in declared)

    def to(doc: Mapping[str, Any]) -> dict[str, Any]:
        out = {name: conv(doc.get(name)) for name, conv in declared}
        if has_extra:  # every field the schema does not declare, including one named "extra"
            out["extra"] = _dump({k: v for k, v in doc.items() if k not in known})
        return out

    def back(datum: Mapping[str, Any]) -> dict[str, Any]:
        out = {name: conv(datum[name]) for name, conv in declared}
        if has_extra:
            extra = _load(datum["extra"])
            if not isinstance(extra, dict):
                raise AvroDecodeError(f"'extra' must hold a JSON object, not {extra!r:.40}")
            out.update(extra)
        return out

    return to if to_avro else back


def _dump(value: Any) -> str:
    return to_json(value).decode()


def _load(value: str) -> Any:
    return from_json(value)


def _same(value: Any) -> Any:
    return value


def _avro_reason(exc: Exception) -> str:
    """Why fastavro could not read a record, in words rather than its exception's type."""
    if isinstance(exc, EOFError):
        return "the value ends before the record"
    if isinstance(exc, UnicodeDecodeError):
        return "a string field is not valid UTF-8"
    return "its bytes do not match the schema"
