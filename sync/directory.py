"""The MemberDirectory port (kiosk/core/directory.py) on the CRM client: looking members up.

docs/sync-protocol.md, "Looking a member up". A shopper of another branch is looked up by
phone or card while they wait, so the request has the short timeout of a hold
(`crm.hold_timeout_seconds`), and anything the kiosk cannot act on is `Unreachable`: the
counter then goes on with what this kiosk has. No request goes while the CRM's
Retry-After runs or this kiosk's credentials stand refused (the state the sync worker and
the holds keep in the kiosk database). A 429 to a lookup (the hub's limit on lookups)
holds further lookups only, in this process; any other Retry-After holds the device.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from kiosk.config import CrmConfig
from kiosk.core.directory import Found, Lookup, NotFound, Unreachable
from kiosk.core.store.outbox import SyncState
from sync.client import CrmClient, CrmError
from sync.counter import CounterLink

log = logging.getLogger(__name__)


class CrmDirectory:
    """Looks members up at the CRM for one kiosk database."""

    def __init__(
        self,
        state: SyncState,
        client: Callable[[], CrmClient | None],
        config: CrmConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.link = CounterLink(state, client, config, clock=clock)
        self.not_before = 0.0  # a lookup's Retry-After (the CRM's limit on lookups)

    def lookup(self, *, phone: str | None = None, card: str | None = None) -> Lookup:
        """The CRM's answer for this phone or card; Unreachable for anything else."""
        client = self.link.client()
        if client is None:
            return Unreachable("no CRM client")
        why_not = self.link.not_now(client, self.not_before)
        if why_not is not None:
            return Unreachable(why_not)
        try:
            answer = client.lookup(phone=phone, card=card)
        except CrmError as error:
            return self._refusal(error)
        self.link.heard(client)
        return Found(member=answer["member"], balance=answer["balance"])

    def _refusal(self, error: CrmError) -> Lookup:
        if error.status == 404 and error.code in ("unknown_member", "card_blocked"):
            return NotFound(blocked=error.code == "card_blocked")
        if error.retry_after is not None:
            until = self.link.wait_until(error.retry_after)
            if error.status == 429:  # the limit on lookups: further lookups wait
                self.not_before = until
            else:  # the CRM in trouble: the whole device waits, as after a push
                self.state.set(hold_until=until)
        log.warning("the CRM could not look the member up (%s)", error.code)
        return Unreachable(error.code)
