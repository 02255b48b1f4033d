"""Staff sign-in: the person first, then their PIN; lockouts per account and per reader."""

from __future__ import annotations

import pytest

from kiosk.core.pin import hash_cost, hash_pin
from kiosk.core.store import audit
from kiosk.core.store.db import write_transaction
from kiosk.core.store.staff import CLI, PIN_HASH, Actor, StaffAccounts
from kiosk.errors import (
    DuplicatePin,
    InvalidPin,
    LockedOut,
    StaffDisabled,
    UnknownStaff,
    WeakPin,
    WrongPin,
)


def pulled(service, staff_id: str, *, role: str, pin: str, n: int = 1024) -> None:
    """An account as the CRM sends it: only a hash, so the kiosk cannot compare its PIN."""
    with write_transaction(service.conn):
        StaffAccounts(service.conn).put_pulled(
            staff_id,
            name=staff_id,
            role=role,
            pin_hash=hash_pin(pin, n=n),
            now="2026-01-01T00:00:00Z",
            disabled=False,
        )


def test_a_pin_signs_in_the_person_picked(service, cashier):
    assert service.staff.login_with_pin("2580", cashier.actor_id) == cashier


def test_pins_are_stored_as_salted_hashes_sealed_with_the_data_key(service, cashier):
    sealed = service.conn.execute("SELECT pin_hash FROM staff").fetchone()[0]
    stored = service.conn.execute(f"SELECT {PIN_HASH} FROM staff").fetchone()[0]

    assert "2580" not in stored
    assert stored.startswith("scrypt$")
    # On the card, the hash itself is sealed: without the data key, nothing to try PINs on.
    assert isinstance(sealed, bytes) and b"scrypt" not in sealed


def test_a_cashier_with_the_technicians_pin_gets_cashier_rights_and_is_the_one_audited(service):
    technician = service.staff.add(name="Tara", role="technician", pin="9753", actor=CLI)
    pulled(service, "s-crm-nima", role="cashier", pin="9753")  # the same PIN, another salt

    actor = service.staff.login_with_pin("9753", "s-crm-nima")

    assert actor == Actor("s-crm-nima", "cashier")
    last = audit.recent(service.conn, 1)[0]
    assert (last.action, last.actor, last.target) == ("login", "s-crm-nima", "s-crm-nima")
    assert service.staff.login_with_pin("9753", technician.staff_id).role == "technician"


def test_no_sign_in_takes_a_pin_alone(service, cashier):
    # PIN-only sign-in took the first hash that matched and shared one lockout counter.
    with pytest.raises(TypeError):
        service.staff.login_with_pin("2580")


def test_a_pin_another_active_person_has_is_refused_when_set(service, cashier, manager):
    with pytest.raises(DuplicatePin):
        service.staff.add(name="Nima", role="cashier", pin="2580", actor=CLI)
    with pytest.raises(DuplicatePin):
        service.staff.set_pin(manager.actor_id, "۲۵۸۰", actor=CLI)  # Persian digits too

    assert [s.name for s in service.staff.list()] == ["Cashier", "Manager"]
    assert service.staff.login_with_pin("9173", manager.actor_id) == manager
    service.staff.disable(cashier.actor_id, actor=CLI)  # a disabled account's PIN is free
    service.staff.set_pin(manager.actor_id, "2580", actor=CLI)
    assert service.staff.login_with_pin("2580", manager.actor_id) == manager


@pytest.mark.parametrize(
    "pin", ["0000", "7777", "1234", "4321", "123456", "654321", "7890", "3210", "98765"]
)
def test_trivial_pins_are_refused_when_set(service, cashier, pin):
    with pytest.raises(WeakPin):
        service.staff.add(name="Nima", role="cashier", pin=pin, actor=CLI)
    with pytest.raises(WeakPin):
        service.staff.set_pin(cashier.actor_id, pin, actor=CLI)

    assert len(service.staff.list()) == 1
    assert service.staff.login_with_pin("2580", cashier.actor_id) == cashier


@pytest.mark.parametrize("pin", ["1357", "1243", "90210", "2468"])
def test_ordinary_pins_are_accepted(service, pin):
    person = service.staff.add(name="Nima", role="cashier", pin=pin, actor=CLI)

    assert service.staff.login_with_pin(pin, person.staff_id).actor_id == person.staff_id


def test_wrong_pins_lock_out_with_a_growing_delay(service, cashier, clock):
    for attempts_left in (2, 1):
        with pytest.raises(WrongPin) as caught:
            service.staff.login_with_pin("0000", cashier.actor_id)
        assert caught.value.params["attempts_left"] == attempts_left
    with pytest.raises(LockedOut) as first:
        service.staff.login_with_pin("0000", cashier.actor_id)
    # Even the right PIN is refused while locked out.
    with pytest.raises(LockedOut):
        service.staff.login_with_pin("2580", cashier.actor_id)

    clock.advance(seconds=31)
    for _ in range(2):
        with pytest.raises(WrongPin):
            service.staff.login_with_pin("0000", cashier.actor_id)
    with pytest.raises(LockedOut) as second:
        service.staff.login_with_pin("0000", cashier.actor_id)

    assert (first.value.params["seconds"], second.value.params["seconds"]) == (30, 60)
    clock.advance(seconds=61)
    assert service.staff.login_with_pin("2580", cashier.actor_id) == cashier
    outcomes = [r.outcome for r in audit.recent(service.conn) if r.action == "login"]
    assert outcomes.count("wrong_pin") == 4
    assert outcomes.count("locked_out") == 3  # two lockouts and one refused right PIN


def test_one_accounts_lockout_leaves_the_others_signing_in(service, cashier, manager):
    for _ in range(3):
        with pytest.raises((WrongPin, LockedOut)):
            service.staff.login_with_pin("0000", cashier.actor_id)

    assert service.staff.login_with_pin("9173", manager.actor_id) == manager
    with pytest.raises(LockedOut):
        service.staff.login_with_pin("2580", cashier.actor_id)


def test_another_persons_sign_in_does_not_reset_an_attackers_count(service, cashier, manager):
    for _ in range(2):
        with pytest.raises(WrongPin):
            service.staff.login_with_pin("0000", cashier.actor_id)

    service.staff.login_with_pin("9173", manager.actor_id)  # the manager comes and goes

    with pytest.raises(LockedOut):  # the third wrong PIN in a row for the cashier
        service.staff.login_with_pin("0000", cashier.actor_id)


def test_a_staff_card_logs_in_and_a_member_card_does_not(service, manager, txn):
    service.link_staff_card(manager.actor_id, "CAFE0001", actor=CLI)
    service.enroll("09121234567", client_txn_id=txn(), card="CAFE0002")

    assert service.staff.login_with_card("CAFE0001") == manager
    with pytest.raises(UnknownStaff):
        service.staff.login_with_card("CAFE0002")
    assert audit.recent(service.conn, 1)[0].outcome == "not_a_staff_card"


def test_unknown_cards_lock_out_that_reader_and_a_staff_cards_success_does_not_reset(
    service, manager, clock
):
    service.link_staff_card(manager.actor_id, "CAFE0001", actor=CLI)
    for uid in ("0BAD0001", "0BAD0002"):
        with pytest.raises(UnknownStaff):
            service.staff.login_with_card(uid, "nfc")
    assert service.staff.login_with_card("CAFE0001", "nfc") == manager

    with pytest.raises(LockedOut) as first:
        service.staff.login_with_card("0BAD0003", "nfc")
    with pytest.raises(LockedOut):  # a real card waits too: else a guess could slip through
        service.staff.login_with_card("CAFE0001", "nfc")
    assert service.staff.login_with_card("CAFE0001", "door") == manager  # another reader
    clock.advance(seconds=31)
    for uid in ("0BAD0004", "0BAD0005"):
        with pytest.raises(UnknownStaff):
            service.staff.login_with_card(uid, "nfc")
    with pytest.raises(LockedOut) as second:
        service.staff.login_with_card("0BAD0006", "nfc")

    assert (first.value.params["seconds"], second.value.params["seconds"]) == (30, 60)


def test_a_hash_below_the_scrypt_floor_is_replaced_at_sign_in(service):
    pulled(service, "s-old", role="cashier", pin="1357", n=256)  # from before the floor rose

    assert service.staff.login_with_pin("1357", "s-old").actor_id == "s-old"

    stored = service.conn.execute(f"SELECT {PIN_HASH} FROM staff").fetchone()[0]
    assert hash_cost(stored) == (1024, 8)
    assert audit.recent(service.conn, 1)[0].details == {"with": "pin", "rehashed": True}
    assert service.staff.login_with_pin("1357", "s-old").actor_id == "s-old"


def test_a_disabled_account_cannot_log_in(service, cashier):
    service.staff.disable(cashier.actor_id, actor=CLI)

    with pytest.raises(StaffDisabled):
        service.staff.login_with_pin("2580", cashier.actor_id)


def test_an_unknown_account_is_refused(service, cashier):
    with pytest.raises(UnknownStaff):
        service.staff.login_with_pin("2580", "s-nobody")


@pytest.mark.parametrize("pin", ["", "12", "123456789", "12a4", "۱۲"])
def test_bad_new_pins_are_refused(service, pin):
    with pytest.raises(InvalidPin):
        service.staff.add(name="X", role="cashier", pin=pin, actor=CLI)
    assert service.staff.list() == []
