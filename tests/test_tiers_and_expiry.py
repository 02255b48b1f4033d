"""Tiers by points earned in a rolling window, expiry by lots, and the birthday bonus."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.core.store.verify import verify_ledger
from kiosk.core.summary import member_summary

PHONE = "09121234567"


@pytest.fixture
def member_id(service, txn):
    return service.enroll(PHONE, client_txn_id=txn()).member_id


def earn(service, member_id, amount, cashier, txn, clock, approved_by=None):
    clock.advance(minutes=10)
    return service.earn(
        member_id, amount, cashier=cashier, client_txn_id=txn(), approved_by=approved_by
    )


def test_reaching_a_threshold_promotes_and_the_next_purchase_earns_more(
    service, member_id, cashier, manager, txn, clock
):
    first = earn(service, member_id, 100_000_000, cashier, txn, clock, manager)  # 1,000 points

    second = earn(service, member_id, 2_500_000, cashier, txn, clock)

    assert first.tier == "silver"
    assert second.points == 31  # 25 x 1.25
    assert member_summary(service, member_id).tier == "silver"


def test_tier_depends_on_points_earned_not_on_the_balance(
    service, member_id, cashier, manager, txn, clock
):
    earn(service, member_id, 100_000_000, cashier, txn, clock, manager)  # silver
    service.redeem(member_id, "percent-10", cashier=cashier, client_txn_id=txn())  # -1,000

    summary = member_summary(service, member_id)

    assert summary.balance == 50
    assert summary.tier == "silver"


def test_a_tier_is_held_for_the_window_then_demoted(
    service, member_id, cashier, manager, txn, clock
):
    earn(service, member_id, 100_000_000, cashier, txn, clock, manager)  # silver
    clock.advance(days=364)
    assert member_summary(service, member_id).tier == "silver"

    clock.advance(days=2)

    summary = member_summary(service, member_id)
    assert summary.tier == "bronze"
    assert summary.next_tier == "silver"
    assert summary.points_to_next_tier == 1_000


def test_voiding_the_purchase_that_promoted_takes_the_promotion_back(
    service, member_id, cashier, manager, txn, clock
):
    big = earn(service, member_id, 100_000_000, cashier, txn, clock, manager)

    service.void(big.entry_id, reason="wrong member", cashier=cashier, client_txn_id=txn())

    assert member_summary(service, member_id).tier == "bronze"


def test_summary_shows_progress_to_the_next_tier_and_reward(
    service, member_id, cashier, txn, clock
):
    earn(service, member_id, 12_000_000, cashier, txn, clock)  # +120 -> 170

    summary = member_summary(service, member_id)

    assert summary.balance == 170
    assert (summary.next_tier, summary.points_to_next_tier) == ("silver", 880)
    assert (summary.next_reward, summary.points_to_next_reward) == ("coffee", 30)
    assert [r.affordable for r in summary.rewards] == [False, False, False]
    assert summary.phone_masked is not None
    assert summary.phone_masked.endswith("67") and "1234" not in summary.phone_masked
    assert len(summary.last_visits) == 1


def test_points_expire_by_lots_oldest_first(service, member_id, cashier, txn, clock):
    earn(service, member_id, 10_000_000, cashier, txn, clock)  # lot A: +100 (day 0)
    clock.advance(days=200)
    earn(service, member_id, 20_000_000, cashier, txn, clock)  # lot B: +200 (day 200)
    service.redeem(member_id, "coffee", cashier=cashier, client_txn_id=txn())  # -200

    # The redemption spent the enrollment bonus and lot A first (they expire first),
    # then 50 of lot B: 150 of lot B are left.
    clock.advance(days=170)  # day 370: the bonus and lot A have expired, but hold nothing
    expired = service.expire_due()
    assert expired == []
    assert service.ledger.balance(member_id) == 150

    clock.advance(days=200)
    expired = service.expire_due()

    assert [e.points for e in expired] == [-150]
    assert service.ledger.balance(member_id) == 0
    assert verify_ledger(service.conn).ok


def test_a_policy_change_never_changes_lots_already_earned(open_service, cashier, txn, clock):
    service = open_service("program.expiry.days=30")
    member_id = service.enroll(PHONE, client_txn_id=txn()).member_id
    earn(service, member_id, 10_000_000, cashier, txn, clock)  # +100, expires day 30

    longer = open_service("program.expiry.days=365")
    earn(longer, member_id, 10_000_000, cashier, txn, clock)  # +100, expires day 365
    clock.advance(days=31)

    longer.expire_due()

    assert longer.ledger.balance(member_id) == 100
    assert verify_ledger(longer.conn).ok


def test_identifying_a_member_expires_what_is_due_first(service, member_id, clock):
    clock.advance(days=366)

    member = service.identify_phone(PHONE)

    assert member.balance == 0
    assert service.history.recent(member_id)[0].kind == "expire"


def test_summary_warns_of_points_expiring_within_30_days(service, member_id, clock):
    clock.advance(days=340)

    summary = member_summary(service, member_id)

    assert summary.expiring_points == 50
    assert (summary.expiring_first_at or "").startswith("2027-03-01")


def test_birthday_bonus_once_a_year_on_the_jalali_birthday(open_service, cashier, txn, clock):
    service = open_service("program.limits.min_minutes_between_earns=0")
    # Born 12 Mordad 1370; 12 Mordad 1405 is 3 August 2026 (Tehran).
    member_id = service.enroll(PHONE, client_txn_id=txn(), birthday=date(1991, 8, 3)).member_id
    clock.now = clock.now.replace(month=8, day=2, hour=8)
    assert service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn()).bonuses == []

    clock.advance(days=1)
    on_the_day = service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn())
    clock.advance(days=1)
    next_day = service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn())

    assert [(b.points, b.reason) for b in on_the_day.bonuses] == [(100, "birthday")]
    assert next_day.bonuses == []
    clock.now = clock.now.replace(year=2027)
    clock.advance(days=-1)
    assert service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn()).bonuses
