"""The chain heads a device's pushes name: kept, compared, and a broken one recorded.

docs/sync-protocol.md, "The chain head": the ledger's head is recomputed from the entries
held as pushed, from the last head kept; the audit log's (whose records the CRM never
sees) must not go back or change at the same id. A head that does not extend the last
one is recorded as `chain_broken`; the push itself is answered as always (never rejected
for it: the kiosk must not lose sales). The hub does the same (hub/ledger/chain.py).
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from kiosk.core.store.chain import GENESIS, ledger_hash

SCHEMA = """
CREATE TABLE IF NOT EXISTS chain_heads (
    device_id TEXT NOT NULL,
    chain TEXT NOT NULL CHECK (chain IN ('ledger', 'audit')),
    at INTEGER NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (device_id, chain)
);
CREATE TABLE IF NOT EXISTS chain_flags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""
_HASH = re.compile(r"[0-9a-f]{64}")


def head_of(value: object, position: str) -> tuple[int, str] | None:
    """A head of the push body (`{"seq"|"id": n, "hash": hex}`), or None if malformed."""
    if not isinstance(value, dict):
        return None
    at, digest = value.get(position), value.get("hash")
    if type(at) is not int or at < 0 or not isinstance(digest, str):
        return None
    return (at, digest) if _HASH.fullmatch(digest) else None


def check(conn: sqlite3.Connection, device_id: str, chain_head: object, high_water: int) -> None:
    """Compare the push's heads with the last kept, record what breaks, keep the new ones."""
    if not isinstance(chain_head, dict):
        return
    ledger = head_of(chain_head.get("ledger"), "seq")
    if ledger is not None and ledger[0] <= high_water:  # above the mark: not all held yet
        kept = _kept(conn, device_id, "ledger")
        detail = _ledger_break(conn, device_id, kept, ledger)
        if detail is not None:
            _flag(conn, device_id, detail)
        if ledger[0] >= kept[0]:
            _keep(conn, device_id, "ledger", ledger)
    audit = head_of(chain_head.get("audit"), "id")
    if audit is not None:
        kept = _kept(conn, device_id, "audit")
        if audit[0] < kept[0] or (audit[0] == kept[0] and audit[1] != kept[1]):
            _flag(conn, device_id, {"chain": "audit", "id": audit[0], "kept_id": kept[0]})
        if audit[0] >= kept[0]:
            _keep(conn, device_id, "audit", audit)


def _ledger_break(
    conn: sqlite3.Connection, device_id: str, kept: tuple[int, str], head: tuple[int, str]
) -> dict[str, Any] | None:
    if head[0] < kept[0]:
        return None  # an older batch sent again: nothing new to judge
    rows = conn.execute(
        "SELECT data FROM entries WHERE device_id = ? AND seq > ? AND seq <= ? ORDER BY seq",
        (device_id, kept[0], head[0]),
    ).fetchall()
    link = kept[1]
    for row in rows:
        link = ledger_hash(link, json.loads(row[0]))
    if link == head[1]:
        return None
    return {"chain": "ledger", "seq": head[0], "kept_seq": kept[0]}


def _kept(conn: sqlite3.Connection, device_id: str, name: str) -> tuple[int, str]:
    row = conn.execute(
        "SELECT at, hash FROM chain_heads WHERE device_id = ? AND chain = ?", (device_id, name)
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def _keep(conn: sqlite3.Connection, device_id: str, name: str, head: tuple[int, str]) -> None:
    conn.execute(
        "INSERT INTO chain_heads (device_id, chain, at, hash) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (device_id, chain) DO UPDATE SET at = excluded.at, hash = excluded.hash",
        (device_id, name, *head),
    )


def _flag(conn: sqlite3.Connection, device_id: str, detail: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO chain_flags (device_id, detail) VALUES (?, ?)",
        (device_id, json.dumps({"code": "chain_broken", **detail}, sort_keys=True)),
    )


def flags(conn: sqlite3.Connection, device_id: str) -> list[dict[str, Any]]:
    """The `chain_broken` flags recorded for a device, oldest first."""
    rows = conn.execute(
        "SELECT detail FROM chain_flags WHERE device_id = ? ORDER BY id", (device_id,)
    ).fetchall()
    return [json.loads(row[0]) for row in rows]
