"""The technician's hidden screen: gesture, PIN, diagnostics and actions."""

from __future__ import annotations

import pytest

from kiosk.core.store import audit
from kiosk.core.store.staff import CLI
from tests.ui.conftest import TECHNICIAN_PIN, Kiosk


def open_technician_screen(kiosk: Kiosk) -> None:
    for _ in range(5):
        kiosk.press("shop")
    assert kiosk.screen == "pin"
    kiosk.sign_in("Tara", TECHNICIAN_PIN)
    assert kiosk.screen == "tech"


def diagnostics(kiosk: Kiosk) -> list[str]:
    return [label.text for label in reversed(kiosk.ids("diagnostics").children)]


def test_five_taps_on_the_shop_name_then_the_technician_pin_open_diagnostics(kiosk: Kiosk):
    open_technician_screen(kiosk)

    lines = diagnostics(kiosk)
    assert kiosk.shows("tech.diag.queue", pending=0, rejected=0) in lines
    assert (
        kiosk.shows("tech.diag.reader", reader="sim", state=kiosk.app.texts.tr("reader.connected"))
        in lines
    )
    assert kiosk.shows("tech.diag.sync.off", last="-") in lines
    assert any("kiosk-test" in line for line in lines)


def test_slow_taps_do_not_open_it(kiosk: Kiosk):
    for _ in range(4):
        kiosk.press("shop")
        kiosk.clock.advance(seconds=2)
    kiosk.press("shop")

    assert kiosk.screen == "attract"


def test_a_cashier_cannot_open_the_technician_screen(kiosk: Kiosk):
    kiosk.service.link_staff_card(kiosk.staff_id("Sara"), "5A5A0001", actor=CLI)
    for _ in range(5):
        kiosk.press("shop")

    with pytest.raises(KeyError):  # only technicians are offered
        kiosk.app.screen.person_button("Sara")
    kiosk.tap_card("5A5A0001")  # nor does her staff card open it
    assert kiosk.screen == "pin"
    assert kiosk.message() == kiosk.shows("error.not_allowed")


def test_the_queue_depth_counts_what_the_crm_has_not_acknowledged(kiosk: Kiosk):
    kiosk.service.enroll("09121234567", client_txn_id="t1")
    open_technician_screen(kiosk)

    assert kiosk.shows("tech.diag.queue", pending=1, rejected=0) in diagnostics(kiosk)


def test_reader_test_shows_the_masked_card_of_the_next_tap(kiosk: Kiosk):
    open_technician_screen(kiosk)
    kiosk.press("reader_test")

    kiosk.tap_card("A1B2C3D4")

    assert kiosk.screen == "tech"
    assert kiosk.message() == kiosk.shows("tech.reader_test_ok", reader="sim", card="****C3D4")


def test_the_default_language_is_kept_on_the_device_and_used_at_the_next_idle(kiosk: Kiosk):
    open_technician_screen(kiosk)

    kiosk.press("language")
    kiosk.press("back")

    assert kiosk.app.lang == "en"
    assert kiosk.service.settings.get("default_language", "fa") == "en"
    kiosk.press("language")  # a shopper switches to Persian
    kiosk.tick(seconds=30)
    assert kiosk.app.lang == "en"


def test_a_technician_adds_a_cashier_whose_pin_then_works(kiosk: Kiosk):
    open_technician_screen(kiosk)
    kiosk.press("staff")
    kiosk.press("add")
    kiosk.keys("24680[ok]")
    kiosk.keys("24681[ok]")
    assert kiosk.message() == kiosk.shows("staff.pins_differ")
    kiosk.keys("24680[ok]24680[ok]")

    assert kiosk.screen == "staff"
    added = next(s for s in kiosk.service.staff.list() if s.role == "cashier" and s.name != "Sara")
    assert kiosk.service.staff.login_with_pin("24680", added.staff_id).role == "cashier"


def test_a_pin_another_person_has_or_a_trivial_one_is_refused_on_screen(kiosk: Kiosk):
    open_technician_screen(kiosk)
    kiosk.press("staff")
    kiosk.press("add")
    kiosk.keys("1234[ok]")  # a run: refused before it is typed twice
    assert kiosk.message() == kiosk.shows("error.weak_pin")
    kiosk.keys(TECHNICIAN_PIN + "[ok]" + TECHNICIAN_PIN + "[ok]")  # Tara's own PIN

    assert kiosk.screen == "staff"
    assert kiosk.message() == kiosk.shows("error.duplicate_pin")
    assert sorted(s.name for s in kiosk.service.staff.list()) == ["Reza", "Sara", "Tara"]


def test_a_technician_disables_a_cashier(kiosk: Kiosk):
    cashier = next(s for s in kiosk.service.staff.list() if s.role == "cashier")
    open_technician_screen(kiosk)
    kiosk.press("staff")
    kiosk.touch(kiosk.app.screen.person_button(cashier.staff_id))
    kiosk.press("disable")

    assert kiosk.message() == kiosk.shows("staff.disabled")
    assert next(s for s in kiosk.service.staff.list() if s.staff_id == cashier.staff_id).disabled


def test_restart_exits_for_systemd_to_start_the_app_again(kiosk: Kiosk):
    open_technician_screen(kiosk)

    kiosk.press("restart")

    assert kiosk.exits == [3]


def test_sync_now_says_no_crm_is_set_up(kiosk: Kiosk):
    open_technician_screen(kiosk)

    kiosk.press("sync")

    assert kiosk.message() == kiosk.shows("tech.sync_not_set_up")


def test_every_technician_action_is_audited(kiosk: Kiosk):
    open_technician_screen(kiosk)
    kiosk.press("language")

    records = audit.recent(kiosk.service.conn, 5)

    technician = next(s for s in kiosk.service.staff.list() if s.role == "technician")
    assert [(r.action, r.actor) for r in records[:2]] == [
        ("settings.set", technician.staff_id),
        ("login", technician.staff_id),
    ]


def test_refused_credentials_are_shown_to_the_technician(kiosk: Kiosk):
    from kiosk.core.store.outbox import SyncState

    SyncState(kiosk.service.conn).set(credentials_refused=True, last_error_code="device_revoked")

    open_technician_screen(kiosk)

    assert kiosk.shows("tech.diag.sync.refused") in diagnostics(kiosk)


def test_a_crm_restored_to_an_earlier_point_is_shown_to_the_technician(kiosk: Kiosk):
    from kiosk.core.clock import from_iso
    from kiosk.core.store.outbox import SyncState
    from kiosk.core.store.requeue import LAST_REWIND

    rewind = {"at": "2026-03-01T09:00:00.000Z", "to": 120, "from": 180, "entries": 60}
    SyncState(kiosk.service.conn).set(**{LAST_REWIND: rewind | {"members": 2}})

    open_technician_screen(kiosk)

    at = kiosk.app.texts.moment(from_iso("2026-03-01T09:00:00.000Z"))
    shown = kiosk.shows("tech.diag.sync.rewound", seq=120, entries=60, at=at)
    assert shown in diagnostics(kiosk)
