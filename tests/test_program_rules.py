"""The program's rules as tables: points for a purchase, tiers, rewards, birthdays."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.core.program import (
    birthday_occurrence,
    points_for_purchase,
    reward_is_active,
    tier_by_id,
    tier_for,
)
from tests.conftest import make_config

PROGRAM = make_config().program
BRONZE, SILVER, GOLD = (tier_by_id(PROGRAM, t) for t in ("bronze", "silver", "gold"))


@pytest.mark.parametrize(
    ("amount", "tier", "points", "codes"),
    [
        (9_999, BRONZE, 0, ["below_minimum"]),
        (10_000, BRONZE, 0, ["base"]),  # reaches the minimum but not one step of 100,000
        (99_999, BRONZE, 0, ["base"]),
        (100_000, BRONZE, 1, ["base"]),
        (2_599_999, BRONZE, 25, ["base"]),  # rounded down, never up
        (2_500_000, SILVER, 31, ["base", "tier_multiplier"]),  # 25 x 1.25 = 31.25 -> 31
        (2_500_000, GOLD, 37, ["base", "tier_multiplier"]),  # 25 x 1.5 = 37.5 -> 37
        (1_000_000_000, BRONZE, 5_000, ["base", "capped"]),  # 10,000 capped to 5,000
        (1_000_000_000, GOLD, 5_000, ["base", "tier_multiplier", "capped"]),
    ],
)
def test_points_for_a_purchase(amount, tier, points, codes):
    rule = points_for_purchase(PROGRAM, amount, tier)

    assert rule.points == points
    assert [line.code for line in rule.lines] == codes
    assert sum(line.points for line in rule.lines) == points


@pytest.mark.parametrize(
    ("amount", "stamps"),
    [(49_999, 0), (50_000, 1), (9_000_000, 1)],
)
def test_stamp_mode_gives_one_stamp_per_visit_above_the_minimum(amount, stamps):
    program = make_config('program.mode="stamps"').program

    assert points_for_purchase(program, amount, GOLD).points == stamps


@pytest.mark.parametrize(
    ("earned", "tier"),
    [(0, "bronze"), (999, "bronze"), (1_000, "silver"), (4_999, "silver"), (5_000, "gold")],
)
def test_tier_is_decided_by_points_earned(earned, tier):
    assert tier_for(PROGRAM, earned).id == tier


@pytest.mark.parametrize(
    ("active_from", "active_until", "today", "active"),
    [
        (None, None, date(2026, 1, 1), True),
        (date(2026, 2, 1), None, date(2026, 1, 31), False),
        (date(2026, 2, 1), None, date(2026, 2, 1), True),
        (None, date(2026, 2, 1), date(2026, 2, 1), True),
        (None, date(2026, 2, 1), date(2026, 2, 2), False),
    ],
)
def test_reward_active_dates(active_from, active_until, today, active):
    from dataclasses import replace

    reward = replace(PROGRAM.rewards[0], active_from=active_from, active_until=active_until)

    assert reward_is_active(reward, today) is active


@pytest.mark.parametrize(
    ("birthday", "today", "calendar", "expected"),
    [
        # Born 1370-05-12 (Jalali) = 1991-08-03. In 2026 that Jalali day is 3 August.
        (date(1991, 8, 3), date(2026, 8, 3), "jalali", date(2026, 8, 3)),
        (date(1991, 8, 3), date(2026, 8, 9), "jalali", date(2026, 8, 3)),
        (date(1991, 8, 3), date(2026, 8, 10), "jalali", None),  # the 7-day window is over
        (date(1991, 8, 3), date(2026, 8, 2), "jalali", None),
        # Born 1 Farvardin 1370 = 21 March 1991; in 2025 1 Farvardin was 21 March, in
        # 2026 it is 21 March too, but in 2024 it was 20 March: the Jalali date decides.
        (date(1991, 3, 21), date(2024, 3, 20), "jalali", date(2024, 3, 20)),
        (date(1991, 3, 21), date(2024, 3, 20), "gregorian", None),
        # 30 Esfand 1399 (a leap year) = 20 March 2021; in common years it falls on 29 Esfand.
        (date(2021, 3, 20), date(2026, 3, 20), "jalali", date(2026, 3, 20)),
        # 29 February in a common year falls on 28 February.
        (date(2000, 2, 29), date(2027, 2, 28), "gregorian", date(2027, 2, 28)),
        # A window across the new year.
        (date(1990, 12, 30), date(2027, 1, 2), "gregorian", date(2026, 12, 30)),
    ],
)
def test_birthday_comes_round_in_its_calendar(birthday, today, calendar, expected):
    assert birthday_occurrence(birthday, today, calendar, 7) == expected
