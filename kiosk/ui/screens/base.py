"""What every screen shares: the app, messages, card taps, refresh on a language change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from kivy.app import App
from kivy.uix.screenmanager import Screen

from kiosk.core.cards import normalize_uid
from kiosk.errors import (
    CardBlocked,
    InvalidCardUid,
    KioskError,
    LockedOut,
    StaffDisabled,
    UnknownCard,
    UnknownMember,
    WrongPin,
)
from kiosk.text.messages import message_tone
from kiosk.ui.requests import PhoneRequest

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

# The request a screen is prepared with (kiosk/ui/requests.py); None for a screen shown by name.
RequestT = TypeVar("RequestT")


class KioskScreen(Screen, Generic[RequestT]):
    """A screen of the kiosk. Subclasses fill in `prepare`, `refresh` and the handlers."""

    # The buttons (ids) that a physical keyboard's Enter and Escape press ("": none).
    enter_button = ""
    escape_button = ""

    @property
    def app(self) -> KioskApp:
        """The running kiosk app."""
        app: KioskApp = App.get_running_app()
        return app

    # -- lifecycle -------------------------------------------------------------------------

    def prepare(self, request: RequestT) -> None:
        """Called by `app.go` before the screen is shown, with its request (None by name)."""

    def on_pre_enter(self, *_: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Fill the texts that are not plain message keys (called on entry and language change)."""

    def tick(self) -> None:
        """Called twice a second while the screen is shown (countdowns)."""

    def forget(self) -> None:
        """Drop whatever this screen holds about the shopper (idle, done, privacy)."""

    def waiting(self) -> bool:
        """Whether the people in front of the screen are told to wait (the idle timeout
        does not forget them meanwhile)."""
        return False

    def status_changed(self) -> None:
        """A reader's status changed."""

    def typed(self, text: str) -> None:
        """Text from a physical keyboard (digits go to the screen's keypad, if any)."""

    def hardware_key(self, key: str) -> None:
        """A physical keyboard's "enter", "backspace" or "escape": the screen's button for
        it is pressed as a finger would press it (not when it is disabled or hidden)."""
        name = {"enter": self.enter_button, "escape": self.escape_button}.get(key, "")
        if name:
            self.press_button(self.ids.get(name))

    def press_button(self, button: Any) -> bool:
        """Press `button` if a finger could (shown and enabled); whether it was pressed."""
        if (
            button is None
            or button.disabled
            or button.opacity == 0
            or button.get_root_window() is None
        ):
            return False
        button.trigger_action(duration=0)
        return True

    # -- messages --------------------------------------------------------------------------

    def say(self, key: str = "", **params: Any) -> None:
        """Show message `key` in the screen's message line, in the style of its kind
        (error, success, note: `message_tone`); "" clears it."""
        if "message" in self.ids:
            line = self.ids.message
            line.text = self.app.t(key, **params) if key else ""
            line.tone = message_tone(key) if key else "error"

    def clear_message(self) -> None:
        """Clear the message line: what was said there was for the person before (the
        screen is left, the session ends, or the language changes)."""
        self.say()

    def on_pre_leave(self, *_: Any) -> None:
        self.clear_message()

    def fail(self, error: KioskError) -> None:
        """Show an error the person can act on, beep, and make no other change."""
        if self.app.failed(error):
            return
        self.app.signal(ok=False)
        self.app.sounds.play("error")
        if "message" in self.ids:
            self.ids.message.text = self.app.error_text(error)
            self.ids.message.tone = "error"

    # -- cards -----------------------------------------------------------------------------

    def card(self, uid: str, reader: str) -> None:
        """A card was tapped on this screen. Default: staff cards open a shift, member
        cards show the member, unknown cards start an enrollment."""
        app = self.app
        try:
            uid = normalize_uid(uid)
            known = app.service.members.card(uid)
            if known is not None and known.staff_id is not None:
                self.staff_card(uid, reader)
                return
            member = app.service.identify_card(uid)
        except UnknownCard:
            app.next_shopper()
            app.counter.pending_card = uid
            app.signal(ok=True)
            app.go(PhoneRequest(note_key="phone.new_card"))
            return
        except (CardBlocked, UnknownMember, InvalidCardUid) as error:
            app.go_home()
            app.screen.fail(error)
            return
        except KioskError as error:
            self.fail(error)
            return
        app.signal(ok=True)
        app.next_shopper()
        app.counter.member_id = member.member_id
        app.go("member")

    def staff_card(self, uid: str, reader: str = "") -> None:
        """A staff card outside a PIN prompt: open (or take over) the cashier's shift.

        The shift serves the shopper now at the counter only; on the attract screen (no
        shopper) the card opens the cashier's menu, as the cashier's button does.
        """
        app = self.app
        try:
            actor = app.service.staff.login_with_card(uid, reader)  # its lockout too
        except (StaffDisabled, WrongPin, LockedOut, KioskError) as error:
            self.fail(error)
            return
        app.signal(ok=True)
        app.counter.open_shift(actor)
        if self.name == "member":
            app.go("amount")
        elif self.name == "attract":
            app.go("cashier")
        else:
            self.say("cashier.shift_opened")
