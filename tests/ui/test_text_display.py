"""What a label draws: PIN dots, centring after a language switch, shortening, long amounts."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.core.store.staff import CLI
from kiosk.text.rtl import visual
from kiosk.ui.requests import ResultRequest
from tests.ui.conftest import CASHIER_PIN, TECHNICIAN_PIN, Kiosk
from tests.ui.screen_checks import missing_glyphs, shown_line

CARD = "A1B2C3D4"


def ink(label: Any) -> tuple[float, float] | None:
    """Where `label` has drawn something: (left, right) in the label's own pixels."""
    label.texture_update()
    texture = label.texture
    if texture is None:
        return None
    width, height = texture.size
    pixels = texture.pixels
    inked = [x for x in range(width) if any(pixels[(y * width + x) * 4 + 3] for y in range(height))]
    if not inked:
        return None
    # The texture spans the label's width (text_size is its size): its columns are the label's.
    return inked[0], inked[-1] + 1


def is_centred(label: Any) -> bool:
    drawn = ink(label)
    assert drawn is not None, f"{label.text!r} draws nothing"
    left, right = drawn[0], float(label.width) - drawn[1]
    return abs(left - right) <= 0.05 * float(label.width)


def test_each_pin_digit_typed_shows_a_dot(kiosk: Kiosk):
    kiosk.press("cashier")
    kiosk.touch(kiosk.app.screen.person_button("Sara"))

    kiosk.keys("135")

    display = kiosk.ids("display")
    assert len(display.text) == 3
    assert missing_glyphs(display) == []
    assert ink(display) is not None  # the cashier sees that the digits were taken
    assert CASHIER_PIN[:3] not in display.text


def test_the_technicians_new_pin_shows_a_dot_per_digit(kiosk: Kiosk):
    for _ in range(5):  # the technician's way in: five taps on the shop's name
        kiosk.press("shop")
    kiosk.sign_in("Tara", TECHNICIAN_PIN)
    kiosk.press("staff")
    kiosk.press("add")
    assert kiosk.screen == "new_pin"

    kiosk.keys("24")

    assert missing_glyphs(kiosk.ids("display")) == []
    assert ink(kiosk.ids("display")) is not None


@pytest.mark.parametrize("first", ["fa", "en"])
def test_centred_texts_stay_centred_after_switching_language_and_back(kiosk_factory, first):
    kiosk = kiosk_factory(f'shop.default_language="{first}"')

    kiosk.press("language")
    kiosk.press("language")

    assert is_centred(kiosk.ids("promise"))  # the attract screen's headline
    kiosk.app.go(ResultRequest(kind="earn", points=125, balance=540))
    kiosk.pump(2)
    assert is_centred(kiosk.ids("points"))  # "+125 points"


def test_text_follows_the_reading_side_after_switching_language(kiosk_factory):
    kiosk = kiosk_factory('shop.default_language="en"')
    kiosk.press("phone")
    hint = kiosk.ids("hint")  # a plain label: aligned where its language starts
    english = ink(hint)
    kiosk.press("back")

    kiosk.press("language")
    kiosk.press("phone")

    persian = ink(hint)
    assert english is not None and english[0] < 0.05 * hint.width
    assert persian is not None and persian[1] > 0.95 * hint.width


LONG_NAMES = {
    "fa": "عبدالرحمن محمدحسین‌زاده قاضی‌طباطبایی اصفهانی",
    "en": "Abdolrahman Mohammadhossein-Zadeh Ghazi-Tabatabaei",
}


@pytest.mark.parametrize("language", ["fa", "en"])
def test_a_shortened_pin_hint_keeps_the_start_of_its_line(kiosk_factory, language):
    kiosk = kiosk_factory(f'shop.default_language="{language}"')
    kiosk.service.staff.add(name=LONG_NAMES[language], role="cashier", pin="5820", actor=CLI)
    kiosk.press("cashier")

    kiosk.touch(kiosk.app.screen.person_button(LONG_NAMES[language]))

    hint = kiosk.ids("hint")
    shown = shown_line(hint)
    assert shown != hint.text, "the hint is long enough to be shortened"
    if language == "fa":  # drawn right to left: the line starts at the right-hand end
        start = visual("رمز", True)
        assert shown.endswith(start) and hint.text.endswith(start)
        assert shown.startswith("...")
    else:
        assert shown.startswith("Abdolrahman")
        assert shown.endswith("...")


@pytest.mark.parametrize("language", ["fa", "en"])
def test_a_long_amount_is_shown_whole(kiosk_factory, language):
    kiosk = kiosk_factory(f'shop.default_language="{language}"')
    kiosk.service.enroll("09121234567", client_txn_id="setup-enroll", card=CARD)
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    assert kiosk.screen == "amount"

    kiosk.keys("9" * 16)

    display = kiosk.ids("display")
    shown = shown_line(display)
    assert shown == display.text  # nothing cut
    assert shown.count(kiosk.app.texts.digits("9")) == 16
    drawn = ink(display)
    assert drawn is not None and drawn[0] >= 0 and drawn[1] <= display.width
    assert display.font_size >= 0.5 * kiosk.app.u * display.font_scale  # still readable
