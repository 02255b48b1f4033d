"""The cashier's screens: PIN or staff card, purchase amount, redemption approval, void."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from kivy.uix.widget import Widget

from kiosk.core.cards import normalize_uid
from kiosk.core.clock import from_iso
from kiosk.core.program import find_reward
from kiosk.core.service_base import check_approver
from kiosk.core.store.staff import PERMISSIONS, Actor, StaffMember
from kiosk.errors import (
    KioskError,
    LockedOut,
    UnknownStaff,
)
from kiosk.text.money import parse_amount
from kiosk.ui.counter import new_txn_id
from kiosk.ui.requests import (
    PinPurpose,
    PinRequest,
    RedeemRequest,
    ResultRequest,
    ResumePurchase,
    ResumeVoid,
)
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.entry import DigitEntry
from kiosk.ui.screens.shopper import mask_phone_display
from kiosk.ui.widgets import KButton, KLabel

# What each PIN prompt lets the person do: the permission their role must have.
PURPOSES: dict[PinPurpose, str] = {
    PinPurpose.SHIFT: "earn",
    PinPurpose.APPROVE: "redeem",
    PinPurpose.MANAGER: "approve",
    PinPurpose.TECHNICIAN: "diagnose",
}
VOID_REASONS = ("wrong_amount", "wrong_member", "returned", "other")
_VOID_LIST = 6
_PEOPLE = 12  # names on the sign-in list (3 x 4); more staff sign in with their card


class PinScreen(DigitEntry[PinRequest]):
    """Who signs in (a name from the list, or a staff card), then that person's PIN.

    The PIN is checked against the picked person alone, so two people can never be told
    apart by their PIN; wrong PINs lock out that person's account with a growing delay.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request = PinRequest(PinPurpose.SHIFT, then=lambda _actor: None)
        self.person: StaffMember | None = None
        self.locked_until: dict[str, datetime] = {}  # by staff id
        # The keypad and the names, held here: kv's ids are weak, and the one not shown is
        # out of the widget tree (else it would be collected and its id would fail).
        self.pads: tuple[Widget, Widget] | None = None

    @property
    def max_digits(self) -> int:  # type: ignore[override]
        return self.app.config_.security.pin_max_length

    def prepare(self, request: PinRequest) -> None:
        self.request = request
        self.person = None
        self.digits = ""

    def refresh(self) -> None:
        app = self.app
        self.ids.title.text = app.t(f"pin.title.{self.request.purpose.value}")
        pad = self.ids.pad
        if self.pads is None:
            self.pads = (self.ids.keypad.__self__, self.ids.people.__self__)
        shown = self.pads[0] if self.person else self.pads[1]
        if list(pad.children) != [shown]:
            pad.clear_widgets()
            pad.add_widget(shown)
        if self.person is None:
            self.ids.hint.text = app.t("pin.pick")
            self._list_people()
        else:
            self.ids.hint.text = app.t("pin.for", name=self.person.name)
        super().refresh()
        self.tick()

    def _list_people(self) -> None:
        app = self.app
        box = self.ids.people
        box.clear_widgets()
        permission = PURPOSES[self.request.purpose]
        people = [s for s in app.service.staff.active() if s.role in PERMISSIONS[permission]][
            :_PEOPLE
        ]
        if not people:
            self.say("pin.no_staff")
        for person in people:
            button = KButton(key=person.staff_id, text=app.show(person.name), font_scale=0.04)
            button.bind(on_release=lambda b: self.pick(b.key))
            box.add_widget(button)

    def person_button(self, name: str) -> KButton:
        """The button of the person called `name` on the list (tests touch it)."""
        staff_id = {s.name: s.staff_id for s in self.app.service.staff.active()}[name]
        for child in self.ids.people.children:
            if getattr(child, "key", None) == staff_id:
                return child  # type: ignore[no-any-return]
        raise KeyError(name)

    def pick(self, staff_id: str) -> None:
        """The person signing in tapped their name: their PIN comes next."""
        self.person = next(
            (s for s in self.app.service.staff.active() if s.staff_id == staff_id), None
        )
        self.digits = ""
        self.say()
        self.refresh()

    def show_digits(self) -> None:
        self.ids.display.text = self.app.show("\u25cf" * len(self.digits))

    def key(self, key: str) -> None:
        if self.person is not None:  # typing before a name is picked types nothing
            super().key(key)

    def submit(self) -> None:
        pin, self.digits = self.digits, ""
        self.show_digits()
        if not pin or self.person is None:
            return
        try:
            actor = self.app.service.staff.login_with_pin(pin, self.person.staff_id)
        except LockedOut as error:
            self.locked_until[self.person.staff_id] = from_iso(str(error.params["until"]))
            self.fail(error)
            self.tick()
            return
        except KioskError as error:
            self.fail(error)
            return
        self._accept(actor)

    def card(self, uid: str, reader: str) -> None:
        try:
            actor = self.app.service.staff.login_with_card(normalize_uid(uid), reader)
        except UnknownStaff:
            self.say("pin.not_staff_card")
            self.app.signal(ok=False)
            return
        except KioskError as error:
            self.fail(error)
            return
        self._accept(actor)

    def _accept(self, actor: Actor) -> None:
        self.person = None  # whatever comes next, the names are shown again
        try:
            actor.require(PURPOSES[self.request.purpose])
        except KioskError as error:
            self.refresh()
            self.fail(error)
            return
        self.app.signal(ok=True)
        self.say()
        self.request.then(actor)

    def tick(self) -> None:
        keypad = self.ids.keypad
        until = self.locked_until.get(self.person.staff_id) if self.person else None
        if until is None:
            keypad.enabled = True
            return
        left = math.ceil((until - self.app.clock()).total_seconds())
        if left <= 0:
            del self.locked_until[self.person.staff_id]  # type: ignore[union-attr]
            keypad.enabled = True
            self.say()
            return
        keypad.enabled = False
        self.say("error.locked_out", seconds=left)

    def cancel(self) -> None:
        if self.person is not None:  # back to the names: someone else signs in
            self.person = None
            self.digits = ""
            self.say()
            self.refresh()
            return
        back = self.request.back
        if back:
            self.app.go(back)
        else:
            self.app.go_home()


class AmountScreen(DigitEntry[ResumePurchase | None]):
    """The purchase total in the shop's unit, grouped as typed, the points shown first."""

    max_digits = 16

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = ""
        self.txn = ""
        self.approved_by: Actor | None = None
        self.done = False

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
        self.ids.quote.text = app.t("amount.will_earn", points=quote.points)
        if quote.refusal:
            self.say(f"error.limit.{quote.refusal}")
        elif quote.needs_manager and self.approved_by is None:
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
        app.go(
            ResultRequest(
                kind="earn",
                points=result.points,
                balance=result.balance,
                bonus=sum(bonus.points for bonus in result.bonuses),
            )
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


class RedeemScreen(KioskScreen[RedeemRequest | None]):
    """The shopper picked a reward; a cashier approves; the coupon code is shown large."""

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

    def refresh(self) -> None:
        app = self.app
        cashier = app.counter.cashier()
        names = {s.staff_id: s.name for s in app.service.staff.list()}
        name = names.get(cashier.actor_id, "") if cashier else ""
        self.ids.title.text = app.t("cashier.title", staff=name)

    def logout(self) -> None:
        self.app.counter.close_shift()
        self.app.go_home()


class VoidScreen(KioskScreen[ResumeVoid | None]):
    """The latest purchases and redemptions here; one is voided with a reason.

    A redemption's void also needs a manager's PIN or card, of someone other than the
    cashier voiding and the one who redeemed (the coupon was handed out).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.selected: str | None = None
        self.reason: str | None = None
        self.approved_by: Actor | None = None
        self.txn = ""

    def prepare(self, request: ResumeVoid | None) -> None:
        if request is not None:  # back from the PIN prompt: the same void
            return
        self.selected = None
        self.reason = None
        self.approved_by = None
        self.txn = new_txn_id("void")

    def refresh(self) -> None:
        app = self.app
        history = app.service.history
        box = self.ids.entries
        box.clear_widgets()
        entries = [
            e
            for e in history.recent(kinds=("earn", "redeem"), limit=_VOID_LIST * 2)
            if not history.is_reversed(e.entry_id)
        ][:_VOID_LIST]
        if not entries:
            box.add_widget(_row_label(app.t("void.none")))
        for entry in entries:
            when = app.texts.moment(from_iso(entry.created_at))
            if entry.kind == "earn":
                text = app.t(
                    "void.entry.earn",
                    when=when,
                    amount=app.texts.money(entry.amount or 0),
                    points=entry.points,
                )
            else:
                text = app.t("void.entry.redeem", when=when, points=-entry.points)
            button = KButton(
                key=entry.entry_id,
                text=text,
                font_scale=0.036,
                size_hint_y=None,
                height=app.u * 0.075,
            )
            if entry.entry_id == self.selected:
                button.background_color = (0.85, 0.55, 0.1, 1)
            button.bind(on_release=lambda b: self.select(b.key))
            box.add_widget(button)
        box.add_widget(Widget())  # the rows stay at the top
        reasons = self.ids.reasons
        reasons.clear_widgets()
        for reason in VOID_REASONS:
            button = KButton(key=reason, text=app.t(f"void.reason.{reason}"), font_scale=0.036)
            if reason == self.reason:
                button.background_color = (0.85, 0.55, 0.1, 1)
            button.bind(on_release=lambda b: self.choose_reason(b.key))
            reasons.add_widget(button)

    def entry_button(self, entry_id: str) -> KButton:
        for child in self.ids.entries.children:
            if getattr(child, "key", None) == entry_id:
                return child  # type: ignore[no-any-return]
        raise KeyError(entry_id)

    def reason_button(self, reason: str) -> KButton:
        for child in self.ids.reasons.children:
            if child.key == reason:
                return child  # type: ignore[no-any-return]
        raise KeyError(reason)

    def select(self, entry_id: str) -> None:
        self.selected = entry_id
        self.approved_by = None  # an approval is for the entry it was given for
        self.refresh()

    def choose_reason(self, reason: str) -> None:
        self.reason = reason
        self.refresh()

    def confirm(self) -> None:
        app = self.app
        if self.selected is None or self.reason is None:
            self.say("void.choose")
            return
        cashier = app.counter.cashier()
        if cashier is None:
            app.go(PinRequest(PinPurpose.SHIFT, then=self._shift_opened, back="attract"))
            return
        target = app.service.ledger.get(self.selected)
        if target is not None and target.kind == "redeem" and self.approved_by is None:
            app.go(PinRequest(PinPurpose.MANAGER, then=self._approved, back="void"))
            return
        try:
            result = app.service.void(
                self.selected,
                reason=self.reason,
                cashier=cashier,
                client_txn_id=self.txn,
                approved_by=self.approved_by,
            )
        except KioskError as error:
            self.fail(error)
            return
        app.counter.shift_used()
        app.recorded()
        app.signal(ok=True)
        app.go(ResultRequest(kind="void", points=result.points, balance=result.balance))

    def _shift_opened(self, actor: Actor) -> None:
        self.app.counter.open_shift(actor)
        self.app.go(ResumeVoid())
        self.confirm()

    def _approved(self, manager: Actor) -> None:
        app = self.app
        cashier = app.counter.cashier()
        target = app.service.ledger.get(self.selected or "")
        try:
            acting = (cashier.actor_id if cashier else None, target.cashier_id if target else None)
            check_approver(manager, acting=acting, action="redemption's void")
        except KioskError as error:
            app.screen.refresh()  # the sign-in stays, for another person
            app.screen.fail(error)
            return
        self.approved_by = manager
        app.go(ResumeVoid())
        self.confirm()


def _row_label(text: str) -> KLabel:
    return KLabel(text=text)


__all__ = [
    "PURPOSES",
    "AmountScreen",
    "CashierScreen",
    "PinScreen",
    "RedeemScreen",
    "VoidScreen",
    "mask_phone_display",
]
