"""The CRM's change feed was numbered again (its database restored to an earlier point):
read it again from 0.

A page of changes names the feed's `epoch` (docs/sync-protocol.md, "Pull"): which
numbering its cursors belong to. A restored database hands the numbers after its restored
head out again, to other changes, so a kiosk whose cursor is past that head would skip
them all (an erasure made at the hub after the restore, a staff member disabled, a new
program) without a sign. The kiosk keeps the epoch it read its cursor under; a page that
names another one is not applied, the cursor goes back to 0 and the whole feed is read
and applied again. Applying a change again is harmless: an erasure here is final, a member
record older than a change made here loses, a balance is the CRM's latest, a program not
newer than the one in force is refused (`not_newer`), and staff and program changes pass
the owner's signature check again.

A server that names a new epoch at every page (compromised, or one impersonating the CRM)
gets at most one re-read per `RESET_SPACING_SECONDS`: between them the kiosk reads on by
its cursor, and it acts on an epoch still other than its own when the spacing has passed.
It gains nothing else: it can send only what it could send anyway (changes it signs
cannot pass without the owner's key; genuine old ones are refused as they were).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kiosk.core.clock import iso_seconds
from kiosk.core.pulled import FEED_EPOCH, cursor
from kiosk.core.store.db import write_transaction
from kiosk.core.store.outbox import SyncState

log = logging.getLogger(__name__)
RESET_SPACING_SECONDS = 3600.0
__all__ = [
    "FEED_EPOCH",
    "LAST_FEED_RESET",
    "RESET_SPACING_SECONDS",
    "reset_if_renumbered",
    "reset_shown",
]
LAST_FEED_RESET = "last_feed_reset"  # {"at", "at_epoch", "from"}: the last re-read


def reset_if_renumbered(state: SyncState, epoch: str | None, clock: Callable[[], float]) -> bool:
    """Whether the feed is to be read again from 0 (done here: the cursor is 0 now).

    `epoch`: the one a page named (None: an older CRM, which names none). The first ever
    heard is kept; another one resets the cursor, at most once per RESET_SPACING_SECONDS.
    """
    if epoch is None:
        return False
    now = clock()
    with write_transaction(state.conn):  # one reading and writing: two processes pull
        kept = state.get(FEED_EPOCH)
        if kept == epoch:
            return False
        if not kept or cursor(state.conn) == 0:
            # The first one heard (a new or upgraded kiosk, or one moved to another CRM:
            # `start_feed_again`), or heard at the very start: nothing was passed by.
            state.write({FEED_EPOCH: epoch})
            return False
        last = state.get(LAST_FEED_RESET) or {}
        at = last.get("at_epoch") if isinstance(last, dict) else None
        if isinstance(at, (int, float)) and 0 <= now - at < RESET_SPACING_SECONDS:
            return False  # read again this hour already: again when the spacing has passed
        was = cursor(state.conn)
        state.write(
            {
                "cursor": 0,
                "replay_until": 0,  # everything is applied again, not only staff and program
                FEED_EPOCH: epoch,
                LAST_FEED_RESET: {"at": iso_seconds(now), "at_epoch": now, "from": was},
            }
        )
    # Numbers only: no member, no epoch (it says nothing to a technician).
    log.warning(
        "the CRM's change feed was numbered again (restored to an earlier point?): reading it "
        "again from the start (the cursor was %d)",
        was,
    )
    return True


def reset_shown(kept: object) -> dict[str, Any] | None:
    """The last re-read as `kiosk sync status` shows it: when, and from which cursor."""
    if not isinstance(kept, dict):
        return None
    return {key: kept.get(key) for key in ("at", "from")}
