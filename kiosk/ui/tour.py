"""A tour of every screen with plausible data: for screenshots and for the layout tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.core.clock import ManualClock
from kiosk.core.store.staff import CLI
from kiosk.core.verification import LINK_CARD, Sent
from kiosk.ui.requests import (
    BonusLine,
    EnrollRequest,
    NewPinRequest,
    PinPurpose,
    PinRequest,
    RedeemRequest,
    ResultRequest,
    TechRequest,
    VerifyRequest,
)
from kiosk.ui.screens.enrollment import consent_version

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

DEMO_PHONE = "09121234567"
DEMO_CARD = "5A17C0DE"
CASHIER_PIN = "1357"
TECHNICIAN_PIN = "9753"
BIRTHDAY = BonusLine("birthday", 100)


def seed(app: KioskApp) -> str:
    """Staff, one member with some history; returns the member's id."""
    service = app.service
    sara = service.staff.add(name="Sara", role="cashier", pin=CASHIER_PIN, actor=CLI)
    service.staff.add(name="Tara", role="technician", pin=TECHNICIAN_PIN, actor=CLI)
    name = "سارا کریمی" if app.counter.language == "fa" else "Sara Karimi"
    enrolled = service.enroll(
        DEMO_PHONE,
        client_txn_id="tour-enroll",
        card=DEMO_CARD,
        name=name,
        consent_marketing=True,
        consent_version=consent_version(),
    )
    cashier = service.staff.login_with_pin(CASHIER_PIN, sara.staff_id)
    service.earn(enrolled.member_id, 2_450_000, cashier=cashier, client_txn_id="tour-earn")
    service.adjust(enrolled.member_id, 120, reason="welcome", actor=CLI, client_txn_id="tour-adj")
    if isinstance(service.clock, ManualClock):
        # The purchase was a while ago: the tour's amount screen is the one a cashier
        # normally sees, not "too soon after the last purchase" (program.limits).
        gap = service.program.limits.min_minutes_between_earns
        service.clock.advance(minutes=gap + 1)
        app.counter.touched()  # the minutes passed are no idle shopper
    return enrolled.member_id


# Stops that show a refusal on purpose (an error in the screen's message line); none now.
MEANT_REFUSALS: frozenset[str] = frozenset()


def refusals(app: KioskApp) -> list[str]:
    """The error lines the screen shows now (messages in the error style, with text)."""
    from kiosk.ui.widgets import Message

    return [
        widget.text
        for widget in app.screen.walk(restrict=True)
        if isinstance(widget, Message) and widget.text and widget.tone == "error"
    ]


def _staff_id(app: KioskApp, role: str) -> str:
    """The seeded account of `role` (sign-in names the person before the PIN)."""
    return next(s.staff_id for s in app.service.staff.active() if s.role == role)


def _typed(app: KioskApp, keys: str) -> None:
    for key in keys:
        app.screen.key(key)


def _member(app: KioskApp, member_id: str) -> None:
    app.counter.member_id = member_id


def stops(member_id: str) -> list[tuple[str, Callable[[KioskApp], None]]]:
    """(screen name, how to get there) for every screen, in the order a day sees them."""

    def attract(app: KioskApp) -> None:
        app.go_home()

    def phone(app: KioskApp) -> None:
        app.go("phone")
        _typed(app, "0912123")

    def verify(app: KioskApp) -> None:
        sent = Sent(verification_id=1, resend_after=42, attempts_left=4, expires_in=300)
        request = VerifyRequest(
            DEMO_PHONE, LINK_CARD, "0A1B2C3D", then=lambda _v: None, back="phone", sent=sent
        )
        app.go(request)
        _typed(app, "123")

    def enroll(app: KioskApp) -> None:
        app.go(EnrollRequest(phone="09351234567"))

    def name(app: KioskApp) -> None:
        app.go("name")
        _typed(app, ["سارا", "Sara"][app.counter.language == "en"])

    def birthday(app: KioskApp) -> None:
        app.go("birthday")
        _typed(app, "13700512" if app.counter.language == "fa" else "19910803")

    def referral(app: KioskApp) -> None:
        app.go(EnrollRequest(phone="09351234567"))
        app.go("referral")
        _typed(app, "48213657")  # a friend's referral code

    def member(app: KioskApp) -> None:
        _member(app, member_id)
        app.go("member")

    def pin(app: KioskApp) -> None:
        _member(app, member_id)
        app.go(PinRequest(PinPurpose.SHIFT, then=lambda _actor: None, back="member"))

    def amount(app: KioskApp) -> None:
        _member(app, member_id)
        app.go("amount")
        _typed(app, "1250000")

    def result(app: KioskApp) -> None:
        app.go(ResultRequest(kind="earn", points=125, balance=540, lines=(BIRTHDAY,)))
        app.screen.ids.faces.visit = "tour-visit"  # the rating asked (shown, not stored)

    def feedback(app: KioskApp) -> None:
        screen = app.manager.get_screen("feedback")  # type: ignore[union-attr]
        screen.visit, screen.rating = "", 4  # shown only: nothing is stored
        app.go("feedback")
        screen.chosen = ("staff", "quality")
        screen.refresh()

    def redeem(app: KioskApp) -> None:
        _member(app, member_id)
        app.go(RedeemRequest(reward_id="coffee"))
        screen = app.screen
        screen.code, screen.balance = "7KQ2M9XA", 340
        screen.refresh()

    def cashier(app: KioskApp) -> None:
        app.counter.open_shift(
            app.service.staff.login_with_pin(CASHIER_PIN, _staff_id(app, "cashier"))
        )
        app.go("cashier")

    def void(app: KioskApp) -> None:
        app.go("void")
        entries = app.service.history.recent(kinds=("earn",), limit=1)
        if entries:
            app.screen.select(entries[0].entry_id)
        app.screen.choose_reason("wrong_amount")

    def tech(app: KioskApp) -> None:
        app.go(
            TechRequest(
                app.service.staff.login_with_pin(TECHNICIAN_PIN, _staff_id(app, "technician"))
            )
        )

    def staff(app: KioskApp) -> None:
        app.go("staff")

    def new_pin(app: KioskApp) -> None:
        app.go(NewPinRequest(then=lambda _pin: None))
        _typed(app, "24")

    def provision(app: KioskApp) -> None:
        app.go("provision")
        screen = app.screen
        screen.url = "https://crm.example"
        screen.choose("code")
        for key in "k7q2-m9xa":
            screen.key(key)

    def first_boot(app: KioskApp) -> None:
        app.go("first_boot")
        screen = app.screen
        screen.url, screen.code, screen.pin = "https://crm.example", "K7Q2-M9XA", "4826"
        screen.choose("again")
        for key in "48":
            screen.key(key)

    def out_of_service(app: KioskApp) -> None:
        app.go("out_of_service")

    return [
        ("attract", attract),
        ("phone", phone),
        ("verify", verify),
        ("enroll", enroll),
        ("name", name),
        ("birthday", birthday),
        ("referral", referral),
        ("member", member),
        ("pin", pin),
        ("amount", amount),
        ("result", result),
        ("feedback", feedback),
        ("redeem", redeem),
        ("cashier", cashier),
        ("void", void),
        ("tech", tech),
        ("staff", staff),
        ("new_pin", new_pin),
        ("provision", provision),
        ("first_boot", first_boot),
        ("out_of_service", out_of_service),
    ]
