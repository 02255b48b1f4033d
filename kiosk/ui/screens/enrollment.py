"""Enrollment: consent to the club's text (its version recorded), then name and birthday."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from kiosk.errors import InvalidDate, KioskError
from kiosk.text.dates import parse_date_input
from kiosk.text.i18n import LANGUAGES, Texts
from kiosk.text.phone import format_phone, normalize_phone
from kiosk.text.rtl import ltr
from kiosk.ui.counter import new_txn_id
from kiosk.ui.requests import EnrollRequest, ResultRequest
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.entry import DigitEntry

ZWNJ = "\u200c"  # the half-space inside Persian words (a keyboard's Shift+Space)
CONSENT_LINES = ("enroll.consent.1", "enroll.consent.2", "enroll.consent.3")


def consent_version() -> str:
    """The version of the consent text: a digest of its lines in every language.

    Changing a word of the text in either catalogue gives a new version, so the version
    recorded with a member always names the text they were shown.
    """
    digest = hashlib.sha256()
    for language in LANGUAGES:
        texts = Texts(language, persian_digits=False)
        for key in CONSENT_LINES:
            digest.update(texts.template(key).encode())
    return f"ui-{digest.hexdigest()[:12]}"


class EnrollScreen(KioskScreen[EnrollRequest | None]):
    """Consent (its version recorded), optional name and birthday, the tapped card linked."""

    enter_button = "join"
    escape_button = "cancel"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.phone = ""
        self.name_text = ""
        self.birthday: date | None = None
        self.marketing = False
        self.txn = ""

    def prepare(self, request: EnrollRequest | None) -> None:
        if request is not None:  # a new enrollment (coming back from name/birthday keeps it)
            self.phone = request.phone
            self.name_text = ""
            self.birthday = None
            self.marketing = False
            self.txn = new_txn_id("enroll")

    def refresh(self) -> None:
        app = self.app
        region = app.config_.shop.phone_region
        try:
            shown = format_phone(normalize_phone(self.phone, region), region)
        except KioskError:
            shown = self.phone
        self.ids.phone.text = app.t("enroll.phone", phone=ltr(app.texts.digits(shown)))
        for index, key in enumerate(CONSENT_LINES, start=1):
            self.ids[f"consent{index}"].text = app.t(key)
        marketing = "enroll.marketing.yes" if self.marketing else "enroll.marketing.no"
        self.ids.marketing.text = app.t(marketing)
        # A switch looks on or off, not only says so.
        self.ids.marketing.background_color = _SWITCH_ON if self.marketing else _SWITCH_OFF
        self.ids.name.text = (
            app.t("enroll.name_is", name=self.name_text) if self.name_text else app.t("enroll.name")
        )
        self.ids.birthday.text = (
            app.t("enroll.birthday_is", birthday=self.birthday)
            if self.birthday
            else app.t("enroll.birthday")
        )

    def forget(self) -> None:
        self.phone = ""
        self.name_text = ""
        self.birthday = None
        self.marketing = False

    def toggle_marketing(self) -> None:
        self.marketing = not self.marketing
        self.refresh()

    def join(self) -> None:
        app = self.app
        counter = app.counter
        try:
            result = app.service.enroll(
                self.phone,
                client_txn_id=self.txn,
                name=self.name_text or None,
                birthday=self.birthday,
                card=counter.pending_card,
                consent_marketing=self.marketing,
                consent_version=consent_version(),
                language=counter.language,
            )
        except KioskError as error:
            self.fail(error)
            return
        counter.pending_card = None
        counter.member_id = result.member_id
        app.recorded()
        app.signal(ok=True)
        app.go(ResultRequest(kind="enroll", points=result.bonus_points, balance=result.balance))


_SWITCH_ON = (0.05, 0.42, 0.18, 1)  # the success green
_SWITCH_OFF = (0.55, 0.57, 0.6, 1)  # a secondary button's grey

PERSIAN_LETTERS = [*"ضصثقفغعهخحجچشسیبلاتنمکگظطزرذدپو", "ژ", "آ", "ئ"]
LATIN_LETTERS = list("qwertyuiopasdfghjklzxcvbnm")


class NameScreen(KioskScreen[None]):
    """An on-screen keyboard of the shopper's alphabet (TextInput cannot shape Persian)."""

    enter_button = "done"
    escape_button = "cancel"

    max_length = 40

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = ""
        self.layout = ""

    def prepare(self, request: None) -> None:
        self.text = self.app.manager.get_screen("enroll").name_text if self.app.manager else ""

    def refresh(self) -> None:
        app = self.app
        layout = app.counter.language
        keyboard = self.ids.keyboard
        if layout != self.layout:
            letters = PERSIAN_LETTERS if layout == "fa" else LATIN_LETTERS
            keyboard.keys = [*letters, "space", "back"]
            self.layout = layout
        keyboard.labels = [
            app.t(f"keypad.{key}") if key in ("space", "back") else app.show(key)
            for key in keyboard.keys
        ]
        self.ids.display.text = app.show(self.text) if self.text else ""

    def forget(self) -> None:
        self.text = ""

    def key(self, key: str) -> None:
        if key == "back":
            self.text = self.text[:-1]
        elif key == "space":
            if self.text and not self.text.endswith(" "):
                self.text += " "
        elif len(self.text) < self.max_length:
            self.text += key
        self.ids.display.text = self.app.show(self.text) if self.text else ""

    def typed(self, text: str) -> None:
        # Letters from a physical keyboard, in whatever layout it types (as the keys do).
        for char in text:
            if char == " ":
                self.key("space")
            elif char.isalpha() or char == ZWNJ:
                self.key(char)

    def hardware_key(self, key: str) -> None:
        if key == "backspace":
            self.press_button(self.ids.keyboard.button("back"))
        else:
            super().hardware_key(key)

    def done(self) -> None:
        enroll = self.app.manager.get_screen("enroll") if self.app.manager else None
        if enroll is not None:
            enroll.name_text = self.text.strip()
        self.app.go("enroll")


class BirthdayScreen(DigitEntry[None]):
    """Birthday as year/month/day: Jalali in Persian, Gregorian in English."""

    enter_button = "done"
    escape_button = "cancel"

    max_digits = 8

    def prepare(self, request: None) -> None:
        self.digits = ""

    def refresh(self) -> None:
        self.ids.hint.text = self.app.t("birthday.hint")
        super().refresh()

    def show_digits(self) -> None:
        d = self.digits
        parts = [d[:4], d[4:6], d[6:8]]
        text = "/".join(part for part in parts if part)
        self.ids.display.text = self.app.show(ltr(self.app.texts.digits(text)))

    def done(self) -> None:
        self.submit()

    def submit(self) -> None:
        d = self.digits
        try:
            if len(d) != 8:
                raise InvalidDate(reason="year, month and day")
            birthday = parse_date_input(f"{d[:4]}-{d[4:6]}-{d[6:]}")
            if birthday > self.app.service.local_today(self.app.clock()):
                raise InvalidDate(reason="in the future")
        except KioskError as error:
            self.fail(error)
            return
        enroll = self.app.manager.get_screen("enroll") if self.app.manager else None
        if enroll is not None:
            enroll.birthday = birthday
        self.app.go("enroll")
