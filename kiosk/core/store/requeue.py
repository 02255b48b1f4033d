"""Owing the CRM again what it had acknowledged: after its database went back in time.

A hub restored from last night's dump lacks entries (and members enrolled here) it had
acknowledged; this kiosk deleted their outbox rows on that acknowledgement but keeps every
entry. When the CRM's high-water mark for this device is found below what the kiosk knows
it acknowledged, `requeue_after` puts this device's entries after the mark back in the
outbox and the records of the members they name that were enrolled or changed here back in
`member_outbox`, so the next pushes send them again. The CRM's idempotency (same device and
entry id: a duplicate) makes a false alarm cost bandwidth, nothing more.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from kiosk.core.store.db import write_transaction

# sync_state's key of the last time the CRM was found to have gone back, and what was owed
# it again: {"at", "at_epoch", "to", "from", "entries", "members"} (sync/rewind.py writes
# it; `kiosk sync status` and the technician's screen show it).
LAST_REWIND = "last_rewind"


@dataclass(frozen=True)
class Requeued:
    """What one rewind owes the CRM again: entries (`first_seq`..`last_seq`) and members."""

    entries: int
    members: int
    first_seq: int
    last_seq: int


def acknowledged_here(conn: sqlite3.Connection, device_id: str) -> int:
    """The highest seq up to which this kiosk knows the CRM holds every one of its entries.

    Entries leave the outbox only on an acknowledgement; a rejected one stays, flagged, and
    counts as held (the CRM counts it towards its high-water mark). So: the entry before the
    first still pending, or the device's last entry when none is pending.
    """
    row = conn.execute(
        "SELECT MIN(seq) FROM outbox WHERE device_id = ? AND state = 'pending'", (device_id,)
    ).fetchone()
    if row[0] is not None:
        return int(row[0]) - 1
    row = conn.execute("SELECT MAX(seq) FROM entries WHERE device_id = ?", (device_id,)).fetchone()
    return int(row[0] or 0)


def requeue_after(
    conn: sqlite3.Connection, device_id: str, high_water: int, acknowledged: int, now: str
) -> Requeued:
    """Owe the CRM again this device's entries in (`high_water`, `acknowledged`] and the
    records of the members they need; `now` dates the members' records sent again.

    Entries flagged rejected in that range are sent again too (the CRM lost its rejection:
    without them its high-water mark would stop below them for ever); they keep their code
    until the CRM answers again. A member's record goes again when the member was enrolled
    on this device or has a change made here the feed has not echoed yet (a row of
    `member_outbox`); one already waiting to be pushed stays as it is. An erased member's
    record is the erasure: sent again, it erases the person at the CRM again, never brings
    them back. An alias the CRM merged into another member is not sent (it reads as erased
    here: its person went to the survivor). Members enrolled here without an entry after
    the mark are sent again as well when enrolled at or after the last entry the CRM still
    holds.
    """
    if high_water >= acknowledged:
        return Requeued(0, 0, 0, 0)
    with write_transaction(conn):
        readded = conn.execute(
            "INSERT INTO outbox (device_id, seq, entry_id, state) "
            "SELECT e.device_id, e.seq, e.entry_id, 'pending' FROM entries e "
            "WHERE e.device_id = ? AND e.seq > ? AND e.seq <= ? "
            "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.device_id = e.device_id "
            "AND o.seq = e.seq)",
            (device_id, high_water, acknowledged),
        ).rowcount
        unflagged = conn.execute(
            "UPDATE outbox SET state = 'pending' "
            "WHERE device_id = ? AND seq > ? AND seq <= ? AND state = 'rejected'",
            (device_id, high_water, acknowledged),
        ).rowcount
        since = conn.execute(
            "SELECT created_at FROM entries WHERE device_id = ? AND seq = ?",
            (device_id, high_water),
        ).fetchone()
        members = conn.execute(
            "INSERT INTO member_outbox (member_id, version, changed_at) "
            "SELECT m.member_id, 1, ? FROM members m "
            "WHERE ((m.member_id IN (SELECT e.member_id FROM entries e WHERE e.device_id = ? "
            "  AND e.seq > ? AND e.seq <= ?) "
            "  AND (m.enrolled_on_device = ? OR m.member_id IN (SELECT member_id "
            "  FROM member_outbox))) "
            "  OR (m.enrolled_on_device = ? AND m.created_at >= ?)) "
            # An alias the CRM merged into another member reads as erased here (its person
            # moved to the survivor): sent again, it would erase the person at the CRM.
            "AND m.member_id NOT IN (SELECT member_id FROM merged_members) "
            "ON CONFLICT(member_id) DO UPDATE SET version = 1 WHERE version = 0",
            (
                now,
                device_id,
                high_water,
                acknowledged,
                device_id,
                device_id,
                str(since[0]) if since is not None else "",
            ),
        ).rowcount
    return Requeued(readded + unflagged, members, high_water + 1, acknowledged)
