"""The simulated CRM's member lookup (docs/sync-protocol.md, "Looking a member up").

GET /v2/members?phone=... or ?card=... answers as hub/members/lookup.py does: the member's
record and balance, 404 `unknown_member`, 404 `card_blocked` for a card that is only
blocked, 400 `bad_request` for neither, both or a malformed value. What the simulator does
not do: limit lookups per device (its `429` fault answers any request with one) or keep a
branch's members (it has no branches; its feed is the whole chain's).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from sim import crm_visits

if TYPE_CHECKING:
    from sim.crm_store import CrmStore

PATH = "/v2/members"
_PHONE = re.compile(r"\+[1-9][0-9]{1,14}")
_CARD = re.compile(r"[0-9A-F]{4,32}")


def query_problem(query_string: str) -> tuple[str, str] | str:
    """("phone" or "card", value), or why the query is not one of them."""
    query = parse_qs(query_string, keep_blank_values=True)
    given = [name for name in ("phone", "card") if name in query]
    if len(given) != 1:
        return "give either phone or card, not both or neither"
    name, values = given[0], query[given[0]]
    pattern = _PHONE if name == "phone" else _CARD
    if len(values) != 1 or not pattern.fullmatch(values[0]):
        form = "in E.164 (+989121234567)" if name == "phone" else "4 to 32 upper-case hex digits"
        return f"{name} must be one value, {form}"
    return name, values[0]


def lookup(store: CrmStore, by: str, value: str) -> tuple[int, dict[str, Any]]:
    """(status, body) of the answer."""
    with store._transaction() as conn:
        records = [
            json.loads(row["data"])
            for row in conn.execute("SELECT data FROM members ORDER BY rowid")
        ]
        found = _find(records, by, value)
        if isinstance(found, tuple):
            return 404, {"error": {"code": found[0], "message": found[1]}}
        member_id = str(found["member_id"])
        row = conn.execute(
            "SELECT balance FROM balances WHERE member_id = ?", (member_id,)
        ).fetchone()
        extras = crm_visits.extras(conn, member_id)
        acknowledged = {
            str(mark["device_id"]): int(mark["high_water"])
            for mark in conn.execute(
                "SELECT d.device_id, d.high_water FROM devices d WHERE EXISTS "
                "(SELECT 1 FROM entries e WHERE e.device_id = d.device_id AND e.member_id = ?)",
                (member_id,),
            )
        }
    balance = {
        "member_id": member_id,
        "balance": int(row["balance"]) if row is not None else 0,
        "acknowledged": acknowledged,
        **extras,  # visits at every kiosk, a settled referral (sim/crm_visits.py)
    }
    return 200, {"member": found, "balance": balance}


def _find(records: list[dict[str, Any]], by: str, value: str) -> dict[str, Any] | tuple[str, str]:
    """The active member with this phone, or holding this card (an active holder first)."""
    active = [r for r in records if r.get("status") == "active"]
    if by == "phone":
        for record in active:
            if record.get("phone") == value:
                return record
        return ("unknown_member", "No member with this phone number.")
    blocked = False
    for record in active:
        for card in record.get("cards") or []:
            if card.get("uid") == value:
                if card.get("status") == "active":
                    return record
                blocked = True
    if blocked:
        return ("card_blocked", "This card is blocked.")
    return ("unknown_member", "No member with this card.")


def answer(store: CrmStore, query_string: str) -> tuple[int, dict[str, Any]]:
    """(status, body) of GET /v2/members with this query."""
    query = query_problem(query_string)
    if isinstance(query, str):
        return 400, {
            "error": {"code": "bad_request", "message": f"The request is not valid: {query}"}
        }
    return lookup(store, *query)
