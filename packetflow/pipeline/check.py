"""Step 2: is this a request we can run? Look up the capability, validate the payload."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from packetflow.capability import Capability
from packetflow.envelope import CapabilityRequest
from packetflow.errors import InvalidPayload, UnknownCapability, validation_details
from packetflow.registry import Registry

__all__ = ["Checked", "check"]


@dataclass(frozen=True, slots=True)
class Checked:
    """A request that passed every check, with its payload as the ``requires`` model."""

    request: CapabilityRequest
    capability: Capability
    payload: BaseModel


def check(request: CapabilityRequest, registry: Registry) -> Checked:
    """Return the checked request, or raise the error that answers it."""
    cap = registry.get(request.capability_id)
    if cap is None:
        raise UnknownCapability(
            f"no capability {request.capability_id!r} is registered",
            {"capability_id": request.capability_id, "available": registry.ids()[:50]},
        )
    try:
        payload = cap.requires.model_validate(request.payload)
    except ValidationError as exc:
        raise InvalidPayload(
            f"payload does not satisfy the requires contract of {cap.id!r}",
            validation_details(exc),
        ) from None
    return Checked(request, cap, payload)
