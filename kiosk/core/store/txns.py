"""Client transaction ids: what each retried or double-tapped request was first answered."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Answered:
    """A request seen before: its fingerprint and the JSON answer it was given."""

    fingerprint: str
    result: str


class ClientTxns:
    """The client_txns table (written inside the operation's own transaction)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def find(self, txn_id: str) -> Answered | None:
        """The first answer to `txn_id`, or None when it is new."""
        row = self.conn.execute(
            "SELECT fingerprint, result FROM client_txns WHERE txn_id = ?", (txn_id,)
        ).fetchone()
        return Answered(str(row[0]), str(row[1])) if row is not None else None

    def record(self, txn_id: str, operation: str, fingerprint: str, result: str, at: str) -> None:
        """Remember the answer to `txn_id`."""
        self.conn.execute(
            "INSERT INTO client_txns (txn_id, operation, fingerprint, result, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (txn_id, operation, fingerprint, result, at),
        )
