"""Pushing visit ratings to the CRM (docs/sync-protocol.md, "Feedback").

After the ledger's outbox is empty, so that every rated visit's entry is at the CRM first.
A rating is never in the way of the ledger: a CRM that does not know `/v2/feedback` (an
older hub, 404) or fails is tried again later, and the ratings wait in the kiosk's
database; one refused for good (not this device's visit) is kept, flagged, and not sent
again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from kiosk.core.clock import from_iso, to_iso
from kiosk.core.feedback import VisitFeedback
from kiosk.core.service_base import ServiceBase
from kiosk.core.store.outbox import SyncState
from sync.client import CrmClient, CrmError

log = logging.getLogger(__name__)
BATCH = 200
# A CRM that answered 404 (it has no feedback) is asked again this much later: an older
# hub is upgraded now and then, not between two pushes.
ASK_OLDER_CRM_AFTER = timedelta(hours=6)
_NOT_BEFORE = "feedback_not_before"


@dataclass(frozen=True)
class FeedbackPushed:
    """Ratings taken by the CRM, refused by it, and why nothing went (or "")."""

    sent: int
    refused: int
    problem: str = ""


def visit_feedback(service: ServiceBase) -> VisitFeedback:
    """The ratings of one kiosk database."""
    return VisitFeedback(
        service.conn, service.clock, service.tz, service.device_id, service.config.feedback
    )


def push_feedback(client: CrmClient, service: ServiceBase, *, batches: int = 5) -> FeedbackPushed:
    """Send the ratings waiting (a few batches at most); never raises for the CRM's sake."""
    ratings = visit_feedback(service)
    state = SyncState(service.conn)
    not_before = state.get(_NOT_BEFORE)
    if isinstance(not_before, str) and service.clock() < from_iso(not_before):
        return FeedbackPushed(0, 0, "the CRM takes no feedback (an older hub): asked again later")
    sent = refused = 0
    for _ in range(batches):
        rows = ratings.to_push(BATCH)
        if not rows:
            break
        try:
            answer = client.push_feedback(rows)
        except CrmError as error:
            if error.status == 404:
                state.set(**{_NOT_BEFORE: to_iso(service.clock() + ASK_OLDER_CRM_AFTER)})
                return FeedbackPushed(sent, refused, "the CRM takes no feedback (an older hub)")
            log.info("feedback not pushed: %s", error.code)
            return FeedbackPushed(sent, refused, str(error))
        codes = {str(r["entry_id"]): str(r.get("code", "refused")) for r in answer}
        ratings.pushed(rows, codes)
        sent += len(rows) - len(codes)
        refused += len(codes)
        if codes:
            log.warning("the CRM refused %d visit ratings; they are kept and flagged", len(codes))
    return FeedbackPushed(sent, refused)
