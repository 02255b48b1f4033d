"""The cashier's screens: the purchase amount, a redemption's approval, the cashier's menu.

Signing in is in `sign_in.py`, voiding in `void.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kiosk.core.offers import ends_at, name_in
from kiosk.core.program import QuoteLine, find_reward
from kiosk.core.service_base import check_approver
from kiosk.core.store.staff import Actor
from kiosk.errors import (
    KioskError,
)
from kiosk.text.money import parse_amount
from kiosk.ui.counter import new_txn_id
from kiosk.ui.requests import (
    PinPurpose,
    PinRequest,
    RedeemRequest,
    ResultRequest,
    ResumePurchase,
)
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.entry import DigitEntry
from kiosk.ui.screens.result import bonus_lines, offer_text
from kiosk.ui.screens.shopper import own_direction, texts_join


class AmountScreen(DigitEntry[ResumePurchase | None]):
    """The purchase total in the shop's unit, grouped as typed, the points shown first."""

    enter_button = "confirm"
    escape_button = "cancel"

    max_digits = 16

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = ""
        self.txn = ""
        self.approved_by: Actor | None = None
        self.done = False
        # While the purchase is refused as too soon after the last: when it may be recorded.
        self.wait_until: datetime | None = None

    def prepare(self, request: ResumePurchase | None) -> None:
        if request is not None:  # back from the manager's PIN: the same purchase
            return
        self.text = ""
        self.txn = new_txn_id("earn")
        self.approved_by = None
        self.done = False
        decimal_key = "." if self.app.texts.unit_decimals() else "clear"
        self.ids.keypad.keys = [
            "1",
            "2",
            "3",
            "4",
            "5",
            "6",
            "7",
            "8",
            "9",
            "back",
            "0",
            decimal_key,
        ]

    def refresh(self) -> None:
        app = self.app
        labels = {"back": "keypad.back", "clear": "keypad.clear", ".": "keypad.decimal"}
        keypad = self.ids.keypad
        keypad.labels = [
            app.t(labels[key]) if key in labels else app.show(app.texts.digits(key))
            for key in keypad.keys
        ]
        member_id = app.counter.member_id
        phone = ""
        if member_id is not None:
            person = app.service.member(member_id).person
            phone = person.phone[-4:] if person else ""
        self.ids.member.text = app.t("amount.for_member", phone=app.texts.digits(phone))
        self.update()

    def forget(self) -> None:
        self.text = ""
        self.done = True  # a new purchase starts with prepare()
        self.wait_until = None

    def waiting(self) -> bool:
        return self.wait_until is not None

    def tick(self) -> None:
        if self.wait_until is not None:
            self.update()  # the seconds left, and the points once the wait is over

    def key(self, key: str) -> None:
        if self.done:
            return
        if key == "back":
            self.text = self.text[:-1]
        elif key == "clear":
            self.text = ""
        elif key == "." and "." not in self.text:
            self.text = (self.text or "0") + "."
        elif key.isdigit() and len(self.text) < self.max_digits:
            self.text = self.text + key if self.text != "0" else key
        self.approved_by = None
        self.update()

    def typed(self, text: str) -> None:
        for char in text:
            if char in "\r\n":
                self.confirm()
            else:
                self.text += char  # anything typed is checked like the keypad's input
        self.update()

    def update(self) -> None:
        """Show the amount grouped as typed and the points it would earn (before confirming)."""
        app = self.app
        texts = app.texts
        self.say()
        self.ids.quote.text = ""
        self.ids.offer.text = ""
        self.ids.confirm.disabled = False
        self.wait_until = None
        if not self.text:
            self.ids.display.text = app.t(f"unit.{texts.unit}.amount", amount=texts.digits("0"))
            return
        whole, _, fraction = self.text.partition(".")
        shown = texts.number(int(whole)) if whole.isdigit() else texts.digits(whole)
        if "." in self.text:
            shown += texts.tr("keypad.decimal_mark") + texts.digits(fraction)
        self.ids.display.text = app.t(f"unit.{texts.unit}.amount", amount=shown)
        try:
            amount = parse_amount(self.text, texts.unit)
            quote = app.service.quote(app.counter.member_id or "", amount)
        except KioskError as error:
            # Shown as typed, without a beep: the cashier is still typing.
            if not app.failed(error):
                self.ids.message.text = app.error_text(error)
            return
        if quote.refusal:
            # No points shown that would not be given; the button waits with the cashier.
            self.ids.confirm.disabled = True
            if quote.wait_seconds:
                self.wait_until = app.clock() + timedelta(seconds=quote.wait_seconds)
            self.say(f"error.limit.{quote.refusal}", seconds=quote.wait_seconds)
            return
        self.ids.quote.text = app.t("amount.will_earn", points=quote.points)
        self.ids.offer.text = app.show(offers_applied(app, quote.lines))
        if quote.needs_manager and self.approved_by is None:
            self.say("amount.needs_manager")

    def confirm(self) -> None:
        """Record the purchase once, whatever happens to the button (double taps, retries)."""
        app = self.app
        if self.done or app.counter.member_id is None:
            return
        try:
            amount = parse_amount(self.text, app.texts.unit)
            quote = app.service.quote(app.counter.member_id, amount)
        except KioskError as error:
            self.fail(error)
            return
        cashier = app.counter.cashier()
        if cashier is None:
            app.go(PinRequest(PinPurpose.SHIFT, then=self._shift_opened, back="member"))
            return
        if quote.needs_manager and self.approved_by is None:
            app.go(PinRequest(PinPurpose.MANAGER, then=self._approved, back="amount"))
            return
        try:
            result = app.service.earn(
                app.counter.member_id,
                amount,
                cashier=cashier,
                client_txn_id=self.txn,
                approved_by=self.approved_by,
            )
        except KioskError as error:
            self.fail(error)
            return
        self.done = True
        app.counter.shift_used()
        app.recorded()
        app.signal(ok=True)
        # The offers of the quote just taken are those the purchase got, unless its points
        # differ (an offer ended in between): then only the bonus entries are named.
        offered = quote.lines if quote.points == result.points else ()
        lines = bonus_lines(result.bonuses, offered, app.service.program)
        app.go(
            ResultRequest(kind="earn", points=result.points, balance=result.balance, lines=lines)
        )

    def _shift_opened(self, actor: Actor) -> None:
        self.app.counter.open_shift(actor)
        self.app.go(ResumePurchase())

    def _approved(self, manager: Actor) -> None:
        cashier = self.app.counter.cashier()
        try:
            acting = (cashier.actor_id if cashier else None,)
            check_approver(manager, acting=acting, action="purchase")
        except KioskError as error:
            self.app.screen.refresh()  # the sign-in stays, for another person
            self.app.screen.fail(error)
            return
        self.approved_by = manager
        self.app.go(ResumePurchase())
        self.confirm()

    def cancel(self) -> None:
        self.app.go("member")

    def logout(self) -> None:
        self.app.counter.close_shift()
        self.app.go("member")


def offers_applied(app: Any, lines: tuple[QuoteLine, ...]) -> str:
    """The offers a quote applied, each with what it gives and until when it runs today:
    "Double points until 14:00: ×2" (docs/program.md, "Limited-time offers"), unshaped."""
    texts = app.texts
    now = app.clock().astimezone(app.service.tz)
    offers = {offer.id: offer for offer in app.service.program.offers}
    shown = []
    multiplied = False  # the one multiplier comes first (kiosk/core/offers.py combine)
    for line in lines:
        offer = offers.get(str(line.params.get("offer"))) if line.code == "offer" else None
        if offer is None:
            continue
        name = own_direction(name_in(offer, texts.language), rtl=texts.rtl)
        if offer.until_time != "24:00":  # an offer all day long has no "until"
            until = texts.digits(ends_at(offer, now).strftime("%H:%M"))
            name = texts.tr("attract.offer_until", offer=name, time=until)
        times = offer.multiplier if offer.multiplier > 1 and not multiplied else None
        multiplied = multiplied or times is not None
        shown.append(offer_text(app, name, times, line.points))
    return texts_join(texts, shown)


class RedeemScreen(KioskScreen[RedeemRequest | None]):
    """The shopper picked a reward; a cashier approves; the coupon code is shown large."""

    enter_button = "approve"
    escape_button = "cancel"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reward_id = ""
        self.code = ""
        self.balance = 0
        self.txn = ""

    def prepare(self, request: RedeemRequest | None) -> None:
        if request is not None:  # a new redemption (back from the PIN prompt keeps it)
            self.reward_id = request.reward_id
            self.code = ""
            self.txn = new_txn_id("redeem")

    def refresh(self) -> None:
        app = self.app
        reward = find_reward(app.service.program, self.reward_id)
        if reward is None:
            return
        name = reward.name_fa if app.texts.language == "fa" else reward.name_en
        if self.code:
            self.ids.title.text = app.t("redeem.done", reward=name)
            self.ids.detail.text = app.t("redeem.show_code", points=self.balance)
            self.ids.code.text = app.show(self.code)
            self.ids.approve.disabled = True
            self.ids.approve.opacity = 0
            self.ids.cancel.text = app.t("common.done")
        else:
            self.ids.title.text = app.t("redeem.title", reward=name)
            self.ids.detail.text = app.t("redeem.cost", points=reward.cost)
            self.ids.code.text = ""
            self.ids.approve.disabled = False
            self.ids.approve.opacity = 1
            self.ids.cancel.text = app.t("common.cancel")

    def forget(self) -> None:
        self.code = ""
        self.balance = 0

    def hardware_key(self, key: str) -> None:
        # With the coupon shown, Enter is its "done" (the approve button is gone).
        super().hardware_key("escape" if key == "enter" and self.code else key)

    def approve(self) -> None:
        self.app.go(PinRequest(PinPurpose.APPROVE, then=self._approved, back="redeem"))

    def _approved(self, cashier: Actor) -> None:
        app = self.app
        try:
            result = app.service.redeem(
                app.counter.member_id or "",
                self.reward_id,
                cashier=cashier,
                client_txn_id=self.txn,
            )
        except KioskError as error:
            app.go("redeem")
            self.fail(error)
            return
        self.code = result.coupon_code
        self.balance = result.balance
        app.recorded()
        app.signal(ok=True)
        app.go("redeem")

    def cancel(self) -> None:
        if self.code:
            self.app.go_home()
        else:
            self.app.go("member")


class CashierScreen(KioskScreen[None]):
    """The cashier's menu: void a transaction, log out."""

    enter_button = "void"
    escape_button = "back"

    def refresh(self) -> None:
        app = self.app
        cashier = app.counter.cashier()
        names = {s.staff_id: s.name for s in app.service.staff.list()}
        name = names.get(cashier.actor_id, "") if cashier else ""
        self.ids.title.text = app.t("cashier.title", staff=name)

    def logout(self) -> None:
        self.app.counter.close_shift()
        self.app.go_home()


__all__ = ["AmountScreen", "CashierScreen", "RedeemScreen"]
