"""A USB keyboard drives every screen as a finger does, and no widget is drawn over another.

The README says a USB keyboard works too: Enter (or the numeric keypad's Enter) does what
a screen's main button does, Backspace its keypad's back key, Escape its back or cancel
button, and digits and letters type as the on-screen keys do. The checks
(tests/ui/input_checks.py) run on every screen of the tour and on screens broken on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kiosk.errors import InvalidInput
from kiosk.ui.tour import seed, stops
from tests.ui.conftest import CASHIER_PIN, Kiosk
from tests.ui.input_checks import keyboard_gaps, overlaps, press_key

PHONE = "09121234567"
CARD = "A1B2C3D4"


def typed(kiosk: Kiosk, text: str) -> None:
    kiosk.window.dispatch("on_textinput", text)
    kiosk.pump(1)


def key(kiosk: Kiosk, name: str) -> None:
    press_key(kiosk.window, name)
    kiosk.pump(1)


# -- the defects ------------------------------------------------------------------------------


def test_a_usb_keyboard_signs_in_with_enter_and_corrects_with_backspace(kiosk: Kiosk):
    kiosk.press("cashier")
    kiosk.touch(kiosk.app.screen.person_button("Sara"))

    typed(kiosk, CASHIER_PIN + "9")
    key(kiosk, "backspace")
    key(kiosk, "enter")

    assert kiosk.screen == "cashier"


def test_the_numeric_keypads_enter_confirms_a_purchase_and_escape_goes_back(kiosk: Kiosk):
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD)
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    typed(kiosk, "100000")
    key(kiosk, "numpadenter")
    assert kiosk.screen == "result"
    assert kiosk.service.identify_card(CARD).balance == 60

    key(kiosk, "escape")  # the result's "done"

    assert kiosk.screen == "attract"


def test_digits_typed_during_a_lockout_do_not_spoil_the_next_pin(kiosk: Kiosk):
    kiosk.press("cashier")
    kiosk.sign_in("Sara", "0000")
    kiosk.keys("0000[ok]")
    kiosk.keys("0000[ok]")
    assert kiosk.ids("keypad").button("1").disabled  # locked out

    typed(kiosk, "1357")  # on the keyboard, while the keypad is locked
    kiosk.tick(seconds=20)
    kiosk.touch(kiosk.ids("title"))  # the cashier is still there
    kiosk.tick(seconds=10)
    kiosk.keys(CASHIER_PIN + "[ok]")

    assert kiosk.screen == "cashier"


# -- the whole app ----------------------------------------------------------------------------


def arrivals(kiosk: Kiosk, member: str) -> list[tuple[str, Callable[[], Any]]]:
    """Every screen of the tour, and the sign-in with a person picked (its keypad shown)."""
    app = kiosk.app

    def at(arrive: Callable[[Any], None]) -> Callable[[], Any]:
        def again() -> Any:
            app.go_home()
            arrive(app)
            kiosk.pump(2)
            return app.screen

        return again

    def picked(app: Any) -> None:
        dict(stops(member))["pin"](app)
        sara = next(s for s in app.service.staff.active() if s.role == "cashier")
        app.screen.pick(sara.staff_id)

    return [(name, at(arrive)) for name, arrive in stops(member)] + [("pin", at(picked))]


@pytest.fixture
def toured(kiosk_factory: Callable[..., Kiosk]) -> Callable[[str], tuple[Kiosk, str]]:
    def make(language: str) -> tuple[Kiosk, str]:
        kiosk = kiosk_factory(f'shop.default_language="{language}"', staff=False)
        member = seed(kiosk.app)

        def refused(_url: str, _code: str) -> str:
            raise InvalidInput("no CRM in this test")  # Enter on provisioning: no network

        kiosk.app.provision = refused
        return kiosk, member

    return make


@pytest.mark.parametrize("language", ["fa", "en"])
def test_every_screen_answers_a_usb_keyboard_as_a_finger(toured, language):
    kiosk, member = toured(language)

    problems = [
        gap
        for _name, again in arrivals(kiosk, member)
        for gap in keyboard_gaps(kiosk.window, again)
    ]

    assert problems == []
    assert not kiosk.app.bugs


def test_the_keyboard_check_catches_a_screen_that_ignores_escape(toured, monkeypatch):
    from kiosk.ui.screens.void import VoidScreen

    kiosk, member = toured("fa")
    monkeypatch.setattr(VoidScreen, "escape_button", "")
    again = dict(arrivals(kiosk, member))["void"]

    assert keyboard_gaps(kiosk.window, again) == ["void: escape does not press 'back'"]


def test_the_keyboard_check_catches_a_keypad_that_ignores_typing_and_enter(toured, monkeypatch):
    from kiosk.ui.screens.base import KioskScreen
    from kiosk.ui.screens.shopper import PhoneScreen

    kiosk, member = toured("fa")
    monkeypatch.setattr(PhoneScreen, "typed", KioskScreen.typed)  # types nothing
    monkeypatch.setattr(PhoneScreen, "hardware_key", KioskScreen.hardware_key)  # no keypad
    again = dict(arrivals(kiosk, member))["phone"]

    assert keyboard_gaps(kiosk.window, again) == [
        "phone: enter does not press 'ok'",
        "phone: numpadenter does not press 'ok'",
        "phone: backspace does not press 'back'",
        "phone: typing '1' shows nothing",
    ]


SIZES = [(800, 480), (1280, 800)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("language", ["fa", "en"])
def test_no_widget_overlaps_another_on_any_screen(toured, language, size):
    kiosk, member = toured(language)
    kiosk.window.size = size
    try:
        found = {}
        for name, again in arrivals(kiosk, member):
            drawn_over = overlaps(again())
            if drawn_over:
                found[name] = drawn_over
    finally:
        kiosk.window.size = (800, 480)
        kiosk.pump(2)

    assert found == {}


def void_with_six_rows(kiosk: Kiosk) -> None:
    member = kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD).member_id
    sara = next(s for s in kiosk.service.staff.list() if s.role == "cashier")
    cashier = kiosk.service.staff.login_with_pin(CASHIER_PIN, sara.staff_id)
    for n in range(6):
        kiosk.service.earn(member, 12_500_000 + n, cashier=cashier, client_txn_id=f"e{n}")
        kiosk.clock.advance(minutes=3)
    kiosk.app.counter.touched()  # the clock moved on: the cashier is still there
    kiosk.app.counter.open_shift(cashier)
    kiosk.app.go("void")
    kiosk.pump(3)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("language", ["fa", "en"])
def test_no_widget_overlaps_another_on_a_full_void_list(kiosk_factory, language, size):
    kiosk = kiosk_factory(
        f'shop.default_language="{language}"', "program.limits.max_earns_per_day=10"
    )
    kiosk.window.size = size
    try:
        void_with_six_rows(kiosk)

        assert overlaps(kiosk.app.screen) == []
    finally:
        kiosk.window.size = (800, 480)
        kiosk.pump(2)


def test_the_overlap_check_catches_rows_too_tall_for_their_list(kiosk_factory):
    kiosk = kiosk_factory("program.limits.max_earns_per_day=10")
    void_with_six_rows(kiosk)
    rows = [row for row in kiosk.ids("entries").children if getattr(row, "key", "")]

    for row in rows:
        row.height *= 2  # six rows of twice a finger: more than the list holds
    kiosk.pump(3)
    found = overlaps(kiosk.app.screen)

    assert any(row.text in line for row in rows for line in found), found
