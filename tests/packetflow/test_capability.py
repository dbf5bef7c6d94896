"""The declaration API's "compile-time" checks: a bad capability fails where it is declared."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from packetflow import AuditLog, CallContext, Capability, Custom, Metric, capability
from packetflow.effects import EffectInvocation
from packetflow.errors import CapabilityDefinitionError


def do_thing(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {}


def declare(fn: Any = do_thing, **kwargs: Any) -> Capability:
    kwargs.setdefault("intent", "Do a thing")
    result: Capability = capability(**kwargs)(fn)
    return result


def zero() -> None: ...
def one(payload: Any) -> None: ...
def three(payload: Any, ctx: Any, extra: Any) -> None: ...
def kw_only(payload: Any, ctx: Any, *, flag: bool) -> None: ...
def only_varargs(*args: Any) -> None: ...
async def coro(payload: Any, ctx: CallContext) -> dict[str, Any]:
    return {}


def handler(invocation: EffectInvocation) -> None:
    return None


class Thing(BaseModel):
    name: str


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fault"),
    [
        pytest.param({"intent": ""}, "intent is missing", id="empty-intent"),
        pytest.param({"intent": "   \n"}, "intent is missing", id="blank-intent"),
        pytest.param({"intent": None}, "intent is missing", id="none-intent"),
        pytest.param({"version": "1"}, "version '1' is not MAJOR.MINOR", id="version-major"),
        pytest.param({"version": "v1.0"}, "version 'v1.0'", id="version-prefix"),
        pytest.param({"version": "1.0.0.0"}, "version '1.0.0.0'", id="version-4-parts"),
        pytest.param({"version": 1.0}, "version 1.0 is not", id="version-float"),
        pytest.param({"timeout": 0}, "timeout must be positive", id="timeout-zero"),
        pytest.param({"timeout": -1.5}, "timeout must be positive", id="timeout-negative"),
        pytest.param({"timeout": True}, "timeout must be positive", id="timeout-bool"),
        pytest.param({"timeout": "5"}, "timeout must be positive", id="timeout-str"),
        pytest.param({"timeout": float("nan")}, "not nan", id="timeout-nan"),
        pytest.param({"timeout": float("inf")}, "not inf", id="timeout-inf"),
        pytest.param(
            {"effects": ["notification"]}, "unknown effect kind 'notification'", id="effect-str"
        ),
        pytest.param(
            {"effects": [{"kind": "audit_log"}]}, "unknown effect kind {'kind'", id="effect-dict"
        ),
        pytest.param({"effects": [Metric]}, "unknown effect kind", id="effect-class"),
        pytest.param({"effects": "audit_log"}, "effects must be a list", id="effects-bare-str"),
        pytest.param({"effects": 3}, "effects must be a list", id="effects-int"),
        pytest.param(
            {"effects": [AuditLog(), "audit_log"]}, "effects declared twice", id="effect-twice"
        ),
        pytest.param({"provides": "name"}, "provides must be a pydantic model", id="provides-str"),
        pytest.param({"provides": 42}, "provides must be a pydantic model", id="provides-int"),
        pytest.param(
            {"provides": {"name": str}}, "provides must be a pydantic model", id="provides-dict"
        ),
        pytest.param({"provides": dict}, "provides must be a pydantic model", id="provides-type"),
        pytest.param({"requires": "user_id"}, "requires must be a pydantic", id="requires-str"),
        pytest.param({"requires": ["ok", "1bad"]}, "invalid field names: ['1bad']", id="digit"),
        pytest.param({"requires": ["a b"]}, "invalid field names: ['a b']", id="space"),
        pytest.param({"requires": [""]}, "invalid field names: ['']", id="empty-name"),
        pytest.param({"requires": [3]}, "invalid field names: [3]", id="int-name"),
        pytest.param({"requires": ["_private"]}, "invalid field names: ['_private']", id="priv"),
        pytest.param(
            {"provides": ["model_dump"]}, "invalid field names: ['model_dump']", id="dump"
        ),
        pytest.param({"requires": ["model_config"]}, "invalid field names", id="model-config"),
        pytest.param({"requires": ["a", "b", "a"]}, "names a field twice", id="duplicate"),
        pytest.param({"authorize": "admin"}, "authorize must be a list of roles", id="role-str"),
        pytest.param({"authorize": []}, "authorize needs non-empty role names", id="no-roles"),
        pytest.param({"authorize": ["admin", ""]}, "non-empty role names", id="blank-role"),
        pytest.param({"permissions": "file.read"}, "permissions must be a list", id="perm-str"),
        pytest.param({"permissions": ["file.read"]}, "not permissions: ['file.read']", id="perm"),
        pytest.param({"rate_limit": "fast"}, "rate limit 'fast' is not REQUESTS/SEC", id="rate"),
        pytest.param({"rate_limit": "0/1s"}, "rate limit must be positive", id="rate-zero"),
        pytest.param({"rate_limit": 10}, "rate_limit 10 is not 'N/SECONDS'", id="rate-int"),
        pytest.param({"sensitive": "password"}, "sensitive must be a list", id="sensitive-str"),
        pytest.param({"sensitive": [""]}, "sensitive must be a list", id="sensitive-blank"),
    ],
)
def test_invalid_declaration_names_capability_and_fault(kwargs: dict[str, Any], fault: str) -> None:
    with pytest.raises(CapabilityDefinitionError) as info:
        declare(**kwargs)
    assert info.value.capability_id == "do_thing"
    assert str(info.value).startswith("capability 'do_thing': ")
    assert fault in str(info.value)


def test_omitted_intent_is_refused_by_the_signature() -> None:
    with pytest.raises(TypeError, match="intent"):
        capability()(do_thing)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "bad_id", ["Upper", "1starts_with_digit", "has space", "", "a" * 129, "slash/id", "_x"]
)
def test_bad_id_is_named_in_the_error(bad_id: str) -> None:
    with pytest.raises(CapabilityDefinitionError, match="id must match") as info:
        declare(id=bad_id)
    assert info.value.capability_id == bad_id


def test_lambda_without_explicit_id_is_refused() -> None:
    with pytest.raises(CapabilityDefinitionError, match="'<lambda>': id must match"):
        declare(lambda payload, ctx: {})


@pytest.mark.parametrize(
    ("fn", "shown"),
    [
        (zero, "no parameters"),
        (one, "payload"),
        (three, "payload, ctx, extra"),
        (kw_only, "payload, ctx, flag"),
        (only_varargs, "args"),
    ],
)
def test_execute_with_wrong_signature(fn: Any, shown: str) -> None:
    with pytest.raises(CapabilityDefinitionError) as info:
        declare(fn, id="sig")
    assert str(info.value) == (
        f"capability 'sig': execute must take exactly (payload, ctx), it takes ({shown})"
    )


def test_execute_that_is_not_callable() -> None:
    with pytest.raises(CapabilityDefinitionError, match="'x': execute is not callable"):
        declare("not a function", id="x")


def test_blocking_async_function_is_refused() -> None:
    with pytest.raises(CapabilityDefinitionError, match="'coro': blocking=True is for sync"):
        declare(coro, blocking=True)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Metric("gauge", "x"), "metric type must be"),  # type: ignore[arg-type]
        (lambda: Metric.counter("bad-name"), "not a valid Prometheus name"),
        (lambda: Custom("metrics", handler), "must be an identifier, not reserved"),
        (lambda: Custom("audit_log", handler), "must be an identifier, not reserved"),
        (lambda: Custom("has space", handler), "must be an identifier"),
        (lambda: Custom("notify", "not callable"), "handler is not callable"),  # type: ignore[arg-type]
    ],
)
def test_malformed_effect_declarations(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


# --- good declarations ----------------------------------------------------------------------


def test_defaults_of_a_minimal_declaration() -> None:
    cap = declare(intent="  Do a thing  ")
    assert (cap.id, cap.version, cap.intent) == ("do_thing", "1.0.0", "Do a thing")
    assert (cap.timeout, cap.blocking, cap.is_async, cap.effects) == (30.0, False, False, ())
    assert cap.execute is do_thing


@pytest.mark.parametrize(
    "fn",
    [
        lambda payload, ctx, extra=1: {},
        lambda payload, ctx, *args, flag=False, **kw: {},
    ],
)
def test_optional_extra_parameters_are_allowed(fn: Any) -> None:
    assert declare(fn, id="flexible").id == "flexible"


def test_async_function_is_detected() -> None:
    assert declare(coro).is_async


def test_list_form_requires_enforces_every_field() -> None:
    cap = declare(requires=["user_id", "email"], provides=["ok"])
    with pytest.raises(ValidationError) as info:
        cap.requires.model_validate({"user_id": "u1"})
    assert [e["loc"] for e in info.value.errors()] == [("email",)]
    accepted = cap.requires.model_validate({"user_id": 7, "email": None, "extra": [1]})
    assert accepted.model_dump() == {"user_id": 7, "email": None, "extra": [1]}
    with pytest.raises(ValidationError):
        cap.provides.model_validate({})


def test_effect_shorthand_and_kinds() -> None:
    cap = declare(effects=["audit_log", Metric.counter("n"), Custom("notify", handler)])
    assert [(e.kind, e.name) for e in cap.effects] == [
        ("audit_log", "audit_log"),
        ("metrics", "n"),
        ("notify", "notify"),
    ]


def test_describe_publishes_schemas_and_effects() -> None:
    cap = declare(
        id="thing.make-v2",
        version="2.1",
        requires=["user_id"],
        provides=Thing,
        effects=[
            AuditLog(level="warning"),
            Metric.histogram("latency"),
            Custom("notify", handler, {"to": "ops"}),
        ],
        timeout=1.5,
        authorize=["admin", "ops"],
        rate_limit="10/1m",
        sensitive=["card.number"],
    )
    described = cap.describe()
    assert described["authorize"] == {
        "roles": ["admin", "ops"],
        "predicate": False,
        "permissions": [],
    }
    assert described["rate_limit"] == "10/60s"
    assert described["sensitive"] == ["card.number"]
    assert described["id"] == "thing.make-v2"
    assert described["version"] == "2.1"
    assert described["timeout_ms"] == 1500
    assert described["requires"]["required"] == ["user_id"]
    assert described["requires"]["title"] == "ThingMakeV2Requires"
    assert described["provides"] == Thing.model_json_schema()
    assert described["effects"] == [
        {"kind": "audit_log", "level": "warning"},
        {"kind": "metrics", "type": "histogram", "name": "latency"},
        {"kind": "notify", "options": {"to": "ops"}},
    ]
    assert json.loads(json.dumps(described)) == described
