"""A program's limited-time offers, as the hub checks and bounds them (docs/program.md).

The kiosk decides what an offer gives a purchase (kiosk/core/offers.py); the hub checks
a published program's `offers` (`offer_problem`, the kiosk's config rules again:
kiosk/config/offer_rules.py) and bounds a pushed earn by the offers running at the entry's
time at the device's branch (`raise_at`): the highest multiplier and every bonus, whatever
the member's tier (the hub bounds with the highest tier's multiplier anyway).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday()'s order
OFFER_KEYS = {
    "id",
    "name_fa",
    "name_en",
    "multiplier",
    "bonus",
    "starts",
    "ends",
    "weekdays",
    "from_time",
    "until_time",
    "branches",
    "tiers",
    "min_amount",
}
MAX_MULTIPLIER = Decimal(10)
_TIME = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")
_MULTIPLIER = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LARGEST = 2**53 - 1


def _minute(text: object) -> int | None:
    found = _TIME.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        return None
    minutes = int(found[1]) * 60 + int(found[2])
    return minutes if minutes <= 24 * 60 else None


def _day(text: object) -> date | None:
    if not isinstance(text, str) or len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def offers_problem(offers: object, tier_ids: set[str]) -> str | None:
    """Why a program's `offers` is not a list of valid offers (one line), or None."""
    if not isinstance(offers, list):
        return "offers must be a list"
    seen: set[str] = set()
    for index, offer in enumerate(offers):
        problem = _offer_problem(f"offer {index + 1}", offer, tier_ids, seen)
        if problem:
            return problem
    return None


def _offer_problem(where: str, offer: object, tier_ids: set[str], seen: set[str]) -> str | None:
    if not isinstance(offer, dict):
        return f"{where} is not an object"
    unknown = sorted(set(offer) - OFFER_KEYS)
    if unknown:
        return f"{where} has an unknown field {unknown[0]!r}"
    ident = offer.get("id")
    if not isinstance(ident, str) or not _ID.fullmatch(ident):
        return f"{where}'s id must be 1 to 64 letters, digits, '.', '_' or '-'"
    if ident in seen:
        return f"{where}'s id {ident!r} is used twice"
    seen.add(ident)
    for name in ("name_fa", "name_en"):
        value = offer.get(name, "")
        if not (isinstance(value, str) and "\x00" not in value):
            return f"{where}'s {name} must be text"
    multiplier = offer.get("multiplier", "1")
    if not (isinstance(multiplier, str) and _MULTIPLIER.fullmatch(multiplier)):
        return f'{where}\'s multiplier must be a decimal number as a string, e.g. "2"'
    if not 1 <= Decimal(multiplier) <= MAX_MULTIPLIER:
        return f'{where}\'s multiplier must be from "1" to "{MAX_MULTIPLIER}"'
    for name in ("bonus", "min_amount"):
        value = offer.get(name, 0)
        if type(value) is not int or not 0 <= value <= _LARGEST:
            return f"{where}'s {name} must be a whole number from 0 to {_LARGEST}"
    if Decimal(multiplier) == 1 and offer.get("bonus", 0) == 0:
        return f'{where} gives nothing: a multiplier above "1" or a bonus'
    starts, ends = offer.get("starts", ""), offer.get("ends", "")
    for name, value in (("starts", starts), ("ends", ends)):
        if value not in (None, "") and _day(value) is None:
            return f"{where}'s {name} must be an ISO date (YYYY-MM-DD) or empty"
    first, last = _day(starts), _day(ends)
    if first and last and first > last:
        return f"{where} ends before it starts"
    weekdays = offer.get("weekdays", [])
    if not isinstance(weekdays, list) or any(d not in WEEKDAYS for d in weekdays):
        return f"{where}'s weekdays must be a list of {', '.join(WEEKDAYS)}"
    start, end = _minute(offer.get("from_time", "00:00")), _minute(offer.get("until_time", "24:00"))
    if start is None or end is None:
        return f'{where}\'s from_time and until_time must be times "HH:MM" (24:00 at most)'
    if start >= end:
        return f"{where}'s until_time must be after its from_time (across midnight: two offers)"
    for name in ("branches", "tiers"):
        value = offer.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"{where}'s {name} must be a list of names"
    unknown_tiers = [t for t in offer.get("tiers", []) if t not in tier_ids]
    if unknown_tiers:
        return f"{where}'s tier {unknown_tiers[0]!r} is not a tier of the program"
    return None


@dataclass(frozen=True)
class Offer:
    """One offer of a published program, as the hub bounds an earn by it."""

    multiplier: Decimal
    bonus: int
    starts: date | None
    ends: date | None
    weekdays: tuple[str, ...]
    from_minute: int
    until_minute: int
    branches: tuple[str, ...]
    min_amount: int

    @classmethod
    def of(cls, data: dict[str, Any]) -> Offer:
        """The offer of a published (valid) program's data."""
        return cls(
            multiplier=Decimal(data.get("multiplier", "1")),
            bonus=int(data.get("bonus", 0)),
            starts=_day(data.get("starts")),
            ends=_day(data.get("ends")),
            weekdays=tuple(data.get("weekdays", ())),
            from_minute=_minute(data.get("from_time", "00:00")) or 0,
            until_minute=_minute(data.get("until_time", "24:00")) or 24 * 60,
            branches=tuple(data.get("branches", ())),
            min_amount=int(data.get("min_amount", 0)),
        )

    def applies(self, moment: datetime, branch: str | None, amount: int) -> bool:
        """Whether it runs at this shop-local moment at the branch, for this basket."""
        day = moment.date()
        if (self.starts and day < self.starts) or (self.ends and day > self.ends):
            return False
        if self.weekdays and WEEKDAYS[day.weekday()] not in self.weekdays:
            return False
        if self.branches and branch not in self.branches:
            return False
        minute = moment.hour * 60 + moment.minute
        return self.from_minute <= minute < self.until_minute and amount >= self.min_amount


def raise_at(
    offers: tuple[Offer, ...], moment: datetime, branch: str | None, amount: int
) -> tuple[Decimal, int]:
    """The most the offers running then may add: their highest multiplier, their bonuses."""
    running = [o for o in offers if o.applies(moment, branch, amount)]
    multiplier = max((o.multiplier for o in running), default=Decimal(1))
    return multiplier, sum(o.bonus for o in running)
