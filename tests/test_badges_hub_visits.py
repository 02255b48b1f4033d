"""Badges counted on this kiosk's ledger together with the hub's summary of the member's
visits at every branch (kiosk/core/badges.py `hub_visits`; docs/program.md, "Streaks and
badges"): the table of what the union gives, the summary as pulled, and a kiosk upgraded
from the schema before it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.badges import HubVisits, hub_visits, keep_hub_visits
from kiosk.core.pulled import Here, apply_found
from kiosk.core.store.staff import CLI, Actor

TEHRAN = ZoneInfo("Asia/Tehran")
SATURDAY = date(2026, 3, 21)  # 1 Farvardin 1405: a new Jalali week and year
BADGES = (
    "program.enrollment_bonus=0",
    "program.birthday_bonus=0",
    "program.limits.min_minutes_between_earns=0",
    "program.badges.milestones=[{visits=3, bonus=50}]",
    "program.badges.streak_weeks=[4]",
    "program.badges.streak_bonus=40",
    "program.badges.first_redemption_bonus=20",
)


@pytest.fixture
def counter(open_service):
    service = open_service(*BADGES)
    staff = service.staff.add(name="C", role="cashier", pin="3691", actor=CLI)
    return service, Actor(staff.staff_id, "cashier")


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TEHRAN).astimezone(UTC)


def summary(*days: date, redeemed: bool = False, badges: tuple[str, ...] = ()) -> dict[str, object]:
    return {"days": [d.isoformat() for d in days], "redeemed": redeemed, "badges": list(badges)}


# (the hub's visit days, before the visit on SATURDAY; its badges; the badges given here)
UNION = {
    "three-weeks-at-another-branch": (
        [SATURDAY - timedelta(d) for d in (1, 8, 15)],
        (),
        ["badge:visits-3", "badge:streak-4w"],
    ),
    "a-friday-then-a-gap": ([SATURDAY - timedelta(d) for d in (1, 15, 22)], (), ["badge:visits-3"]),
    "held-at-the-hub-not-given-again": (
        [SATURDAY - timedelta(d) for d in (1, 8, 15)],
        ("visits-3",),
        ["badge:streak-4w"],
    ),
    # Today's earlier visit at another branch is the same day: one visit.
    "same-day-elsewhere": ([SATURDAY, SATURDAY - timedelta(1)], (), []),
    "nothing-from-the-hub": ([], (), []),
}


@pytest.mark.parametrize(("days", "held", "given"), UNION.values(), ids=UNION)
def test_a_visit_counts_the_hubs_summary_with_this_kiosks_ledger(
    counter, clock, txn, days: list[date], held: tuple[str, ...], given: list[str]
):
    service, cashier = counter
    clock.now = at(SATURDAY, 10)
    member = service.enroll("09121234567", client_txn_id=txn()).member_id
    with service.conn:
        keep_hub_visits(service.conn, member, summary(*days, badges=held))

    result = service.earn(member, 1_000_000, cashier=cashier, client_txn_id=txn())

    assert [b.reason for b in result.bonuses] == given


@pytest.mark.parametrize(("redeemed", "given"), [(False, ["badge:first-redemption"]), (True, [])])
def test_a_redemption_at_another_branch_was_the_first(counter, clock, txn, redeemed, given):
    service, cashier = counter
    clock.now = at(SATURDAY, 10)
    member = service.enroll("09121234567", client_txn_id=txn()).member_id
    service.earn(member, 30_000_000, cashier=cashier, client_txn_id=txn())  # 300 points
    with service.conn:
        keep_hub_visits(service.conn, member, summary(redeemed=redeemed))
    clock.advance(hours=1)

    reward = service.program.rewards[0].id
    service.redeem(member, reward, cashier=cashier, client_txn_id=txn())

    rows = service.conn.execute(
        "SELECT reason FROM entries WHERE member_id = ? AND reason = 'badge:first-redemption'",
        (member,),
    ).fetchall()
    assert [r[0] for r in rows] == given


@pytest.mark.parametrize(
    "given",
    [
        None,
        [],
        {"days": ["2026-13-01"], "redeemed": False, "badges": []},
        {"days": [], "redeemed": "yes", "badges": []},
        {"days": [], "redeemed": False, "badges": ["a,b"]},
        {"days": [], "redeemed": False},
    ],
)
def test_a_summary_not_in_the_protocols_form_leaves_the_one_before(counter, txn, given):
    service, _ = counter
    member = service.enroll("09121234567", client_txn_id=txn()).member_id
    with service.conn:
        keep_hub_visits(service.conn, member, summary(SATURDAY, badges=("visits-3",)))
        keep_hub_visits(service.conn, member, given)

    assert hub_visits(service.conn, member) == HubVisits(
        frozenset({SATURDAY}), False, frozenset({"visits-3"})
    )


def test_a_looked_up_members_visits_are_kept(counter):
    service, _ = counter
    member = {
        "member_id": "m-elsewhere",
        "status": "active",
        "created_at": "2026-03-01T09:00:00.000000Z",
        "updated_at": "2026-03-01T09:00:00.000000Z",
        "phone": "+989121234567",
        "cards": [],
    }
    balance = {"member_id": "m-elsewhere", "balance": 70, "acknowledged": {}}
    balance["visits"] = summary(SATURDAY, redeemed=True)

    assert apply_found(service.conn, Here(service.device_id, "bronze"), member, balance)

    assert hub_visits(service.conn, "m-elsewhere").days == {SATURDAY}


def test_an_upgraded_kiosk_keeps_its_members_and_gains_the_hubs_visits(open_service, txn):
    service = open_service(*BADGES)
    member = service.enroll("09121234567", client_txn_id=txn()).member_id
    service.earn(member, 1_000_000, cashier=CLI, client_txn_id=txn())
    balance = service.member(member).balance
    path = Path(service.conn.execute("PRAGMA database_list").fetchone()[2])
    service.close()
    # The file as the previous release left it: no hub_visits table, m016 not applied.
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("DROP TABLE hub_visits")
    old.execute("DELETE FROM _sqlite_migrations WHERE name = 'm016_hub_visits'")
    old.close()

    upgraded = open_service(*BADGES)

    assert upgraded.member(member).balance == balance > 0
    assert hub_visits(upgraded.conn, member) == HubVisits()
    with upgraded.conn:
        keep_hub_visits(upgraded.conn, member, summary(SATURDAY))
    assert hub_visits(upgraded.conn, member).days == {SATURDAY}


def test_an_erasure_takes_the_hubs_summary_and_a_later_one_is_not_kept(counter, clock, txn):
    """Where an erased member shopped elsewhere goes with them, and a balance pulled after
    the erasure (its summary with it) does not bring it back."""
    service, _cashier = counter
    clock.now = at(SATURDAY, 10)
    member = service.enroll("09121234567", client_txn_id=txn()).member_id
    with service.conn:
        keep_hub_visits(service.conn, member, summary(SATURDAY - timedelta(1)))
    rows = "SELECT COUNT(*) FROM hub_visits WHERE member_id = ?"
    assert service.conn.execute(rows, (member,)).fetchone()[0] == 1

    service.erase(member, actor=CLI)
    assert service.conn.execute(rows, (member,)).fetchone()[0] == 0
    with service.conn:
        keep_hub_visits(service.conn, member, summary(SATURDAY - timedelta(1)))

    assert service.conn.execute(rows, (member,)).fetchone()[0] == 0
