"""The program form's sections for issue 20's rules (hub/program/draft_sections.py,
draft_offers.py): each wrong field said beside it in both languages, a right form read
into the program the hub publishes, and the hub's own check of what the form lets by."""

from __future__ import annotations

from typing import Any

import pytest

from hub.program.rules import default_program, program_problem


@pytest.mark.parametrize(
    ("given", "accepted"),
    [(True, True), (False, True), ("yes", False), (1, False), (None, False)],
)
def test_a_program_may_say_whether_kiosks_show_the_club_size(given: Any, accepted: bool):
    data = default_program() | {"show_member_count": given}
    assert (program_problem(data) is None) is accepted


def in_force() -> dict[str, Any]:
    """A program with every section the form edits."""
    data = {k: v for k, v in default_program().items() if k != "version"}
    return data | {
        "show_member_count": True,
        "feedback": {"enabled": True, "every_days": 30},
        "referral": {
            "enabled": True,
            "referrer_bonus": 200,
            "referee_bonus": 100,
            "max_per_month": 5,
            "min_purchase": 2_000_000,
        },
        "badges": {
            "week": "iso",
            "streak_weeks": [4, 8],
            "streak_bonus": 30,
            "milestones": [{"visits": 10, "bonus": 50}],
            "first_redemption_bonus": 0,
            "tier_bonus": 80,
        },
        "phone_page": {"enabled": False, "url": "https://club.example.ir"},
        "offers": [
            {
                "id": "noon-double",
                "name_fa": "امتیاز دوبرابر ظهر",
                "name_en": "Double points at noon",
                "multiplier": "2",
                "bonus": 0,
                "starts": "2026-12-01",
                "ends": "2026-12-31",
                "weekdays": ["sat", "sun"],
                "from_time": "12:00",
                "until_time": "14:00",
                "branches": ["Valiasr"],
                "tiers": ["silver", "gold"],
                "min_amount": 0,
            }
        ],
    }


def read(changes: dict[str, str], data: dict[str, Any] | None = None, calendar: str = "jalali"):
    from hub.program.draft import read_draft, values_of

    current = data or in_force()
    return read_draft(values_of(current, "toman", calendar) | changes, "toman", kept=current)


@pytest.mark.parametrize("calendar", ["jalali", "gregorian"])
def test_every_section_goes_through_the_form_unchanged(calendar: str):
    draft = read({}, calendar=calendar)
    assert draft.valid, draft.errors
    assert draft.data is not None
    for key in ("show_member_count", "feedback", "referral", "badges", "phone_page", "offers"):
        assert draft.data[key] == in_force()[key], key


def test_a_section_left_at_its_default_is_not_written_into_the_program():
    current = {k: v for k, v in default_program().items() if k != "version"}
    draft = read({}, current)
    assert draft.data is not None
    for key in ("show_member_count", "feedback", "referral", "badges", "phone_page", "offers"):
        assert key not in draft.data, key


def test_an_offer_typed_in_the_empty_row_is_added_with_its_checkboxes():
    draft = read(
        {
            "offer-1-id": "big-basket",
            "offer-1-name_fa": "سبد بزرگ",
            "offer-1-name_en": "Big basket",
            "offer-1-bonus": "۲۰",
            "offer-1-min_amount": "۵۰۰٬۰۰۰",  # Toman
            "offer-1-from_time": "۹:۳۰",
            "offer-1-weekday-fri": "on",
            "offer-1-branch-0": "Tajrish",
            "offer-1-tier-0": "gold",
        }
    )
    assert draft.valid, draft.errors
    assert draft.data is not None
    added = draft.data["offers"][1]
    assert added == {
        "id": "big-basket",
        "name_fa": "سبد بزرگ",
        "name_en": "Big basket",
        "multiplier": "1",
        "bonus": 20,
        "starts": "",
        "ends": "",
        "weekdays": ["fri"],
        "from_time": "09:30",
        "until_time": "24:00",
        "branches": ["Tajrish"],
        "tiers": ["gold"],
        "min_amount": 5_000_000,
    }
    assert program_problem(draft.data) is None


def test_an_offer_marked_to_remove_is_gone():
    draft = read({"offer-0-remove": "on"})
    assert draft.data is not None and draft.data["offers"] == []


@pytest.mark.parametrize(
    ("typed", "field", "english", "persian"),
    [
        ({"offer-0-from_time": "25:00"}, "offer-0-from_time", "from 00:00 to 24:00", "۲۴:۰۰"),
        ({"offer-0-until_time": "24:01"}, "offer-0-until_time", "from 00:00 to 24:00", "ساعت"),
        ({"offer-0-from_time": "12:60"}, "offer-0-from_time", "from 00:00 to 24:00", "ساعت"),
        ({"offer-0-until_time": "12:00"}, "offer-0-until_time", "after it starts", "پس از"),
        ({"offer-0-until_time": "۱۱:۵۹"}, "offer-0-until_time", "across midnight", "دو پیشنهاد"),
        ({"offer-0-multiplier": "11"}, "offer-0-multiplier", "from 1 to 10", "۱ تا ۱۰"),
        ({"offer-0-multiplier": "0.5"}, "offer-0-multiplier", "from 1 to 10", "ضریب"),
        ({"offer-0-multiplier": "1"}, "offer-0-multiplier", "gives nothing", "چیزی نمی‌دهد"),
        ({"offer-0-ends": "1405/09/09"}, "offer-0-ends", "before the start", "پیش از آغاز"),
        ({"offer-0-starts": "1405/13/01"}, "offer-0-starts", "Type a date", "تاریخ"),
        ({"offer-0-id": "double points"}, "offer-0-id", "no spaces", "شناسه"),
        ({"offer-0-name_fa": ""}, "offer-0-name_fa", "both languages", "هر دو زبان"),
        ({"offer-0-min_amount": "many"}, "offer-0-min_amount", "as a number", "مبلغ"),
        ({"tier-2-remove": "on"}, "offer-0-tiers", "'gold' is not in", "در برنامه نیست"),
        ({"feedback-every_days": "0"}, "feedback-every_days", "at least 1", "کمتر از ۱"),
        ({"feedback-every_days": "3651"}, "feedback-every_days", "at most 3,650", "۳٬۶۵۰"),
        ({"feedback-every_days": ""}, "feedback-every_days", "Fill this in", "پر کنید"),
        ({"referral-referrer_bonus": "-5"}, "referral-referrer_bonus", "whole number", "عدد"),
        ({"referral-min_purchase": "x"}, "referral-min_purchase", "as a number", "مبلغ"),
        ({"badges-streak_weeks": "4, 4"}, "badges-streak_weeks", "listed twice", "دو بار"),
        ({"badges-streak_weeks": "0"}, "badges-streak_weeks", "from 1 to 520", "۵۲۰"),
        ({"badges-streak_weeks": "521"}, "badges-streak_weeks", "from 1 to 520", "۵۲۰"),
        ({"badges-week": "monday"}, "badges-week", "where a week starts", "آغاز هفته"),
        ({"milestone-0-visits": "0"}, "milestone-0-visits", "at least 1", "کمتر از ۱"),
        ({"milestone-1-visits": "10"}, "milestone-1-visits", "listed twice", "دو بار"),
        ({"phone_page-url": "http://club.example.ir"}, "phone_page-url", "https://", "https://"),
        ({"phone_page-url": "https://a@club.example.ir"}, "phone_page-url", "no user", "کاربر"),
    ],
)
def test_a_wrong_field_is_said_beside_it_in_both_languages(
    typed: dict[str, str], field: str, english: str, persian: str
):
    draft = read(typed)
    assert not draft.valid
    assert english in draft.errors[field].en
    assert persian in draft.errors[field].fa


@pytest.mark.parametrize(
    "typed",
    [
        {"offer-0-from_time": "00:00", "offer-0-until_time": "24:00"},  # the whole day
        {"offer-0-from_time": "۰۰:۰۰", "offer-0-until_time": "۰۰:۰۱"},  # a minute after midnight
        {"offer-0-until_time": "23:59"},
        {"offer-0-multiplier": "۱٫۵"},
        {"offer-0-multiplier": "10"},
        {"offer-0-multiplier": "1", "offer-0-bonus": "1"},
        {"offer-0-starts": "1405/01/01", "offer-0-ends": "1405/01/01"},  # Nowruz, one day
        {"offer-0-starts": "1404/12/29", "offer-0-ends": "1405/01/01"},  # across the year
        {"feedback-every_days": "۳۶۵۰"},
        {"badges-streak_weeks": "۴، ۸، ۵۲۰"},
        {"badges-streak_weeks": ""},
        {"referral-max_per_month": "0"},
    ],
)
def test_edges_the_hub_accepts_pass_the_form(typed: dict[str, str]):
    draft = read(typed)
    assert draft.valid, draft.errors
    assert program_problem(draft.data) is None
