"""Requests a shopper waits for (a hold, a lookup): the CRM client with a short timeout.

docs/sync-protocol.md, "Holds" and "Looking a member up". They go from the touch app's
thread with `crm.hold_timeout_seconds`, on a session of their own (the background sync
uses the appliance's client, and requests' Session is not documented as safe to share
between threads), and never while this kiosk's credentials stand refused or the CRM's
Retry-After holds the device: the state the sync worker keeps in the kiosk database.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable

import requests

from kiosk.config import CrmConfig
from kiosk.core.store.outbox import SyncState
from sync.client import CrmClient
from sync.secret import fingerprint
from sync.worker import MAX_RETRY_AFTER_SECONDS


class CounterLink:
    """The appliance's current CRM client (its secret, offset and CA), made for the counter."""

    def __init__(
        self,
        state: SyncState,
        client: Callable[[], CrmClient | None],
        config: CrmConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.current = client  # a new secret: a new client
        self.clock = clock
        seconds = float(config.hold_timeout_seconds)
        self.timeout = (seconds, seconds)
        self.session = requests.Session()
        self.session.trust_env = False  # as CrmClient's: the environment picks no CA or proxy

    def client(self) -> CrmClient | None:
        """The client for one counter request, or None when there is none to be had."""
        client = self.current()
        if client is None:
            return None
        if client.clock_offset is None:  # measured by an earlier process: sign right at once
            stored = self.state.get("clock_offset")
            if type(stored) in (int, float):
                client.clock_offset = float(stored)
        short = copy.copy(client)
        short.timeout = self.timeout
        short.session = self.session
        return short

    def not_now(self, client: CrmClient, not_before: float = 0.0) -> str | None:
        """Why no request may go now: refused credentials, or a Retry-After still running."""
        if self.state.get("credentials_refused", False) and fingerprint(
            client.secret
        ) == self.state.get("refused_secret"):
            return "the CRM refused this kiosk's credentials"
        now = self.clock()
        if now < float(self.state.get("hold_until", 0.0)) or now < not_before:
            return "the CRM asked this kiosk to wait (Retry-After)"
        return None

    def wait_until(self, retry_after: float) -> float:
        """The time until which a Retry-After holds (at most a day, as for the worker)."""
        return self.clock() + min(retry_after, MAX_RETRY_AFTER_SECONDS)

    def heard(self, client: CrmClient) -> None:
        """Keep what the answer taught: the CRM was in reach, and the clock offset."""
        if client.clock_offset is not None:
            self.state.set(last_contact_at=self.clock(), clock_offset=client.clock_offset)
        else:
            self.state.set(last_contact_at=self.clock())
