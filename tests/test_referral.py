"""Referrals (issue 20, item 2): the code, the rule, and the bonuses at the first purchase."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.config.problems import ConfigError
from kiosk.core import referral
from kiosk.core.pulled import PROGRAM_KEY
from kiosk.core.referral import ReferralRule, code_for, decide, month_of, parse_code, shown
from kiosk.core.store.outbox import SyncState
from kiosk.core.store.staff import CLI, Actor
from kiosk.core.store.verify import verify_ledger
from kiosk.errors import AlreadyEnrolled, InvalidInput, UnknownMember
from tests.conftest import make_config

TEHRAN = ZoneInfo("Asia/Tehran")
RULE = ReferralRule(
    True, referrer_bonus=40, referee_bonus=20, max_per_month=2, min_purchase=500_000
)


def test_a_code_is_short_stable_and_read_back_however_typed():
    code = code_for("m-1")
    assert code == code_for("m-1") != code_for("m-2")
    assert len(code) == 8 and code.isdigit() and code[0] != "0"
    typed = shown(code)
    persian = typed.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert parse_code(typed) == parse_code(persian) == parse_code(code) == code
    assert parse_code("09121234567") is None  # a phone is not a code
    assert parse_code("9121234567") is None
    assert parse_code("0123 4567") is None


@pytest.mark.parametrize(
    ("amount", "same", "paid", "expected"),
    [
        (500_000, False, 0, ("paid", 20, 40)),
        (499_999, False, 0, ("pending", 0, 0)),  # below min_purchase: waits
        (500_000, True, 0, ("refused", 0, 0)),  # self-referral (merged ids)
        (500_000, False, 1, ("paid", 20, 40)),
        (500_000, False, 2, ("capped", 0, 0)),  # the month is full
    ],
)
def test_the_rule_table(amount, same, paid, expected):
    assert decide(RULE, amount=amount, same_person=same, paid_this_month=paid) == expected


@pytest.mark.parametrize(
    ("at", "calendar", "first"),
    [
        # 20 March 2026 23:59 Tehran is 29 Esfand 1404; a minute later 1 Farvardin 1405.
        (datetime(2026, 3, 20, 20, 29, tzinfo=UTC), "jalali", "2026-02-20"),
        (datetime(2026, 3, 20, 20, 30, tzinfo=UTC), "jalali", "2026-03-21"),
        (datetime(2026, 3, 31, 20, 29, tzinfo=UTC), "gregorian", "2026-03-01"),
        (datetime(2026, 3, 31, 20, 30, tzinfo=UTC), "gregorian", "2026-04-01"),
    ],
)
def test_the_month_changes_at_the_shops_midnight(at, calendar, first):
    assert month_of(at, TEHRAN, calendar)[0].isoformat() == first


@pytest.fixture
def counter(open_service, txn):
    service = open_service(
        "program.enrollment_bonus=0", "program.limits.min_minutes_between_earns=0"
    )
    SyncState(service.conn).set(
        **{
            PROGRAM_KEY: {
                "referral": {
                    "enabled": True,
                    "referrer_bonus": 40,
                    "referee_bonus": 20,
                    "max_per_month": 1,
                    "min_purchase": 500_000,
                }
            }
        }
    )
    staff = service.staff.add(name="C", role="cashier", pin="3691", actor=CLI)
    return service, Actor(staff.staff_id, "cashier")


def referral_entries(service):
    rows = service.conn.execute(
        "SELECT member_id, kind, points, reason FROM entries "
        "WHERE reason LIKE 'referral%' ORDER BY seq"
    ).fetchall()
    return [tuple(r) for r in rows]


def test_both_are_paid_at_the_first_qualifying_purchase_only(counter, txn):
    service, cashier = counter
    sender = service.enroll("09121111111", client_txn_id=txn()).member_id
    found = service.find_referrer(shown(code_for(sender)))
    new = service.enroll("09122222222", client_txn_id=txn(), referrer=found.member_id).member_id

    small = service.earn(new, 100_000, cashier=cashier, client_txn_id=txn())
    first = service.earn(new, 600_000, cashier=cashier, client_txn_id=txn())
    second = service.earn(new, 600_000, cashier=cashier, client_txn_id=txn())

    assert small.bonuses == [] and second.bonuses == []
    assert [(b.reason, b.points) for b in first.bonuses] == [("referral", 20)]
    assert referral_entries(service) == [
        (new, "bonus", 20, "referral"),
        (sender, "bonus", 40, f"referral:{new}"),
    ]
    assert service.member(sender).balance == 40
    assert verify_ledger(service.conn).ok


def test_a_void_of_that_purchase_takes_both_back(counter, txn):
    service, cashier = counter
    sender = service.enroll("09121111111", client_txn_id=txn()).member_id
    new = service.enroll("09122222222", client_txn_id=txn(), referrer=sender).member_id
    first = service.earn(new, 600_000, cashier=cashier, client_txn_id=txn())
    manager = service.staff.add(name="M", role="manager", pin="2580", actor=CLI)
    service.void(
        first.entry_id,
        reason="wrong",
        cashier=Actor(manager.staff_id, "manager"),
        client_txn_id=txn(),
    )
    again = service.earn(new, 600_000, cashier=cashier, client_txn_id=txn())

    assert again.bonuses == []  # a voided referral is spent
    assert service.member(sender).balance == 0
    assert [e[1:] for e in referral_entries(service)] == [
        ("bonus", 20, "referral"),
        ("bonus", 40, f"referral:{new}"),
        ("adjust", -20, "referral_void"),
        ("adjust", -40, "referral_void"),
    ]
    assert verify_ledger(service.conn).ok


def test_the_cap_holds_in_a_month_and_opens_in_the_next(counter, clock, txn):
    service, cashier = counter
    clock.now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # 29 Esfand 1404 in Tehran
    sender = service.enroll("09121111111", client_txn_id=txn()).member_id
    one = service.enroll("09122222222", client_txn_id=txn(), referrer=sender).member_id
    two = service.enroll("09123333333", client_txn_id=txn(), referrer=sender).member_id
    three = service.enroll("09124444444", client_txn_id=txn(), referrer=sender).member_id
    service.earn(one, 600_000, cashier=cashier, client_txn_id=txn())
    capped = service.earn(two, 600_000, cashier=cashier, client_txn_id=txn())
    clock.now = datetime(2026, 3, 20, 20, 31, tzinfo=UTC)  # 1 Farvardin 1405, 00:01
    opened = service.earn(three, 600_000, cashier=cashier, client_txn_id=txn())

    assert capped.bonuses == []
    assert [b.points for b in opened.bonuses] == [20]
    assert service.member(sender).balance == 80


def test_self_referral_is_refused(counter, txn):
    service, cashier = counter
    me = service.enroll("09121111111", client_txn_id=txn()).member_id
    # The referrer's own phone is theirs already: refused as an enrollment, never paid.
    with pytest.raises((AlreadyEnrolled, InvalidInput)):
        service.enroll("09121111111", client_txn_id=txn(), referrer=me)
    # A new member typing their own (not yet enrolled) phone names nobody.
    with pytest.raises(UnknownMember):
        service.find_referrer("09126666666")
    with pytest.raises(UnknownMember):
        service.find_referrer("9999 9999")
    # Merged by the hub into the referrer: one person, no bonus.
    new = service.enroll("09125555555", client_txn_id=txn(), referrer=me).member_id
    service.conn.execute(
        "INSERT INTO merged_members (member_id, into_id, merged_at) VALUES (?, ?, ?)",
        (new, me, "2026-01-01T00:00:00Z"),
    )
    assert referral.same_person(service.conn, new, me)
    result = service.earn(new, 600_000, cashier=cashier, client_txn_id=txn())
    assert result.bonuses == []


def test_offline_the_referrers_code_of_a_member_held_here_is_found(counter, txn):
    # No CRM is configured: the code is resolved among this kiosk's members.
    service, _ = counter
    sender = service.enroll("09121111111", client_txn_id=txn()).member_id
    assert service.find_referrer(code_for(sender)).member_id == sender
    assert service.find_referrer("09121111111").member_id == sender


def test_an_upgraded_kiosk_keeps_its_members_and_gains_referrals(counter, open_service, txn):
    service, cashier = counter
    sender = service.enroll("09121111111", client_txn_id=txn()).member_id
    service.earn(sender, 600_000, cashier=cashier, client_txn_id=txn())
    balance = service.member(sender).balance
    path = Path(service.conn.execute("PRAGMA database_list").fetchone()[2])
    service.close()
    # The file as the previous release left it: no referrals table, m014 not applied.
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("DROP TABLE referrals")
    old.execute("DELETE FROM _sqlite_migrations WHERE name = 'm014_referrals'")
    old.close()

    upgraded = open_service(
        "program.enrollment_bonus=0", "program.limits.min_minutes_between_earns=0"
    )

    assert upgraded.member(sender).balance == balance > 0
    new = upgraded.enroll("09122222222", client_txn_id=txn(), referrer=sender).member_id
    upgraded.earn(new, 600_000, cashier=cashier, client_txn_id=txn())
    assert upgraded.member(sender).balance == balance + 40


def test_the_kiosk_config_rule_counts_until_a_program_says(open_service, txn):
    service = open_service(
        "program.enrollment_bonus=0",
        "program.limits.min_minutes_between_earns=0",
        "program.referral.enabled=true",
        "program.referral.referee_bonus=7",
        "program.referral.referrer_bonus=9",
        "program.referral.max_per_month=3",
    )
    cashier = Actor(
        service.staff.add(name="C", role="cashier", pin="3691", actor=CLI).staff_id, "cashier"
    )
    sender = service.enroll("09121111111", client_txn_id=txn()).member_id
    new = service.enroll("09122222222", client_txn_id=txn(), referrer=sender).member_id
    assert [
        b.points for b in service.earn(new, 100, cashier=cashier, client_txn_id=txn()).bonuses
    ] == [7]
    assert service.member(sender).balance == 9


def test_a_negative_referral_bonus_in_the_config_is_refused():
    with pytest.raises(ConfigError, match=r"program\.referral\.referrer_bonus"):
        make_config("program.referral.referrer_bonus=-1")
