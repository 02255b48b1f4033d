"""Step-up for money at the real screens (issue 16): no shift outlives its shopper, the
cashier's menu always asks who is there, approvals come from another person.

The service's side of these attacks is in tests/test_step_up.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.core.store.staff import CLI, Actor
from tests.ui.conftest import CASHIER_PIN, MANAGER_PIN, Kiosk

FIRST_PHONE, FIRST_CARD = "09121234567", "A1B2C3D4"
NEXT_PHONE, NEXT_CARD = "09351234567", "E5F6A7B8"
OTHER_MANAGER_PIN = "4816"


def enrolled(kiosk: Kiosk, phone: str, card: str, points: int = 0) -> str:
    result = kiosk.service.enroll(phone, client_txn_id=f"setup-{card}", card=card)
    if points:
        kiosk.service.adjust(
            result.member_id, points, reason="setup", actor=CLI, client_txn_id=f"adj-{card}"
        )
    return result.member_id


def staff(kiosk: Kiosk, role: str) -> Actor:
    account = next(s for s in kiosk.service.staff.list() if s.role == role)
    return Actor(account.staff_id, role)


def rows(kiosk: Kiosk, kind: str) -> list[dict[str, Any]]:
    found = kiosk.service.conn.execute("SELECT * FROM entries WHERE kind = ?", (kind,))
    return [dict(row) for row in found]


def serve_first_shopper(kiosk: Kiosk) -> None:
    """A cashier signs in for a purchase of the first shopper and does not log out."""
    kiosk.tap_card(FIRST_CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.keys("100000")
    kiosk.press("confirm")
    assert kiosk.screen == "result"


def test_the_next_shopper_tapping_their_card_at_once_finds_no_open_shift(kiosk: Kiosk):
    enrolled(kiosk, FIRST_PHONE, FIRST_CARD)
    enrolled(kiosk, NEXT_PHONE, NEXT_CARD)
    serve_first_shopper(kiosk)

    kiosk.tap_card(NEXT_CARD)  # still on the first shopper's result
    assert kiosk.screen == "member"
    kiosk.press("purchase")

    assert kiosk.screen == "pin"
    assert len(rows(kiosk, "earn")) == 1


def test_the_next_shopper_after_the_result_screen_finds_no_open_shift(kiosk: Kiosk):
    enrolled(kiosk, FIRST_PHONE, FIRST_CARD)
    enrolled(kiosk, NEXT_PHONE, NEXT_CARD)
    serve_first_shopper(kiosk)
    kiosk.tick(seconds=6)
    assert kiosk.screen == "attract"

    kiosk.tap_card(NEXT_CARD)
    kiosk.press("purchase")

    assert kiosk.screen == "pin"
    kiosk.press("cancel")
    assert kiosk.screen == "member"
    assert len(rows(kiosk, "earn")) == 1


def test_a_shift_opened_but_unused_ends_when_the_shopper_walks_away(kiosk: Kiosk):
    enrolled(kiosk, FIRST_PHONE, FIRST_CARD)
    enrolled(kiosk, NEXT_PHONE, NEXT_CARD)
    kiosk.tap_card(FIRST_CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.press("cancel")  # no purchase after all
    kiosk.tick(seconds=30)  # nobody touches the kiosk: the session ends
    assert kiosk.screen == "attract"

    kiosk.press("phone")  # the next shopper types their number instead of tapping
    kiosk.keys(NEXT_PHONE + "[ok]")
    kiosk.press("purchase")

    assert kiosk.screen == "pin"


def test_the_attract_cashier_button_asks_for_a_pin_even_with_a_shift_open(kiosk: Kiosk):
    kiosk.press("cashier")
    kiosk.sign_in("Sara", CASHIER_PIN)
    assert kiosk.screen == "cashier"
    kiosk.app.counter.open_shift(staff(kiosk, "cashier"))  # however a shift was left open
    kiosk.press("back")
    kiosk.app.counter.open_shift(staff(kiosk, "cashier"))
    assert kiosk.screen == "attract"

    kiosk.press("cashier")

    assert kiosk.screen == "pin"
    kiosk.press("cancel")
    assert kiosk.screen == "attract"


def test_after_serving_a_shopper_the_cashier_button_asks_for_a_pin(kiosk: Kiosk):
    enrolled(kiosk, FIRST_PHONE, FIRST_CARD)
    serve_first_shopper(kiosk)
    kiosk.tick(seconds=6)

    kiosk.press("cashier")

    assert kiosk.screen == "pin"


def test_a_manager_cannot_approve_their_own_large_purchase_on_screen(kiosk: Kiosk):
    enrolled(kiosk, FIRST_PHONE, FIRST_CARD)
    kiosk.service.staff.add(name="Nima", role="manager", pin=OTHER_MANAGER_PIN, actor=CLI)
    kiosk.tap_card(FIRST_CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Reza", MANAGER_PIN)  # the manager rings up the purchase
    kiosk.keys("6000000")  # 60,000,000 Rial, above the manager's threshold
    kiosk.press("confirm")
    assert kiosk.screen == "pin"

    kiosk.sign_in("Reza", MANAGER_PIN)  # and approves it

    assert kiosk.screen == "pin"
    assert kiosk.message() == kiosk.shows("error.self_approval")
    assert rows(kiosk, "earn") == []
    kiosk.sign_in("Nima", OTHER_MANAGER_PIN)
    assert kiosk.screen == "result"
    assert [r["amount"] for r in rows(kiosk, "earn")] == [60_000_000]


def test_voiding_a_redemption_on_screen_needs_a_managers_pin_and_voids_its_coupon(kiosk: Kiosk):
    member_id = enrolled(kiosk, FIRST_PHONE, FIRST_CARD, points=350)
    redeemed = kiosk.service.redeem(
        member_id, "coffee", cashier=staff(kiosk, "cashier"), client_txn_id="setup-redeem"
    )
    kiosk.press("cashier")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.press("void")
    kiosk.touch(kiosk.app.screen.entry_button(redeemed.entry_id))
    kiosk.touch(kiosk.app.screen.reason_button("returned"))
    kiosk.press("confirm")
    assert kiosk.screen == "pin"

    with pytest.raises(KeyError):  # the cashier (who redeemed) is not offered to approve
        kiosk.app.screen.person_button("Sara")
    assert rows(kiosk, "reversal") == []
    kiosk.sign_in("Reza", MANAGER_PIN)

    assert kiosk.screen == "result"
    assert [r["reverses"] for r in rows(kiosk, "reversal")] == [redeemed.entry_id]
    coupon = kiosk.service.coupon(redeemed.coupon_code)
    assert coupon is not None and coupon.void
    assert kiosk.service.member(member_id).balance == 400


def test_voiding_a_purchase_on_screen_needs_the_cashier_only(kiosk: Kiosk):
    member_id = enrolled(kiosk, FIRST_PHONE, FIRST_CARD)
    earned = kiosk.service.earn(
        member_id, 3_000_000, cashier=staff(kiosk, "cashier"), client_txn_id="setup-earn"
    )
    kiosk.press("cashier")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.press("void")
    kiosk.touch(kiosk.app.screen.entry_button(earned.entry_id))
    kiosk.touch(kiosk.app.screen.reason_button("wrong_amount"))

    kiosk.press("confirm")

    assert kiosk.screen == "result"
    assert kiosk.service.member(member_id).balance == 50


def test_a_staff_card_opens_a_shift_for_the_shopper_at_the_counter_only(kiosk: Kiosk):
    enrolled(kiosk, FIRST_PHONE, FIRST_CARD)
    enrolled(kiosk, NEXT_PHONE, NEXT_CARD)
    kiosk.service.link_staff_card(staff(kiosk, "cashier").actor_id, "5A5A5A5A", actor=CLI)
    kiosk.tap_card(FIRST_CARD)
    kiosk.tap_card("5A5A5A5A")
    assert kiosk.screen == "amount"

    kiosk.tap_card(NEXT_CARD)  # the cashier turned away; the next shopper taps in
    kiosk.press("purchase")

    assert kiosk.screen == "pin"


def test_a_staff_card_on_the_attract_screen_opens_the_cashiers_menu(kiosk: Kiosk):
    kiosk.service.link_staff_card(staff(kiosk, "cashier").actor_id, "5A5A5A5A", actor=CLI)

    kiosk.tap_card("5A5A5A5A")

    assert kiosk.screen == "cashier"
    kiosk.press("back")
    assert kiosk.screen == "attract"
    assert kiosk.app.counter.cashier() is None
