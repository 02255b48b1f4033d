"""One table of visit days against both counts of a streak: the kiosk's (kiosk/core/badges.py)
and the hub's port of it (hub/program/badges.py), which checks what kiosks push. The hub
may not import the kiosk (tests/test_architecture.py), so the two are kept the same here.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.program import badges as hub_badges
from kiosk.core import badges as kiosk_badges

FRIDAY = date(2026, 3, 20)  # 29 Esfand 1404: the last day of a Jalali week and year
SUNDAY = date(2026, 12, 27)  # the last day of an ISO week, before 1 January


def days(*offsets: int, start: date = FRIDAY) -> list[date]:
    return [start + timedelta(days=o) for o in offsets]


# (earlier visit days, today, week, the streak in weeks)
TABLE = {
    "alone": ([], FRIDAY, "jalali", 1),
    "friday-then-saturday-jalali": (days(0), FRIDAY + timedelta(1), "jalali", 2),
    "friday-then-saturday-iso": (days(0), FRIDAY + timedelta(1), "iso", 1),
    "saturday-to-friday-one-week": (days(1), FRIDAY + timedelta(7), "jalali", 1),
    "four-jalali-weeks-over-nowruz": (days(0, 1, 8), FRIDAY + timedelta(15), "jalali", 4),
    "a-gap-week": (days(0, 14), FRIDAY + timedelta(21), "jalali", 2),
    "sunday-then-monday-iso": (days(0, start=SUNDAY), SUNDAY + timedelta(1), "iso", 2),
    "sunday-then-monday-jalali": (days(0, start=SUNDAY), SUNDAY + timedelta(1), "jalali", 1),
    "over-1-january": (days(-7, 0, start=SUNDAY), SUNDAY + timedelta(7), "iso", 3),
    "later-visits-ignored": (days(0, 7, 14), FRIDAY, "jalali", 1),
    "ten-weeks": (days(*range(0, 63, 7)), FRIDAY + timedelta(63), "jalali", 10),
}


@pytest.mark.parametrize(("earlier", "today", "week", "weeks"), TABLE.values(), ids=TABLE)
def test_the_kiosk_and_the_hub_count_a_streak_alike(
    earlier: list[date], today: date, week: str, weeks: int
):
    assert kiosk_badges.streak_weeks(earlier, today, week) == weeks
    assert hub_badges.streak_weeks(earlier, today, week) == weeks


@pytest.mark.parametrize("week", ["jalali", "iso"])
def test_the_kiosk_and_the_hub_number_every_week_alike(week: str):
    for offset in range(-400, 400):
        day = FRIDAY + timedelta(days=offset)
        assert kiosk_badges.week_of(day, week) == hub_badges.week_of(day, week), day
