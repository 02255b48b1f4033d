"""What the simulated CRM accepts: the request bodies of docs/sync-protocol.md, checked.

Plain Python, no schema library at run time: the conformance test checks these against
docs/sync-openapi.yaml with jsonschema. Each check returns None for a good value and a
short English reason otherwise (the reason goes into the CRM's error message).
"""

from __future__ import annotations

import re
from typing import Any

INT64_MAX = 2**63 - 1
KINDS = frozenset({"earn", "redeem", "bonus", "adjust", "expire", "reversal"})
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PHONE = re.compile(r"\+[1-9][0-9]{1,14}")


def is_int64(value: object, minimum: int = -INT64_MAX - 1) -> bool:
    """A JSON integer (not a boolean) that SQLite can hold, at least `minimum`."""
    return type(value) is int and minimum <= value <= INT64_MAX


def _matches(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _optional(value: object, check: Any) -> bool:
    return value is None or bool(check(value))


def _str(value: object) -> bool:
    return isinstance(value, str)


def entry_problem(entry: object, device_id: str) -> str | None:
    """Why `entry` is not a ledger row of `device_id` (the protocol's Entry), or None."""
    if not isinstance(entry, dict):
        return "an entry must be an object"
    checks: dict[str, Any] = {
        "entry_id": lambda v: _matches(_UUID, v),
        "device_id": lambda v: v == device_id,
        "seq": lambda v: is_int64(v, minimum=1),
        "kind": lambda v: isinstance(v, str) and v in KINDS,
        "member_id": lambda v: isinstance(v, str) and v != "",
        "points": is_int64,
        "amount": lambda v: _optional(v, lambda a: is_int64(a, minimum=0)),
        "currency": lambda v: _optional(v, _str),
        "cashier_id": lambda v: _optional(v, _str),
        "created_at": lambda v: _matches(_TIMESTAMP, v),
        "reverses": lambda v: _optional(v, lambda r: _matches(_UUID, r)),
        "reward_id": lambda v: _optional(v, _str),
        "coupon_code": lambda v: _optional(v, _str),
        "reason": lambda v: _optional(v, _str),
        "expires_at": lambda v: _optional(v, lambda t: _matches(_TIMESTAMP, t)),
    }
    problem = _first_problem(entry, checks)
    if problem is not None:
        return problem
    if not _optional(entry.get("client_txn_id"), _str):
        return "client_txn_id is not valid"
    return None


def _first_problem(value: dict[str, Any], checks: dict[str, Any]) -> str | None:
    """The first field of `checks` that `value` lacks or that fails its check."""
    for name, check in checks.items():
        if name not in value:
            return f"{name} is missing"
        if not check(value[name]):
            return f"{name} is not valid"
    return None


def member_problem(record: object) -> str | None:
    """Why `record` is not a MemberRecord, or None."""
    if not isinstance(record, dict):
        return "a member record must be an object"
    for name in ("member_id", "created_at", "updated_at"):
        if name not in record:
            return f"{name} is missing"
    if not isinstance(record["member_id"], str) or not record["member_id"]:
        return "member_id is not valid"
    for name in ("created_at", "updated_at"):
        if not _matches(_TIMESTAMP, record[name]):
            return f"{name} is not valid"
    status = record.get("status")
    if status == "erased":
        extra = set(record) - {"member_id", "status", "created_at", "updated_at"}
        return f"an erased record has no {sorted(extra)[0]}" if extra else None
    if status != "active":
        return "status must be active or erased"
    checks: dict[str, Any] = {
        "phone": lambda v: _matches(_PHONE, v),
        "name": lambda v: _optional(v, _str),
        "birthday": lambda v: _optional(v, lambda d: _matches(_DATE, d)),
        "language": lambda v: _optional(v, _str),
        "consent_marketing": lambda v: isinstance(v, bool),
        "consent_version": lambda v: _optional(v, _str),
        "consent_at": lambda v: _optional(v, lambda t: _matches(_TIMESTAMP, t)),
        "cards": _cards_valid,
    }
    referrer = record.get("referrer_id", "-")  # optional: a new member's referrer
    if not isinstance(referrer, str) or not referrer:
        return "referrer_id is not valid"
    return _first_problem(record, checks)


def _cards_valid(cards: object) -> bool:
    return isinstance(cards, list) and all(
        isinstance(card, dict)
        and isinstance(card.get("uid"), str)
        and card.get("status") in ("active", "blocked")
        for card in cards
    )


def heartbeat_problem(status: object) -> str | None:
    """Why `status` is not a Heartbeat, or None."""
    if not isinstance(status, dict):
        return "a heartbeat must be an object"
    checks: dict[str, Any] = {
        "version": _str,
        "queue_depth": lambda v: is_int64(v, minimum=0),
        "oldest_unsynced_at": lambda v: _optional(v, lambda t: _matches(_TIMESTAMP, t)),
        "readers": lambda v: (
            isinstance(v, list)
            and all(isinstance(r, dict) and _str(r.get("name")) and _str(r.get("state")) for r in v)
        ),
        "disk_free_bytes": lambda v: is_int64(v, minimum=0),
        "clock_offset_ms": lambda v: _optional(v, is_int64),
    }
    return _first_problem(status, checks)
