"""Typing the code the hub sent to the phone: before a card is linked or a member enrolled.

docs/sync-protocol.md, "Verification codes". The screen that asks for the code (the phone
keypad, the enrollment) calls `start`: the hub is asked to send a code and this screen
shows "we sent a code to 0912 *** 4567", a keypad for the 5 digits, the tries left, and
"send again" after its countdown. A hub out of reach (at the start, a resend or a check)
hands over to a cashier's approval (PIN or staff card), as kiosk/core/verification.py
records it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kiosk.core.verification import (
    CODE_DIGITS,
    CodeDead,
    CounterVerification,
    Proven,
    Sent,
    Unreachable,
    Verified,
    Wait,
    WrongCode,
    masked_national,
)
from kiosk.errors import KioskError
from kiosk.text.i18n import N_
from kiosk.text.rtl import ltr
from kiosk.ui.requests import PinPurpose, PinRequest, VerifyRequest
from kiosk.ui.screens.entry import DigitEntry

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

_SLOT = "_"
_HOURLY = ("phone_hourly", "device_hourly")


def counter_verification(app: KioskApp) -> CounterVerification:
    """The kiosk's verification rules, on its service and configuration."""
    return CounterVerification(app.service, app.service.verifier, app.config_.verification)


def start(app: KioskApp, request: VerifyRequest) -> None:
    """Ask the hub for a code and show this screen; a cashier approves when it cannot."""
    try:
        answer = counter_verification(app).send(
            request.phone, request.purpose, request.card, app.counter.language
        )
    except KioskError as error:
        app.screen.fail(error)
        return
    if isinstance(answer, Sent):
        app.go(replace(request, sent=answer))
    elif isinstance(answer, Wait):
        app.screen.say(_wait_key(answer), seconds=answer.retry_after)
    else:
        approve_instead(app, request)


def approve_instead(app: KioskApp, request: VerifyRequest) -> None:
    """The hub cannot be reached: the cashier's PIN or staff card vouches for the shopper."""

    def approved(actor: Any) -> None:
        try:
            approval = counter_verification(app).approval(actor)
        except KioskError as error:
            app.screen.fail(error)
            return
        request.then(approval)

    app.go(PinRequest(PinPurpose.APPROVE, then=approved, back=request.back))


def _wait_key(wait: Wait) -> str:
    return N_("error.verify.limit") if wait.reason in _HOURLY else N_("error.verify.wait")


class VerifyScreen(DigitEntry[VerifyRequest]):
    """The 5 digits of the code, the tries left, and a resend after its countdown."""

    escape_button = "back"

    max_digits = CODE_DIGITS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request: VerifyRequest | None = None
        self.verification_id = 0
        self.attempts_left = 0
        self.resend_at: datetime | None = None
        self.expires_at: datetime | None = None

    def prepare(self, request: VerifyRequest) -> None:
        self.request = request
        self.digits = ""
        self._sent(request.sent)

    def _sent(self, sent: Sent | None) -> None:
        if sent is None:
            return
        self.verification_id = sent.verification_id
        self.attempts_left = sent.attempts_left
        now = self.app.clock()
        self.resend_at = now + timedelta(seconds=sent.resend_after)
        self.expires_at = now + timedelta(seconds=sent.expires_in)

    def refresh(self) -> None:
        app = self.app
        request = self.request
        if request is None:
            return
        try:
            verification = counter_verification(app)
            phone = masked_national(
                verification.phone(request.phone), app.config_.shop.phone_region
            )
        except KioskError:
            phone = ""
        self.ids.sent_to.text = app.t("verify.sent_to", phone=ltr(app.texts.digits(phone)))
        self.ids.attempts.text = app.t("verify.attempts", attempts=self.attempts_left)
        super().refresh()
        self.tick()

    def forget(self) -> None:
        self.digits = ""
        self.request = None
        self.resend_at = None
        self.expires_at = None

    def waiting(self) -> bool:
        """While the code lives the shopper may be waiting for the SMS: the idle timeout
        (30 s) must not forget them before a resend (60 s) is even allowed."""
        return self.expires_at is not None and self.app.clock() < self.expires_at

    def tick(self) -> None:
        """The resend button's countdown."""
        app = self.app
        button = self.ids.resend
        left = 0.0
        if self.resend_at is not None:
            left = (self.resend_at - app.clock()).total_seconds()
        if left > 0:
            button.disabled = True
            button.text = app.t("verify.resend_in", seconds=math.ceil(left))
        else:
            button.disabled = False
            button.text = app.t("verify.resend")

    def show_digits(self) -> None:
        shown = " ".join(self.digits.ljust(CODE_DIGITS, _SLOT))
        self.ids.display.text = self.app.show(ltr(self.app.texts.digits(shown)))

    def submit(self) -> None:
        app = self.app
        request = self.request
        if request is None:
            return
        if len(self.digits) != CODE_DIGITS:
            self.say("error.verify.short")
            return
        answer = counter_verification(app).check(self.verification_id, self.digits)
        self.digits = ""
        self.show_digits()
        if isinstance(answer, Proven):
            self._done(request, answer)
        elif isinstance(answer, WrongCode):
            self.attempts_left = answer.attempts_left
            self.ids.attempts.text = app.t("verify.attempts", attempts=self.attempts_left)
            app.signal(ok=False)
            app.sounds.play("error")
            if answer.attempts_left:
                self.say("error.verify.wrong")
            else:
                self.say("error.verify.exhausted")
        elif isinstance(answer, CodeDead):
            self.attempts_left = 0
            self.ids.attempts.text = app.t("verify.attempts", attempts=0)
            app.signal(ok=False)
            if answer.reason == "expired":
                self.say("error.verify.expired")
            else:
                self.say("error.verify.dead")
        elif isinstance(answer, Unreachable):
            approve_instead(app, request)

    def _done(self, request: VerifyRequest, verified: Verified) -> None:
        self.app.signal(ok=True)
        request.then(verified)

    def resend(self) -> None:
        """A new code (the old one dies); the countdown starts again."""
        app = self.app
        request = self.request
        if request is None:
            return
        try:
            answer = counter_verification(app).send(
                request.phone, request.purpose, request.card, app.counter.language
            )
        except KioskError as error:
            self.fail(error)
            return
        if isinstance(answer, Sent):
            self._sent(answer)
            self.digits = ""
            self.say("verify.sent_again")
            self.refresh()
        elif isinstance(answer, Wait):
            self.resend_at = app.clock() + timedelta(seconds=answer.retry_after)
            self.say(_wait_key(answer), seconds=answer.retry_after)
            self.tick()
        else:
            approve_instead(app, request)

    def back(self) -> None:
        """Cancel: back where the code was asked for (the phone keypad or the enrollment)."""
        request = self.request
        self.app.go(request.back if request is not None else "attract")
