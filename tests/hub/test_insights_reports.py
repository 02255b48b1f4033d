"""The panel's reports on real PostgreSQL: by day, tiers, rewards, RFM, inactive, birthdays.

Figures worked out by hand from the rows each test arranges (fixtures: test_insights.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.hub.test_insights import TEHRAN_NOW, Chain, Story, at, chain, story

__all__ = ["chain", "story"]  # fixtures, used by name


def test_visits_and_purchases_by_day_and_branch(story: Story):
    from hub.insights.reports import by_day
    from hub.insights.scope import Scope

    rows = by_day(Scope(), date(2026, 5, 12), date(2026, 6, 10))

    assert [
        (
            r.day,
            r.branch,
            r.visits,
            r.purchases,
            r.purchase_total,
            r.points_issued,
            r.points_redeemed,
        )
        for r in rows
    ] == [
        (date(2026, 5, 20), "South", 1, 0, 0, 0, 0),  # carol's purchase, voided
        (date(2026, 6, 1), "North", 0, 0, 0, 100, 0),  # a bonus is not a visit
        (date(2026, 6, 2), "South", 1, 0, 0, 0, 0),  # bob's redemption, voided
        (date(2026, 6, 5), "North", 0, 0, 0, -3, 0),
        (date(2026, 6, 9), "North", 1, 1, 700_000, 7, 0),  # 23:30 in Tehran
        (date(2026, 6, 10), "North", 2, 2, 3_000_000, 30, 5),
        (date(2026, 6, 10), "South", 1, 2, 7_000_000, 70, 0),
    ]
    south = by_day(Scope(frozenset({story.south})), date(2026, 5, 12), date(2026, 6, 10))
    assert {r.branch for r in south} == {"South"}
    assert len(south) == 3


def test_a_purchase_at_2330_utc_is_the_next_day_in_tehran(chain: Chain):
    from hub.insights.reports import by_day
    from hub.insights.scope import Scope

    branch = chain.branch("North")
    device = chain.device(branch)
    chain.member("m", at("2026-01-01 00:00"), (branch,))
    chain.entry(device, "m", "earn", 1, at("2026-06-08 20:00"), amount=100_000)  # 23:30 there
    chain.entry(device, "m", "earn", 2, at("2026-06-08 23:30"), amount=200_000)  # 03:00 on the 9th

    tehran = by_day(Scope(), date(2026, 6, 8), date(2026, 6, 9))
    utc = by_day(Scope(tz=ZoneInfo("UTC")), date(2026, 6, 8), date(2026, 6, 9))

    assert [(r.day, r.purchase_total) for r in tehran] == [
        (date(2026, 6, 8), 100_000),
        (date(2026, 6, 9), 200_000),
    ]
    assert [(r.day, r.purchases, r.visits) for r in utc] == [(date(2026, 6, 8), 2, 1)]


def test_tier_distribution_by_points_earned_in_the_window(chain: Chain):
    from hub.insights.reports import tier_distribution
    from hub.insights.scope import Scope

    north, south = chain.branch("North"), chain.branch("South")
    d_north, d_south = chain.device(north), chain.device(south)
    old = at("2025-01-01 00:00")
    lately = TEHRAN_NOW - timedelta(days=10)
    for member, branches in (
        ("m1", (south,)),
        ("m2", (south,)),
        ("m3", (north,)),
        ("m4", (north,)),
        ("m5", (north,)),
    ):
        chain.member(member, old, branches)
    chain.member("m2-again", old, (north,), merged_into="m2")
    chain.member("m6", old, (north,), erased=True)
    chain.entry(d_south, "m1", "earn", 999, lately, amount=1)
    chain.entry(d_south, "m2", "earn", 600, lately, amount=1)
    chain.entry(d_north, "m2-again", "earn", 400, lately, amount=1)  # m2's: 1,000
    voided = chain.entry(d_north, "m3", "earn", 6000, lately, amount=1)
    chain.entry(d_north, "m3", "reversal", -6000, lately, amount=1, reverses=voided)
    chain.entry(d_north, "m3", "earn", 5000, lately, amount=1)
    chain.entry(d_north, "m4", "earn", 2000, TEHRAN_NOW - timedelta(days=400), amount=1)
    chain.entry(d_north, "m6", "earn", 1500, lately, amount=1)
    chain.entry(d_north, "m5", "bonus", 3000, lately)  # a bonus is not earned by buying

    everyone = tier_distribution(Scope(), now=TEHRAN_NOW)
    south_only = tier_distribution(Scope(frozenset({south})), now=TEHRAN_NOW)

    assert [(t.tier, t.threshold, t.members) for t in everyone] == [
        ("bronze", 0, 3),  # m1 (999), m4 (earned 400 days ago), m5 (a bonus only)
        ("silver", 1000, 2),  # m2 with his merged id, m6 (erased, still a member)
        ("gold", 5000, 1),  # m3, his voided purchase not counted
    ]
    assert [t.members for t in south_only] == [1, 1, 0]


def test_rewards_redeemed_by_reward_without_voided_ones(story: Story, chain: Chain):
    from hub.insights.reports import rewards_redeemed
    from hub.insights.scope import Scope

    chain.entry(story.d_north, "eve", "redeem", -100, at("2026-06-03 09:00"), reward="off")
    chain.entry(story.d_north, "eve", "redeem", -100, at("2026-06-04 09:00"), reward="off")
    chain.entry(story.d_south, "bob-again", "redeem", -100, at("2026-06-04 09:00"), reward="off")

    rows = rewards_redeemed(Scope(), date(2026, 5, 12), date(2026, 6, 10))
    south = rewards_redeemed(Scope(frozenset({story.south})), date(2026, 5, 12), date(2026, 6, 10))

    assert [(r.reward_id, r.name_en, r.redemptions, r.points, r.members) for r in rows] == [
        ("off", "off en", 3, 300, 2),  # eve twice, bob once (by his merged id)
        ("coffee", "coffee en", 1, 5, 1),  # alice; bob's was voided
    ]
    assert [(r.reward_id, r.redemptions) for r in south] == [("off", 1)]


@pytest.mark.parametrize(
    ("scores", "segment"),
    [
        ((5, 5, 5), "champions"),
        ((4, 4, 3), "loyal"),
        ((3, 5, 1), "loyal"),
        ((5, 1, 5), "promising"),
        ((3, 3, 3), "needs_attention"),
        ((2, 5, 5), "at_risk"),
        ((1, 3, 1), "at_risk"),
        ((2, 2, 5), "hibernating"),
        ((1, 2, 2), "lost"),
    ],
)
def test_rfm_segment_of_scores(scores: tuple[int, int, int], segment: str):
    from hub.insights.rfm import segment_of

    assert segment_of(*scores) == segment


def test_members_by_rfm_segment(chain: Chain):
    from hub.insights.rfm import rfm
    from hub.insights.scope import Scope

    branch = chain.branch("North")
    device = chain.device(branch)
    for member in "ABCDEFG":
        chain.member(member, at("2024-01-01 00:00"), (branch,))
    chain.member("A-again", at("2024-01-01 00:00"), (branch,), merged_into="A")

    def bought(member: str, days_ago: list[int], amount: int) -> None:
        for days in days_ago:
            chain.entry(device, member, "earn", 1, TEHRAN_NOW - timedelta(days=days), amount=amount)

    # Ranked 1-5 in each score by hand: recency (last purchase), frequency, money.
    bought("A", [1, 2, 3, 4], 1_000_000)  # R5, F5 (with the merged id's), M5: champions
    bought("A-again", [5], 1_000_000)
    bought("B", [10], 100_000)  # R4, F1, M1: promising
    voided = chain.entry(device, "B", "earn", 1, TEHRAN_NOW - timedelta(days=20), amount=100_000)
    chain.entry(
        device,
        "B",
        "reversal",
        -1,
        TEHRAN_NOW - timedelta(days=20),
        amount=100_000,
        reverses=voided,
    )
    bought("C", [50, 60, 70, 80], 500_000)  # R3, F4, M3 (2,000,000): loyal
    bought("D", [200, 210, 220], 1_000_000)  # R2, F3, M4 (3,000,000): at risk
    bought("E", [300, 310], 500_000)  # R1, F2, M2 (1,000,000): lost
    bought("F", [400], 9_000_000)  # before the window; G never bought

    report = rfm(Scope(), now=TEHRAN_NOW)

    by_name = {s.segment: s for s in report.segments}
    assert [s.segment for s in report.segments] == [
        "champions",
        "loyal",
        "promising",
        "needs_attention",
        "at_risk",
        "hibernating",
        "lost",
    ]
    assert {name: s.members for name, s in by_name.items()} == {
        "champions": 1,
        "loyal": 1,
        "promising": 1,
        "needs_attention": 0,
        "at_risk": 1,
        "hibernating": 0,
        "lost": 1,
    }
    assert (by_name["champions"].purchases, by_name["champions"].purchase_total) == (5, 5_000_000)
    assert by_name["champions"].mean_days_since_last == pytest.approx(1)
    assert by_name["promising"].purchase_total == 100_000
    assert report.without_purchases == 2  # F and G


def test_inactive_members_page_by_page(chain: Chain):
    from hub.insights.people import every_inactive_member, inactive_members
    from hub.insights.scope import Scope

    north, south = chain.branch("North"), chain.branch("South")
    d_north = chain.device(north)
    chain.member("old1", at("2025-01-01 00:00"), (north,), phone="+989121110001", name="Old One")
    chain.member("old2", at("2025-02-01 00:00"), (north,), phone="+989121110002")
    chain.member("old3", at("2025-03-01 00:00"), (north,))
    chain.member("old4", at("2025-04-01 00:00"), (north,))
    chain.member("old4-again", at("2025-04-02 00:00"), (north,), merged_into="old4")
    chain.member("old5", at("2025-05-01 00:00"), (south,), erased=True)
    chain.member("new", at("2026-06-01 00:00"), (north,))
    chain.entry(d_north, "old2", "earn", 1, at("2026-04-01 09:00"), amount=1)
    chain.entry(d_north, "old3", "bonus", 50, at("2026-06-01 09:00"))  # not a visit
    chain.entry(d_north, "old4-again", "earn", 1, at("2026-06-05 09:00"), amount=1)

    first = inactive_members(Scope(), 30, limit=2, now=TEHRAN_NOW)
    second = inactive_members(Scope(), 30, limit=2, after=first.after, now=TEHRAN_NOW)

    assert [(m.member_id, m.last_visit_at) for m in first.members] == [
        ("old1", None),
        ("old2", at("2026-04-01 09:00")),
    ]
    assert first.members[0].phone == "+989121110001"
    assert [m.member_id for m in second.members] == ["old3", "old5"]
    assert second.after is None
    assert (second.members[1].status, second.members[1].phone) == ("erased", None)
    assert [m.member_id for m in every_inactive_member(Scope(), 30, now=TEHRAN_NOW)] == [
        "old1",
        "old2",
        "old3",
        "old5",
    ]
    south_only = inactive_members(Scope(frozenset({south})), 30, now=TEHRAN_NOW)
    assert [m.member_id for m in south_only.members] == ["old5"]


def test_upcoming_birthdays_across_the_persian_new_year(chain: Chain):
    from hub.insights.people import upcoming_birthdays
    from hub.insights.scope import Scope

    branch, other = chain.branch("North"), chain.branch("South")
    # 11:30 on 26 Esfand 1404 in Tehran; 1 Farvardin 1405 is 21 March 2026.
    now = datetime(2026, 3, 17, 8, 0, tzinfo=UTC)
    joined = at("2020-01-01 00:00")
    # 1 Farvardin 1375: comes round on 1 Farvardin 1405, 21 March (not 20 March).
    chain.member("nowruz", joined, (branch,), birthday=date(1996, 3, 20), language="fa")
    # 30 Esfand 1370 (a leap year): 1404 has no 30 Esfand, so 29 Esfand, 20 March.
    chain.member("leap", joined, (branch,), birthday=date(1992, 3, 20), language="fa")
    # 26 Esfand 1368: today.
    chain.member("today", joined, (branch,), birthday=date(1990, 3, 17), language="fa")
    chain.member("english", joined, (other,), birthday=date(1990, 3, 23), language="en")
    # 4 Farvardin 1369 and 24 March: the day after the window, in either calendar.
    chain.member("late-fa", joined, (branch,), birthday=date(1990, 3, 24), language="fa")
    chain.member("late-en", joined, (branch,), birthday=date(1990, 3, 24), language="en")
    chain.member("gone", joined, (branch,), birthday=date(1990, 3, 18), erased=True)
    chain.member("again", joined, (branch,), birthday=date(1990, 3, 18), merged_into="today")

    week = upcoming_birthdays(Scope(), 7, now=now)
    four_days = upcoming_birthdays(Scope(), 4, now=now)
    south = upcoming_birthdays(Scope(frozenset({other})), 7, now=now)

    assert [(b.member_id, b.calendar, b.on, b.in_days) for b in week] == [
        ("today", "jalali", date(2026, 3, 17), 0),
        ("leap", "jalali", date(2026, 3, 20), 3),
        ("nowruz", "jalali", date(2026, 3, 21), 4),
        ("english", "gregorian", date(2026, 3, 23), 6),
    ]
    # 17 to 20 March: a Gregorian reading would have taken "nowruz" (born 20 March).
    assert [b.member_id for b in four_days] == ["today", "leap"]
    assert [b.member_id for b in south] == ["english"]
