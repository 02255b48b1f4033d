"""The Authorizer port (kiosk/core/authorize.py) on the CRM client: online redemption.

docs/sync-protocol.md, "Holds". Before a coupon is shown the CRM is asked to hold the
reward's points, with a short timeout (`crm.hold_timeout_seconds`); any answer the kiosk
cannot act on is `Unreachable`, and the service falls back to the offline allowance.

When this kiosk has entries or a record of the member the CRM has not acknowledged (a sale
or an enrollment a moment ago, at this counter), they are pushed first, with the same short
timeout: the CRM decides on a balance that counts them, or it would refuse points the
shopper has just earned here (or not know a member enrolled here). Nothing is pushed
otherwise: a redemption then costs one request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from kiosk.config import CrmConfig
from kiosk.core.authorize import Authorization, Held, HoldRequest, Refused, Unreachable
from kiosk.core.service_base import ServiceBase
from kiosk.core.store.outbox import Outbox, SyncState
from sync.client import CrmClient, CrmError
from sync.counter import CounterLink
from sync.worker import SyncWorker

log = logging.getLogger(__name__)


class CrmAuthorizer:
    """Holds redemptions at the CRM for one kiosk database (the service's connection)."""

    def __init__(
        self,
        service: ServiceBase,
        client: Callable[[], CrmClient | None],
        config: CrmConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.config = config
        self.clock = clock
        self.state = SyncState(service.conn)
        self.link = CounterLink(self.state, client, config, clock=clock)

    def hold(self, request: HoldRequest) -> Authorization:
        """Ask the CRM to hold the points; Unreachable for anything it cannot decide."""
        client = self.link.client()
        if client is None:
            return Unreachable("no CRM client")
        why_not = self.link.not_now(client)
        if why_not is not None:
            return Unreachable(why_not)
        if request.outstanding:
            worker = SyncWorker(self.service, client, self.config, clock=self.clock)
            worker.drain(max_batches=1, ignore_backoff=True)
            if Outbox(self.service.conn, self.service.device_id).member_outstanding(
                request.member_id
            ):
                return Unreachable("the member's entries here are not at the CRM yet")
        try:
            answer = client.hold(
                request.client_txn_id, request.member_id, request.points, request.reward_id
            )
        except CrmError as error:
            return self._refusal(error)
        self.link.heard(client)
        return Held(available=int(answer["available"]), expires_at=str(answer["expires_at"]))

    def release(self, client_txn_id: str) -> None:
        """Let go of a hold the kiosk could not finish (best effort: it lapses anyway)."""
        client = self.link.client()
        if client is None:
            return
        try:
            client.release(client_txn_id)
        except CrmError as error:
            log.warning("a hold could not be released (%s); it lapses by itself", error.code)

    def _refusal(self, error: CrmError) -> Authorization:
        if error.status == 409 and error.code == "insufficient_points":
            available = error.detail.get("available")
            return Refused(available if type(available) is int and available >= 0 else 0)
        if error.status == 409 and error.code == "hold_conflict":
            # Another member or amount under this transaction id: never spend on it.
            log.error("the CRM refused a hold: its transaction id holds something else")
            return Refused(0)
        if error.retry_after is not None:  # the CRM asked the whole device to wait
            self.state.set(hold_until=self.link.wait_until(error.retry_after))
        log.warning("no hold from the CRM (%s): the offline allowance applies", error.code)
        return Unreachable(error.code)
