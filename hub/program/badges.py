"""The program's streaks and badges (docs/program.md, "Streaks and badges"), as the hub
checks them: the setting a program may publish, and the bonus each badge may give.

Kiosks give each badge as a `bonus` entry with reason `badge:<id>` (kiosk/core/badges.py);
hub/ledger/rules.py stores one only when a program in force names that badge with at
least its points, and only once per member.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

WEEKS = ("jalali", "iso")
_KEYS = {
    "week",
    "streak_weeks",
    "streak_bonus",
    "milestones",
    "first_redemption_bonus",
    "tier_bonus",
}
_LARGEST = 2**53 - 1
PREFIX = "badge:"


def _whole(value: object, least: int, most: int = _LARGEST) -> bool:
    return type(value) is int and least <= value <= most


def badges_problem(given: object) -> str | None:
    """Why `given` is not a program's `badges` setting (one line), or None."""
    example = '{"streak_weeks": [4, 8], "streak_bonus": 30, "milestones": [...]}'
    if not isinstance(given, dict):
        return f"badges must be an object ({example})"
    unknown = sorted(set(given) - _KEYS)
    if unknown:
        return f"badges has an unknown field {unknown[0]!r} (it has: {', '.join(sorted(_KEYS))})"
    if given.get("week", "jalali") not in WEEKS:
        return 'badges\' week must be "jalali" (Saturday to Friday) or "iso" (Monday to Sunday)'
    streaks = given.get("streak_weeks", [])
    if not isinstance(streaks, list) or not all(_whole(w, 1, 520) for w in streaks):
        return "badges' streak_weeks must be a list of whole numbers of weeks from 1 to 520"
    if len(set(streaks)) != len(streaks):
        return "badges' streak_weeks lists a streak twice"
    for name in ("streak_bonus", "first_redemption_bonus", "tier_bonus"):
        if name in given and not _whole(given[name], 0):
            return f"badges' {name} must be a whole number of points, 0 or more"
    milestones = given.get("milestones", [])
    if not isinstance(milestones, list):
        return 'badges\' milestones must be a list ([{"visits": 10, "bonus": 50}])'
    seen: set[int] = set()
    for milestone in milestones:
        if not isinstance(milestone, dict) or set(milestone) - {"visits", "bonus"}:
            return 'a badges milestone is {"visits": 10, "bonus": 50}'
        if not _whole(milestone.get("visits"), 1) or not _whole(milestone.get("bonus", 0), 0):
            return "a badges milestone needs visits (1 or more) and a bonus (0 or more)"
        if milestone["visits"] in seen:
            return f"badges' milestone of {milestone['visits']} visits is listed twice"
        seen.add(milestone["visits"])
    return None


def badge_bonuses(data: dict[str, Any]) -> dict[str, int]:
    """Each badge a published program gives, by id, with its bonus; a tier's badge is
    `tier-<id>` for each tier above the first (the kiosk's ids, kiosk/core/badges.py)."""
    given = data.get("badges")
    if not isinstance(given, dict) or badges_problem(given):
        return {}
    found: dict[str, int] = {}
    for milestone in given.get("milestones", []):
        found[f"visits-{milestone['visits']}"] = int(milestone.get("bonus", 0))
    for weeks in given.get("streak_weeks", []):
        found[f"streak-{weeks}w"] = int(given.get("streak_bonus", 0))
    found["first-redemption"] = int(given.get("first_redemption_bonus", 0))
    for tier in (data.get("tiers") or [])[1:]:
        found[f"tier-{tier['id']}"] = int(given.get("tier_bonus", 0))
    return {badge: bonus for badge, bonus in found.items() if bonus > 0}


# -- whether a member's history reaches a badge (hub/ledger/badge_check.py) --------------
#
# A port of kiosk/core/badges.py's week_of and streak_weeks: the hub is installed apart and
# may not import the kiosk (tests/test_architecture.py). tests/test_badge_rule_table.py
# runs one table of days against both, so the two cannot drift apart unseen.


def week_of(day: date, week: str) -> int:
    """The number of the week `day` falls in: consecutive weeks have consecutive numbers
    ("jalali": Saturday to Friday; "iso": Monday to Sunday)."""
    if week == "jalali":
        return (day.toordinal() + 1) // 7
    return (day.toordinal() - 1) // 7


def streak_weeks(days: Iterable[date], today: date, week: str) -> int:
    """How many consecutive weeks, ending with `today`'s, each had a visit (today counts)."""
    weeks = {week_of(d, week) for d in days}
    last = week_of(today, week)
    weeks.add(last)
    length = 0
    while last - length in weeks:
        length += 1
    return length


@dataclass(frozen=True)
class History:
    """A member's history as the hub holds it, up to a badge's time (all kiosks)."""

    days: frozenset[date]  # the shop-local days of purchases and redemptions not voided
    redeemed: bool  # any redemption
    earned: int  # points of purchases not voided, all time


def shortfall(badge: str, data: dict[str, Any], history: History, today: date) -> dict[str, Any]:
    """Why `history` does not reach `badge` at a visit on `today` under the program `data`
    (figures for the owner's flag), or {} when it does."""
    kind, _, figure = badge.partition("-")
    if today not in history.days:  # a badge is given at a visit, in its transaction
        return {"needs": "a visit that day", "visits": len(history.days)}
    if kind == "visits" and figure.isdigit():
        if len(history.days) >= int(figure):
            return {}
        return {"needs": f"{figure} visits", "visits": len(history.days)}
    if kind == "streak" and figure.endswith("w") and figure[:-1].isdigit():
        week = str((data.get("badges") or {}).get("week", "jalali"))
        length = streak_weeks(history.days, today, week)
        if length >= int(figure[:-1]):
            return {}
        return {"needs": f"{figure[:-1]} weeks in a row", "weeks": length, "week": week}
    if badge == "first-redemption":
        return {} if history.redeemed else {"needs": "a redemption"}
    if kind == "tier":
        tiers = {str(t["id"]): int(t["threshold"]) for t in data.get("tiers") or []}
        threshold = tiers.get(figure)
        if threshold is not None and history.earned >= threshold:
            return {}
        return {"needs": f"{threshold} points earned", "earned": history.earned}
    return {"needs": "a badge of a known kind"}
