"""The on-screen letter keyboards: laid out as the keyboards shoppers and technicians know.

The name entry at enrollment has the standard Persian layout (ISIRI 9147, as printed on
Iranian keyboards) with a half-space key, and QWERTY with a one-shot shift in English; the
technician's provisioning screen has QWERTY under a row of digits. Rows are read from where
the keys are drawn, as a shopper sees them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kiosk.text.rtl import visual
from tests.ui.conftest import Kiosk
from tests.ui.test_technician import open_technician_screen

PHONE = "09121234567"
ZWNJ = "\u200c"
# ISIRI 9147's letter rows, left to right as printed (ج and چ on the keys right of the
# first row's ح, پ and و after د on the bottom row).
ISIRI_ROWS = ["ضصثقفغعهخحجچ", "شسیبلاتنمکگ", "ظطزرذدپو"]
QWERTY_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
SIZES = [(800, 480), (1280, 800)]
FINGER = 44  # px: the smallest key a fingertip hits without touching its neighbours


def drawn_rows(keyboard: Any) -> list[list[str]]:
    """The keyboard's keys row by row, top to bottom, each row left to right on screen."""
    rows: dict[int, list[tuple[float, str]]] = {}
    for button in keyboard.children:
        x, y = button.to_window(button.x, button.y)
        rows.setdefault(round(y), []).append((x, button.key))
    return [[key for _x, key in sorted(rows[y])] for y in sorted(rows, reverse=True)]


def open_name_entry(kiosk: Kiosk) -> None:
    kiosk.press("phone")
    kiosk.keys(PHONE + "[ok]")
    assert kiosk.screen == "enroll"
    kiosk.press("name")
    assert kiosk.screen == "name"


def english(kiosk_factory: Callable[..., Kiosk]) -> Kiosk:
    return kiosk_factory('shop.default_language="en"')


def test_the_persian_name_keyboard_has_the_standard_isiri_9147_rows(kiosk: Kiosk):
    open_name_entry(kiosk)

    rows = drawn_rows(kiosk.ids("keyboard"))

    assert rows[0] == list(ISIRI_ROWS[0])
    assert rows[0][-2:] == ["ج", "چ"]  # at the first row's end, not starting a row
    assert rows[1] == list(ISIRI_ROWS[1])
    assert rows[2][: len(ISIRI_ROWS[2])] == list(ISIRI_ROWS[2])
    assert {"ژ", "آ", "ئ", "zwnj", "space", "back"} <= {key for row in rows for key in row}


def test_the_english_name_keyboard_is_qwerty_with_a_shift_key(kiosk_factory):
    kiosk = english(kiosk_factory)
    open_name_entry(kiosk)

    rows = drawn_rows(kiosk.ids("keyboard"))

    assert rows[0] == list(QWERTY_ROWS[0])
    assert rows[1] == list(QWERTY_ROWS[1])
    assert rows[2] == ["shift", *QWERTY_ROWS[2]]


def test_shift_types_one_capital_then_the_keys_are_lower_case_again(kiosk_factory):
    kiosk = english(kiosk_factory)
    open_name_entry(kiosk)
    keyboard = kiosk.ids("keyboard")

    kiosk.keys("[shift]", "keyboard")
    assert keyboard.button("s").text == "S"  # the keys show what they will type

    kiosk.keys("sara[space][shift]karimi", "keyboard")

    assert kiosk.text("display") == "Sara Karimi"
    assert keyboard.button("s").text == "s"
    kiosk.press("done")
    assert kiosk.app.screen.name_text == "Sara Karimi"


def test_shift_pressed_twice_types_lower_case(kiosk_factory):
    kiosk = english(kiosk_factory)
    open_name_entry(kiosk)

    kiosk.keys("[shift][shift]sara", "keyboard")

    assert kiosk.text("display") == "sara"


def test_the_half_space_key_types_a_zero_width_non_joiner_in_logical_order(kiosk: Kiosk):
    open_name_entry(kiosk)

    kiosk.keys("می[zwnj]خواهم", "keyboard")

    screen = kiosk.app.screen
    assert screen.text == "می\u200cخواهم"
    assert kiosk.text("display") == visual("می\u200cخواهم", True)
    assert kiosk.ids("keyboard").button("zwnj").text == kiosk.shows("keypad.zwnj")
    kiosk.press("done")
    assert kiosk.app.screen.name_text == "می\u200cخواهم"


def test_a_half_space_never_starts_a_name_nor_doubles(kiosk: Kiosk):
    open_name_entry(kiosk)

    kiosk.keys("[zwnj]می[zwnj][zwnj]خواهم[zwnj]", "keyboard")
    kiosk.press("done")

    assert kiosk.app.screen.name_text == "می\u200cخواهم"


def test_a_usb_keyboard_types_capitals_and_half_spaces_into_the_name(kiosk_factory):
    kiosk = english(kiosk_factory)
    open_name_entry(kiosk)

    kiosk.window.dispatch("on_textinput", "Sara K")
    kiosk.pump(1)
    assert kiosk.text("display") == "Sara K"

    persian = kiosk_factory()
    open_name_entry(persian)
    persian.window.dispatch("on_textinput", "می" + ZWNJ + "خواهم")
    persian.pump(1)
    assert persian.app.screen.text == "می\u200cخواهم"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("language", ["fa", "en"])
def test_every_name_key_is_a_finger_wide_and_tall(kiosk_factory, language, size):
    kiosk = kiosk_factory(f'shop.default_language="{language}"')
    kiosk.window.size = size
    try:
        open_name_entry(kiosk)
        kiosk.pump(2)
        small = [
            f"{b.key}: {b.width:.0f}x{b.height:.0f}"
            for b in kiosk.ids("keyboard").children
            if min(b.size) < FINGER
        ]
    finally:
        kiosk.window.size = (800, 480)
        kiosk.pump(2)

    assert small == []


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_provisioning_keyboard_is_qwerty_under_the_digits_and_a_finger_big(kiosk, size):
    kiosk.window.size = size
    try:
        open_technician_screen(kiosk)
        kiosk.press("provisioning")
        kiosk.pump(2)
        keyboard = kiosk.ids("keyboard")
        rows = drawn_rows(keyboard)
        small = [b.key for b in keyboard.children if min(b.size) < FINGER]
    finally:
        kiosk.window.size = (800, 480)
        kiosk.pump(2)

    assert rows[0][:10] == list("1234567890")
    for row, letters in zip(rows[1:], QWERTY_ROWS, strict=True):
        assert row[: len(letters)] == list(letters)
    assert small == []
