"""What a pushed Entry must be (docs/sync-protocol.md, "Push"): a ledger row, field by field.

At least what the simulated CRM (sim/crm_checks.py) checks, plus real dates and text
PostgreSQL can store. The rules of v2 (issue 15: the entry checked against the program in
force, points within its limits, overdraws beyond the offline allowance) come beside
these, where hub/ledger/push.py judges each entry (`_judge`); these are the shape only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hub.formats import is_int64, is_text, parse_timestamp

KINDS = frozenset({"earn", "redeem", "bonus", "adjust", "expire", "reversal"})
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _uuid(value: object) -> bool:
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def _timestamp(value: object) -> bool:
    return parse_timestamp(value) is not None


def entry_key(entry: dict[str, Any]) -> tuple[str | None, int | None]:
    """The entry's own id and sequence number, each None when it has none the hub can keep."""
    entry_id, seq = entry.get("entry_id"), entry.get("seq")
    return (
        entry_id if is_text(entry_id) else None,
        seq if is_int64(seq, minimum=1) else None,
    )


_FIELDS: dict[str, Callable[[Any], bool]] = {
    "entry_id": _uuid,
    "seq": lambda v: is_int64(v, minimum=1),
    "kind": lambda v: isinstance(v, str) and v in KINDS,
    "member_id": lambda v: is_text(v) and v != "",
    "points": is_int64,
    "amount": _optional(lambda a: is_int64(a, minimum=0)),
    "currency": _optional(is_text),
    "cashier_id": _optional(is_text),
    "created_at": _timestamp,
    "reverses": _optional(_uuid),
    "reward_id": _optional(is_text),
    "coupon_code": _optional(is_text),
    "reason": _optional(is_text),
    "expires_at": _optional(_timestamp),
}


def entry_problem(entry: dict[str, Any], device_id: str) -> str | None:
    """Why `entry` is not a ledger row of `device_id` (the protocol's Entry), or None."""
    if "device_id" not in entry:
        return "device_id is missing"
    if entry["device_id"] != device_id:
        return "device_id is not valid"
    for name, check in _FIELDS.items():
        if name not in entry:
            return f"{name} is missing"
        if not check(entry[name]):
            return f"{name} is not valid"
    if not _optional(is_text)(entry.get("client_txn_id")):
        return "client_txn_id is not valid"
    return None
