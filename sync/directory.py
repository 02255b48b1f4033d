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

import copy
import logging
import time
from collections.abc import Callable

from kiosk.config import CrmConfig
from kiosk.core.directory import Found, Lookup, NotFound, Unreachable
from kiosk.core.store.outbox import SyncState
from sync.client import CrmClient, CrmError
from sync.secret import fingerprint
from sync.worker import MAX_RETRY_AFTER_SECONDS

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
        self.client = client  # the appliance's current client (a new secret: a new client)
        self.clock = clock
        seconds = float(config.hold_timeout_seconds)
        self.timeout = (seconds, seconds)
        self.not_before = 0.0  # a lookup's Retry-After (the CRM's limit on lookups)

    def lookup(self, *, phone: str | None = None, card: str | None = None) -> Lookup:
        """The CRM's answer for this phone or card; Unreachable for anything else."""
        client = self._short_client()
        if client is None:
            return Unreachable("no CRM client")
        why_not = self._not_now(client)
        if why_not is not None:
            return Unreachable(why_not)
        try:
            answer = client.lookup(phone=phone, card=card)
        except CrmError as error:
            return self._refusal(error)
        if client.clock_offset is not None:
            self.state.set(last_contact_at=self.clock(), clock_offset=client.clock_offset)
        return Found(member=answer["member"], balance=answer["balance"])

    def _short_client(self) -> CrmClient | None:
        """The appliance's client with the short timeout (the same session)."""
        client = self.client()
        if client is None:
            return None
        if client.clock_offset is None:  # measured by an earlier process: sign right at once
            stored = self.state.get("clock_offset")
            if type(stored) in (int, float):
                client.clock_offset = float(stored)
        short = copy.copy(client)
        short.timeout = self.timeout
        return short

    def _not_now(self, client: CrmClient) -> str | None:
        """Why no request may go now: refused credentials, or a Retry-After still running."""
        if self.state.get("credentials_refused", False) and fingerprint(
            client.secret
        ) == self.state.get("refused_secret"):
            return "the CRM refused this kiosk's credentials"
        now = self.clock()
        if now < float(self.state.get("hold_until", 0.0)) or now < self.not_before:
            return "the CRM asked this kiosk to wait (Retry-After)"
        return None

    def _refusal(self, error: CrmError) -> Lookup:
        if error.status == 404 and error.code in ("unknown_member", "card_blocked"):
            return NotFound(blocked=error.code == "card_blocked")
        if error.retry_after is not None:
            until = self.clock() + min(error.retry_after, MAX_RETRY_AFTER_SECONDS)
            if error.status == 429:  # the limit on lookups: further lookups wait
                self.not_before = until
            else:  # the CRM in trouble: the whole device waits, as after a push
                self.state.set(hold_until=until)
        log.warning("the CRM could not look the member up (%s)", error.code)
        return Unreachable(error.code)
