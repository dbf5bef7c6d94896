"""Step 2: may this request run? Look up the capability, validate the payload, authorize."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from packetflow.capability import CallContext, Capability, Invoker
from packetflow.envelope import CapabilityRequest
from packetflow.errors import InvalidPayload, UnknownCapability, validation_details
from packetflow.registry import Registry
from packetflow.security.authorize import authorize
from packetflow.security.identity import ANONYMOUS, Principal
from packetflow.security.permissions import DEFAULT_LATTICE, Lattice

__all__ = ["Checked", "check", "lookup"]


# Not ``frozen``, though never changed once made: a frozen dataclass sets each field through
# object.__setattr__, four times the cost of a plain one (see packetflow/records.py).
@dataclass(slots=True)
class Checked:
    """A request that passed every check: its capability, payload model and call context."""

    request: CapabilityRequest
    capability: Capability
    payload: BaseModel
    ctx: CallContext


def lookup(request: CapabilityRequest, registry: Registry) -> Capability:
    """The requested capability, or ``UnknownCapability`` listing what exists."""
    cap = registry.get(request.capability_id)
    if cap is None:
        raise UnknownCapability(
            f"no capability {request.capability_id!r} is registered",
            {"capability_id": request.capability_id, "available": registry.ids()[:50]},
        )
    return cap


def check(
    request: CapabilityRequest,
    registry: Registry,
    principal: Principal = ANONYMOUS,
    *,
    lattice: Lattice = DEFAULT_LATTICE,
    invoker: Invoker | None = None,
    authorized: bool = False,
) -> Checked:
    """Return the checked request, or raise the error that answers it.

    ``authorized=True`` skips authorization, for a request a worker already
    authorized before an internal hop.
    """
    cap = lookup(request, registry)
    try:
        # model_validate without its wrapper, which costs a third of this validation
        payload = cap.requires.__pydantic_validator__.validate_python(request.payload)
    except ValidationError as exc:
        raise InvalidPayload(
            f"payload does not satisfy the requires contract of {cap.id!r}",
            validation_details(exc),
        ) from None
    if principal.verified and request.context.user_id != principal.user_id:
        context = request.context.model_copy(update={"user_id": principal.user_id})
        request = request.model_copy(update={"context": context})
    ctx = CallContext(
        request.id, request.capability_id, request.context, request.metadata, principal, invoker
    )
    if not authorized:
        authorize(cap, payload, ctx, lattice)
    return Checked(request, cap, payload, ctx)
