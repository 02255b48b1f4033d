"""Members of other branches: the port through which the counter looks them up at the CRM.

docs/sync-protocol.md, "Looking a member up". A kiosk is sent its own branch's members
only; a shopper of another branch who gives a phone number or taps a card not known here
is looked up online, before anything is written (never network I/O inside a write
transaction). sync/directory.py implements the port with the CRM client, with a short
timeout, and kiosk/bootstrap.py injects it when a CRM is configured. Without one, or when
the CRM cannot answer, identifying works on what this kiosk has, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Found:
    """The CRM's record of the member and their balance, as the feed would carry them."""

    member: dict[str, Any]
    balance: dict[str, Any]


@dataclass(frozen=True)
class NotFound:
    """The CRM has no such member; `blocked`: the card is blocked (and no one holds it)."""

    blocked: bool = False


@dataclass(frozen=True)
class Unreachable:
    """No answer the kiosk can act on (network, timeout, 5xx, 429, a Retry-After running,
    credentials refused): the counter goes on with what this kiosk has."""

    reason: str


Lookup = Found | NotFound | Unreachable


class MemberDirectory(Protocol):
    """Looks a member up at the CRM by phone (E.164) or card (the kiosk's form of its id)."""

    def lookup(self, *, phone: str | None = None, card: str | None = None) -> Lookup:
        """Exactly one of `phone` and `card`; never raises for a CRM that cannot answer."""
