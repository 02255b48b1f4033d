"""Online redemption: the port through which a redemption asks the CRM to hold the points.

docs/sync-protocol.md, "Holds". The service asks before its write transaction (never
network I/O inside it); sync/holds.py implements the port with the CRM client and
kiosk/bootstrap.py injects it when a CRM is configured. Without one, redemptions are
decided here alone, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class HoldRequest:
    """One redemption to authorise."""

    client_txn_id: str
    member_id: str
    points: int
    reward_id: str | None
    # This kiosk has entries or a record of the member the CRM has not acknowledged
    # (a sale or an enrollment a moment ago): they are pushed first, so that the CRM
    # counts them before it decides.
    outstanding: bool = False


@dataclass(frozen=True)
class Held:
    """The CRM set the points aside: the redemption may go ahead."""

    available: int  # what the member may still hold after this
    expires_at: str


@dataclass(frozen=True)
class Refused:
    """The CRM says the member's points do not cover it (spent elsewhere, or never there)."""

    available: int


@dataclass(frozen=True)
class Unreachable:
    """No answer the kiosk can act on (network, timeout, 5xx, 429, a Retry-After running,
    credentials refused, a member the CRM does not know yet): the offline allowance decides."""

    reason: str


Authorization = Held | Refused | Unreachable


class Authorizer(Protocol):
    """Holds a redemption's points at the CRM, and lets them go."""

    def hold(self, request: HoldRequest) -> Authorization:
        """Ask the CRM to hold the points; never raises for a CRM that cannot answer."""

    def release(self, client_txn_id: str) -> None:
        """Let go of a hold the kiosk could not finish (best effort; never raises)."""
