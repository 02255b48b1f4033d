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
