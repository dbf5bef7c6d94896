"""The Avro schemas in ``schemas/`` and the pydantic models that write the records agree.

A field added to a model but not to its schema (or the other way round) is a record
that one encoding carries and the other silently drops; these tests name the field.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import avro.errors
import avro.schema
import fastavro
import pytest
from pydantic import BaseModel

from packetflow.avro import LOCAL_SCHEMA_IDS, SCHEMA_DIR, load_schema
from packetflow.effects import EffectRecord
from packetflow.envelope import (
    CapabilityError,
    CapabilityRequest,
    CapabilityResponse,
    ErrorBody,
    Heartbeat,
)
from packetflow.errors import ErrorType, error_code
from packetflow.pipeline.publish import DLQ_HEADERS
from packetflow.records import AuditRecord

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
PROTOCOL_DOC = REPO / "docs" / "protocol.md"
SCHEMA_FILES = sorted(SCHEMAS.glob("*.avsc"))

MODELS: dict[str, type[BaseModel]] = {
    "request": CapabilityRequest,
    "response": CapabilityResponse,
    "error": CapabilityError,
    "heartbeat": Heartbeat,
    "effect": EffectRecord,
    "audit": AuditRecord,
}


# --- a common shape for both sides ----------------------------------------------------------


@dataclass
class Record:
    """A record's fields (name -> nullable, kind) and whether it keeps unknown fields."""

    fields: dict[str, tuple[bool, Kind]] = field(default_factory=dict)
    keeps_extra: bool = False


Kind = str | Record


def _is_json_string(t: Any) -> bool:
    return isinstance(t, dict) and t.get("type") == "string" and t.get("logicalType") == "json"


_AVRO_PRIMITIVES = {
    "string": "string",
    "int": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "boolean": "boolean",
    "bytes": "bytes",
}


def avro_kind(t: Any, named: dict[str, Record]) -> tuple[bool, Kind]:
    """(nullable, kind) of an Avro type; json strings are kind ``json``."""
    if isinstance(t, list):
        others = [x for x in t if x != "null"]
        assert len(others) == 1, f"only [null, X] unions are used, got {t}"
        return "null" in t, avro_kind(others[0], named)[1]
    if _is_json_string(t):
        return False, "json"
    if isinstance(t, dict) and t.get("type") == "record":
        record = avro_record(t, named)
        return False, record
    if isinstance(t, dict) and t.get("type") == "array":
        return False, f"array of {avro_kind(t['items'], named)[1]}"
    if isinstance(t, dict):
        return avro_kind(t["type"], named)
    if t in named:
        return False, named[t]
    return False, _AVRO_PRIMITIVES[t]


def avro_record(schema: dict[str, Any], named: dict[str, Record] | None = None) -> Record:
    named = {} if named is None else named
    record = Record()
    named[schema["name"]] = record
    for f in schema["fields"]:
        if f["name"] == "extra" and _is_json_string(f["type"]):
            record.keeps_extra = True
        else:
            record.fields[f["name"]] = avro_kind(f["type"], named)
    return record


def model_kind(annotation: Any) -> tuple[bool, Kind]:
    """(nullable, kind) of a pydantic field annotation; free dicts and Any are ``json``."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = get_args(annotation)
        others = [a for a in args if a is not type(None)]
        assert len(others) == 1, f"only Optional[X] unions are used, got {annotation}"
        return type(None) in args, model_kind(others[0])[1]
    if origin is Literal:
        values = get_args(annotation)
        if all(isinstance(v, str | Enum) for v in values):
            return False, "string"
        raise AssertionError(f"unexpected literal {annotation}")
    if annotation is Any or annotation is dict or origin is dict:
        return False, "json"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return False, model_record(annotation)
    if isinstance(annotation, type) and issubclass(annotation, bool):
        return False, "boolean"
    primitives: dict[type, str] = {str: "string", int: "int", float: "float", bytes: "bytes"}
    return False, primitives[annotation]


def model_record(model: type[BaseModel]) -> Record:
    record = Record(keeps_extra=model.model_config.get("extra") == "allow")
    for name, info in model.model_fields.items():
        record.fields[name] = model_kind(info.annotation)
    return record


def differences(model: Record, schema: Record, path: str) -> list[str]:
    """Every disagreement between a model's shape and a schema's, by field path."""
    out: list[str] = []
    only_model = sorted(model.fields.keys() - schema.fields.keys())
    only_schema = sorted(schema.fields.keys() - model.fields.keys())
    out += [f"{path}.{n}: in the model, not in the schema" for n in only_model]
    out += [f"{path}.{n}: in the schema, not in the model" for n in only_schema]
    if model.keeps_extra != schema.keeps_extra:
        out.append(
            f"{path}: model extra='allow' is {model.keeps_extra}, "
            f"schema has a json 'extra' field is {schema.keeps_extra}"
        )
    for name in sorted(model.fields.keys() & schema.fields.keys()):
        (m_null, m_kind), (s_null, s_kind) = model.fields[name], schema.fields[name]
        where = f"{path}.{name}"
        if m_null != s_null:
            out.append(f"{where}: nullable in the model is {m_null}, in the schema {s_null}")
        if isinstance(m_kind, Record) and isinstance(s_kind, Record):
            out += differences(m_kind, s_kind, where)
        elif isinstance(m_kind, Record) or isinstance(s_kind, Record) or m_kind != s_kind:
            out.append(f"{where}: model type {_name(m_kind)}, schema type {_name(s_kind)}")
    return out


def _name(kind: Kind) -> str:
    return "record" if isinstance(kind, Record) else kind


# --- the drift test -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MODELS))
def test_schema_and_model_have_the_same_fields_at_every_level(name: str) -> None:
    schema = json.loads((SCHEMAS / f"{name}.avsc").read_text())
    assert differences(model_record(MODELS[name]), avro_record(schema), name) == []


def test_the_comparison_notices_drift() -> None:
    """The checker itself: a renamed, an extra and a re-typed field are all reported."""

    class Body(BaseModel):
        type: str
        text: str
        details: dict[str, Any] = {}

    class Payload(BaseModel):
        error: Body

    class Drifted(CapabilityError):
        payload: Payload  # type: ignore[assignment]
        correlation_id: str
        new_field: int = 0

    schema = json.loads((SCHEMAS / "error.avsc").read_text())
    assert differences(model_record(Drifted), avro_record(schema), "error") == [
        "error.new_field: in the model, not in the schema",
        "error.correlation_id: nullable in the model is False, in the schema True",
        "error.payload.error.text: in the model, not in the schema",
        "error.payload.error.message: in the schema, not in the model",
    ]


def test_error_body_is_the_nested_error_record() -> None:
    schema = json.loads((SCHEMAS / "error.avsc").read_text())
    payload = avro_record(schema).fields["payload"][1]
    assert isinstance(payload, Record)
    body = payload.fields["error"][1]
    assert isinstance(body, Record)
    assert differences(model_record(ErrorBody), body, "error.payload.error") == []


def documented_table(marker: str) -> list[list[str]]:
    """The body rows of the table between ``<!-- marker -->`` and ``<!-- /marker -->``."""
    text = PROTOCOL_DOC.read_text()
    assert f"<!-- {marker} -->" in text, f"docs/protocol.md has no {marker} table"
    section = text.split(f"<!-- {marker} -->")[1].split(f"<!-- /{marker} -->")[0]
    lines = [line for line in section.strip().splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def _documented_dead_letter_fields() -> dict[str, tuple[bool, str]]:
    """The dead-letter table of docs/protocol.md: field -> (nullable, what it is taken from)."""
    return {
        name.strip("`"): (avro_type.startswith("null or"), source)
        for name, avro_type, source in documented_table("dead-letter-fields")
    }


def test_dead_letter_schema_matches_the_documented_fields() -> None:
    documented = _documented_dead_letter_fields()
    schema = avro_record(json.loads((SCHEMAS / "dead_letter.avsc").read_text()))
    assert set(documented) == set(schema.fields)
    assert {n: null for n, (null, _) in documented.items()} == {
        n: null for n, (null, _) in schema.fields.items()
    }


def test_documented_dead_letter_fields_name_the_headers_the_worker_writes() -> None:
    sources = " ".join(src for _, src in _documented_dead_letter_fields().values())
    documented_headers = set(re.findall(r"`([\w.]+)`", sources))
    assert documented_headers == set(DLQ_HEADERS.values())


def test_documented_schema_ids_are_the_local_schema_ids() -> None:
    documented = {row[0].strip("`"): int(row[1]) for row in documented_table("schema-ids")}
    assert documented == LOCAL_SCHEMA_IDS


def test_documented_error_codes_are_the_workers() -> None:
    documented = {row[0].strip("`"): row[1] for row in documented_table("error-codes")}
    assert documented == {t.value: error_code(t) for t in ErrorType}


# --- the schema files themselves ------------------------------------------------------------


def test_schema_files_and_local_schema_ids_list_the_same_schemas() -> None:
    assert {p.stem for p in SCHEMA_FILES} == set(LOCAL_SCHEMA_IDS)
    assert len(set(LOCAL_SCHEMA_IDS.values())) == len(LOCAL_SCHEMA_IDS), "ids must be unique"


def test_the_codec_reads_the_published_schema_files() -> None:
    assert SCHEMA_DIR.resolve() == SCHEMAS.resolve()
    for path in SCHEMA_FILES:
        assert load_schema(path.stem) == json.loads(path.read_text())


@pytest.mark.filterwarnings("ignore::avro.errors.IgnoredLogicalType")
@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.stem)
def test_schema_parses_with_the_official_avro_library_and_fastavro(path: Path) -> None:
    text = path.read_text()
    parsed = avro.schema.parse(text)
    assert isinstance(parsed, avro.schema.RecordSchema)
    assert parsed.namespace == "io.packetflow.v1"
    fastavro.parse_schema(json.loads(text))


def test_the_json_logical_type_is_only_ignored_by_the_official_library() -> None:
    """Readers that do not know ``logicalType: json`` fall back to a plain string."""
    with pytest.warns(avro.errors.IgnoredLogicalType, match="Unknown json, using string"):
        avro.schema.parse((SCHEMAS / "request.avsc").read_text())


def _json_string_defaults(t: Any) -> list[Any]:
    if isinstance(t, dict):
        found = [f.get("default") for f in t.get("fields", []) if _is_json_string(f["type"])]
        for value in t.values():
            found += _json_string_defaults(value)
        return found
    if isinstance(t, list):
        return [d for x in t for d in _json_string_defaults(x)]
    return []


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.stem)
def test_json_field_defaults_are_json(path: Path) -> None:
    for default in _json_string_defaults(json.loads(path.read_text())):
        assert isinstance(default, str)
        json.loads(default)


def test_an_installed_package_can_encode_avro(tmp_path: Path) -> None:
    """A non-editable install (the Dockerfile's `pip install .`) ships the schemas."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, project / name)
    for name in ("packetflow", "streams", "schemas"):
        shutil.copytree(
            REPO / name,
            project / name,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    build = tmp_path / "build"
    setup = [sys.executable, "-c", "from setuptools import setup; setup()"]
    built = subprocess.run(
        [*setup, "build_py", "--build-lib", str(build)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    check = (
        f"import sys; sys.path.insert(0, {str(build)!r}); import packetflow.avro as a;"
        f" assert a.__file__.startswith({str(build)!r}), a.__file__; a.AvroCodec()"
    )
    # -I: no PYTHONPATH, no current directory; the built tree comes first on sys.path
    run = subprocess.run(
        [sys.executable, "-I", "-c", check],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
