"""The technician's screens (behind a hidden gesture and a PIN), and "out of service"."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from kivy.uix.widget import Widget

from kiosk.appliance.diagnostics import collect
from kiosk.core.cards import mask_uid
from kiosk.core.clock import from_iso
from kiosk.core.store.staff import Actor
from kiosk.errors import KioskError
from kiosk.text.i18n import Language
from kiosk.text.rtl import ltr
from kiosk.ui.requests import NewPinRequest, StaffRequest, TechRequest
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.entry import HIDDEN_DIGIT, DigitEntry
from kiosk.ui.widgets import KButton, KLabel

_MIB = 1024 * 1024


def reader_name(url: str) -> str:
    """A reader's name (its URL) inside a line: without a bare scheme's colon ("sim:"
    would read "sim::" before the line's own), left to right in Persian too."""
    return ltr(url.removesuffix(":"))


def mebibytes(size: int) -> Decimal:
    """`size` bytes in MiB to a tenth, never 0 for something there (a new database)."""
    if size <= 0:
        return Decimal(0)
    return max(Decimal(size) / _MIB, Decimal("0.1")).quantize(Decimal("0.1"))


class TechScreen(KioskScreen[TechRequest | None]):
    """Diagnostics (readers, sync, queue, disk, database, version) and actions."""

    escape_button = "back"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actor: Actor | None = None
        self.testing_reader = False
        self.message_key = ""
        self.message_params: dict[str, Any] = {}

    def prepare(self, request: TechRequest | None) -> None:
        if request is not None:  # through the PIN (back from provisioning keeps the actor)
            self.actor = request.actor
            self.testing_reader = False
            self.message_key = ""

    def refresh(self) -> None:
        app = self.app
        info = collect(app.service, app.data_dir)
        lines = [app.t("tech.diag.version", version=info.version)]
        lines.append(app.t("tech.diag.device", device=info.device_id))
        if not app.reader_states:
            lines.append(app.t("tech.diag.no_readers"))
        for event in app.reader_states.values():
            lines.append(
                app.t(
                    "tech.diag.reader",
                    reader=reader_name(event.reader),
                    state=app.texts.tr(f"reader.{event.state}"),
                )
            )
        last = app.texts.moment(from_iso(app.last_sync)) if app.last_sync else "-"
        lines.append(app.t(f"tech.diag.sync.{app.network_state}", last=last))
        if info.credentials_refused:
            lines.append(app.t("tech.diag.sync.refused"))
        rewind = info.last_rewind
        if rewind is not None and isinstance(rewind.get("at"), str):
            lines.append(
                app.t(
                    "tech.diag.sync.rewound",
                    seq=rewind.get("to"),
                    entries=rewind.get("entries"),
                    at=app.texts.moment(from_iso(rewind["at"])),
                )
            )
        lines.append(
            app.t("tech.diag.queue", pending=info.outbox_pending, rejected=info.outbox_rejected)
        )
        lines.append(
            app.t(
                "tech.diag.disk",
                free=info.disk_free_bytes // _MIB,
                total=info.disk_total_bytes // _MIB,
            )
        )
        database = "tech.diag.database_ok" if info.database_writable else "tech.diag.database_bad"
        lines.append(
            app.t(
                database,
                size=mebibytes(info.database_bytes),
                entries=info.entries,
            )
        )
        box = self.ids.diagnostics
        box.clear_widgets()
        for line in lines:
            box.add_widget(KLabel(text=line, font_scale=app.theme.type.fine))
        language = app.counter.default_language
        self.ids.language.text = app.t(
            "tech.default_language", language=app.texts.tr(f"language.{language}")
        )
        if self.message_key:
            self.say(self.message_key, **self.message_params)
        else:
            self.say()

    def status_changed(self) -> None:
        self.refresh()

    def clear_message(self) -> None:
        self.message_key, self.message_params = "", {}
        super().clear_message()

    def _message(self, key: str, **params: Any) -> None:
        self.message_key = key
        self.message_params = params
        self.say(key, **params)

    def sync_now(self) -> None:
        app = self.app
        if app.sync_now is None:
            self._message("tech.sync_not_set_up")
            return
        self._message(app.sync_now())

    def reader_test(self) -> None:
        self.testing_reader = True
        self._message("tech.reader_test_tap")

    def card(self, uid: str, reader: str) -> None:
        if self.testing_reader:
            self.testing_reader = False
            self.app.signal(ok=True)
            self._message("tech.reader_test_ok", reader=reader_name(reader), card=mask_uid(uid))

    def provisioning(self) -> None:
        self.app.go("provision")

    def toggle_default_language(self) -> None:
        app = self.app
        new: Language = "en" if app.counter.default_language == "fa" else "fa"
        try:
            app.service.settings.set("default_language", new, actor=self._actor())
        except KioskError as error:
            self.fail(error)
            return
        app.counter.default_language = new
        self._message("tech.default_language_set")
        self.refresh()

    def leave(self) -> None:
        self.actor = None
        self.app.go_home()

    def _actor(self) -> Actor:
        assert self.actor is not None, "the technician screen is reached through a PIN"
        return self.actor


class StaffScreen(KioskScreen[StaffRequest | None]):
    """Cashier PINs: add a cashier with a new PIN, disable an account."""

    escape_button = "back"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.selected: str | None = None
        self.message_key = ""
        self.message_params: dict[str, Any] = {}

    def prepare(self, request: StaffRequest | None) -> None:
        if request is None:
            self.message_key, self.message_params = "", {}
        else:
            self.message_key, self.message_params = "staff.added", {"name": request.added}

    def refresh(self) -> None:
        app = self.app
        box = self.ids.people
        box.clear_widgets()
        for person in app.service.staff.list()[:6]:
            state = "staff.active" if not person.disabled else "staff.disabled_state"
            button = KButton(
                key=person.staff_id,
                text=app.t(
                    "staff.row",
                    name=person.name,
                    role=app.texts.tr(f"role.{person.role}"),
                    state=app.texts.tr(state),
                ),
                font_scale=app.theme.type.caption,
                size_hint_y=None,
                height=app.u * 0.075,
            )
            if person.staff_id == self.selected:
                button.background_color = app.theme.colours.accent
                button.color = app.theme.colours.on_accent
            button.bind(on_release=lambda b: self.select(b.key))
            box.add_widget(button)
        box.add_widget(Widget())  # the rows stay at the top
        self.say(self.message_key, **self.message_params)

    def clear_message(self) -> None:
        self.message_key, self.message_params = "", {}
        super().clear_message()

    def select(self, staff_id: str) -> None:
        self.selected = staff_id
        self.message_key = ""
        self.refresh()

    def person_button(self, staff_id: str) -> KButton:
        for child in self.ids.people.children:
            if getattr(child, "key", None) == staff_id:
                return child  # type: ignore[no-any-return]
        raise KeyError(staff_id)

    def add_cashier(self) -> None:
        self.app.go(NewPinRequest(then=self._add))

    def _add(self, pin: str) -> None:
        app = self.app
        tech = self._tech()
        count = sum(1 for s in app.service.staff.list() if s.role == "cashier") + 1
        name = f"{app.texts.tr('role.cashier')} {count}"
        try:
            person = app.service.staff.add(name=name, role="cashier", pin=pin, actor=tech)
        except KioskError as error:
            app.go("staff")
            self.fail(error)
            return
        app.go(StaffRequest(added=person.name))

    def disable(self) -> None:
        app = self.app
        if self.selected is None:
            self._say("staff.choose")
            return
        try:
            app.service.staff.disable(self.selected, actor=self._tech())
        except KioskError as error:
            self.fail(error)
            return
        self.selected = None
        self._say("staff.disabled")

    def _say(self, key: str) -> None:
        self.message_key = key
        self.message_params = {}
        self.refresh()

    def _tech(self) -> Actor:
        tech = self.app.manager.get_screen("tech").actor if self.app.manager else None
        assert tech is not None, "the staff screen is reached from the technician screen"
        return tech  # type: ignore[no-any-return]


class NewPinScreen(DigitEntry[NewPinRequest]):
    """A new PIN, typed twice."""

    escape_button = "cancel"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.first: str | None = None
        self.then: Callable[[str], None] = lambda _pin: None

    @property
    def max_digits(self) -> int:  # type: ignore[override]
        return self.app.config_.security.pin_max_length

    def prepare(self, request: NewPinRequest) -> None:
        self.then = request.then
        self.first = None
        self.digits = ""

    def refresh(self) -> None:
        title = "staff.new_pin" if self.first is None else "staff.repeat_pin"
        self.ids.title.text = self.app.t(title)
        self.ids.hint.text = self.app.t(
            "staff.pin_rule",
            low=self.app.config_.security.pin_min_length,
            high=self.app.config_.security.pin_max_length,
        )
        super().refresh()

    def show_digits(self) -> None:
        self.ids.display.text = self.app.show(HIDDEN_DIGIT * len(self.digits))

    def submit(self) -> None:
        pin, self.digits = self.digits, ""
        if self.first is None:
            try:
                self.app.service.staff.validate_pin(pin)
            except KioskError as error:  # too short or long, or trivial (1111, 1234)
                self.fail(error)
                self.show_digits()
                return
            self.first = pin
            self.refresh()
            return
        if pin != self.first:
            self.first = None
            self.refresh()
            self.say("staff.pins_differ")
            return
        self.then(pin)

    def cancel(self) -> None:
        self.app.go("staff")


class OutOfServiceScreen(KioskScreen[None]):
    """The database cannot be written: nothing can be recorded; it comes back by itself."""

    def refresh(self) -> None:
        key = "out_of_service.uncertain" if self.app.storage_uncertain else "out_of_service.detail"
        self.ids.detail.text = self.app.t(key)
