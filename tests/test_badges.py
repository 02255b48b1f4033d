"""Streaks and badges (docs/program.md, "Streaks and badges"): the rules as tables, and on a
real ledger each badge a `bonus` entry with reason `badge:<id>`, given once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import jdatetime
import pytest

from kiosk.config import ConfigError
from kiosk.config.schema import BadgesConfig, MilestoneConfig
from kiosk.core.badges import Award, badges_from, new_badges, streak_weeks, week_of
from kiosk.core.program_data import earning_rules
from kiosk.core.store.staff import CLI, Actor
from kiosk.core.store.verify import verify_ledger
from tests.conftest import make_config

TEHRAN = ZoneInfo("Asia/Tehran")


def j(year: int, month: int, day: int) -> date:
    """A Jalali day as the Gregorian date the code sees."""
    found: date = jdatetime.date(year, month, day).togregorian()
    return found


def days_before(today: date, *offsets: int) -> list[date]:
    return [today - timedelta(days=n) for n in offsets]


RULES = BadgesConfig(
    streak_weeks=(4, 8),
    streak_bonus=40,
    milestones=(MilestoneConfig(10, 50), MilestoneConfig(50, 200)),
    first_redemption_bonus=20,
    tier_bonus=100,
)
TODAY = date(2026, 5, 6)  # a Wednesday


@pytest.mark.parametrize(
    ("day", "week", "same_week_as"),
    [
        # Friday and the Saturday after: two Jalali weeks, one ISO week.
        (date(2026, 5, 8), "jalali", date(2026, 5, 2)),  # Fri with the Saturday before
        (date(2026, 5, 9), "jalali", date(2026, 5, 15)),  # Sat with the Friday after
        (date(2026, 5, 9), "iso", date(2026, 5, 8)),  # Sat with the Friday before
        (date(2026, 5, 10), "iso", date(2026, 5, 4)),  # Sun with the Monday before
        (date(2026, 5, 11), "jalali", date(2026, 5, 10)),  # Mon with Sun: Jalali one week
    ],
)
def test_a_week_runs_saturday_to_friday_or_monday_to_sunday(day, week, same_week_as):
    assert week_of(day, week) == week_of(same_week_as, week)
    assert week_of(day, week) != week_of(same_week_as + timedelta(days=7), week)


@pytest.mark.parametrize(
    ("earlier", "today", "week", "length"),
    [
        ([], TODAY, "jalali", 1),
        (days_before(TODAY, 7, 14, 21), TODAY, "jalali", 4),
        (days_before(TODAY, 7, 21), TODAY, "jalali", 2),  # a week missed
        # Friday 8 May, then Saturday 9 May: consecutive Jalali weeks, one ISO week.
        ([date(2026, 5, 8)], date(2026, 5, 9), "jalali", 2),
        ([date(2026, 5, 8)], date(2026, 5, 9), "iso", 1),
        # Sunday 10 May, then Monday 11 May: one Jalali week, consecutive ISO weeks.
        ([date(2026, 5, 10)], date(2026, 5, 11), "jalali", 1),
        ([date(2026, 5, 10)], date(2026, 5, 11), "iso", 2),
        # Across Nowruz: 1 Farvardin 1405 is a Saturday, 29 Esfand 1404 the Friday before.
        ([j(1404, 12, 15), j(1404, 12, 22), j(1404, 12, 29)], j(1405, 1, 1), "jalali", 4),
        ([j(1404, 12, 8), j(1404, 12, 15), j(1404, 12, 29)], j(1405, 1, 1), "jalali", 2),
        # Across 1 January in ISO weeks (1 January 2027 is a Friday).
        ([date(2026, 12, 14), date(2026, 12, 21), date(2026, 12, 28)], date(2027, 1, 4), "iso", 4),
        # A later visit than today (a clock set back) does not lengthen the streak.
        ([TODAY + timedelta(days=7)], TODAY, "jalali", 1),
    ],
)
def test_a_streak_counts_consecutive_weeks_ending_with_this_visits(earlier, today, week, length):
    assert streak_weeks(earlier, today, week) == length


@pytest.mark.parametrize(
    ("earlier", "had", "kwargs", "awards"),
    [
        (days_before(TODAY, *range(1, 9)), set(), {}, []),  # the 9th visit
        (days_before(TODAY, *range(1, 10)), set(), {}, [Award("visits-10", 50)]),
        # Two purchases on one day are one visit: the 10th purchase on the 9th day is not it.
        ([*days_before(TODAY, *range(1, 9)), TODAY], set(), {}, []),
        (days_before(TODAY, *range(1, 10)), {"visits-10"}, {}, []),  # never twice
        # Past a milestone the program added later: given at the next visit.
        (days_before(TODAY, *range(1, 30)), {"streak-4w"}, {}, [Award("visits-10", 50)]),
        (
            days_before(TODAY, 7, 14, 21, 28, 35, 42, 49),
            set(),
            {},
            [Award("streak-4w", 40), Award("streak-8w", 40)],
        ),
        (
            days_before(TODAY, 7, 14, 21, 28, 35, 42, 49),
            {"streak-4w"},
            {},
            [Award("streak-8w", 40)],
        ),
        ([], set(), {"redemption": True}, [Award("first-redemption", 20)]),
        ([], set(), {"redemption": True, "redeemed_before": True}, []),
        ([], set(), {"tier_reached": "silver"}, [Award("tier-silver", 100)]),
        ([], {"tier-silver"}, {"tier_reached": "silver"}, []),
        ([], set(), {"tier_reached": "gold"}, [Award("tier-gold", 100)]),
    ],
)
def test_the_badges_a_visit_reaches(earlier, had, kwargs, awards):
    assert new_badges(RULES, earlier, TODAY, had, **kwargs) == awards


def test_a_badge_without_a_bonus_is_not_given():
    rules = BadgesConfig(milestones=(MilestoneConfig(1, 0),), tier_bonus=0)
    assert new_badges(rules, [], TODAY, set(), tier_reached="silver") == []


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ('program.badges.week="monday"', "program.badges.week"),
        ("program.badges.streak_weeks=[0]", "program.badges.streak_weeks"),
        ("program.badges.streak_weeks=[4, 4]", "program.badges.streak_weeks"),
        ("program.badges.milestones=[{visits=0, bonus=5}]", "program.badges.milestones"),
        ("program.badges.milestones=[{visits=10, bonus=-5}]", "program.badges.milestones"),
        ("program.badges.tier_bonus=-1", "program.badges.tier_bonus"),
    ],
)
def test_a_wrong_badges_setting_is_a_config_problem(override, key):
    with pytest.raises(ConfigError) as raised:
        make_config(override)
    assert key in {p.key for p in raised.value.problems}


def test_a_pulled_programs_badges_replace_the_configs_and_none_turns_them_off():
    data = {"badges": {"week": "iso", "milestones": [{"visits": 10, "bonus": 50}]}}
    assert earning_rules(data)["badges"] == BadgesConfig(
        week="iso", milestones=(MilestoneConfig(10, 50),)
    )
    assert earning_rules({})["badges"] == BadgesConfig()  # the hub would refuse the config's


@pytest.mark.parametrize(
    "given",
    [
        [],
        {"week": "monday"},
        {"milestones": [{"visits": "10"}]},
        {"milestones": [{"bonus": 5}]},
        {"streak_weeks": 4},
        {"tier_bonus": -5},
        {"tier_bonus": True},
        {"colour": "gold"},
    ],
)
def test_a_pulled_programs_wrong_badges_are_refused(given):
    with pytest.raises((KeyError, TypeError, ValueError)):
        badges_from(given)


# -- on a real ledger -----------------------------------------------------------------

BADGES = (
    "program.enrollment_bonus=0",
    "program.birthday_bonus=0",
    "program.badges.milestones=[{visits=3, bonus=50}, {visits=10, bonus=70}]",
    "program.badges.streak_weeks=[2]",
    "program.badges.streak_bonus=40",
    "program.badges.tier_bonus=100",
)


@pytest.fixture
def counter(open_service):
    service = open_service(*BADGES)
    staff = service.staff.add(name="C", role="cashier", pin="3691", actor=CLI)
    return service, Actor(staff.staff_id, "cashier")


def badge_entries(service, member_id):
    rows = service.conn.execute(
        "SELECT reason, points FROM entries WHERE member_id = ? AND kind = 'bonus' ORDER BY seq",
        (member_id,),
    ).fetchall()
    return [tuple(r) for r in rows]


def tehran(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TEHRAN).astimezone(UTC)


def test_the_third_visit_gives_its_badge_once_in_the_visits_transaction(counter, clock, txn):
    service, cashier = counter
    clock.now = tehran(date(2026, 5, 4), 10)  # a Monday
    member = service.enroll("09121234567", client_txn_id=txn()).member_id
    results = []
    for _ in range(4):
        results.append(service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn()))
        clock.advance(days=1)

    assert [[(b.reason, b.points) for b in r.bonuses] for r in results] == [
        [],
        [],
        [("badge:visits-3", 50)],
        [],
    ]
    assert results[2].balance == 30 + 50  # the bonus is in the balance the shopper sees
    assert badge_entries(service, member) == [("badge:visits-3", 50)]
    assert verify_ledger(service.conn).ok


def test_a_second_purchase_on_the_same_day_is_not_another_visit(counter, clock, txn):
    service, cashier = counter
    clock.now = tehran(date(2026, 5, 4), 9)
    member = service.enroll("09121234567", client_txn_id=txn()).member_id
    for _ in range(3):  # three purchases, one day
        service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())
        clock.advance(minutes=30)
    assert badge_entries(service, member) == []


def test_the_void_of_the_visit_that_reached_a_badge_leaves_the_badge(counter, manager, clock, txn):
    service, cashier = counter
    clock.now = tehran(date(2026, 5, 4), 10)
    member = service.enroll("09121234567", client_txn_id=txn()).member_id
    entries = []
    for _ in range(3):
        entries.append(service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn()))
        clock.advance(days=1)
    service.void(entries[2].entry_id, reason="wrong card", cashier=manager, client_txn_id=txn())
    again = service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())  # 3rd again

    assert again.bonuses == []
    assert badge_entries(service, member) == [("badge:visits-3", 50)]
    assert service.ledger.balance(member) == 30 + 50


def test_a_streak_across_friday_midnight_in_tehran(counter, clock, txn):
    service, cashier = counter
    friday = date(2026, 5, 8)
    clock.now = tehran(friday, 23, 58)  # Friday 23:58 in Tehran (20:28 UTC); 2 minutes apart
    member = service.enroll("09121234567", client_txn_id=txn()).member_id
    first = service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())
    clock.now = tehran(friday + timedelta(days=1), 0, 0)  # Saturday 00:00: the next week
    second = service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())

    assert first.bonuses == []
    assert [(b.reason, b.points) for b in second.bonuses] == [("badge:streak-2w", 40)]


def test_a_streak_within_one_jalali_week_is_not_one(counter, clock, txn):
    service, cashier = counter
    clock.now = tehran(date(2026, 5, 2), 10)  # a Saturday
    member = service.enroll("09121234567", client_txn_id=txn()).member_id
    service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())
    clock.now = tehran(date(2026, 5, 8), 23, 59)  # the Friday of the same week, 23:59
    late = service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())
    assert late.bonuses == []


def test_reaching_a_tier_gives_its_badge_once(counter, clock, txn):
    service, cashier = counter
    clock.now = tehran(date(2026, 5, 4), 10)
    member = service.enroll("09121234567", client_txn_id=txn()).member_id
    reasons = []
    for _ in range(3):  # 400 points each: silver (1,000) at the third
        result = service.earn(member, 40_000_000, cashier=cashier, client_txn_id=txn())
        reasons.append([b.reason for b in result.bonuses])
        clock.advance(days=1)
    assert reasons[2] == ["badge:visits-3", "badge:tier-silver"]
    assert result.tier == "silver"
    assert [r for r, _ in badge_entries(service, member)].count("badge:tier-silver") == 1


def test_the_first_redemption_is_a_badge_once_and_a_redemption_is_a_visit(open_service, clock, txn):
    service = open_service(*BADGES, "program.badges.first_redemption_bonus=20")
    staff = service.staff.add(name="C", role="cashier", pin="3691", actor=CLI)
    cashier = Actor(staff.staff_id, "cashier")
    clock.now = tehran(date(2026, 5, 4), 10)
    member = service.enroll("09121234567", client_txn_id=txn()).member_id
    service.adjust(member, 1_000, reason="opening", actor=CLI, client_txn_id=txn())
    service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())  # visit 1
    clock.advance(days=1)
    service.redeem(member, "coffee", cashier=cashier, client_txn_id=txn())  # visit 2
    clock.advance(days=1)
    service.redeem(member, "coffee", cashier=cashier, client_txn_id=txn())  # visit 3

    assert badge_entries(service, member) == [
        ("badge:first-redemption", 20),  # the second redemption gives none
        ("badge:visits-3", 50),  # Monday to Wednesday: one week, no streak
    ]
    assert verify_ledger(service.conn).ok


def test_once_the_milestones_are_had_a_streak_still_comes_from_its_weeks(open_service, clock, txn):
    # The milestone read stops once every milestone is given; a streak reads its own weeks.
    service = open_service(
        "program.badges.milestones=[{visits=1, bonus=5}]",
        "program.badges.streak_weeks=[3]",
        "program.badges.streak_bonus=40",
    )
    clock.now = tehran(date(2026, 5, 4), 10)  # a Monday
    member = service.enroll("09121234567", client_txn_id=txn()).member_id
    reasons = []
    for _ in range(3):  # three Mondays: three Jalali weeks
        reasons.append(
            [
                b.reason
                for b in service.earn(member, 1_000_000, cashier=CLI, client_txn_id=txn()).bonuses
            ]
        )
        clock.advance(weeks=1)
    assert reasons == [["badge:visits-1"], [], ["badge:streak-3w"]]
