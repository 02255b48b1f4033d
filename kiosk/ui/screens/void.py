"""Voiding a purchase or a redemption: the last entries, a reason, and for a redemption a
manager who is neither the cashier nor the one who redeemed (docs/ui.md, "Void")."""

from __future__ import annotations

from typing import Any

from kivy.uix.widget import Widget

from kiosk.core.clock import from_iso
from kiosk.core.service_base import check_approver
from kiosk.core.store.staff import Actor
from kiosk.errors import (
    KioskError,
)
from kiosk.ui.counter import new_txn_id
from kiosk.ui.requests import (
    PinPurpose,
    PinRequest,
    ResultRequest,
    ResumeVoid,
)
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import KButton, KLabel

VOID_REASONS = ("wrong_amount", "wrong_member", "returned", "other")
_VOID_LIST = 6
# A row's height as a share of the window's: a finger's 48 px at 800x480 (the kv rule
# leaves room for _VOID_LIST of them).
_ROW = 0.1


class VoidScreen(KioskScreen[ResumeVoid | None]):
    """The latest purchases and redemptions here; one is voided with a reason.

    A redemption's void also needs a manager's PIN or card, of someone other than the
    cashier voiding and the one who redeemed (the coupon was handed out).
    """

    enter_button = "confirm"
    escape_button = "back"

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
                font_scale=app.theme.type.caption,
                size_hint_y=None,
                height=app.u * _ROW,
            )
            if entry.entry_id == self.selected:
                button.background_color = app.theme.colours.accent
                button.color = app.theme.colours.on_accent
            button.bind(on_release=lambda b: self.select(b.key))
            box.add_widget(button)
        box.add_widget(Widget())  # the rows stay at the top
        reasons = self.ids.reasons
        reasons.clear_widgets()
        for reason in VOID_REASONS:
            button = KButton(
                key=reason, text=app.t(f"void.reason.{reason}"), font_scale=app.theme.type.small
            )
            if reason == self.reason:
                button.background_color = app.theme.colours.accent
                button.color = app.theme.colours.on_accent
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


__all__ = ["VOID_REASONS", "VoidScreen"]
