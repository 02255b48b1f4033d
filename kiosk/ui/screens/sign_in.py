"""Signing in: the person first (a name on the list, or their staff card), then their PIN.

docs/ui.md, "Signing in". Each prompt names what it lets the person do (`PURPOSES`);
the PIN is checked against that one person's hash, with that person's lockout.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from kivy.uix.widget import Widget

from kiosk.core.cards import normalize_uid
from kiosk.core.clock import from_iso
from kiosk.core.store.staff import PERMISSIONS, Actor, StaffMember
from kiosk.errors import (
    KioskError,
    LockedOut,
    UnknownStaff,
)
from kiosk.ui.requests import (
    PinPurpose,
    PinRequest,
)
from kiosk.ui.screens.entry import HIDDEN_DIGIT, DigitEntry
from kiosk.ui.widgets import KButton

# What each PIN prompt lets the person do: the permission their role must have.
PURPOSES: dict[PinPurpose, str] = {
    PinPurpose.SHIFT: "earn",
    PinPurpose.APPROVE: "redeem",
    PinPurpose.MANAGER: "approve",
    PinPurpose.TECHNICIAN: "diagnose",
}
_PEOPLE = 12  # names on the sign-in list (3 x 4); more staff sign in with their card


class PinScreen(DigitEntry[PinRequest]):
    """Who signs in (a name from the list, or a staff card), then that person's PIN.

    The PIN is checked against the picked person alone, so two people can never be told
    apart by their PIN; wrong PINs lock out that person's account with a growing delay.
    """

    escape_button = "cancel"

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
            button = KButton(
                key=person.staff_id, text=app.show(person.name), font_scale=app.theme.type.small
            )
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
        self.ids.display.text = self.app.show(HIDDEN_DIGIT * len(self.digits))

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


__all__ = ["PURPOSES", "PinScreen"]
