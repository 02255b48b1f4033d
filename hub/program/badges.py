"""The program's streaks and badges (docs/program.md, "Streaks and badges"), as the hub
checks them: the setting a program may publish, and the bonus each badge may give.

Kiosks give each badge as a `bonus` entry with reason `badge:<id>` (kiosk/core/badges.py);
hub/ledger/rules.py stores one only when a program in force names that badge with at
least its points, and only once per member.
"""

from __future__ import annotations

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
