"""Enrolling this kiosk at the CRM from the screen: the technician's provisioning screen,
and the first-boot setup a flashed appliance image opens on (docs/ui.md, "First boot").

Both type the CRM's address and a one-time code on our own keyboard, and trade the code
as `kiosk provision` does: on a thread of its own (the CRM may take seconds to answer,
and the screen must keep drawing and pinging the watchdog), with its own database
connection. On success the app restarts (exit status 3), so that systemd starts it again
with the CRM configured.

Who may use the first-boot setup: nobody once the kiosk has a CRM or has ever had a
technician (`first_boot_pending`); before that, the first person at the screen sets the
technician's PIN with the code. From then on the hidden gesture and that PIN guard
provisioning, as on any kiosk (docs/security.md, "First-boot setup").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock

from kiosk.config.crm_url import crm_url_problem
from kiosk.core.cards import mask_uid
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import Actor
from kiosk.errors import KioskError, NotAllowed
from kiosk.text.i18n import N_
from kiosk.text.rtl import ltr
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.entry import HIDDEN_DIGIT
from kiosk.ui.screens.technician import reader_name

# The provisioning keyboard, row by row: QWERTY under the digits, with what an address
# has (https:// in one key), each beside where a keyboard prints it.
PROVISION_ROWS = (
    (*"1234567890", "-"),
    (*"qwertyuiop", "https://"),
    (*"asdfghjkl", ":"),
    (*"zxcvbnm", ".", "/", "back"),
)
PROVISION_KEYS = [key for row in PROVISION_ROWS for key in row]
PROVISION_WIDTHS = {"https://": 2, "back": 2}
RESTART_AFTER_SECONDS = 2.0  # long enough to read "provisioned"

# Who sets the first technician's PIN on the first-boot screen, in the audit log: the
# screen acts once as the console's `kiosk provision` would (the role that may add staff
# without a signed-in person), and only while `first_boot_pending` holds.
FIRST_BOOT = Actor("first-boot", "cli")
N_("setup.title")
N_("setup.pin")
N_("setup.again")
N_("setup.pin_saved")
N_("setup.hint")


def first_boot_pending(service: LoyaltyService) -> bool:
    """Whether the touch app opens on the first-boot setup: an appliance image
    (`device.first_boot_setup`) with no CRM yet that has never had a technician."""
    config = service.config
    if not config.device.first_boot_setup or config.crm.url:
        return False
    return not any(person.role == "technician" for person in service.staff.list())


class CrmEnrollment(KioskScreen[None]):
    """The address and the code typed on the screen's keyboard, then the CRM asked.

    Subclasses name their fields (`fields`, the first the address) and their kv rule; a
    rule of this class would be applied to both screens.
    """

    enter_button = "go"
    max_url = 120
    max_code = 12
    fields: tuple[str, ...] = ("url", "code")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url = ""
        self.code = ""
        self.field = "url"
        self.busy = False
        self.done = threading.Event()  # set when an attempt has ended (tests wait on it)

    def prepare(self, request: None) -> None:
        self.url = self.app.config_.crm.url or "https://"
        self.code = ""
        self.field = "code" if self.app.config_.crm.url else "url"
        self.busy = False
        self.say()

    def forget(self) -> None:
        self.code = ""

    def waiting(self) -> bool:
        return self.busy  # asking the CRM: the idle timeout waits for its answer

    def field_text(self, name: str) -> str:
        """What the button of field `name` shows."""
        if name == "url":
            return self.app.t("tech.provision.url", url=ltr(self.url or "-"))
        return self.app.t("tech.provision.code", code=ltr(self.code or "-"))

    def refresh(self) -> None:
        app = self.app
        keyboard = self.ids.keyboard
        if keyboard.keys != PROVISION_KEYS:
            keyboard.widths = PROVISION_WIDTHS
            keyboard.set_rows(PROVISION_ROWS)
        keyboard.labels = [
            app.t("keypad.back") if k == "back" else app.show(ltr(k)) for k in PROVISION_KEYS
        ]
        for wide in ("https://", "back"):
            keyboard.button(wide).font_scale = app.theme.type.fine
        colours = app.theme.colours
        for name in self.fields:  # the field the keyboard types into stands out
            button = self.ids[name]
            button.text = self.field_text(name)
            chosen = self.field == name
            button.background_color = colours.accent if chosen else colours.secondary
            button.color = colours.on_accent if chosen else colours.on_secondary
        self.ids.go.disabled = self.busy

    def choose(self, field: str) -> None:
        self.field = field
        self.refresh()

    def key(self, key: str) -> None:
        if self.busy:
            return
        self.type_into(self.field, key)
        self.refresh()

    def type_into(self, field: str, key: str) -> None:
        """One key of the keyboard into `field`."""
        if field == "url":
            if key == "back":
                self.url = self.url[:-1]
            elif key == "https://":
                self.url = "https://"
            elif len(self.url) + len(key) <= self.max_url:
                self.url += key
        elif key == "back":
            self.code = self.code[:-1]
        elif key != "https://" and len(self.code) < self.max_code:
            self.code += key.upper()

    def typed(self, text: str) -> None:
        # A USB keyboard types the address and the code (Enter: the go button).
        for char in text:
            if char.isprintable() and not char.isspace():
                self.key(char)

    def hardware_key(self, key: str) -> None:
        if key == "backspace":
            self.press_button(self.ids.keyboard.button("back"))
        else:
            super().hardware_key(key)

    def missing(self) -> bool:
        """Say so and True when the address or the code is not typed yet."""
        if not self.code or self.url in ("", "https://"):
            self.say("tech.provision.missing")
            return True
        return False

    def provision(self) -> None:
        if self.busy or self.missing():
            return
        self.ask_crm()

    def ask_crm(self) -> None:
        """Trade the code on a thread of its own; `_finished` runs on the UI thread."""
        self.busy = True
        self.done.clear()
        self.say("tech.provision.working")
        self.refresh()
        provision = self.app.provision
        if provision is None:  # pragma: no cover - the composition root always gives one
            raise RuntimeError("this kiosk app was built without provisioning")
        threading.Thread(
            target=self._exchange, args=(provision, self.url, self.code), daemon=True
        ).start()

    def _exchange(self, provision: Callable[[str, str], str], url: str, code: str) -> None:
        outcome: Exception | str
        try:
            # Opens a connection of its own on this thread (SQLite's rule), at the root.
            outcome = provision(url, code)
        except Exception as exc:  # shown on the screen, on the UI thread
            outcome = exc
        Clock.schedule_once(lambda _dt: self._finished(outcome), 0)

    def _finished(self, outcome: Exception | str) -> None:
        self.busy = False
        self.done.set()
        if isinstance(outcome, KioskError):
            self.refresh()
            self.fail(outcome)
            return
        if isinstance(outcome, Exception):
            self.refresh()
            raise outcome  # the app's handler logs it and shows "something went wrong"
        self.app.signal(ok=True)
        self.say("tech.provision.done", device=outcome)
        self.ids.go.disabled = True
        app = self.app  # this app's restart, not whichever app runs then (tests start many)
        Clock.schedule_once(
            lambda _dt: None if app.stopped else app.restart(), RESTART_AFTER_SECONDS
        )


class ProvisionScreen(CrmEnrollment):
    """The technician's provisioning screen (behind the gesture and their PIN)."""

    escape_button = "back"

    def leave(self) -> None:
        self.app.go("tech")


class FirstBootScreen(CrmEnrollment):
    """The first-boot setup: the CRM's address, the code, and the technician's new PIN
    (twice), on the screen a flashed kiosk opens on while `first_boot_pending`."""

    fields = ("url", "code", "pin", "again")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pin = ""
        self.again = ""
        self.pin_saved = False  # the technician was made on this visit (a retry needs no PIN)
        self.hinting = True  # the message line shows where the address and code come from

    def say(self, key: str = "", **params: Any) -> None:
        # Nothing to say: where the address and the code come from.
        self.hinting = not key
        super().say(key or "setup.hint", **params)

    def fail(self, error: KioskError) -> None:
        self.hinting = False
        super().fail(error)

    def forget(self) -> None:
        super().forget()
        self.pin = self.again = ""
        self.pin_saved = False

    def field_text(self, name: str) -> str:
        if name == "pin" and self.pin_saved:
            return self.app.t("setup.pin_saved")
        if name in ("pin", "again"):
            typed: str = getattr(self, name)
            return self.app.t(f"setup.{name}", pin=HIDDEN_DIGIT * len(typed) or "-")
        return super().field_text(name)

    def refresh(self) -> None:
        super().refresh()
        self.ids.title.text = self.app.t("setup.title")
        self.ids.pin.disabled = self.ids.again.disabled = self.pin_saved
        self.ids.again.opacity = 0 if self.pin_saved else 1
        if self.hinting:  # again, in the language now shown
            self.say()

    def card(self, uid: str, reader: str) -> None:
        # No shopper is served before the setup; a tap shows that the reader works.
        self.app.signal(ok=True)
        self.say("tech.reader_test_ok", reader=reader_name(reader), card=mask_uid(uid))

    def type_into(self, field: str, key: str) -> None:
        if field not in ("pin", "again"):
            super().type_into(field, key)
            return
        typed: str = getattr(self, field)
        if key == "back":
            typed = typed[:-1]
        elif key.isdigit() and len(typed) < self.app.config_.security.pin_max_length:
            typed += key
        setattr(self, field, typed)

    def provision(self) -> None:
        if self.busy or self.missing():
            return
        if not self.pin_saved and not self._save_technician():
            return
        self.ask_crm()

    def _save_technician(self) -> bool:
        """Make the technician with the PIN typed twice; False (and said why) if not."""
        app = self.app
        staff = app.service.staff
        if any(person.role == "technician" for person in staff.list()):
            # A technician was made since (the console): their gesture and PIN from now.
            app.home = "attract"
            app.go_home()
            app.screen.fail(NotAllowed(role="shopper", action="set up this kiosk"))
            return False
        problem = crm_url_problem(self.url)
        if problem is not None:  # before the technician is made for nothing
            self.say("error.provision.bad_url")
            return False
        pin, again = self.pin, self.again
        self.pin = self.again = ""
        self.field = "pin"
        if pin != again:
            self.refresh()
            self.say("staff.pins_differ")
            return False
        try:
            name = app.texts.tr("role.technician")
            staff.add(name=name, role="technician", pin=pin, actor=FIRST_BOOT)
        except KioskError as error:  # too short or long, trivial (1111, 1234)
            self.refresh()
            self.fail(error)
            return False
        # From now on the attract screen is home: an idle kiosk leaves this screen, and
        # the technician's gesture and PIN lead to provisioning, as on any kiosk.
        self.pin_saved = True
        app.home = "attract"
        return True
