"""The program page's sections for issue 20's rules, as the template shows them: the
offers (a card each, one empty to add one), feedback, referrals, streaks and badges, the
phone page and the club's size. Each field carries its value as typed and its message, if
the draft found one (hub/program/draft_sections.py, draft_offers.py).
"""

from __future__ import annotations

from typing import Any

from hub.devices.models import Branch
from hub.panel.program.texts import T
from hub.program.draft import MAX_TIERS
from hub.program.draft_offers import MAX_OFFERS, OFFER_FIELDS, WEEK
from hub.program.draft_sections import BADGE_NUMBERS, MAX_MILESTONES, REFERRAL_NUMBERS
from hub.program.wording import Text

# Fields shown in the page's numerals (read back either way); ids, names and times as typed.
NUMERIC = ("multiplier", "bonus", "min_amount", "visits")
# Offer fields typed left to right whatever the page's direction.
_LTR = ("id", "name_en", "multiplier", "bonus", "starts", "ends", "from_time", "until_time")


def sections(values: dict[str, str], errors: dict[str, Text]) -> dict[str, Any]:
    """The template's context for the sections."""

    def field(key: str, label: str | None = None, *, ltr: bool = True) -> dict[str, Any]:
        return {
            "key": key,
            "label": T[label or key],
            "value": values.get(key, ""),
            "error": errors.get(key),
            "ltr": ltr,
        }

    def box(key: str) -> dict[str, Any]:
        return {"key": key, "label": T[key], "on": bool(values.get(key)), "error": errors.get(key)}

    return {
        "show_member_count": box("show_member_count"),
        "feedback": {
            "on": box("feedback-enabled"),
            "fields": [field("feedback-every_days")],
            "error": errors.get("feedback"),
        },
        "referral": {
            "on": box("referral-enabled"),
            "fields": [field(f"referral-{n}") for n in REFERRAL_NUMBERS]
            + [field("referral-min_purchase") | {"money": True}],
            "error": errors.get("referral"),
        },
        "badges": {
            "week": field("badges-week"),
            "weeks": [("jalali", T["week_jalali"]), ("iso", T["week_iso"])],
            "fields": [field("badges-streak_weeks")]
            + [field(f"badges-{n}") for n in BADGE_NUMBERS],
            "milestones": [
                {
                    "index": i,
                    "visits": field(f"milestone-{i}-visits", "visits"),
                    "bonus": field(f"milestone-{i}-bonus", "bonus"),
                }
                for i in range(_count(values, "milestone", MAX_MILESTONES))
            ],
            "error": errors.get("badges"),
        },
        "phone_page": {
            "on": box("phone_page-enabled"),
            "fields": [field("phone_page-url")],
            "error": errors.get("phone_page"),
        },
        "offers": _offers(values, errors),
        "offers_error": errors.get("offers"),
    }


def _offers(values: dict[str, str], errors: dict[str, Text]) -> list[dict[str, Any]]:
    """Each offer typed, then an empty one to add one."""
    tiers = [
        (ident, values.get(f"tier-{i}-name_fa", ""), values.get(f"tier-{i}-name_en", ""))
        for i in range(MAX_TIERS)
        if (ident := values.get(f"tier-{i}-id", "").strip()) and not values.get(f"tier-{i}-remove")
    ]
    names = sorted({b.name for b in Branch.objects.all()})
    found: list[dict[str, Any]] = []
    for i in range(_count(values, "offer", MAX_OFFERS)):
        key = f"offer-{i}"
        chosen = {v for k, v in values.items() if k.startswith(f"{key}-branch-")}
        shown = names + sorted(chosen - set(names))  # a branch since renamed stays visible
        chosen_tiers = {v for k, v in values.items() if k.startswith(f"{key}-tier-")}
        found.append(
            {
                "index": i,
                "new": not any(values.get(f"{key}-{n}", "").strip() for n in OFFER_FIELDS),
                "removed": bool(values.get(f"{key}-remove")),
                "fields": [
                    {
                        "name": n,
                        "key": f"{key}-{n}",
                        "label": T["offer_multiplier" if n == "multiplier" else n],
                        "value": values.get(f"{key}-{n}", ""),
                        "error": errors.get(f"{key}-{n}"),
                        "ltr": n in _LTR,
                        "numeric": n in NUMERIC,
                        "placeholder": _placeholder(n),
                    }
                    for n in OFFER_FIELDS
                ],
                "weekdays": [
                    {
                        "key": f"{key}-weekday-{d}",
                        "label": T[d],
                        "on": bool(values.get(f"{key}-weekday-{d}")),
                    }
                    for d in WEEK
                ],
                "branches": [
                    {"key": f"{key}-branch-{j}", "value": name, "on": name in chosen}
                    for j, name in enumerate(shown)
                ],
                "tiers": [
                    {
                        "key": f"{key}-tier-{j}",
                        "value": ident,
                        "name": Text(fa or en or ident, en or fa or ident),
                        "on": ident in chosen_tiers,
                    }
                    for j, (ident, fa, en) in enumerate(tiers)
                ],
                "tiers_error": errors.get(f"{key}-tiers"),
            }
        )
    return found


def _placeholder(name: str) -> Text | None:
    if name in ("starts", "ends"):
        return T["date_example"]
    if name in ("from_time", "until_time"):
        return T["time_example"]
    return None


def _count(values: dict[str, str], prefix: str, most: int) -> int:
    """The rows to show: through the last one typed in, and one empty row after it."""
    typed = [k.split("-") for k, v in values.items() if k.startswith(f"{prefix}-") and v.strip()]
    last = max((int(p[1]) for p in typed if len(p) >= 3 and p[1].isdigit()), default=-1)
    return min(last + 2, most)
