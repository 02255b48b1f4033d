"""The simulated CRM's change feed: every change a kiosk should pull, in one numbering.

Each change gets the next cursor; a page is read after a cursor. The feed's epoch names
that numbering: the file's identity (a copy put back, the restore, is another file) and a
nonce `reset_epoch` writes (docs/sync-protocol.md, "Pull"). Functions on the store's
connection, called under its lock or in its transactions (sim/crm_store.py).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    signature TEXT
);
-- The nonce `reset_epoch` writes into the feed's epoch (a copy of the file carries it).
CREATE TABLE IF NOT EXISTS feed_epoch (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    nonce TEXT NOT NULL
);
"""


def append(
    conn: sqlite3.Connection, kind: str, data: dict[str, Any], signature: str | None = None
) -> None:
    """Add a change at the end of the feed."""
    if kind == "erasure":
        # Earlier records of the person no longer carry them (as hub/feed/feed.py does):
        # a kiosk reading the feed from the start is told only that they are erased.
        conn.execute(
            "UPDATE changes SET data = json_object('created_at', "
            "json_extract(data, '$.created_at'), 'member_id', "
            "json_extract(data, '$.member_id'), 'status', 'erased', 'updated_at', "
            "json_extract(data, '$.updated_at')) "
            "WHERE type = 'member' AND json_extract(data, '$.member_id') = ?",
            (data["member_id"],),
        )
    conn.execute(
        "INSERT INTO changes (type, data, signature) VALUES (?, ?, ?)",
        (kind, json.dumps(data, sort_keys=True), signature),
    )


def page(
    conn: sqlite3.Connection, cursor: int, limit: int
) -> tuple[list[dict[str, Any]], int, bool]:
    """The changes after `cursor`: (page, next cursor, whether more follow)."""
    rows = conn.execute(
        "SELECT cursor, type, data, signature FROM changes WHERE cursor > ? "
        "ORDER BY cursor LIMIT ?",
        (cursor, limit + 1),
    ).fetchall()
    found = [
        {"cursor": row["cursor"], "type": row["type"], "data": json.loads(row["data"])}
        | ({"signature": row["signature"]} if row["signature"] is not None else {})
        for row in rows[:limit]
    ]
    next_cursor = found[-1]["cursor"] if found else cursor
    return found, int(next_cursor), len(rows) > limit


def epoch(conn: sqlite3.Connection, file_id: str) -> str:
    """The feed's epoch, from the file's identity and the nonce."""
    row = conn.execute("SELECT nonce FROM feed_epoch").fetchone()
    named = f"{file_id}:{row['nonce'] if row is not None else ''}"
    return hashlib.sha256(named.encode()).hexdigest()[:32]


def reset_epoch(conn: sqlite3.Connection) -> None:
    """A new nonce: a new epoch, and kiosks read the feed again."""
    conn.execute(
        "INSERT INTO feed_epoch (only, nonce) VALUES (1, ?) "
        "ON CONFLICT(only) DO UPDATE SET nonce = excluded.nonce",
        (secrets.token_hex(16),),
    )
