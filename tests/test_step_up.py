"""Step-up for money (issue 16): approvals by another person, voids of redemptions, shifts.

The attacks of the issue, tried on a real ledger: a manager approving their own purchase
of 100,000,000,000 Rial; a cashier redeeming and voiding the same reward again and again
(a coupon each time, the points back each time); a shift left open for the next shopper.
The screens' side of these is in tests/ui/test_step_up_ui.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kiosk.config import ConfigError
from kiosk.core.clock import ManualClock
from kiosk.core.store import audit
from kiosk.core.store.staff import CLI, Actor
from kiosk.errors import NotAllowed, NotReversible, SelfApproval, VoidNeedsManager
from kiosk.ui.counter import Counter
from tests.conftest import START, make_config

PHONE = "09121234567"


@pytest.fixture
def member_id(service, txn):
    return service.enroll(PHONE, client_txn_id=txn()).member_id


@pytest.fixture
def second_manager(service) -> Actor:
    staff = service.staff.add(name="Other", role="manager", pin="5274", actor=CLI)
    return Actor(staff.staff_id, "manager")


def entries(service, kind: str) -> int:
    found = service.conn.execute("SELECT COUNT(*) FROM entries WHERE kind = ?", (kind,))
    return int(found.fetchone()[0])


def test_a_manager_cannot_approve_their_own_purchase_of_100_billion_rial(
    service, member_id, manager, second_manager, txn
):
    before = service.member(member_id).balance

    with pytest.raises(SelfApproval):
        service.earn(
            member_id, 100_000_000_000, cashier=manager, client_txn_id=txn(), approved_by=manager
        )

    assert service.member(member_id).balance == before
    assert entries(service, "earn") == 0
    approved = service.earn(
        member_id,
        100_000_000_000,
        cashier=manager,
        client_txn_id=txn(),
        approved_by=second_manager,
    )
    assert approved.points > 0
    record = next(r for r in audit.recent(service.conn, 5) if r.action == "earn")
    assert record.actor == manager.actor_id
    assert record.details["approved_by"] == second_manager.actor_id


def test_a_cashier_alone_cannot_void_a_redemption_so_five_rounds_give_no_points_back(
    service, member_id, cashier, txn
):
    service.adjust(member_id, 5 * 200, reason="setup", actor=CLI, client_txn_id=txn())
    start = service.ledger.balance(member_id)
    coupons = []
    for _ in range(5):
        redeemed = service.redeem(member_id, "coffee", cashier=cashier, client_txn_id=txn())
        coupons.append(redeemed.coupon_code)
        with pytest.raises(VoidNeedsManager):
            service.void(redeemed.entry_id, reason="other", cashier=cashier, client_txn_id=txn())

    assert service.ledger.balance(member_id) == start - 5 * 200
    assert entries(service, "reversal") == 0
    assert [service.coupon(code).void for code in coupons] == [False] * 5


def test_a_redemptions_void_approved_by_a_manager_voids_its_coupon_once(
    service, member_id, cashier, manager, txn
):
    service.adjust(member_id, 400, reason="setup", actor=CLI, client_txn_id=txn())
    redeemed = service.redeem(member_id, "coffee", cashier=cashier, client_txn_id=txn())
    coupon = service.coupon(redeemed.coupon_code)
    assert coupon is not None and not coupon.void

    voided = service.void(
        redeemed.entry_id,
        reason="returned",
        cashier=cashier,
        client_txn_id=txn(),
        approved_by=manager,
    )

    assert voided.points == 200
    coupon = service.coupon(redeemed.coupon_code.lower())  # as read aloud, any case
    assert coupon is not None and coupon.void and coupon.voided_at is not None
    with pytest.raises(NotReversible, match="already voided"):
        service.void(
            redeemed.entry_id,
            reason="again",
            cashier=cashier,
            client_txn_id=txn(),
            approved_by=manager,
        )
    assert entries(service, "reversal") == 1
    record = next(r for r in audit.recent(service.conn, 5) if r.action == "void")
    assert record.details["approved_by"] == manager.actor_id


def test_nobody_approves_the_void_of_their_own_redemption_nor_their_own_void(
    service, member_id, cashier, manager, second_manager, txn
):
    service.adjust(member_id, 400, reason="setup", actor=CLI, client_txn_id=txn())
    by_manager = service.redeem(member_id, "coffee", cashier=manager, client_txn_id=txn())

    with pytest.raises(SelfApproval):  # the manager who redeemed, approving its void
        service.void(
            by_manager.entry_id,
            reason="other",
            cashier=cashier,
            client_txn_id=txn(),
            approved_by=manager,
        )
    with pytest.raises(SelfApproval):  # the manager voiding, approving their own void
        service.void(
            by_manager.entry_id,
            reason="other",
            cashier=second_manager,
            client_txn_id=txn(),
            approved_by=second_manager,
        )
    with pytest.raises(NotAllowed):  # a cashier's approval is none
        service.void(
            by_manager.entry_id,
            reason="other",
            cashier=second_manager,
            client_txn_id=txn(),
            approved_by=cashier,
        )

    assert entries(service, "reversal") == 0
    service.void(
        by_manager.entry_id,
        reason="other",
        cashier=cashier,
        client_txn_id=txn(),
        approved_by=second_manager,
    )
    assert service.coupon(by_manager.coupon_code).void


def test_a_purchase_voided_by_its_cashier_needs_no_manager(service, member_id, cashier, txn):
    earned = service.earn(member_id, 2_500_000, cashier=cashier, client_txn_id=txn())

    service.void(earned.entry_id, reason="wrong amount", cashier=cashier, client_txn_id=txn())

    assert service.ledger.balance(member_id) == 50


def test_an_unknown_coupon_is_none(service):
    assert service.coupon("ZZZZ2222") is None
    assert service.coupon("  ") is None


@pytest.mark.parametrize("minutes", ["0", "31", "480"])
def test_a_shift_timeout_of_hours_or_none_is_a_config_problem(minutes: str):
    with pytest.raises(ConfigError) as caught:
        make_config(f"security.shift_timeout_minutes={minutes}")

    assert "security.shift_timeout_minutes" in str(caught.value)
    assert "1 to 30" in str(caught.value)
    assert make_config().security.shift_timeout_minutes == 5


def _counter(clock: ManualClock, minutes: int = 5) -> Counter:
    return Counter(
        clock,
        default_language="fa",
        idle_timeout=timedelta(seconds=30),
        shift_timeout=timedelta(minutes=minutes),
    )


def test_a_shift_ends_with_the_shoppers_session():
    counter = _counter(ManualClock(START))
    counter.member_id = "m-first"
    counter.open_shift(Actor("s-sara", "cashier"))
    assert counter.cashier() == Actor("s-sara", "cashier")

    counter.forget_shopper()  # the session ends: idle, done, another card tapped
    counter.member_id = "m-next"

    assert counter.cashier() is None


def test_a_shift_serves_only_the_shopper_it_was_opened_for():
    counter = _counter(ManualClock(START))
    counter.open_shift(Actor("s-sara", "cashier"))  # at the menu, nobody served

    counter.member_id = "m-next"  # the next shopper typed their phone

    assert counter.cashier() is None


def test_an_unused_shift_ends_after_its_minutes():
    clock = ManualClock(START)
    counter = _counter(clock, minutes=5)
    counter.member_id = "m-first"
    counter.open_shift(Actor("s-sara", "cashier"))

    clock.advance(minutes=4, seconds=59)
    assert counter.cashier() is not None
    clock.advance(seconds=1)

    assert counter.cashier() is None


def test_the_command_line_voids_a_redemption_only_with_a_manager_and_shows_the_coupon_void(
    tmp_path, capsys, monkeypatch
):
    import io
    import json
    import sys

    from kiosk.cli import main

    monkeypatch.setenv("KIOSK_CONFIG", str(tmp_path / "kiosk.toml"))
    (tmp_path / "kiosk.toml").write_text(
        '[device]\nid = "kiosk-cli"\n[security]\npin_scrypt_n = 1024\n'
    )

    def kiosk(*args: str, stdin: str = "") -> tuple[int, dict[str, Any]]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        status = main([*args, "--data-dir", str(tmp_path / "data"), "--json"])
        out = capsys.readouterr().out
        return status, json.loads(out) if out.strip() else {}

    _, manager = kiosk("staff", "add", "--name", "M", "--role", "manager", stdin="5274\n5274\n")
    kiosk("member", "enroll", "--phone", PHONE)
    kiosk("adjust", "--phone", PHONE, "--points", "200", "--reason", "setup")
    _, redeemed = kiosk("redeem", "--phone", PHONE, "--reward", "coffee")
    status, shown = kiosk("coupon", redeemed["coupon_code"])
    assert status == 0 and shown["void"] is False and shown["reward_id"] == "coffee"

    status, _ = kiosk("void", redeemed["entry_id"], "--reason", "returned")  # no manager
    assert status != 0
    assert kiosk("coupon", redeemed["coupon_code"]) == (0, shown)
    status, _ = kiosk(
        "void",
        redeemed["entry_id"],
        "--reason",
        "returned",
        "--approved-by",
        manager["staff_id"],
        stdin="5274\n",
    )

    assert status == 0
    status, shown = kiosk("coupon", redeemed["coupon_code"].lower())
    assert status == 1 and shown["void"] is True and shown["voided_at"]
