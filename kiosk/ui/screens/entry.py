"""A screen with a keypad that types digits into a display (phone, birthday, PIN, amount)."""

from __future__ import annotations

from typing import Any

from kiosk.text.digits import to_ascii_digits
from kiosk.ui.screens.base import KioskScreen, RequestT

# A PIN shows one dot a digit typed: U+2022 BULLET, which the kiosk font (Vazirmatn) has.
# Its BLACK CIRCLE (U+25CF) it has not: those dots were drawn as nothing.
HIDDEN_DIGIT = "\u2022"


class DigitEntry(KioskScreen[RequestT]):
    """A screen whose keypad types digits into a display."""

    max_digits = 14

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.digits = ""

    def refresh(self) -> None:
        app = self.app
        labels = {"back": "keypad.back", "ok": "keypad.ok", "clear": "keypad.clear"}
        keypad = self.ids.keypad
        keypad.labels = [
            app.t(labels[key]) if key in labels else app.show(app.texts.digits(key))
            for key in keypad.keys
        ]
        self.show_digits()

    def forget(self) -> None:
        self.digits = ""

    def key(self, key: str) -> None:
        if key == "back":
            self.digits = self.digits[:-1]
        elif key == "clear":
            self.digits = ""
        elif key == "ok":
            self.submit()
            return
        elif key.isdigit() and len(self.digits) < self.max_digits:
            self.digits += key
        self.say()
        self.show_digits()

    def typed(self, text: str) -> None:
        if not self.ids.keypad.enabled:
            return  # locked out: what is typed now must not reach the next attempt
        for char in to_ascii_digits(text):
            if char.isdigit():
                self.key(char)
            elif char in "\r\n":
                self.submit()

    def hardware_key(self, key: str) -> None:
        # Enter and Backspace are the keypad's OK and back keys, where it has them.
        keypad = self.ids.keypad
        pad_key = {"enter": "ok", "backspace": "back"}.get(key, "")
        if pad_key in keypad.keys:
            self.press_button(keypad.button(pad_key))
        else:
            super().hardware_key(key)

    def show_digits(self) -> None:
        """Show what was typed (subclasses format it)."""

    def submit(self) -> None:
        """The OK key."""
