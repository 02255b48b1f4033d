"""The program's referral rule at the hub (docs/program.md, "Referrals").

`referral`: {"enabled", "referrer_bonus", "referee_bonus", "max_per_month",
"min_purchase"}, every field optional; a program without it has referrals off. Kiosks
read the same rule (kiosk/core/referral.py) and write the bonuses; the hub is the arbiter
(hub/ledger/referrals.py): it stores a pushed `bonus` of reason `referral` (the new
member's) or `referral:<member id>` (the referrer's) only for a referral it holds, after a
qualifying purchase, once, within the referrer's cap at every branch, and pays a referral
itself when the purchase was made where the referral is not known.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime

DEFAULT_REFERRAL: dict[str, Any] = {
    "enabled": False,
    "referrer_bonus": 0,
    "referee_bonus": 0,
    "max_per_month": 0,
    "min_purchase": 0,
}
_LARGEST = 2**53 - 1


def referral_problem(given: object) -> str | None:
    """Why `given` is not a referral rule (one line), or None."""
    if not isinstance(given, dict):
        return 'referral must be an object ({"enabled": true, "referrer_bonus": 100, ...})'
    unknown = sorted(set(given) - set(DEFAULT_REFERRAL))
    if unknown:
        names = ", ".join(DEFAULT_REFERRAL)
        return f"referral has an unknown field {unknown[0]!r} (it has: {names})"
    if "enabled" in given and not isinstance(given["enabled"], bool):
        return f"referral's enabled must be true or false, not {given['enabled']!r}"
    for name, value in given.items():
        if name != "enabled" and (type(value) is not int or not 0 <= value <= _LARGEST):
            return f"referral's {name} must be a whole number from 0 to {_LARGEST}, not {value!r}"
    return None


def referral_of(data: dict[str, Any] | None) -> dict[str, Any]:
    """The referral rule of a published program (off when it says nothing)."""
    given = (data or {}).get("referral")
    found = dict(DEFAULT_REFERRAL)
    if isinstance(given, dict) and referral_problem(given) is None:
        found |= given
    return found


def most_referral_bonus(data: dict[str, Any] | None) -> int:
    """The largest referral bonus a program allows one entry (0: referrals off)."""
    rule = referral_of(data)
    if not rule["enabled"]:
        return 0
    return max(int(rule["referrer_bonus"]), int(rule["referee_bonus"]))


def month_of(at: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The start of the Jalali month `at` falls in (shop time) and of the next, as the
    kiosks of a Persian chain count a referrer's month (kiosk/core/referral.py)."""
    day = at.astimezone(zone).date()
    j = jdatetime.date.fromgregorian(date=day)
    first = jdatetime.date(j.year, j.month, 1).togregorian()
    following = jdatetime.date(j.year + (j.month == 12), j.month % 12 + 1, 1).togregorian()

    def start(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=zone)

    return start(first), start(following)


def rules_in_force() -> list[dict[str, Any]]:
    """The referral rule of every program in force, the current one first: as
    hub/program/publish.py `in_force` reads them (the current version, and those superseded
    within its 7 days' grace)."""
    from django.utils import timezone  # here: rules.py imports this module before Django's apps

    from hub.program.models import Program

    since = timezone.now() - timedelta(days=7)
    rows = Program.objects.filter(superseded_at__isnull=True) | Program.objects.filter(
        superseded_at__gt=since
    )
    return [referral_of(p.data) for p in rows.order_by("-version")]
