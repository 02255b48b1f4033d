"""Earning, redeeming, voiding and adjusting points on a real SQLite ledger."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk.core.store.staff import SHOPPER
from kiosk.core.store.verify import verify_ledger
from kiosk.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidAmount,
    LimitReached,
    ManagerApprovalRequired,
    NotAllowed,
    NotReversible,
    RewardInactive,
    UnknownEntry,
    UnknownReward,
)

PHONE = "09121234567"


@pytest.fixture
def member_id(service, txn):
    return service.enroll(PHONE, client_txn_id=txn()).member_id


def count(service, table):
    return service.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_enrollment_gives_the_bonus_as_a_ledger_entry(service, txn):
    result = service.enroll(PHONE, client_txn_id=txn())

    assert result.bonus_points == 50
    assert result.balance == 50
    entry = service.ledger.get(result.bonus_entry_id)
    assert (entry.kind, entry.points, entry.reason) == ("bonus", 50, "enrollment")


def test_earn_writes_entry_balance_and_outbox_together(service, member_id, cashier, txn, clock):
    result = service.earn(member_id, 2_500_000, cashier=cashier, client_txn_id="till-1")

    entry = service.ledger.get(result.entry_id)
    assert (result.points, result.balance) == (25, 75)
    assert entry.kind == "earn"
    assert entry.amount == 2_500_000 and isinstance(entry.amount, int)
    assert entry.currency == "IRR"
    assert entry.cashier_id == cashier.actor_id
    assert entry.device_id == "kiosk-test"
    assert entry.seq == 2  # the enrollment bonus was 1
    assert entry.created_at == "2026-03-01T09:00:00.000000Z"
    assert entry.client_txn_id == "till-1"
    outbox = service.conn.execute("SELECT seq FROM outbox ORDER BY seq").fetchall()
    assert [row[0] for row in outbox] == [1, 2]


def test_a_double_tapped_confirm_awards_once(service, member_id, cashier):
    first = service.earn(member_id, 2_500_000, cashier=cashier, client_txn_id="tap")
    second = service.earn(member_id, 2_500_000, cashier=cashier, client_txn_id="tap")

    assert second.entry_id == first.entry_id
    assert second.replayed and not first.replayed
    assert service.ledger.balance(member_id) == 75
    assert count(service, "entries") == 2


def test_a_reused_transaction_id_for_another_change_is_refused(service, member_id, cashier):
    service.earn(member_id, 2_500_000, cashier=cashier, client_txn_id="tap")

    with pytest.raises(IdempotencyConflict):
        service.earn(member_id, 9_900_000, cashier=cashier, client_txn_id="tap")
    assert service.ledger.balance(member_id) == 75


@pytest.mark.parametrize(
    ("amount", "reason"),
    [(0, "not_positive"), (-5, "not_positive"), (10**12, "too_large"), (True, "not_a_number")],
)
def test_bad_amounts_are_refused_and_write_nothing(service, member_id, cashier, amount, reason):
    before = count(service, "entries")

    with pytest.raises(InvalidAmount) as caught:
        service.earn(member_id, amount, cashier=cashier, client_txn_id="x")

    assert caught.value.reason == reason
    assert count(service, "entries") == before
    assert count(service, "client_txns") == 1  # only the enrollment


def test_a_shopper_cannot_award_points(service, member_id):
    with pytest.raises(NotAllowed):
        service.earn(member_id, 2_500_000, cashier=SHOPPER, client_txn_id="x")


def test_redeem_takes_points_and_gives_a_coupon(service, member_id, cashier, txn, clock):
    service.earn(member_id, 20_000_000, cashier=cashier, client_txn_id=txn())  # +200

    result = service.redeem(member_id, "coffee", cashier=cashier, client_txn_id=txn())

    assert (result.points, result.balance) == (-200, 50)
    assert len(result.coupon_code) == 8
    assert service.ledger.get(result.entry_id).coupon_code == result.coupon_code


def test_redeem_never_goes_below_zero(service, member_id, cashier, txn):
    with pytest.raises(InsufficientPoints):
        service.redeem(member_id, "coffee", cashier=cashier, client_txn_id=txn())
    assert service.ledger.balance(member_id) == 50


def test_unknown_and_inactive_rewards_are_refused(open_service, txn, cashier):
    service = open_service()
    member_id = service.enroll(PHONE, client_txn_id=txn()).member_id
    with pytest.raises(UnknownReward):
        service.redeem(member_id, "yacht", cashier=cashier, client_txn_id=txn())
    later = open_service(
        'program.rewards=[{id="old", name_fa="x", name_en="x", cost=1, '
        'kind="free_item", value=0, active_from="", active_until="2020-01-01"}]'
    )
    with pytest.raises(RewardInactive):
        later.redeem(member_id, "old", cashier=cashier, client_txn_id=txn())


def test_void_restores_balance_and_cannot_repeat(service, member_id, cashier, txn):
    earned = service.earn(member_id, 2_500_000, cashier=cashier, client_txn_id=txn())

    voided = service.void(
        earned.entry_id, reason="wrong amount", cashier=cashier, client_txn_id=txn()
    )

    assert (voided.points, voided.balance) == (-25, 50)
    assert service.ledger.get(voided.entry_id).reverses == earned.entry_id
    with pytest.raises(NotReversible, match="already voided"):
        service.void(earned.entry_id, reason="again", cashier=cashier, client_txn_id=txn())
    assert verify_ledger(service.conn).ok


def test_void_of_a_redemption_gives_the_points_back(service, member_id, cashier, manager, txn):
    service.earn(member_id, 20_000_000, cashier=cashier, client_txn_id=txn())
    redeemed = service.redeem(member_id, "coffee", cashier=cashier, client_txn_id=txn())

    voided = service.void(
        redeemed.entry_id,
        reason="changed mind",
        cashier=cashier,
        client_txn_id=txn(),
        approved_by=manager,
    )

    assert voided.balance == 250
    assert verify_ledger(service.conn).ok


def test_only_earns_and_redemptions_can_be_voided(service, member_id, cashier, txn):
    bonus_id = service.history.recent(member_id)[0].entry_id

    with pytest.raises(NotReversible):
        service.void(bonus_id, reason="no", cashier=cashier, client_txn_id=txn())
    with pytest.raises(UnknownEntry):
        service.void("nope", reason="no", cashier=cashier, client_txn_id=txn())


def test_void_after_spending_leaves_a_debt_that_blocks_redemption(
    service, member_id, cashier, txn, clock
):
    earned = service.earn(member_id, 20_000_000, cashier=cashier, client_txn_id=txn())  # 250
    service.redeem(member_id, "coffee", cashier=cashier, client_txn_id=txn())  # 50 left

    service.void(earned.entry_id, reason="card fraud", cashier=cashier, client_txn_id=txn())

    assert service.ledger.balance(member_id) == -150
    with pytest.raises(InsufficientPoints):
        service.redeem(member_id, "coffee", cashier=cashier, client_txn_id=txn())
    clock.advance(minutes=5)
    service.earn(member_id, 40_000_000, cashier=cashier, client_txn_id=txn())  # +400
    assert service.ledger.balance(member_id) == 250
    service.redeem(member_id, "coffee", cashier=cashier, client_txn_id=txn())
    assert service.ledger.balance(member_id) == 50
    assert verify_ledger(service.conn).ok


def test_purchases_above_the_threshold_need_a_manager(service, member_id, cashier, manager, txn):
    with pytest.raises(ManagerApprovalRequired):
        service.earn(member_id, 60_000_000, cashier=cashier, client_txn_id=txn())
    with pytest.raises(NotAllowed):
        service.earn(
            member_id, 60_000_000, cashier=cashier, client_txn_id=txn(), approved_by=cashier
        )

    result = service.earn(
        member_id, 60_000_000, cashier=cashier, client_txn_id=txn(), approved_by=manager
    )

    assert result.points == 600


def test_earns_per_day_are_limited(open_service, cashier, txn, clock):
    service = open_service("program.limits.max_earns_per_day=2")
    member_id = service.enroll(PHONE, client_txn_id=txn()).member_id
    for _ in range(2):
        service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn())
        clock.advance(minutes=10)

    with pytest.raises(LimitReached) as caught:
        service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn())

    assert caught.value.limit == "earns_per_day"
    clock.advance(days=1)
    service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn())


def test_a_purchase_too_small_to_earn_does_not_count_against_the_daily_limit(
    open_service, cashier, txn, clock
):
    """A bottle of water five times a day earns nothing, and must not leave the shopper's
    real purchase of the day without its points."""
    service = open_service(
        "program.limits.max_earns_per_day=1", "program.limits.min_minutes_between_earns=0"
    )
    member_id = service.enroll(PHONE, client_txn_id=txn()).member_id
    for _ in range(3):
        assert service.earn(member_id, 50_000, cashier=cashier, client_txn_id=txn()).points == 0

    assert service.quote(member_id, 1_000_000).refusal is None
    assert service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn()).points == 10
    with pytest.raises(LimitReached):
        service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn())


def test_a_voided_purchase_does_not_count_against_the_daily_limit(
    open_service, cashier, txn, clock
):
    service = open_service(
        "program.limits.max_earns_per_day=1", "program.limits.min_minutes_between_earns=0"
    )
    member_id = service.enroll(PHONE, client_txn_id=txn()).member_id
    wrong = service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn())
    service.void(wrong.entry_id, reason="typo", cashier=cashier, client_txn_id=txn())

    service.earn(member_id, 100_000, cashier=cashier, client_txn_id=txn())

    assert service.ledger.balance(member_id) == 51


def test_two_earns_within_minutes_are_refused(service, member_id, cashier, txn, clock):
    service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn())
    clock.advance(minutes=1)

    quote = service.quote(member_id, 1_000_000)
    with pytest.raises(LimitReached) as caught:
        service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn())

    assert quote.refusal == "too_soon"
    assert caught.value.limit == "too_soon"
    clock.advance(minutes=1)
    service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn())


def test_quote_explains_the_points_before_confirming(service, member_id):
    quote = service.quote(member_id, 2_500_000)

    assert quote.points == 25
    assert [line.code for line in quote.lines] == ["base"]
    assert not quote.needs_manager and quote.refusal is None
    assert count(service, "entries") == 1  # a quote writes nothing


def test_adjust_needs_a_manager_and_a_reason_and_never_goes_below_zero(
    service, member_id, cashier, manager, txn
):
    with pytest.raises(NotAllowed):
        service.adjust(member_id, 10, reason="x", actor=cashier, client_txn_id=txn())
    with pytest.raises(InsufficientPoints):
        service.adjust(member_id, -51, reason="x", actor=manager, client_txn_id=txn())

    result = service.adjust(
        member_id, -50, reason="duplicate account", actor=manager, client_txn_id=txn()
    )

    assert result.balance == 0


def test_entries_cannot_be_changed_or_deleted(service, member_id):
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        service.conn.execute("UPDATE entries SET points = 1000")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        service.conn.execute("DELETE FROM entries")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        service.conn.execute("DELETE FROM audit")


def test_verify_finds_a_balance_that_does_not_match_its_entries(service, member_id):
    service.conn.execute("UPDATE members SET balance = balance + 1")

    report = verify_ledger(service.conn)

    assert not report.ok
    assert any("balance 51 but entries sum to 50" in p for p in report.problems)


def test_every_staff_change_is_audited(service, member_id, cashier, txn):
    earned = service.earn(member_id, 2_500_000, cashier=cashier, client_txn_id=txn())
    service.void(earned.entry_id, reason="typo", cashier=cashier, client_txn_id=txn())

    actions = [
        (r.actor, r.action)
        for r in __import__("kiosk.core.store.audit").core.store.audit.recent(service.conn)
    ]

    assert (cashier.actor_id, "earn") in actions
    assert (cashier.actor_id, "void") in actions


def test_a_purchase_that_earns_nothing_does_not_start_the_wait_for_the_next(
    service, member_id, cashier, txn, clock
):
    small = service.earn(member_id, 50_000, cashier=cashier, client_txn_id=txn())
    clock.advance(seconds=10)

    quote = service.quote(member_id, 1_000_000)
    real = service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn())

    assert small.points == 0
    assert quote.refusal is None
    assert real.points == 10


def test_a_refused_purchase_says_how_long_to_wait(service, member_id, cashier, txn, clock):
    service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn())
    clock.advance(seconds=45)

    quote = service.quote(member_id, 1_000_000)
    with pytest.raises(LimitReached) as caught:
        service.earn(member_id, 1_000_000, cashier=cashier, client_txn_id=txn())

    assert quote.refusal == "too_soon"
    assert quote.wait_seconds == 75
    assert caught.value.params["seconds"] == 75
    assert "75 seconds" in str(caught.value)
