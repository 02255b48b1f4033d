"""Social proof: how many members the club has (docs/program.md, "Social proof").

The hub tells each kiosk the chain's count of members in its heartbeat's answer (while the
program shows the club's size; docs/sync-protocol.md, "Heartbeat"), and the sync worker
keeps it with the time it came (`CHAIN_MEMBERS`). The attract screen shows that count
while it is recent (a day), so every branch says the same size of the club; otherwise
(no hub, or none heard for a day) the kiosk's own count: the active members of its
database (those of its branch, and any it enrolled), counted offline. Erased members are
not counted either way.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from kiosk.core.store.outbox import SyncState

# sync_state's key of the chain's count: {"count": n, "at": unix seconds when heard}.
CHAIN_MEMBERS = "chain_members"
# How long the hub's count is shown after it was heard; then the kiosk's own.
RECENT_SECONDS = 24 * 3600
_MOST = 10**12  # no chain is larger: a larger "count" is not one


@dataclass(frozen=True)
class ClubSize:
    """The members to show, and whether the figure is the chain's (from the hub)."""

    count: int
    chain: bool


def active_members(conn: sqlite3.Connection) -> int:
    """How many active (not erased) members this kiosk holds."""
    return int(conn.execute("SELECT COUNT(*) FROM members WHERE status = 'active'").fetchone()[0])


def chain_count_of(answer: object) -> int | None:
    """The chain's member count in a heartbeat's answer (`members`), or None."""
    if not isinstance(answer, dict):
        return None
    count = answer.get("members")
    return count if type(count) is int and 0 <= count < _MOST else None


def club_size(conn: sqlite3.Connection, now: float) -> ClubSize:
    """The chain's count if the hub said it in the last day, else this kiosk's own."""
    heard = SyncState(conn).get(CHAIN_MEMBERS)
    if isinstance(heard, dict):
        count, at = heard.get("count"), heard.get("at")
        if type(count) is int and isinstance(at, int | float) and abs(now - at) <= RECENT_SECONDS:
            return ClubSize(count, chain=True)
    return ClubSize(active_members(conn), chain=False)
