"""The hub stores a badge's bonus only when the member's visits at the hub reach the badge
(hub/ledger/badge_check.py; docs/security.md): a forged push (one kiosk's SD card and its
secret) cannot mint points as badges the member never reached, and a badge reached with
visits at two branches is taken.

Visits are pushed with their own times (the chain's zone is Asia/Tehran, UTC+03:30), then
the badge at the last visit's time, as a kiosk writes it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.hub.conftest import Hub, HubServer
from tests.hub.test_badge_entries import BADGES, publish
from tests.hub.test_entry_rules import Counter, balance_of, flags_of
from tests.hub.wire import Server

TEHRAN = ZoneInfo("Asia/Tehran")
FRIDAY = date(2026, 3, 20)  # the last day of the Jalali year 1404 and of its week
BADGE = {"kind": "bonus", "amount": None}
POINTS = {"visits-3": 50, "visits-10": 120, "streak-4w": 30, "tier-silver": 80, "tier-gold": 80}


def stamp(moment: datetime) -> str:
    """A shop-local time as the protocol's UTC timestamp."""
    return moment.replace(tzinfo=TEHRAN).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


def visits(counter: Counter, moments: list[datetime], voided: tuple[int, ...] = ()) -> list[Any]:
    """A purchase at each moment (and the reversal of those `voided`, right after it)."""
    entries = []
    for index, moment in enumerate(moments):
        sale = counter.entry(points=10, created_at=stamp(moment))
        entries.append(sale)
        if index in voided:
            entries.append(
                counter.entry(
                    kind="reversal",
                    points=-10,
                    amount=None,
                    reverses=sale["entry_id"],
                    created_at=stamp(moment + timedelta(minutes=5)),
                )
            )
    return entries


def reasons_flagged(hub: Hub, member_id: str) -> list[str]:
    return [str(detail.get("reason")) for _, detail in flags_of(hub, member_id)]


@pytest.fixture
def counter(hub: Hub, hub_server: HubServer, tmp_path: Path) -> Counter:
    publish(hub, tmp_path, badges=BADGES)
    return Counter(Server("hub", hub_server.url, hub=hub))


@pytest.mark.parametrize(
    "reason", ["badge:visits-3", "badge:streak-4w", "badge:tier-silver", "badge:tier-gold"]
)
def test_a_forged_badge_without_the_visits_is_refused_and_flagged(
    hub: Hub, counter: Counter, reason: str
):
    # One purchase: a visit that day, but no milestone, streak or tier reached by it.
    answer = counter.wire.push(
        [
            *visits(counter, [local(FRIDAY)]),
            counter.entry(
                points=POINTS[reason.removeprefix("badge:")],
                reason=reason,
                created_at=stamp(local(FRIDAY)),
                **BADGE,
            ),
        ]
    )

    assert answer.json()["rejected"][0]["code"] == "outside_program"
    assert balance_of(hub, counter.member_id) == 10
    ((code, detail),) = flags_of(hub, counter.member_id)
    assert code == "outside_program" and detail["reason"] == "badge_not_reached"
    assert detail["badge"] == reason.removeprefix("badge:") and "needs" in detail


def test_a_badge_on_a_day_without_a_visit_is_refused(hub: Hub, counter: Counter):
    pushed = visits(counter, [local(FRIDAY + timedelta(days=d)) for d in range(3)])
    badge = counter.entry(
        points=50,
        reason="badge:visits-3",
        created_at=stamp(local(FRIDAY, 9) + timedelta(9)),
        **BADGE,
    )
    counter.wire.push(pushed)

    assert counter.wire.push([badge]).json()["rejected"][0]["code"] == "outside_program"
    assert reasons_flagged(hub, counter.member_id) == ["badge_not_reached"]


def test_visits_and_their_badge_in_one_batch_are_taken(hub: Hub, counter: Counter):
    days = [local(FRIDAY + timedelta(days=d)) for d in range(3)]
    badge = counter.entry(points=50, reason="badge:visits-3", created_at=stamp(days[-1]), **BADGE)

    answer = counter.wire.push([*visits(counter, days), badge]).json()

    assert answer["rejected"] == [] and answer["stored"] == 4
    assert balance_of(hub, counter.member_id) == 80


def test_visits_at_two_branches_reach_the_badge(hub: Hub, hub_server: HubServer, counter: Counter):
    # Weeks 1-3 at one kiosk, week 4 and its streak badge at another.
    weeks = [local(FRIDAY + timedelta(weeks=w)) for w in range(4)]
    assert counter.wire.push(visits(counter, weeks[:3])).json()["stored"] == 3
    other = Counter(Server("hub", hub_server.url, hub=hub))
    other.member_id = counter.member_id
    badge = other.entry(points=30, reason="badge:streak-4w", created_at=stamp(weeks[3]), **BADGE)

    answer = other.wire.push([*visits(other, weeks[3:]), badge]).json()

    assert answer["rejected"] == []
    assert balance_of(hub, counter.member_id) == 40 + 30


# The rule table: the visits (days after FRIDAY, at noon, or (day, hour, minute) shop-local),
# those voided, the program's week, the badge given at the last visit, and whether the hub
# takes it. Day 1 is 1 Farvardin 1405: a Saturday, a new Jalali week and year.
CASES = {
    # Friday then Saturday: two Jalali weeks, one ISO week.
    "jalali-friday-saturday": ([0, 1, 8, 15], (), "jalali", "streak-4w", True),
    "iso-friday-saturday": ([0, 1, 8, 15], (), "iso", "streak-4w", False),
    "jalali-gap-week": ([0, 8, 15, 22], (), "jalali", "streak-4w", False),
    # Midnight in Tehran: 00:01 on Saturday is a new week, 23:59 on Friday is not (both
    # are Friday in UTC).
    "after-midnight": ([(1, 0, 1), 8, 15, 22], (), "jalali", "streak-4w", True),
    "before-midnight": ([(0, 23, 59), 8, 15, 22], (), "jalali", "streak-4w", False),
    # Three visits on three days, or on one day (one visit), or with one of them voided.
    "three-days": ([0, 1, 2], (), "jalali", "visits-3", True),
    "one-day-thrice": ([(1, 9, 0), (1, 12, 0), (1, 18, 0)], (), "jalali", "visits-3", False),
    "one-voided": ([0, 1, 2], (1,), "jalali", "visits-3", False),
    "voided-in-a-streak": ([0, 1, 8, 15], (2,), "jalali", "streak-4w", False),
}


@pytest.mark.parametrize(("days", "voided", "week", "badge", "taken"), CASES.values(), ids=CASES)
def test_the_hub_counts_visits_and_weeks_as_kiosks_do(
    hub: Hub,
    hub_server: HubServer,
    tmp_path: Path,
    days: list[int | tuple[int, int, int]],
    voided: tuple[int, ...],
    week: str,
    badge: str,
    taken: bool,
):
    publish(hub, tmp_path, badges=BADGES | {"week": week})
    counter = Counter(Server("hub", hub_server.url, hub=hub))
    moments = [
        local(FRIDAY + timedelta(d))
        if isinstance(d, int)
        else local(FRIDAY + timedelta(d[0]), *d[1:])
        for d in days
    ]
    pushed = visits(counter, moments, voided)
    last = moments[-1]
    given = counter.entry(
        points=POINTS[badge], reason=f"badge:{badge}", created_at=stamp(last), **BADGE
    )

    counter.wire.push(pushed)
    answer = counter.wire.push([given]).json()

    assert (answer["stored"] == 1) is taken
    assert reasons_flagged(hub, counter.member_id) == ([] if taken else ["badge_not_reached"])


@pytest.mark.parametrize("redeemed", [True, False])
def test_first_redemption_needs_a_redemption(
    hub: Hub, hub_server: HubServer, tmp_path: Path, redeemed: bool
):
    publish(hub, tmp_path, badges=BADGES | {"first_redemption_bonus": 40})
    counter = Counter(Server("hub", hub_server.url, hub=hub), opening=1_000)
    at = stamp(local(FRIDAY))
    kind = (
        {"kind": "redeem", "points": -200, "amount": None, "reward_id": "coffee"}
        if redeemed
        else {"kind": "earn", "points": 10}
    )
    answer = counter.wire.push(
        [
            counter.entry(created_at=at, **kind),
            counter.entry(points=40, reason="badge:first-redemption", created_at=at, **BADGE),
        ]
    ).json()

    assert (answer["stored"] == 2) is redeemed


@pytest.mark.parametrize(("earned", "taken"), [(1_000, True), (999, False)])
def test_a_tier_badge_needs_the_tiers_threshold_earned(
    hub: Hub, counter: Counter, earned: int, taken: bool
):
    at = stamp(local(FRIDAY))
    answer = counter.wire.push(
        [
            counter.entry(points=earned, amount=10**9, created_at=at),
            counter.entry(points=80, reason="badge:tier-silver", created_at=at, **BADGE),
        ]
    ).json()

    assert (answer["stored"] == 2) is taken


def test_a_second_device_cannot_use_another_members_visits(
    hub: Hub, hub_server: HubServer, counter: Counter
):
    # Ten visits of one member do not reach a badge for another.
    counter.wire.push(visits(counter, [local(FRIDAY + timedelta(days=d)) for d in range(10)]))
    stranger = Counter(Server("hub", hub_server.url, hub=hub))
    answer = stranger.wire.push(
        [
            *visits(stranger, [local(FRIDAY + timedelta(days=9))]),
            stranger.entry(
                points=120,
                reason="badge:visits-10",
                created_at=stamp(local(FRIDAY + timedelta(days=9))),
                **BADGE,
            ),
        ]
    ).json()

    assert answer["stored"] == 1
    assert reasons_flagged(hub, stranger.member_id) == ["badge_not_reached"]
