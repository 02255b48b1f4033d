"""The append-only audit log: who did what, to what, when, and how it ended."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from kiosk.core.store import chain


@dataclass(frozen=True)
class AuditRecord:
    """One line of the audit log. `target` is an id, never a phone number or card id."""

    id: int
    at: str
    actor: str
    action: str
    target: str | None
    outcome: str
    details: dict[str, Any]


def record(
    conn: sqlite3.Connection,
    *,
    at: str,
    actor: str,
    action: str,
    target: str | None = None,
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit record, chained to the last (inside the caller's transaction, or on
    its own: the head is read and the record written under one write lock either way)."""
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN IMMEDIATE")
    try:
        head = chain.audit_head(conn)
        row = {
            "id": head.at + 1,
            "at": at,
            "actor": actor,
            "action": action,
            "target": target,
            "outcome": outcome,
            "details": json.dumps(details, sort_keys=True, default=str) if details else None,
        }
        link = chain.audit_hash(head.hash, row)
        conn.execute(
            "INSERT INTO audit (id, at, actor, action, target, outcome, details, hash) "
            "VALUES (:id, :at, :actor, :action, :target, :outcome, :details, :hash)",
            {**row, "hash": link},
        )
        chain.seal(conn, chain.AUDIT_CHAIN, head.at + 1, link, head)
    except BaseException:
        if own and conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if own:
        conn.execute("COMMIT")


def recent(conn: sqlite3.Connection, limit: int = 50) -> list[AuditRecord]:
    """The latest audit records, newest first."""
    rows = conn.execute(
        "SELECT id, at, actor, action, target, outcome, details FROM audit "
        "ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [
        AuditRecord(
            id=row[0],
            at=row[1],
            actor=row[2],
            action=row[3],
            target=row[4],
            outcome=row[5],
            details=json.loads(row[6]) if row[6] else {},
        )
        for row in rows
    ]
