"""The simulated CRM's summary of a member's visits at every kiosk, as the hub sends it
with a balance (hub/ledger/badge_check.py `summaries`; docs/sync-protocol.md, "visits"):
the shop-local days of purchases and redemptions not voided (the latest MOST_DAYS, newest
first), whether the member ever redeemed, the badges they were given. The simulator always
sends it (the hub only while a program in force gives badges); its days are in
Asia/Tehran, the chain's zone the kiosk ships with (SIM_TIME_ZONE to change it).
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

MOST_DAYS = 1000
PREFIX = "badge:"


def summary(conn: sqlite3.Connection, member_id: str) -> dict[str, Any]:
    """The member's `visits`, from their stored entries (by the entries_by_member index)."""
    zone = ZoneInfo(os.environ.get("SIM_TIME_ZONE") or "Asia/Tehran")
    entries = [
        json.loads(row[0])
        for row in conn.execute(
            "SELECT data FROM entries WHERE member_id = ? AND status = 'stored'", (member_id,)
        )
    ]
    voided = {(e["device_id"], e["reverses"]) for e in entries if e["kind"] == "reversal"}
    days = {
        datetime.fromisoformat(e["created_at"]).astimezone(zone).date()
        for e in entries
        if e["kind"] in ("earn", "redeem") and (e["device_id"], e["entry_id"]) not in voided
    }
    return {
        "days": [d.isoformat() for d in sorted(days, reverse=True)[:MOST_DAYS]],
        "redeemed": any(e["kind"] == "redeem" for e in entries),
        "badges": sorted(
            str(e["reason"])[len(PREFIX) :]
            for e in entries
            if e["kind"] == "bonus" and str(e.get("reason") or "").startswith(PREFIX)
        ),
    }


def extras(conn: sqlite3.Connection, member_id: str) -> dict[str, Any]:
    """What the simulator adds to a member's balance: `visits`, and `referral` once the
    member's own referral is settled (docs/sync-protocol.md, "Pull")."""
    found: dict[str, Any] = {"visits": summary(conn, member_id)}
    settled = referral(conn, member_id)
    if settled is not None:
        found["referral"] = settled
    return found


def referral(conn: sqlite3.Connection, member_id: str) -> dict[str, Any] | None:
    """The member's referral as the simulator sees it: it pays none itself and checks
    none, so it is `paid` when a kiosk's referral bonus of the member is stored (at its
    time), `voided` when that bonus was taken back (`referral_void`); else nothing (a
    program giving the new member no points leaves nothing to see)."""
    rows = [
        json.loads(row[0])
        for row in conn.execute(
            "SELECT data FROM entries WHERE member_id = ? AND status = 'stored'", (member_id,)
        )
    ]
    paid = [e for e in rows if e["kind"] == "bonus" and e.get("reason") == "referral"]
    if not paid:
        return None
    undone = {str(e.get("client_txn_id")) for e in rows if e.get("reason") == "referral_void"}
    if any(f"referral_void:{e['entry_id']}" in undone for e in paid):
        return {"state": "voided"}
    return {"state": "paid", "paid_at": min(str(e["created_at"]) for e in paid)}
