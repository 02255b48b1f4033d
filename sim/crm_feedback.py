"""The simulated CRM's visit ratings (docs/sync-protocol.md, "Feedback").

POST /v2/feedback answers as hub/feedback/push.py does: a rating of an earn entry this
CRM holds from the pushing device is stored (a later version changes its reasons), one of
another device's entry is refused `not_this_device`, one of an entry it does not hold
`unknown_entry`; a row that is not a rating (a field too many, a reason off the list, a
rating outside 1..5) makes the whole request 400. Kept in the simulator's database.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kiosk.core.feedback import REASONS

if TYPE_CHECKING:
    from sim.crm_store import CrmStore

PATH = "/v2/feedback"
_FIELDS = {"entry_id", "rating", "reasons", "rated_at", "version"}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    device_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    rating INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (device_id, entry_id)
);
"""


def body_problem(body: object) -> str | None:
    """Why `body` is not a feedback push, or None."""
    if not isinstance(body, dict) or not isinstance(body.get("feedback"), list):
        return "send {device_id, feedback: [ratings]}"
    rows = body["feedback"]
    if not 1 <= len(rows) <= 500:
        return "feedback must hold 1 to 500 ratings"
    for row in rows:
        if not isinstance(row, dict) or set(row) != _FIELDS:
            return f"a rating has exactly the fields {', '.join(sorted(_FIELDS))}"
        if type(row["rating"]) is not int or not 1 <= row["rating"] <= 5:
            return "rating must be a whole number from 1 to 5"
        reasons = row["reasons"]
        if not isinstance(reasons, list) or not all(r in REASONS for r in reasons):
            return f"reasons must be names from: {', '.join(REASONS)}"
        if type(row["version"]) is not int or row["version"] < 1:
            return "version must be a whole number from 1"
        if not isinstance(row["entry_id"], str) or not isinstance(row["rated_at"], str):
            return "entry_id and rated_at are strings"
    return None


def answer(store: CrmStore, device_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(status, payload) for a checked feedback push of `device_id`."""
    stored, refused = 0, []
    with store._lock:
        store.conn.execute(_SCHEMA)
        for row in body["feedback"]:
            held = store.conn.execute(
                "SELECT device_id FROM entries WHERE entry_id = ? AND status = 'stored' "
                "AND json_extract(data, '$.kind') = 'earn'",
                (row["entry_id"],),
            ).fetchall()
            if not held:
                refused.append({"entry_id": row["entry_id"], "code": "unknown_entry"})
                continue
            if device_id not in {r[0] for r in held}:
                refused.append({"entry_id": row["entry_id"], "code": "not_this_device"})
                continue
            store.conn.execute(
                "INSERT INTO feedback (device_id, entry_id, rating, reasons, version) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (device_id, entry_id) DO UPDATE SET "
                "reasons = excluded.reasons, version = excluded.version "
                "WHERE excluded.version > feedback.version",
                (
                    device_id,
                    row["entry_id"],
                    row["rating"],
                    json.dumps(row["reasons"]),
                    row["version"],
                ),
            )
            stored += 1
    return 200, {"stored": stored, "refused": refused}


def ratings(store: CrmStore) -> list[dict[str, Any]]:
    """Every rating held (for tests and `/sim/view`-like checks)."""
    with store._lock:
        store.conn.execute(_SCHEMA)
        rows = store.conn.execute(
            "SELECT device_id, entry_id, rating, reasons, version FROM feedback ORDER BY rowid"
        ).fetchall()
    return [
        {
            "device_id": r[0],
            "entry_id": r[1],
            "rating": r[2],
            "reasons": json.loads(r[3]),
            "version": r[4],
        }
        for r in rows
    ]
