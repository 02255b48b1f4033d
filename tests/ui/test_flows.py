"""Whole counter flows, by touches on the real widgets and taps on the simulated reader."""

from __future__ import annotations

from tests.ui.conftest import CASHIER_PIN, Kiosk

PHONE = "09121234567"
CARD = "A1B2C3D4"


def test_enroll_by_phone_links_the_tapped_card_and_shows_the_bonus(kiosk: Kiosk):
    kiosk.tap_card(CARD)
    assert kiosk.screen == "phone"
    assert kiosk.text("hint") == kiosk.shows("phone.new_card")

    kiosk.keys(PHONE + "[ok]")
    assert kiosk.screen == "enroll"
    kiosk.press("join")

    assert kiosk.screen == "result"
    assert kiosk.text("points") == kiosk.shows("result.enroll", points=50)
    member = kiosk.service.identify_card(CARD)
    assert member.balance == 50
    assert member.person is not None and member.person.phone == "+989121234567"
