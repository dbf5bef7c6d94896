"""JSON or Avro: which encoding a record uses, and how to write a record model in either."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json, to_jsonable_python

from packetflow.avro import AvroCodec
from packetflow.records import Header, RawRecord

__all__ = [
    "AVRO_CONTENT_TYPES",
    "JSON_CONTENT_TYPES",
    "Encoder",
    "Encoding",
    "UnknownContentType",
    "encoding_of",
]

JSON_CONTENT_TYPES = frozenset({b"application/json"})
"""Media types read as JSON; parameters such as ``; charset=utf-8`` are ignored."""
AVRO_CONTENT_TYPES = frozenset(
    {b"application/avro", b"avro/binary", b"application/vnd.apache.avro+binary"}
)


class Encoding(StrEnum):
    """How a record's value is encoded; named by its ``content-type`` header."""

    JSON = "json"
    AVRO = "avro"

    @property
    def content_type(self) -> bytes:
        """The ``content-type`` header value PacketFlow writes."""
        return b"application/json" if self is Encoding.JSON else b"application/avro"

    @property
    def header(self) -> Header:
        """The ``content-type`` header PacketFlow writes."""
        return ("content-type", self.content_type)


class UnknownContentType(ValueError):
    """A ``content-type`` header that names neither JSON nor Avro."""


def encoding_of(record: RawRecord) -> Encoding:
    """The record's encoding: its ``content-type`` header, else Avro if it starts with 0x00."""
    content_type = record.header("content-type")
    if content_type is not None:
        lowered = content_type.split(b";")[0].strip().lower()
        if lowered in JSON_CONTENT_TYPES:
            return Encoding.JSON
        if lowered in AVRO_CONTENT_TYPES:
            return Encoding.AVRO
        shown = content_type[:64].decode("utf-8", "replace")
        shown = "".join(c if c.isprintable() else "?" for c in shown)
        raise UnknownContentType(f'unsupported content-type "{shown}"')
    return Encoding.AVRO if record.value and record.value[0] == 0 else Encoding.JSON


class Encoder:
    """Writes record models as JSON bytes or as framed Avro."""

    def __init__(self, codec: AvroCodec | None = None) -> None:
        self.codec = codec or AvroCodec()

    def encode(
        self, schema: str, record: BaseModel | Mapping[str, Any], encoding: Encoding
    ) -> bytes:
        """The value bytes of ``record`` (of Avro schema ``schema``) in ``encoding``.

        ``record`` is a model or a mapping shaped like one (the hot path builds
        mappings: they skip a validation of data PacketFlow made itself).
        """
        if encoding is Encoding.JSON:
            return to_json(record)
        if isinstance(record, BaseModel):
            return self.codec.encode(schema, record.model_dump(mode="json"))
        return self.codec.encode(schema, to_jsonable_python(record))
