"""The kcat walk-through of docs/protocol.md, run for real against the worker.

Every shell step below appears verbatim in docs/protocol.md (the first test checks it),
and is run by bash with ``BROKER`` and ``PREFIX`` set, in a scratch directory that has the
repository's ``schemas/``. Consuming steps are repeated until the answer is there, within
a deadline: kcat ``-e`` reads what is on the topic now and exits.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from packetflow.avro import AvroCodec
from tests.e2e.support import Worker

REPO = Path(__file__).resolve().parents[2]
PROTOCOL_DOC = REPO / "docs" / "protocol.md"
ANSWER_TIMEOUT_S = 60.0
KCAT_MISSING = (
    "kcat is not installed, and the protocol walk-through (docs/protocol.md) is run with it."
    " Install it: `apt-get install kcat` (Debian/Ubuntu), `brew install kcat` (macOS),"
    " or see https://github.com/edenhill/kcat"
)

HEARTBEAT = r"""
echo '{"version":"1.0","type":"heartbeat","id":"kcat-hb-1","metadata":{"reply_partition":0}}' \
  | kcat -b "$BROKER" -P -t "$PREFIX.requests" -k kcat-hb-1
""".strip()

HEARTBEAT_ANSWER = r"""
kcat -b "$BROKER" -C -t "$PREFIX.responses" -p 0 -o beginning -e -q -f '%k\t%s\n' \
  | awk -F'\t' '$1 == "kcat-hb-1" {print $2}'
""".strip()

WRITE_JSON_REQUEST = r"""
cat > request.json <<'EOF'
{"version": "1.0", "type": "capability_request", "id": "kcat-json-1",
 "capability_id": "user_profile_transform",
 "payload": {"user_id": "u-42",
             "profile": {"email": " Ann@Example.COM ", "phone": "+1 555 123 4567"}},
 "context": {"user_id": "kcat-user", "trace_id": "trace-kcat-1", "tenant": "acme"},
 "metadata": {"timeout": 5000, "reply_partition": 0}}
EOF
""".strip()

PRODUCE_JSON_REQUEST = r"""
kcat -b "$BROKER" -P -t "$PREFIX.requests" -k kcat-json-1 \
  -H content-type=application/json \
  -H traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 \
  request.json
""".strip()

JSON_ANSWER = r"""
kcat -b "$BROKER" -C -t "$PREFIX.responses" -p 0 -o beginning -e -q -f '%k\t%h\t%s\n' \
  | awk -F'\t' '$1 == "kcat-json-1" {print $2; print $3}'
""".strip()

WRITE_AVRO_REQUEST = r"""
python3 - <<'EOF'
import io, json, struct, warnings
import avro.errors, avro.io, avro.schema

warnings.filterwarnings("ignore", category=avro.errors.IgnoredLogicalType)
schema = avro.schema.parse(open("schemas/request.avsc").read())
datum = {
    "version": "1.0",
    "id": "kcat-avro-1",
    "intent": "",
    "context": {"user_id": "kcat-user", "session_id": None, "timestamp": None,
                "trace_id": "trace-kcat-2", "extra": json.dumps({"tenant": "acme"})},
    "type": "capability_request",
    "capability_id": "user_profile_transform",
    "payload": json.dumps({"user_id": "u-43", "profile": {"email": " Bob@Example.ORG "}}),
    "metadata": {"priority": "normal", "timeout": 5000, "reply_partition": 0, "extra": "{}"},
}
body = io.BytesIO()
avro.io.DatumWriter(schema).write(datum, avro.io.BinaryEncoder(body))
with open("request.avro", "wb") as f:
    f.write(struct.pack(">bI", 0, 1) + body.getvalue())  # magic byte 0, schema id 1 (request)
EOF
""".strip()

PRODUCE_AVRO_REQUEST = r"""
kcat -b "$BROKER" -P -t "$PREFIX.requests" -k kcat-avro-1 \
  -H content-type=application/avro request.avro
""".strip()

FETCH_AVRO_ANSWER = r"""
offset=$(kcat -b "$BROKER" -C -t "$PREFIX.responses" -p 0 -o beginning -e -q -f '%k %o\n' \
  | awk '$1 == "kcat-avro-1" {print $2}')
test -n "$offset" && kcat -b "$BROKER" -C -t "$PREFIX.responses" -p 0 -o "$offset" -c 1 -e -q \
  -f '%s' > response.avro
""".strip()

READ_AVRO_ANSWER = r"""
python3 - <<'EOF'
import io, json, struct, warnings
import avro.errors, avro.io, avro.schema

warnings.filterwarnings("ignore", category=avro.errors.IgnoredLogicalType)
data = open("response.avro", "rb").read()
magic, schema_id = struct.unpack(">bI", data[:5])
assert (magic, schema_id) == (0, 2), (magic, schema_id)  # 2: response (3 would be an error)
schema = avro.schema.parse(open("schemas/response.avsc").read())
record = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(data[5:])))
print(json.dumps(record))
EOF
""".strip()

STEPS = [
    HEARTBEAT,
    HEARTBEAT_ANSWER,
    WRITE_JSON_REQUEST,
    PRODUCE_JSON_REQUEST,
    JSON_ANSWER,
    WRITE_AVRO_REQUEST,
    PRODUCE_AVRO_REQUEST,
    FETCH_AVRO_ANSWER,
    READ_AVRO_ANSWER,
]

Run = Callable[[str], subprocess.CompletedProcess[bytes]]


@pytest.fixture(scope="module")
def kcat() -> str:
    """kcat's path; the walk-through cannot be checked without it, so its absence fails."""
    path = shutil.which("kcat")
    if path is None:
        pytest.fail(KCAT_MISSING)
    return path


@pytest.fixture
def shell(worker: Worker, kcat: str, tmp_path: Path) -> Run:
    """Run one walk-through step with bash, as a reader would, in a scratch directory."""
    (tmp_path / "schemas").symlink_to(REPO / "schemas")
    env = {
        **os.environ,
        "BROKER": worker.broker,
        "PREFIX": worker.topics.prefix,
        # `python3` is this interpreter (it has the `avro` package); kcat is the one found
        "PATH": os.pathsep.join(
            [str(Path(sys.executable).parent), str(Path(kcat).parent), os.environ["PATH"]]
        ),
    }

    def run(step: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["bash", "-o", "pipefail", "-c", step],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=ANSWER_TIMEOUT_S,
            check=False,
        )

    return run


def ok(step: str, result: subprocess.CompletedProcess[bytes]) -> bytes:
    assert result.returncode == 0, f"{step}\nexit {result.returncode}: {result.stderr!r}"
    return result.stdout


def until_answered(run: Run, step: str) -> bytes:
    """Repeat a consuming step until it prints something and succeeds, within a deadline."""
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while True:
        result = run(step)
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout
        if time.monotonic() > deadline:
            pytest.fail(f"no answer within {ANSWER_TIMEOUT_S}s:\n{step}\n{result.stderr!r}")


def until_ok(run: Run, step: str) -> None:
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while run(step).returncode != 0:
        if time.monotonic() > deadline:
            pytest.fail(f"no answer within {ANSWER_TIMEOUT_S}s:\n{step}")


def headers_of(line: bytes) -> dict[str, str]:
    """kcat's ``%h``: ``name=value`` pairs separated by commas."""
    return dict(pair.split("=", 1) for pair in line.decode().split(","))


def test_every_step_is_in_the_protocol_reference() -> None:
    doc = PROTOCOL_DOC.read_text()
    missing = [step.splitlines()[0] for step in STEPS if step not in doc]
    assert missing == [], "docs/protocol.md no longer shows these steps as they are run"


def test_heartbeat_with_kcat(shell: Run) -> None:
    ok(HEARTBEAT, shell(HEARTBEAT))
    answer = json.loads(until_answered(shell, HEARTBEAT_ANSWER))
    assert answer["type"] == "heartbeat"
    assert answer["correlation_id"] == "kcat-hb-1"
    assert answer["payload"]["status"] == "alive"
    assert answer["payload"]["capabilities"] > 0


def test_json_request_and_response_with_kcat(shell: Run) -> None:
    ok(WRITE_JSON_REQUEST, shell(WRITE_JSON_REQUEST))
    ok(PRODUCE_JSON_REQUEST, shell(PRODUCE_JSON_REQUEST))
    header_line, value = until_answered(shell, JSON_ANSWER).splitlines()
    assert headers_of(header_line) == {
        "content-type": "application/json",
        "packetflow-type": "capability_response",
        "packetflow-correlation-id": "kcat-json-1",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }
    response = json.loads(value)
    assert (response["type"], response["correlation_id"]) == ("capability_response", "kcat-json-1")
    assert response["capability_id"] == "user_profile_transform"
    assert response["payload"]["transformed_profile"] == {
        "email": "ann@example.com",
        "phone": "+15551234567",
        "name": None,
    }
    assert response["context"]["tenant"] == "acme"  # unknown context fields are passed on
    assert response["context"]["trace_id"] == "trace-kcat-1"


def test_avro_request_and_response_with_kcat(shell: Run, tmp_path: Path) -> None:
    ok(WRITE_AVRO_REQUEST, shell(WRITE_AVRO_REQUEST))
    request = (tmp_path / "request.avro").read_bytes()
    assert request[:5] == b"\x00\x00\x00\x00\x01"
    ok(PRODUCE_AVRO_REQUEST, shell(PRODUCE_AVRO_REQUEST))
    until_ok(shell, FETCH_AVRO_ANSWER)

    schema, response = AvroCodec().decode((tmp_path / "response.avro").read_bytes())
    assert schema == "response"
    assert (response["type"], response["correlation_id"]) == ("capability_response", "kcat-avro-1")
    assert response["payload"]["transformed_profile"]["email"] == "bob@example.org"
    assert response["context"]["tenant"] == "acme"
    assert response["context"]["trace_id"] == "trace-kcat-2"

    # The reader of the walk-through, with the official Avro library, sees the same record.
    printed: dict[str, Any] = json.loads(ok(READ_AVRO_ANSWER, shell(READ_AVRO_ANSWER)))
    assert json.loads(printed["payload"]) == response["payload"]
    assert json.loads(printed["metadata"]) == response["metadata"]
    assert json.loads(printed["context"].pop("extra")) == {"tenant": "acme"}
    assert printed["context"] == {k: v for k, v in response["context"].items() if k != "tenant"}
    assert printed["correlation_id"] == "kcat-avro-1"
