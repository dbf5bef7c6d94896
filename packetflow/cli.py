"""The ``packetflow`` command: call, ping, capabilities, state, tail.

Exit codes: 0 success, 1 the capability answered with an error, 2 bad usage
or input, 3 no answer in time, 4 broker or topics unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from pydantic_core import from_json, to_json
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from packetflow.client import CallError, CallTimeout, Client, read_topic
from packetflow.discovery import DISCOVER_ID
from packetflow.topics import TopicNames

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_TIMEOUT, EXIT_UNREACHABLE = 0, 1, 2, 3, 4


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return its exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(asyncio.run(args.run(args)))
    except KeyboardInterrupt:
        return EXIT_OK
    except CallTimeout as exc:
        _err({"error": {"type": "timeout", "message": str(exc)}})
        return EXIT_TIMEOUT
    except (ConnectionError, OSError) as exc:
        _err({"error": {"type": "unreachable", "message": str(exc)}})
        return EXIT_UNREACHABLE
    except Exception as exc:
        if type(exc).__module__.startswith("aiokafka"):
            _err({"error": {"type": "unreachable", "message": f"{type(exc).__name__}: {exc}"}})
            return EXIT_UNREACHABLE
        raise


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="packetflow", description=__doc__.split("\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--broker",
        default=os.environ.get("PACKETFLOW_BROKER", "127.0.0.1:9092"),
        help="bootstrap servers (env PACKETFLOW_BROKER)",
    )
    common.add_argument(
        "--prefix",
        default=os.environ.get("PACKETFLOW_TOPIC_PREFIX", "packetflow"),
        help="topic prefix (env PACKETFLOW_TOPIC_PREFIX)",
    )
    common.add_argument(
        "--token",
        default=os.environ.get("PACKETFLOW_TOKEN"),
        help="credential sent as the authorization header: 'Bearer <JWT>' or"
        " 'Biscuit <token>' (env PACKETFLOW_TOKEN)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    call = sub.add_parser("call", parents=[common], help="call a capability, print its answer")
    call.add_argument("capability")
    call.add_argument("--payload", default="{}", help="the payload as a JSON object")
    call.add_argument("--user", help="context.user_id")
    call.add_argument("--session", help="context.session_id")
    call.add_argument("--trace", help="context.trace_id")
    call.add_argument("--timeout", type=float, default=30.0, help="seconds to wait")
    call.add_argument("--encoding", choices=["json", "avro"], default="json")
    call.set_defaults(run=_call)

    ping = sub.add_parser("ping", parents=[common], help="heartbeat a worker")
    ping.add_argument("--timeout", type=float, default=10.0)
    ping.set_defaults(run=_ping)

    caps = sub.add_parser(
        "capabilities", parents=[common], help="list the capabilities you may call"
    )
    caps.add_argument("capability", nargs="?", help="describe this one in full")
    caps.add_argument("--json", action="store_true", help="print JSON")
    caps.add_argument(
        "--all", action="store_true", help="every contract on the registry topic, unfiltered"
    )
    caps.add_argument("--user", help="context.user_id (without a credential)")
    caps.set_defaults(run=_capabilities)

    state = sub.add_parser("state", parents=[common], help="a reactor's state for one key")
    state.add_argument("reactor")
    state.add_argument("key")
    state.add_argument(
        "--worker",
        default=os.environ.get("PACKETFLOW_WORKER_URL", "http://127.0.0.1:6066"),
        help="any worker's web server; it forwards to the key's owner (env PACKETFLOW_WORKER_URL)",
    )
    state.set_defaults(run=_state)

    tail = sub.add_parser("tail", parents=[common], help="print a topic's records as they come")
    tail.add_argument("topic", help="a topic, or a short name: requests, responses, audit, ...")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--max", type=int, default=None, help="stop after this many records")
    tail.add_argument("--idle-timeout", type=float, default=None, help="stop after N s of silence")
    tail.set_defaults(run=_tail)
    return parser


async def _call(args: argparse.Namespace) -> int:
    try:
        payload = from_json(args.payload, allow_inf_nan=False)
    except ValueError as exc:
        _err({"error": {"type": "usage", "message": f"--payload is not JSON: {exc}"}})
        return EXIT_USAGE
    if not isinstance(payload, dict):
        _err({"error": {"type": "usage", "message": "--payload must be a JSON object"}})
        return EXIT_USAGE
    context = {"user_id": args.user, "session_id": args.session, "trace_id": args.trace}
    async with Client(
        args.broker,
        topics=TopicNames(args.prefix),
        encoding=args.encoding,
        authorization=args.token,
    ) as client:
        try:
            result = await client.call(
                args.capability, payload, context=context, timeout=args.timeout
            )
        except CallError as exc:
            _err(exc.record.model_dump(mode="json"))
            return EXIT_ERROR
    _out(result)
    return EXIT_OK


async def _ping(args: argparse.Namespace) -> int:
    async with Client(
        args.broker, topics=TopicNames(args.prefix), authorization=args.token
    ) as client:
        _out(await client.ping(timeout=args.timeout))
    return EXIT_OK


async def _capabilities(args: argparse.Namespace) -> int:
    registry = await (_registry_topic(args) if args.all else _discover(args))
    if args.capability:
        if args.capability not in registry:
            _err({"error": {"type": "unknown_capability", "message": args.capability}})
            return EXIT_ERROR
        _out(registry[args.capability])
    elif args.json:
        _out(sorted(registry.values(), key=lambda c: str(c["id"])))
    else:
        Console().print(capability_table(registry))
    return EXIT_OK


def capability_table(registry: dict[str, dict[str, Any]]) -> Table:
    """The capabilities listed one per row: id, version, intent."""
    table = Table("id", "version", "intent", box=box.SIMPLE_HEAD, show_edge=False)
    for cap_id, cap in sorted(registry.items()):
        cells = (cap_id, cap.get("version", ""), cap.get("intent", ""))
        table.add_row(*(Text(str(cell)) for cell in cells))  # Text: no markup in intents
    return table


async def _discover(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    async with Client(
        args.broker, topics=TopicNames(args.prefix), authorization=args.token
    ) as client:
        found = await client.call(DISCOVER_ID, {}, context={"user_id": args.user})
    return {c["id"]: c for c in found["capabilities"]}


async def _registry_topic(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    registry: dict[str, dict[str, Any]] = {}
    topic = TopicNames(args.prefix).registry
    async for record in read_topic(args.broker, topic, from_beginning=True, idle_timeout=2.0):
        key = (record.key or b"").decode("utf-8", "replace")
        doc = record.json()
        if record.value is None:
            registry.pop(key, None)
        elif isinstance(doc, dict) and isinstance(doc.get("capability"), dict):
            registry[key] = doc["capability"]
    return registry


async def _state(args: argparse.Namespace) -> int:
    url = f"{args.worker.rstrip('/')}/reactors/{quote(args.reactor)}/{quote(args.key, safe='')}"
    try:
        status, body = await asyncio.to_thread(_http_get, url)
    except OSError as exc:
        raise ConnectionError(f"{url}: {exc}") from exc
    doc = from_json(body) if body else {}
    if status != 200:
        _err({"error": {"type": "state_unavailable", "status": status, "details": doc}})
        return EXIT_ERROR
    _out(doc)
    return EXIT_OK


def _http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=15) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


async def _tail(args: argparse.Namespace) -> int:
    topic = args.topic if "." in args.topic else f"{args.prefix}.{args.topic}"
    seen = 0
    async for record in read_topic(
        args.broker, topic, from_beginning=args.from_beginning, idle_timeout=args.idle_timeout
    ):
        doc = record.json()
        shown = (
            doc if doc is not None else {"raw": (record.value or b"").decode("utf-8", "replace")}
        )
        header = f"--- {record.topic}[{record.partition}]@{record.offset} key={record.key!r}"
        print(header, flush=True)
        _out(shown)
        seen += 1
        if args.max is not None and seen >= args.max:
            break
    return EXIT_OK


def _out(doc: Any) -> None:
    sys.stdout.write(to_json(doc, indent=2).decode() + "\n")
    sys.stdout.flush()


def _err(doc: Any) -> None:
    sys.stderr.write(to_json(doc, indent=2).decode() + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
