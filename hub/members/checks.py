"""What a pushed MemberRecord must be (docs/sync-protocol.md, "Push"), checked.

At least what the simulated CRM (sim/crm_checks.py) checks, plus what PostgreSQL needs:
real dates and times, text without NUL. Each check returns None or a short English reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hub.formats import all_storable, is_text, parse_date, parse_timestamp

_PHONE = re.compile(r"\+[1-9][0-9]{1,14}")
_ERASED_FIELDS = frozenset({"member_id", "status", "created_at", "updated_at"})


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _cards_valid(cards: object) -> bool:
    return isinstance(cards, list) and all(
        isinstance(card, dict)
        and is_text(card.get("uid"))
        and card.get("status") in ("active", "blocked")
        for card in cards
    )


_ACTIVE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "phone": lambda v: isinstance(v, str) and _PHONE.fullmatch(v) is not None,
    "name": _optional(is_text),
    "birthday": _optional(lambda d: parse_date(d) is not None),
    "language": _optional(is_text),
    "consent_marketing": lambda v: isinstance(v, bool),
    "consent_version": _optional(is_text),
    "consent_at": _optional(lambda t: parse_timestamp(t) is not None),
    "cards": _cards_valid,
}


def member_problem(record: object) -> str | None:
    """Why `record` is not a MemberRecord, or None."""
    if not isinstance(record, dict):
        return "a member record must be an object"
    for name in ("member_id", "created_at", "updated_at"):
        if name not in record:
            return f"{name} is missing"
    if not is_text(record["member_id"]) or not record["member_id"]:
        return "member_id is not valid"
    for name in ("created_at", "updated_at"):
        if parse_timestamp(record[name]) is None:
            return f"{name} is not valid"
    status = record.get("status")
    if status == "erased":
        extra = set(record) - _ERASED_FIELDS
        return f"an erased record has no {sorted(extra)[0]}" if extra else None
    if status != "active":
        return "status must be active or erased"
    for name, check in _ACTIVE_CHECKS.items():
        if name not in record:
            return f"{name} is missing"
        if not check(record[name]):
            return f"{name} is not valid"
    referrer = record.get("referrer_id", "-")  # optional: a new member's referrer
    if not is_text(referrer) or not referrer or len(referrer) > 200:
        return "referrer_id is not valid"
    if not all_storable(record):
        return "a field holds what PostgreSQL cannot store (NUL, a lone surrogate, NaN, Infinity)"
    return None
