"""The publish preview names each change of issue 20's rules (hub/program/diff.py), in
Persian and English: an offer added, removed or changed by its name, a setting's number
before and after, on and off in words. A setting written out at its default (the form
writes what it shows) is no change."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from hub.program.diff import Difference, diff
from tests.hub.test_program_form_sections import in_force

ADDED = {"fa": "افزوده شد", "en": "added"}
REMOVED = {"fa": "حذف شد", "en": "removed"}


def said(d: Difference, language: str) -> str:
    """A change as the page's line says it (panel/program/_change.html)."""
    head = d.section_name.pick(language)
    if d.item:
        head += f" · {(d.item_name.pick(language) if d.item_name else d.item)}"
    if d.kind != "changed":
        return f"{head}: {(ADDED if d.kind == 'added' else REMOVED)[language]}"

    def value(v: Any) -> str:
        return v.pick(language) if hasattr(v, "pick") else str(v)

    arrow = "←" if language == "fa" else "→"
    return f"{head}: {d.field_name.pick(language)} {value(d.before)} {arrow} {value(d.after)}"


def offer(**more: Any) -> dict[str, Any]:
    return (
        {"id": "double", "name_fa": "امتیاز دوبرابر", "name_en": "Double points"}
        | {
            "multiplier": "2",
            "bonus": 0,
            "starts": "",
            "ends": "",
            "weekdays": [],
            "from_time": "00:00",
            "until_time": "24:00",
            "branches": [],
            "tiers": [],
            "min_amount": 0,
        }
        | more
    )


def edit(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(in_force())
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "english", "persian"),
    [
        (
            lambda d: d["offers"].append(offer()),
            "Limited-time offers · Double points: added",
            "پیشنهادهای زمان‌دار · امتیاز دوبرابر: افزوده شد",
        ),
        (
            lambda d: d["offers"].clear(),
            "Limited-time offers · Double points at noon: removed",
            "پیشنهادهای زمان‌دار · امتیاز دوبرابر ظهر: حذف شد",
        ),
        (
            lambda d: d["offers"][0].update(until_time="15:00"),
            "Limited-time offers · Double points at noon: Until time 14:00 → 15:00",
            "پیشنهادهای زمان‌دار · امتیاز دوبرابر ظهر: تا ساعت 14:00 ← 15:00",
        ),
        (
            lambda d: d["offers"][0].update(weekdays=["sat", "sun", "fri"]),
            "Limited-time offers · Double points at noon: Weekdays Sat, Sun → Sat, Sun, Fri",
            "پیشنهادهای زمان‌دار · امتیاز دوبرابر ظهر: روزها شنبه، یکشنبه ← شنبه، یکشنبه، جمعه",
        ),
        (
            lambda d: d["offers"][0].update(weekdays=[]),
            "Limited-time offers · Double points at noon: Weekdays Sat, Sun → every day",
            "پیشنهادهای زمان‌دار · امتیاز دوبرابر ظهر: روزها شنبه، یکشنبه ← هر روز",
        ),
        (
            lambda d: d["badges"].update(streak_bonus=50),
            "Streaks and badges: Streak bonus 30 → 50",
            "پیوستگی و نشان‌ها: هدیهٔ زنجیره 30 ← 50",
        ),
        (
            lambda d: d["badges"].update(week="jalali"),
            "Streaks and badges: A week starts Monday → Saturday",
            "پیوستگی و نشان‌ها: آغاز هفته دوشنبه ← شنبه",
        ),
        (
            lambda d: d["badges"]["milestones"].append({"visits": 50, "bonus": 200}),
            "Streaks and badges: Visits: bonus 10: 50 → 10: 50, 50: 200",
            "پیوستگی و نشان‌ها: دیدارها: هدیه 10: 50 ← 10: 50, 50: 200",
        ),
        (
            lambda d: d["referral"].update(referrer_bonus=300),
            "Referrals: Referrer's bonus 200 → 300",
            "معرفی دوستان: هدیهٔ معرف 200 ← 300",
        ),
        (
            lambda d: d["referral"].update(enabled=False),
            "Referrals: Referral bonuses on → off",
            "معرفی دوستان: هدیهٔ معرفی روشن ← خاموش",
        ),
        (
            lambda d: d["feedback"].update(every_days=7),
            "Feedback after a purchase: Every (days) 30 → 7",
            "نظرسنجی پس از خرید: هر چند روز 30 ← 7",
        ),
        (
            lambda d: d["phone_page"].pop("url"),
            "The club on the phone: The hub's public address https://club.example.ir → ",
            "باشگاه روی گوشی: نشانی عمومی سرور https://club.example.ir ← ",
        ),
        (
            lambda d: d.update(show_member_count=False),
            "The club's size: Members shown on the attract screen on → off",
            "اندازهٔ باشگاه: شمار اعضا روی صفحهٔ آغاز روشن ← خاموش",
        ),
        (
            lambda d: d.pop("show_member_count"),  # absent: off, as the kiosks read it
            "The club's size: Members shown on the attract screen on → off",
            "اندازهٔ باشگاه: شمار اعضا روی صفحهٔ آغاز روشن ← خاموش",
        ),
        (
            lambda d: d.pop("feedback"),  # absent: the default, every 7 days
            "Feedback after a purchase: Every (days) 30 → 7",
            "نظرسنجی پس از خرید: هر چند روز 30 ← 7",
        ),
    ],
)
def test_each_change_is_named_in_both_languages(change, english: str, persian: str):
    (only,) = diff(in_force(), edit(change))
    assert said(only, "en") == english
    assert said(only, "fa") == persian


@pytest.mark.parametrize(
    "key",
    ["feedback", "referral", "badges", "phone_page", "show_member_count", "offers"],
)
def test_a_setting_written_out_at_its_default_is_no_change(key: str):
    from hub.program.draft_sections import DEFAULT_BADGES, DEFAULT_PHONE_PAGE
    from hub.program.referral import DEFAULT_REFERRAL
    from hub.program.rules import DEFAULT_FEEDBACK, default_program

    defaults = {
        "feedback": DEFAULT_FEEDBACK,
        "referral": DEFAULT_REFERRAL,
        "badges": DEFAULT_BADGES,
        "phone_page": DEFAULT_PHONE_PAGE,
        "show_member_count": False,
        "offers": [],
    }
    before = default_program()
    assert diff(before, before | {key: copy.deepcopy(defaults[key])}) == []
