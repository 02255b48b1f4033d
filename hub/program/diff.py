"""What changed between two program versions, field by field, for people to read.

Grouped as the owner thinks of a program: the earning rules, the tiers, the rewards, the
limits, the offline allowance, and issue 20's rules (offers, feedback, referrals, streaks
and badges, the phone page, the club's size). Tiers, rewards and offers are matched by
their id, so a renamed reward reads as a change of its name, not as one removed and
another added. A setting is compared as the kiosks read it (a program that says nothing
has the default), so writing a default out is no change. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.program.draft_sections import DEFAULT_BADGES, DEFAULT_PHONE_PAGE
from hub.program.referral import referral_of
from hub.program.rules import VERIFICATION, feedback_of, verification_of
from hub.program.wording import Text

SECTIONS: dict[str, Text] = {
    "rules": Text("قاعده‌های امتیاز", "Earning rules"),
    "tiers": Text("سطح‌ها", "Tiers"),
    "rewards": Text("جایزه‌ها", "Rewards"),
    "limits": Text("سقف‌ها", "Limits"),
    "offline": Text("اجازهٔ آفلاین", "Offline allowance"),
    "verification": Text("کد تأیید پیامکی", "Codes by SMS"),
    "offers": Text("پیشنهادهای زمان‌دار", "Limited-time offers"),
    "feedback": Text("نظرسنجی پس از خرید", "Feedback after a purchase"),
    "referral": Text("معرفی دوستان", "Referrals"),
    "badges": Text("پیوستگی و نشان‌ها", "Streaks and badges"),
    "phone_page": Text("باشگاه روی گوشی", "The club on the phone"),
    "club_size": Text("اندازهٔ باشگاه", "The club's size"),
}
# Each top-level number (and the mode) with its section and its name.
FIELDS: dict[str, tuple[str, Text]] = {
    "mode": ("rules", Text("نوع باشگاه", "Kind of club")),
    "points": ("rules", Text("امتیاز", "Points")),
    "per_amount": ("rules", Text("به ازای هر (ریال)", "Per amount (Rial)")),
    "enrollment_bonus": ("rules", Text("هدیهٔ عضویت", "Enrollment bonus")),
    "birthday_bonus": ("rules", Text("هدیهٔ تولد", "Birthday bonus")),
    "max_points_per_purchase": ("limits", Text("سقف امتیاز هر خرید", "Most points a purchase")),
    "max_amount": ("limits", Text("بیشترین مبلغ خرید (ریال)", "Largest purchase (Rial)")),
    "max_adjust_points": ("limits", Text("سقف اصلاح امتیاز", "Largest adjustment")),
    "max_opening_balance": ("limits", Text("سقف موجودی اولیه", "Largest opening balance")),
    "offline_redemption_allowance": (
        "offline",
        Text("امتیاز قابل خرج بدون اتصال", "Points spendable offline"),
    ),
    "verification.link_card": (
        "verification",
        Text("کد برای افزودن کارت به شمارهٔ عضو", "A code to link a card to a member's phone"),
    ),
    "verification.enroll": ("verification", Text("کد برای عضویت", "A code to enroll")),
    "feedback.enabled": ("feedback", Text("پرسیدن نظر", "Asking")),
    "feedback.every_days": ("feedback", Text("هر چند روز", "Every (days)")),
    "referral.enabled": ("referral", Text("هدیهٔ معرفی", "Referral bonuses")),
    "referral.referrer_bonus": ("referral", Text("هدیهٔ معرف", "Referrer's bonus")),
    "referral.referee_bonus": ("referral", Text("هدیهٔ عضو تازه", "New member's bonus")),
    "referral.max_per_month": ("referral", Text("سقف ماهانهٔ معرف", "Most a month")),
    "referral.min_purchase": (
        "referral",
        Text("کمترین نخستین خرید (ریال)", "Smallest first purchase (Rial)"),
    ),
    "badges.week": ("badges", Text("آغاز هفته", "A week starts")),
    "badges.streak_weeks": ("badges", Text("زنجیره‌ها (هفته)", "Streaks (weeks)")),
    "badges.streak_bonus": ("badges", Text("هدیهٔ زنجیره", "Streak bonus")),
    "badges.milestones": ("badges", Text("دیدارها: هدیه", "Visits: bonus")),
    "badges.first_redemption_bonus": (
        "badges",
        Text("هدیهٔ نخستین دریافت جایزه", "First redemption bonus"),
    ),
    "badges.tier_bonus": ("badges", Text("هدیهٔ رسیدن به سطح", "Tier reached bonus")),
    "phone_page.enabled": ("phone_page", Text("کد QR روی دستگاه", "The QR at the kiosks")),
    "phone_page.url": ("phone_page", Text("نشانی عمومی سرور", "The hub's public address")),
    "show_member_count": (
        "club_size",
        Text("شمار اعضا روی صفحهٔ آغاز", "Members shown on the attract screen"),
    ),
}
WEEK_NAMES = {"jalali": Text("شنبه", "Saturday"), "iso": Text("دوشنبه", "Monday")}
# Issue 20's settings, compared key by key as the kiosks read them (with their defaults).
SETTINGS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "feedback": feedback_of,
    "referral": referral_of,
    "badges": lambda data: DEFAULT_BADGES | _given(data, "badges"),
    "phone_page": lambda data: DEFAULT_PHONE_PAGE | {"url": ""} | _given(data, "phone_page"),
}
ON_OFF = {True: Text("روشن", "on"), False: Text("خاموش", "off")}
ITEM_FIELDS: dict[str, Text] = {
    "name_fa": Text("نام فارسی", "Persian name"),
    "name_en": Text("نام انگلیسی", "English name"),
    "threshold": Text("آستانه", "Threshold"),
    "multiplier": Text("ضریب", "Multiplier"),
    "cost": Text("بها (امتیاز)", "Cost (points)"),
    "kind": Text("نوع", "Kind"),
    "value": Text("مقدار", "Value"),
    "active_from": Text("از تاریخ", "From"),
    "active_until": Text("تا تاریخ", "Until"),
    "bonus": Text("امتیاز هدیه", "Bonus points"),
    "starts": Text("از تاریخ", "From date"),
    "ends": Text("تا تاریخ", "Until date"),
    "weekdays": Text("روزها", "Weekdays"),
    "from_time": Text("از ساعت", "From time"),
    "until_time": Text("تا ساعت", "Until time"),
    "branches": Text("شعبه‌ها", "Branches"),
    "tiers": Text("سطح‌ها", "Tiers"),
    "min_amount": Text("کمترین سبد (ریال)", "Smallest basket (Rial)"),
}
_ORDER = tuple(SECTIONS)


@dataclass(frozen=True)
class Difference:
    """One change: `item` is a tier's or reward's id ("" for a top-level number)."""

    section: str
    item: str
    field: str  # "" when a whole tier or reward was added or removed
    kind: str  # changed, added, removed
    before: Any
    after: Any
    # The tier's or reward's name, as the owner reads it (its id means nothing to them).
    item_name: Text | None = None

    @property
    def section_name(self) -> Text:
        """The section's name."""
        return SECTIONS[self.section]

    @property
    def field_name(self) -> Text:
        """The field's name (empty for a whole item)."""
        if self.item:
            return ITEM_FIELDS.get(self.field, Text(self.field, self.field))
        return FIELDS[self.field][1] if self.field in FIELDS else Text(self.field, self.field)


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[Difference]:
    """Every difference from `before` to `after` (two programs' data), in section order."""
    found: list[Difference] = []
    skipped = {"version", "tiers", "rewards", "verification", "offers", "show_member_count"}
    skipped |= set(SETTINGS)
    for name in sorted(set(FIELDS) | set(before) | set(after)):
        if name in skipped or name.startswith("verification."):
            continue
        old, new = before.get(name), after.get(name)
        if old != new:
            section = FIELDS[name][0] if name in FIELDS else "rules"
            found.append(Difference(section, "", name, "changed", old, new))
    # A program that says nothing asks as the default does: no change to list.
    was, now = verification_of(before), verification_of(after)
    for name in VERIFICATION:
        if was[name] != now[name]:
            field = f"verification.{name}"
            old_on, new_on = ON_OFF[was[name]], ON_OFF[now[name]]
            found.append(Difference("verification", "", field, "changed", old_on, new_on))
    for section in ("tiers", "rewards", "offers"):
        found += _items(section, before.get(section) or [], after.get(section) or [])
    for section, read in SETTINGS.items():
        was_set, now_set = read(before), read(after)
        for key in was_set:
            if _shown(was_set[key]) != _shown(now_set.get(key)):
                old_v, new_v = _setting(key, was_set[key]), _setting(key, now_set.get(key))
                field = f"{section}.{key}"
                found.append(Difference(section, "", field, "changed", old_v, new_v))
    shown_was, shown_now = before.get("show_member_count"), after.get("show_member_count")
    if (shown_was is True) != (shown_now is True):
        changed = ON_OFF[shown_was is True], ON_OFF[shown_now is True]
        found.append(Difference("club_size", "", "show_member_count", "changed", *changed))
    return sorted(found, key=lambda d: _ORDER.index(d.section))  # stable: keeps item order


def _items(section: str, before: list[Any], after: list[Any]) -> list[Difference]:
    old = {str(i["id"]): i for i in before if isinstance(i, dict)}
    new = {str(i["id"]): i for i in after if isinstance(i, dict)}
    found: list[Difference] = []
    for ident, item in old.items():
        if ident not in new:
            found.append(Difference(section, ident, "", "removed", item, None, _name(item)))
    for ident, item in new.items():
        if ident not in old:
            found.append(Difference(section, ident, "", "added", None, item, _name(item)))
            continue
        for name in sorted(set(old[ident]) | set(item)):
            was, now = _item_value(name, old[ident].get(name)), _item_value(name, item.get(name))
            if name != "id" and was != now:
                found.append(Difference(section, ident, name, "changed", was, now, _name(item)))
    return found


def _name(item: dict[str, Any]) -> Text:
    """A tier's or reward's name in both languages (either falling back to the other)."""
    fa, en = str(item.get("name_fa") or ""), str(item.get("name_en") or "")
    ident = str(item.get("id", ""))
    return Text(fa or en or ident, en or fa or ident)


def _shown(value: Any) -> Any:
    """A value as a person reads it: a missing name or date empty, a list its items."""
    if isinstance(value, list):
        return ", ".join(
            f"{v['visits']}: {v.get('bonus', 0)}" if isinstance(v, dict) else str(v) for v in value
        )
    return "" if value is None else value


DAY_NAMES = {
    "sat": Text("شنبه", "Sat"),
    "sun": Text("یکشنبه", "Sun"),
    "mon": Text("دوشنبه", "Mon"),
    "tue": Text("سه‌شنبه", "Tue"),
    "wed": Text("چهارشنبه", "Wed"),
    "thu": Text("پنجشنبه", "Thu"),
    "fri": Text("جمعه", "Fri"),
}


def _item_value(name: str, value: Any) -> Any:
    """An item's field as a person reads it: an offer's weekdays by their names."""
    if name == "weekdays" and isinstance(value, list):
        days = [DAY_NAMES.get(str(d), Text(str(d), str(d))) for d in value]
        every = Text("هر روز", "every day")
        if not days:
            return every
        return Text("، ".join(d.fa for d in days), ", ".join(d.en for d in days))
    return _shown(value)


def _setting(key: str, value: Any) -> Any:
    """A setting's value in words: on or off, a week's first day, a list."""
    if isinstance(value, bool):
        return ON_OFF[value]
    if key == "week" and value in WEEK_NAMES:
        return WEEK_NAMES[value]
    return _shown(value)


def _given(data: dict[str, Any], key: str) -> dict[str, Any]:
    given = data.get(key)
    return dict(given) if isinstance(given, dict) else {}
