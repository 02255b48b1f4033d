"""Erasures carried into copies of the database (backups): who was erased, and erasing them.

A backup taken before an erasure still holds the person. Without encryption the only way
to make them unreadable there is to erase them in the copy too (kiosk/appliance/backup.py
`erase_from_backups`, at every erasure from the CLI and before every backup).
"""

from __future__ import annotations

import json
import sqlite3

from sqlite_utils import Database

from kiosk.core.store.members import MemberStore
from kiosk.core.store.schema import MIGRATIONS
from kiosk.core.store.txns import ClientTxns


def erased_members(conn: sqlite3.Connection) -> dict[str, str]:
    """Every erased member id -> when it was erased."""
    return {
        str(row[0]): str(row[1] or "")
        for row in conn.execute("SELECT member_id, erased_at FROM members WHERE status = 'erased'")
    }


def migrate_copy(conn: sqlite3.Connection) -> None:
    """Bring a copy taken by an older version to this schema (as a restore would), so the
    erasure finds what it looks for; its fingerprints are keyed on the way (m008)."""
    MIGRATIONS.apply(Database(conn))


def erase_in_copy(conn: sqlite3.Connection, erased: dict[str, str]) -> int:
    """Erase in this copy the members of `erased` it still holds as active; how many.

    The caller holds the transaction and has turned secure_delete on.
    """
    if not erased:
        return 0
    active = [
        str(row[0])
        for row in conn.execute(
            "SELECT member_id FROM members WHERE status <> 'erased' "
            "AND member_id IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(erased)),),
        )
    ]
    members, txns = MemberStore(conn), ClientTxns(conn)
    for member_id in active:
        members.erase(member_id, erased[member_id])
        txns.forget_member(member_id)
    return len(active)
