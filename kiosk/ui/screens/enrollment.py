"""Enrollment: consent to the club's text (its version recorded), then name and birthday,
and who referred the new member (a referral code or phone, kiosk/core/referral.py)."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from kiosk.core import referral
from kiosk.core.verification import ENROLL, Verified
from kiosk.errors import InvalidDate, KioskError, UnknownMember
from kiosk.text.dates import parse_date_input
from kiosk.text.i18n import LANGUAGES, N_, Texts
from kiosk.text.phone import format_phone, normalize_phone
from kiosk.text.rtl import ltr
from kiosk.ui.counter import new_txn_id
from kiosk.ui.requests import EnrollRequest, ResultRequest, VerifyRequest
from kiosk.ui.screens import verify
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
        self.referrer_id: str | None = None  # the member who referred them, once found
        self.referrer_shown = ""  # the code or phone typed, as shown on the button

    def prepare(self, request: EnrollRequest | None) -> None:
        if request is not None:  # a new enrollment (coming back from name/birthday keeps it)
            self.phone = request.phone
            self.name_text = ""
            self.birthday = None
            self.marketing = False
            self.referrer_id = None
            self.referrer_shown = ""
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
        colours = app.theme.colours
        switch = self.ids.marketing
        switch.background_color = colours.success if self.marketing else colours.secondary
        switch.color = colours.on_success if self.marketing else colours.on_secondary
        self.ids.name.text = (
            app.t("enroll.name_is", name=self.name_text) if self.name_text else app.t("enroll.name")
        )
        self.ids.birthday.text = (
            app.t("enroll.birthday_is", birthday=self.birthday)
            if self.birthday
            else app.t("enroll.birthday")
        )
        # Asked only while the chain's program pays referrals (docs/program.md, "Referrals").
        rule = referral.rule_for(app.service.conn, referral.config_rule(app.config_))
        button = self.ids.referral
        button.disabled = not rule.enabled
        button.opacity = 1 if rule.enabled else 0
        button.text = (
            app.t("enroll.referral_is", code=ltr(app.texts.digits(self.referrer_shown)))
            if self.referrer_id
            else app.t("enroll.referral")
        )

    def forget(self) -> None:
        self.phone = ""
        self.name_text = ""
        self.birthday = None
        self.marketing = False
        self.referrer_id = None
        self.referrer_shown = ""

    def toggle_marketing(self) -> None:
        self.marketing = not self.marketing
        self.refresh()

    def join(self) -> None:
        app = self.app
        if verify.counter_verification(app).required(ENROLL):
            # The number may not be the shopper's (an enrollment bonus for each): a code first.
            card = app.counter.pending_card
            request = VerifyRequest(self.phone, ENROLL, card, then=self._join, back="enroll")
            verify.start(app, request)
            return
        self._join(None)

    def _join(self, verified: Verified | None) -> None:
        """Enroll, with the proof or approval it was verified with (None: not asked)."""
        app = self.app
        counter = app.counter
        try:
            result = verify.counter_verification(app).enroll(
                self.phone,
                verified,
                client_txn_id=self.txn,
                name=self.name_text or None,
                birthday=self.birthday,
                card=counter.pending_card,
                consent_marketing=self.marketing,
                consent_version=consent_version(),
                language=counter.language,
                referrer=self.referrer_id,
            )
        except KioskError as error:
            app.screen.fail(error)  # the code's screen, or the enrollment's
            return
        counter.pending_card = None
        counter.member_id = result.member_id
        app.recorded()
        app.signal(ok=True)
        app.go(ResultRequest(kind="enroll", points=result.bonus_points, balance=result.balance))


# The letter keyboards, row by row, left to right as printed. Persian: the standard layout
# (ISIRI 9147, on Iranian keyboards), then ژ آ ئ (Shift on a keyboard) where its bottom row
# has punctuation, which a name needs not; the half-space key is its Shift+Space. English:
# QWERTY, with a shift key for the next letter's capital.
PERSIAN_ROWS = (
    tuple("ضصثقفغعهخحجچ"),
    tuple("شسیبلاتنمکگ"),
    (*"ظطزرذدپو", "ژ", "آ", "ئ"),
    ("zwnj", "space", "back"),
)
LATIN_ROWS = (
    tuple("qwertyuiop"),
    tuple("asdfghjkl"),
    ("shift", *"zxcvbnm"),
    ("space", "back"),
)
# Keys wider than a letter, in letters.
KEY_WIDTHS = {"zwnj": 3, "space": 5, "back": 3, "shift": 2}
_WORD_KEYS = ("zwnj", "space", "back", "shift")  # keys labelled by a text, not a letter


class NameScreen(KioskScreen[None]):
    """An on-screen keyboard of the shopper's alphabet (TextInput cannot shape Persian).

    Shift capitalises the next letter only (a one-shot shift, not a caps lock): a name
    has a capital at the start of each word. The text is kept in logical order and shaped
    only to be shown.
    """

    enter_button = "done"
    escape_button = "cancel"

    max_length = 40

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = ""
        self.layout = ""
        self.shift = False

    def prepare(self, request: None) -> None:
        self.text = self.app.manager.get_screen("enroll").name_text if self.app.manager else ""
        self.shift = False

    def refresh(self) -> None:
        app = self.app
        layout = app.counter.language
        keyboard = self.ids.keyboard
        if layout != self.layout:
            keyboard.widths = KEY_WIDTHS
            keyboard.set_rows(PERSIAN_ROWS if layout == "fa" else LATIN_ROWS)
            self.layout = layout
        self.relabel()
        self.ids.display.text = app.show(self.text) if self.text else ""

    def relabel(self) -> None:
        app = self.app
        keyboard = self.ids.keyboard
        keyboard.labels = [
            app.t(f"keypad.{key}")
            if key in _WORD_KEYS
            else app.show(key.upper() if self.shift else key)
            for key in keyboard.keys
        ]
        if "shift" in keyboard.keys:
            colours = app.theme.colours  # held for the next letter: the pressed shade
            shift = colours.primary_down if self.shift else colours.primary
            keyboard.button("shift").background_color = shift

    def forget(self) -> None:
        self.text = ""
        self.shift = False

    def key(self, key: str) -> None:
        if key == "shift":
            self.shift = not self.shift
        else:
            if key == "back":
                self.text = self.text[:-1]
            elif key == "space":
                self.add(" ")
            elif key == "zwnj":
                self.add(ZWNJ)
            else:
                self.add(key.upper() if self.shift else key)
            self.shift = False  # for the next key only
        self.relabel()
        self.ids.display.text = self.app.show(self.text) if self.text else ""

    def add(self, char: str) -> None:
        """Add `char` to the name: a space or half-space only after a letter, never two."""
        if char in (" ", ZWNJ):
            if not self.text:
                return
            if self.text.endswith((" ", ZWNJ)):  # the gap pressed last is the one meant
                self.text = self.text[:-1]
        if len(self.text) < self.max_length:
            self.text += char

    def typed(self, text: str) -> None:
        # Letters from a physical keyboard, in whatever layout and case it types.
        for char in text:
            if char in (" ", ZWNJ) or char.isalpha():
                self.add(char)
        self.ids.display.text = self.app.show(self.text) if self.text else ""

    def hardware_key(self, key: str) -> None:
        if key == "backspace":
            self.press_button(self.ids.keyboard.button("back"))
        else:
            super().hardware_key(key)

    def done(self) -> None:
        enroll = self.app.manager.get_screen("enroll") if self.app.manager else None
        if enroll is not None:
            enroll.name_text = self.text.strip(" " + ZWNJ)
        self.app.go("enroll")


class BirthdayScreen(DigitEntry[None]):
    """Birthday as year/month/day: Jalali in Persian, Gregorian in English."""

    enter_button = "done"
    escape_button = "cancel"
    title_key = N_("birthday.title")

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


class ReferralScreen(BirthdayScreen):
    """Who referred the new member: their referral code (8 digits) or phone, on the
    birthday's keypad and layout; found here or by the hub's lookup, else refused."""

    title_key = N_("referral.title")
    max_digits = 11  # a phone: 09121234567

    def refresh(self) -> None:
        DigitEntry.refresh(self)
        self.ids.hint.text = self.app.t("referral.hint")

    def show_digits(self) -> None:
        self.ids.display.text = self.app.show(ltr(self.app.texts.digits(self.digits)))

    def submit(self) -> None:
        app = self.app
        enroll = app.manager.get_screen("enroll") if app.manager else None
        if enroll is None:
            return
        if not self.digits:  # nothing typed: no referrer
            enroll.referrer_id = None
            enroll.referrer_shown = ""
            app.go("enroll")
            return
        if referral.parse_code(self.digits) is None and _same_phone(app, self.digits, enroll.phone):
            self.refuse("error.referral.self")
            return
        try:
            found = app.service.find_referrer(self.digits)
        except UnknownMember:  # said of a referrer: not "this number or card"
            self.refuse("error.referral.unknown")
            return
        except KioskError as error:
            self.fail(error)
            return
        code = referral.parse_code(self.digits)
        enroll.referrer_id = found.member_id
        enroll.referrer_shown = referral.shown(code) if code else self.digits
        app.go("enroll")

    def refuse(self, key: str) -> None:
        """Say why the referrer typed is not taken, with the refusal's tone."""
        self.app.signal(ok=False)
        self.app.sounds.play("error")
        self.say(key)


def _same_phone(app: Any, typed: str, phone: str) -> bool:
    region = app.config_.shop.phone_region
    try:
        return normalize_phone(typed, region) == normalize_phone(phone, region)
    except KioskError:
        return False
