"""The program form's sections for issue 20's rules (docs/program.md): the offers, feedback
after a purchase, referrals, streaks and badges, the phone page and the club's size on
the attract screen.

Each field is checked with a message in both languages beside it; then the section as a
whole passes the hub's own check (`feedback`'s, `referral_problem`, `badges_problem`,
`phone_page_problem`, `offers_problem`: those every publication passes), whose refusal,
if the fields let one through, is said at the section. A section the program in force
does not have and the form leaves at its default is not written into the program, so an
edit of the tiers does not add settings nobody chose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hub.club.setting import phone_page_problem
from hub.program.badges import WEEKS, badges_problem
from hub.program.draft_offers import MAX_OFFERS, offer_values, read_offers
from hub.program.form_fields import LARGEST, money, money_text, rows, whole
from hub.program.offers import offers_problem
from hub.program.referral import DEFAULT_REFERRAL, referral_problem
from hub.program.rules import DEFAULT_FEEDBACK
from hub.program.rules import _feedback_problem as feedback_problem
from hub.program.wording import Text, ascii_digits, grouped

SECTION_KEYS = frozenset(
    {"offers", "feedback", "referral", "badges", "phone_page", "show_member_count"}
)
MAX_MILESTONES = 10
REFERRAL_NUMBERS = ("referrer_bonus", "referee_bonus", "max_per_month")
BADGE_NUMBERS = ("streak_bonus", "first_redemption_bonus", "tier_bonus")
DEFAULT_BADGES: dict[str, Any] = {
    "week": "jalali",
    "streak_weeks": [],
    "streak_bonus": 0,
    "milestones": [],
    "first_redemption_bonus": 0,
    "tier_bonus": 0,
}
DEFAULT_PHONE_PAGE: dict[str, Any] = {"enabled": True}
_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "feedback": feedback_problem,
    "referral": referral_problem,
    "badges": badges_problem,
    "phone_page": phone_page_problem,
}


def section_values(data: Mapping[str, Any], unit: str, calendar: str) -> dict[str, str]:
    """The sections of a program's data as the form's values (absent: their defaults)."""
    values: dict[str, str] = {"show_member_count": _box(data.get("show_member_count") is True)}
    feedback = DEFAULT_FEEDBACK | _dict(data.get("feedback"))
    values["feedback-enabled"] = _box(feedback["enabled"] is True)
    values["feedback-every_days"] = f"{int(feedback['every_days']):,}"
    referral = DEFAULT_REFERRAL | _dict(data.get("referral"))
    values["referral-enabled"] = _box(referral["enabled"] is True)
    for name in REFERRAL_NUMBERS:
        values[f"referral-{name}"] = f"{int(referral[name]):,}"
    values["referral-min_purchase"] = money_text(int(referral["min_purchase"]), unit)
    badges = DEFAULT_BADGES | _dict(data.get("badges"))
    values["badges-week"] = str(badges["week"])
    values["badges-streak_weeks"] = ", ".join(str(w) for w in badges["streak_weeks"])
    for name in BADGE_NUMBERS:
        values[f"badges-{name}"] = f"{int(badges[name]):,}"
    for i, milestone in enumerate(badges["milestones"]):
        values[f"milestone-{i}-visits"] = f"{int(milestone['visits']):,}"
        values[f"milestone-{i}-bonus"] = f"{int(milestone.get('bonus', 0)):,}"
    phone = DEFAULT_PHONE_PAGE | _dict(data.get("phone_page"))
    values["phone_page-enabled"] = _box(phone["enabled"] is True)
    values["phone_page-url"] = str(phone.get("url", ""))
    offers = data.get("offers")
    return values | offer_values(offers if isinstance(offers, list) else [], unit, calendar)


def read_sections(
    values: Mapping[str, str],
    unit: str,
    tier_ids: set[str],
    kept: Mapping[str, Any],
    errors: dict[str, Text],
) -> dict[str, Any]:
    """The sections typed, for the program's data: those the program in force has, and
    those set to something other than their default."""
    typed: dict[str, Any] = {
        "show_member_count": bool(values.get("show_member_count")),
        "feedback": {
            "enabled": bool(values.get("feedback-enabled")),
            "every_days": _bounded(values, "feedback-every_days", 1, 3650, errors, needed=True),
        },
        "referral": _referral(values, unit, errors),
        "badges": _badges(values, errors),
        "phone_page": _phone_page(values, errors),
        "offers": read_offers(values, unit, tier_ids, errors),
    }
    defaults = {
        "show_member_count": False,
        "feedback": DEFAULT_FEEDBACK,
        "referral": DEFAULT_REFERRAL,
        "badges": DEFAULT_BADGES,
        "phone_page": DEFAULT_PHONE_PAGE,
        "offers": [],
    }
    found = {k: v for k, v in typed.items() if k in kept or v != defaults[k]}
    for name, check in _CHECKS.items():
        if name in found and not any(k.startswith(f"{name}-") for k in errors):
            _said_at(name, check(found[name]), errors)
    if "offers" in found and not any(k.startswith("offer-") for k in errors):
        _said_at("offers", offers_problem(found["offers"], tier_ids), errors)
    return found


def _said_at(section: str, problem: str | None, errors: dict[str, Text]) -> None:
    """The hub's own refusal of a section the fields let through, said at the section."""
    if problem is not None:
        errors[section] = Text(f"پذیرفته نیست: {problem}", f"Not accepted: {problem}")


def _referral(values: Mapping[str, str], unit: str, errors: dict[str, Text]) -> dict[str, Any]:
    rule: dict[str, Any] = {"enabled": bool(values.get("referral-enabled"))}
    for name in REFERRAL_NUMBERS:
        rule[name] = _bounded(values, f"referral-{name}", 0, LARGEST, errors)
    key = "referral-min_purchase"
    rule["min_purchase"] = money(values, key, unit, 0, errors) if _typed(values, key) else 0
    return rule


def _badges(values: Mapping[str, str], errors: dict[str, Text]) -> dict[str, Any]:
    week = values.get("badges-week", "jalali")
    if week not in WEEKS:
        errors["badges-week"] = Text("آغاز هفته را انتخاب کنید.", "Choose where a week starts.")
    found: dict[str, Any] = {"week": week, "streak_weeks": _streaks(values, errors)}
    for name in BADGE_NUMBERS:
        found[name] = _bounded(values, f"badges-{name}", 0, LARGEST, errors)
    milestones: list[dict[str, int]] = []
    seen: set[int] = set()
    for i in rows(values, "milestone", ("visits", "bonus"), MAX_MILESTONES):
        visits = whole(values, f"milestone-{i}-visits", 1, errors)
        bonus = _bounded(values, f"milestone-{i}-bonus", 0, LARGEST, errors)
        if visits is not None and visits in seen:
            errors[f"milestone-{i}-visits"] = Text(
                "این شمار دیدار دو بار آمده است.", "This number of visits is listed twice."
            )
        if visits is not None:
            seen.add(visits)
            milestones.append({"visits": visits, "bonus": bonus})
    found["milestones"] = milestones
    return {k: found[k] for k in DEFAULT_BADGES}


def _streaks(values: Mapping[str, str], errors: dict[str, Text]) -> list[int]:
    """Streaks typed as numbers of weeks, "4, 8" (Persian digits and commas welcome)."""
    text = values.get("badges-streak_weeks", "")
    for mark in ("،", "٬", ";"):
        text = text.replace(mark, ",")
    parts = [ascii_digits(p) for p in text.split(",") if p.strip()]
    weeks = [int(p) for p in parts if p.isascii() and p.isdigit() and len(p) <= 3]
    if len(weeks) != len(parts) or not all(1 <= w <= 520 for w in weeks):
        errors["badges-streak_weeks"] = Text(
            "شمار هفته‌ها را با ویرگول جدا کنید، هر یک از ۱ تا ۵۲۰، مانند ۴، ۸.",
            "Numbers of weeks, comma-separated, each from 1 to 520, like 4, 8.",
        )
        return []
    if len(set(weeks)) != len(weeks):
        errors["badges-streak_weeks"] = Text(
            "یک زنجیره دو بار آمده است.", "A streak is listed twice."
        )
    return weeks


def _phone_page(values: Mapping[str, str], errors: dict[str, Text]) -> dict[str, Any]:
    found: dict[str, Any] = {"enabled": bool(values.get("phone_page-enabled"))}
    url = values.get("phone_page-url", "").strip()
    if url:
        if phone_page_problem({"url": url}) is not None:
            errors["phone_page-url"] = Text(
                "نشانی عمومی سرور با https:// (بی نام کاربر، پرسش یا #)، "
                "مانند https://club.example.ir",
                "The hub's public https:// address (no user, query or #), "
                "like https://club.example.ir",
            )
        found["url"] = url
    return found


def _bounded(
    values: Mapping[str, str],
    key: str,
    least: int,
    most: int,
    errors: dict[str, Text],
    *,
    needed: bool = False,
) -> int:
    """A whole number from `least` to `most` (empty: `least`, unless it is `needed`)."""
    if not needed and not _typed(values, key):
        return least
    number = whole(values, key, least, errors)
    if number is not None and number > most:
        errors[key] = Text(
            f"از {grouped(most, 'fa')} بیشتر نمی‌شود.", f"It must be at most {grouped(most, 'en')}."
        )
    return least if number is None else number


def _typed(values: Mapping[str, str], key: str) -> bool:
    return bool(ascii_digits(values.get(key, "")))


def _box(on: bool) -> str:
    return "on" if on else ""


def _dict(given: object) -> dict[str, Any]:
    return dict(given) if isinstance(given, dict) else {}


__all__ = ["MAX_OFFERS", "SECTION_KEYS", "read_sections", "section_values"]
