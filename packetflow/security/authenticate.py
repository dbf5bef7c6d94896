"""Establish who calls: the ``authorization`` header, verified, or an anonymous policy.

The credential travels in the Kafka header ``authorization`` — ``Bearer <JWT>``
or ``Biscuit <base64>`` — never in the envelope, so it is not in audit
records or logs. A verified identity replaces ``context.user_id``; a request
whose ``context.user_id`` names someone else is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from packetflow.envelope import CapabilityRequest
from packetflow.errors import Unauthenticated
from packetflow.records import RawRecord
from packetflow.security.identity import Principal
from packetflow.security.permissions import Permission
from packetflow.security.tokens import BiscuitVerifier, JwtVerifier

__all__ = ["AUTH_HEADER", "Authenticator"]

AUTH_HEADER = "authorization"


@dataclass(frozen=True, slots=True)
class Authenticator:
    """Verifies credentials; ``required=False`` lets requests without one run anonymously."""

    required: bool = True
    jwt: JwtVerifier | None = None
    biscuit: BiscuitVerifier | None = None
    anonymous_grants: tuple[Permission, ...] = ()
    """Grants of callers without a credential (only when not ``required``)."""

    def authenticate(self, record: RawRecord, request: CapabilityRequest) -> Principal:
        """The request's principal, or ``Unauthenticated`` with the reason."""
        raw = record.header(AUTH_HEADER)
        if raw is None:
            if self.required:
                raise Unauthenticated(
                    "a credential is required: set the 'authorization' header"
                    " to 'Bearer <JWT>' or 'Biscuit <token>'"
                )
            return Principal(request.context.user_id, "anonymous", grants=self.anonymous_grants)
        principal = self._verify(raw)
        claimed = request.context.user_id
        if claimed is not None and claimed != principal.user_id:
            raise Unauthenticated(
                "context.user_id does not match the credential's user",
                {"claimed": claimed},
            )
        return principal

    def _verify(self, raw: bytes) -> Principal:
        try:
            scheme, _, token = raw.decode("ascii").strip().partition(" ")
        except UnicodeDecodeError:
            raise Unauthenticated("the authorization header is not ASCII") from None
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            if self.jwt is None:
                raise Unauthenticated("JWTs are not accepted by this worker")
            return self.jwt.verify(token)
        if scheme.lower() == "biscuit" and token:
            if self.biscuit is None:
                raise Unauthenticated("Biscuit tokens are not accepted by this worker")
            return self.biscuit.verify(token)
        raise Unauthenticated(
            "the authorization header must be 'Bearer <JWT>' or 'Biscuit <token>'"
        )
