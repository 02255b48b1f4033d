"""The append-only audit log: who did what, to what, when, and how it ended."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any


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
    """Append one audit record (inside the caller's transaction, or on its own)."""
    conn.execute(
        "INSERT INTO audit (at, actor, action, target, outcome, details) VALUES (?, ?, ?, ?, ?, ?)",
        (
            at,
            actor,
            action,
            target,
            outcome,
            json.dumps(details, sort_keys=True, default=str) if details else None,
        ),
    )


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
