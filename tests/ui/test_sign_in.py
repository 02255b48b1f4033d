"""Staff sign-in on the real screens: the person is picked first, then only their PIN counts."""

from __future__ import annotations

import pytest

from kiosk.core.pin import hash_pin
from kiosk.core.store import audit
from kiosk.core.store.db import write_transaction
from kiosk.core.store.staff import CLI, Actor, StaffAccounts
from kiosk.errors import LockedOut
from tests.ui.conftest import CASHIER_PIN, MANAGER_PIN, TECHNICIAN_PIN, Kiosk


def test_a_cashier_given_the_technicians_pin_signs_in_as_themself(kiosk: Kiosk):
    # A duplicate only the CRM could make (a salted hash of the same PIN looks different).
    with write_transaction(kiosk.service.conn):
        StaffAccounts(kiosk.service.conn).put_pulled(
            "s-crm-9",
            name="Nima",
            role="cashier",
            pin_hash=hash_pin(TECHNICIAN_PIN, n=1024),
            now="2026-01-01T00:00:00Z",
            disabled=False,
        )
    kiosk.press("cashier")
    kiosk.sign_in("Nima", TECHNICIAN_PIN)

    assert kiosk.screen == "cashier"
    assert kiosk.app.counter.cashier() == Actor("s-crm-9", "cashier")
    last = audit.recent(kiosk.service.conn, 1)[0]
    assert (last.action, last.actor, last.outcome) == ("login", "s-crm-9", "ok")
    kiosk.press("logout")
    for _ in range(5):
        kiosk.press("shop")
    assert kiosk.screen == "pin"
    with pytest.raises(KeyError):  # the technician's screen offers the technician only
        kiosk.app.screen.person_button("Nima")


def test_one_persons_lockout_leaves_the_others_and_survives_their_sign_in(kiosk: Kiosk):
    kiosk.press("cashier")
    kiosk.sign_in("Sara", "0000")
    kiosk.keys("0000[ok]0000[ok]")
    assert kiosk.message() == kiosk.shows("error.locked_out", seconds=30)
    kiosk.press("cancel")  # back to the names: someone else signs in

    kiosk.sign_in("Reza", MANAGER_PIN)
    assert kiosk.screen == "cashier"
    kiosk.press("logout")
    kiosk.press("cashier")
    kiosk.touch(kiosk.app.screen.person_button("Sara"))

    # Reza's sign-in did not end Sara's lockout: her keypad waits, and so does her PIN.
    assert kiosk.ids("keypad").button("1").disabled
    assert kiosk.message() == kiosk.shows("error.locked_out", seconds=30)
    with pytest.raises(LockedOut):
        kiosk.service.staff.login_with_pin(CASHIER_PIN, kiosk.staff_id("Sara"))


def test_unknown_cards_tapped_at_the_sign_in_lock_that_reader_out(kiosk: Kiosk):
    sara = kiosk.staff_id("Sara")
    kiosk.service.link_staff_card(sara, "5A5A0001", actor=CLI)
    kiosk.press("cashier")
    for uid in ("0BAD0001", "0BAD0002"):
        kiosk.tap_card(uid)
        assert kiosk.message() == kiosk.shows("pin.not_staff_card")
    kiosk.tap_card("0BAD0003")
    assert kiosk.message() == kiosk.shows("error.locked_out", seconds=30)

    kiosk.tap_card("5A5A0001")  # even a real staff card waits out the back-off
    assert kiosk.screen == "pin"
    kiosk.tick(seconds=31)
    kiosk.tap_card("5A5A0001")
    assert kiosk.screen == "cashier"
