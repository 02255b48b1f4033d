"""Erasures carried into copies of the database (backups): who was erased, and erasing them.

A backup taken before an erasure still holds the person. Without encryption the only way
to make them unreadable there is to erase them in the copy too (kiosk/appliance/backup.py
`erase_from_backups`, at every erasure from the CLI and before every backup).

Erasures are also written to a journal beside the database (`ErasureJournal`, a port the
composition root fills with kiosk/appliance/erasure_journal.py), so that a restore from a
backup can erase again everyone erased since, even when the live database is lost.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Protocol

from sqlite_utils import Database

from kiosk.core.store.members import MemberStore
from kiosk.core.store.schema import MIGRATIONS
from kiosk.core.store.txns import ClientTxns


class ErasureJournal(Protocol):
    """Where each erasure is also written, outside the database (member id and time only).

    Called inside the erasure's transaction, before its commit: a journal line whose
    transaction then fails names an erasure that was asked for and is redone (a restore
    erases that member, as the retried erasure would). It raises StorageUnavailable when
    the line cannot be made durable, so the erasure is not committed without it.
    """

    def record(self, member_id: str, erased_at: str) -> None:
        """Append one erasure, durably."""


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
