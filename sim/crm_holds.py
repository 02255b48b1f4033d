"""The simulated CRM's holds (docs/sync-protocol.md, "Holds"): the hub's answers, in SQLite.

POST /v2/holds and DELETE /v2/holds/<client_txn_id>, as hub/ledger/holds.py serves them:
available = the member's balance minus the active holds (not confirmed, released or
expired) of every device; a hold holds for 15 minutes; a pushed redeem entry of the same
device with the same client_txn_id, member and points confirms it (`confirm`, called by
CrmStore.push). The store's one lock serialises holds as the hub's balance row lock does.
Times are the CRM's clock (Unix seconds), the one its signature window uses.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sim.crm_checks import is_int64

if TYPE_CHECKING:
    from sim.crm_store import CrmStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS holds (
    device_id TEXT NOT NULL,
    client_txn_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    points INTEGER NOT NULL,
    reward_id TEXT,
    state TEXT NOT NULL CHECK (state IN ('active', 'confirmed', 'released')),
    available INTEGER NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (device_id, client_txn_id)
);
CREATE INDEX IF NOT EXISTS holds_by_member ON holds (member_id, state);
"""
HOLD_SECONDS = 15 * 60
MAX_TXN_ID = 100
PREFIX = "/v2/holds/"


def is_release(method: str, path: str) -> bool:
    """Whether the request is DELETE /v2/holds/<client_txn_id>."""
    return method == "DELETE" and path.startswith(PREFIX) and "/" not in path[len(PREFIX) :]


def request_problem(body: dict[str, Any]) -> str | None:
    """Why a POST /v2/holds body is not a HoldRequest, or None (the hub's checks)."""
    txn, member_id = body.get("client_txn_id"), body.get("member_id")
    points, reward_id = body.get("points"), body.get("reward_id")
    if not isinstance(txn, str) or not 1 <= len(txn) <= MAX_TXN_ID:
        return f"client_txn_id must be text of 1 to {MAX_TXN_ID} characters"
    if not isinstance(member_id, str) or not member_id:
        return "member_id must be text"
    if not is_int64(points, minimum=1):
        return "points must be a whole number above 0"
    if reward_id is not None and not isinstance(reward_id, str):
        return "reward_id must be text or null"
    return None


def take(store: CrmStore, device: str, body: dict[str, Any], now: float) -> tuple[int, Any]:
    """A checked hold request's answer: (status, body)."""
    txn, member_id, points = body["client_txn_id"], body["member_id"], body["points"]
    with store._transaction() as conn:
        held = conn.execute(
            "SELECT * FROM holds WHERE device_id = ? AND client_txn_id = ?", (device, txn)
        ).fetchone()
        if held is not None and (held["member_id"], held["points"]) != (member_id, points):
            return 409, _error(
                "hold_conflict",
                "This client_txn_id already holds points for another member or amount.",
            )
        member = conn.execute(
            "SELECT json_extract(data, '$.status') FROM members WHERE member_id = ?", (member_id,)
        ).fetchone()
        if member is None or member[0] != "active":
            return 409, _error("unknown_member", "The CRM has no member with this id.")
        live = held is not None and held["expires_at"] > now
        if held is not None and (
            held["state"] == "confirmed" or (held["state"], live) == ("active", True)
        ):
            return 200, _body(held)
        balance = conn.execute(
            "SELECT balance FROM balances WHERE member_id = ?", (member_id,)
        ).fetchone()
        available = (balance[0] if balance else 0) - _held(conn, member_id, now)
        if points > available:
            refused = _error("insufficient_points", "The member's points do not cover this.")
            refused["error"]["available"] = max(available, 0)
            return 409, refused
        conn.execute(
            "INSERT INTO holds (device_id, client_txn_id, member_id, points, reward_id, state, "
            "available, created_at, expires_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?) "
            "ON CONFLICT (device_id, client_txn_id) DO UPDATE SET state = 'active', "
            "available = excluded.available, created_at = excluded.created_at, "
            "expires_at = excluded.expires_at",
            (
                device,
                txn,
                member_id,
                points,
                body.get("reward_id"),
                available - points,
                now,
                now + HOLD_SECONDS,
            ),
        )
        made = conn.execute(
            "SELECT * FROM holds WHERE device_id = ? AND client_txn_id = ?", (device, txn)
        ).fetchone()
        return (201 if held is None else 200), _body(made)


def release(store: CrmStore, device: str, path: str, now: float) -> tuple[int, Any]:
    """DELETE /v2/holds/<client_txn_id>: (status, body)."""
    txn = unquote(path[len(PREFIX) :])
    if not 1 <= len(txn) <= MAX_TXN_ID:
        return 400, _error("bad_request", f"a client_txn_id is 1 to {MAX_TXN_ID} characters")
    with store._transaction() as conn:
        done = conn.execute(
            "UPDATE holds SET state = 'released' WHERE device_id = ? AND client_txn_id = ? "
            "AND state = 'active' AND expires_at > ?",
            (device, txn, now),
        )
        return 200, {"released": done.rowcount > 0}


def confirm(conn: sqlite3.Connection, device: str, entry: dict[str, Any]) -> None:
    """A stored entry of the device: the hold it was the redeem of is confirmed."""
    txn = entry.get("client_txn_id")
    if entry.get("kind") != "redeem" or not isinstance(txn, str):
        return
    conn.execute(
        "UPDATE holds SET state = 'confirmed' WHERE device_id = ? AND client_txn_id = ? "
        "AND member_id = ? AND points = ? AND state = 'active'",
        (device, txn, entry.get("member_id"), -int(entry.get("points") or 0)),
    )


def _held(conn: sqlite3.Connection, member_id: str, now: float) -> int:
    row = conn.execute(
        "SELECT COALESCE(SUM(points), 0) FROM holds "
        "WHERE member_id = ? AND state = 'active' AND expires_at > ?",
        (member_id, now),
    ).fetchone()
    return int(row[0])


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _body(hold: sqlite3.Row) -> dict[str, Any]:
    expires = datetime.fromtimestamp(hold["expires_at"], UTC).replace(tzinfo=None)
    return {
        "client_txn_id": hold["client_txn_id"],
        "member_id": hold["member_id"],
        "points": hold["points"],
        "available": max(hold["available"], 0),
        "expires_at": expires.isoformat(timespec="microseconds") + "Z",
    }
