"""The CRM went back in time (restored from a backup): send it again what it lost.

The kiosk hears the CRM's high-water mark for it in every push answer and in every
heartbeat's answer (docs/sync-protocol.md, "Heartbeat"). A mark below what the kiosk knows
was acknowledged means the CRM no longer holds entries it had: they are owed again
(kiosk/core/store/requeue.py) and go with the usual batches and backoff.

A server that says so falsely (compromised, or one impersonating the CRM) gets back only
what it already had, and not in a loop: once requeued, the entries are pending, so a mark
of 0 heard again is no new rewind; and a server that acknowledges everything and then goes
back again is believed at most once per `REWIND_SPACING_SECONDS` (a real restore is rare;
the kiosk keeps hearing the low mark and acts on it when the spacing has passed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kiosk.core.store.outbox import SyncState
from kiosk.core.store.requeue import LAST_REWIND, Requeued, acknowledged_here, requeue_after

log = logging.getLogger(__name__)
REWIND_SPACING_SECONDS = 3600.0
__all__ = ["LAST_REWIND", "REWIND_SPACING_SECONDS", "high_water_of", "rewind_if_behind"]


def high_water_of(answer: dict[str, Any]) -> int | None:
    """The `high_water` a heartbeat's answer carries, or None (an older CRM, or not a count)."""
    mark = answer.get("high_water")
    return mark if type(mark) is int and 0 <= mark < 2**63 else None  # not a JSON true


def rewind_if_behind(
    state: SyncState,
    device_id: str,
    high_water: int,
    clock: Callable[[], float],
    *,
    acknowledged: int | None = None,
) -> Requeued | None:
    """Owe the CRM again what it lost when `high_water` is below what it had acknowledged.

    `acknowledged`: what the kiosk knew before the answer that carried the mark was applied
    (a push answer); read from the outbox when not given. None when nothing was requeued.
    """
    conn = state.conn
    known = acknowledged_here(conn, device_id) if acknowledged is None else acknowledged
    if high_water >= known:
        return None
    now = clock()
    last = state.get(LAST_REWIND) or {}
    at = last.get("at_epoch") if isinstance(last, dict) else None
    if isinstance(at, (int, float)) and 0 <= now - at < REWIND_SPACING_SECONDS:
        return None  # believed once this hour already: heard again at the next heartbeat
    requeued = requeue_after(conn, device_id, high_water, known, _millis(now))
    state.set(
        **{
            LAST_REWIND: {
                "at": _millis(now),
                "at_epoch": now,
                "to": high_water,
                "from": known,
                "entries": requeued.entries,
                "members": requeued.members,
            }
        }
    )
    # Counts and sequence numbers only: no member, phone or card.
    log.warning(
        "the hub went back to seq %d (it had acknowledged %d): sending %d entries and %d "
        "member records again",
        high_water,
        known,
        requeued.entries,
        requeued.members,
    )
    return requeued


def _millis(moment: float) -> str:
    """A time as the member outbox's triggers write it (`...T09:30:05.123Z`)."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
