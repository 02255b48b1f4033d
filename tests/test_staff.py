"""Staff logins: PINs, staff cards, lockout with a growing delay, all audited."""

from __future__ import annotations

import pytest

from kiosk.core.store import audit
from kiosk.core.store.staff import CLI
from kiosk.errors import InvalidPin, LockedOut, StaffDisabled, UnknownStaff, WrongPin


def test_a_pin_logs_in_its_owner(service, cashier):
    actor = service.staff.login_with_pin("1234")

    assert actor == cashier


def test_pins_are_stored_as_salted_hashes(service, cashier):
    stored = service.conn.execute("SELECT pin_hash FROM staff").fetchone()[0]

    assert "1234" not in stored
    assert stored.startswith("scrypt$")


def test_wrong_pins_lock_out_with_a_growing_delay(service, cashier, clock):
    for attempts_left in (2, 1):
        with pytest.raises(WrongPin) as caught:
            service.staff.login_with_pin("0000", cashier.actor_id)
        assert caught.value.params["attempts_left"] == attempts_left
    with pytest.raises(LockedOut) as first:
        service.staff.login_with_pin("0000", cashier.actor_id)
    # Even the right PIN is refused while locked out.
    with pytest.raises(LockedOut):
        service.staff.login_with_pin("1234", cashier.actor_id)

    clock.advance(seconds=31)
    for _ in range(2):
        with pytest.raises(WrongPin):
            service.staff.login_with_pin("0000", cashier.actor_id)
    with pytest.raises(LockedOut) as second:
        service.staff.login_with_pin("0000", cashier.actor_id)

    assert (first.value.params["seconds"], second.value.params["seconds"]) == (30, 60)
    clock.advance(seconds=61)
    assert service.staff.login_with_pin("1234", cashier.actor_id) == cashier
    outcomes = [r.outcome for r in audit.recent(service.conn) if r.action == "login"]
    assert outcomes.count("wrong_pin") == 4
    assert outcomes.count("locked_out") == 3  # two lockouts and one refused right PIN


def test_pin_only_logins_lock_out_the_device(service, cashier):
    for _ in range(2):
        with pytest.raises(WrongPin):
            service.staff.login_with_pin("0000")

    with pytest.raises(LockedOut):
        service.staff.login_with_pin("0000")


def test_a_staff_card_logs_in_and_a_member_card_does_not(service, manager, txn):
    service.link_staff_card(manager.actor_id, "CAFE0001", actor=CLI)
    service.enroll("09121234567", client_txn_id=txn(), card="CAFE0002")

    assert service.staff.login_with_card("CAFE0001") == manager
    with pytest.raises(UnknownStaff):
        service.staff.login_with_card("CAFE0002")
    assert audit.recent(service.conn, 1)[0].outcome == "not_a_staff_card"


def test_a_disabled_account_cannot_log_in(service, cashier):
    service.staff.disable(cashier.actor_id, actor=CLI)

    with pytest.raises((StaffDisabled, WrongPin)):
        service.staff.login_with_pin("1234", cashier.actor_id)


@pytest.mark.parametrize("pin", ["", "12", "123456789", "12a4", "۱۲"])
def test_bad_new_pins_are_refused(service, pin):
    with pytest.raises(InvalidPin):
        service.staff.add(name="X", role="cashier", pin=pin, actor=CLI)
    assert service.staff.list() == []
