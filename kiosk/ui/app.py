"""The touch app: one Kivy window, the screens, and the glue to the service and the readers.

Reader threads never touch widgets: each event is handed to Kivy's Clock and handled on
the UI thread. Timeouts (idle shopper, shift, result screen, out-of-service probe) are
decided by the service's clock in `tick()`, which a Kivy interval calls twice a second
and tests call after moving a manual clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from kivy.app import App
from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from drivers.base import CardPresented, ReaderEvent, ReaderStatusChanged
from drivers.factory import ReaderSet
from drivers.feedback import Feedback, NoFeedback, Signal
from kiosk.appliance.watchdog import Notifier
from kiosk.core.feedback import VisitFeedback
from kiosk.core.service import LoyaltyService
from kiosk.core.store.settings import storage_writable
from kiosk.core.sync_status import SyncStatus
from kiosk.errors import KioskError, StorageUnavailable, StorageUncertain
from kiosk.text.i18n import Language, Texts
from kiosk.text.rtl import visual
from kiosk.ui.counter import Counter
from kiosk.ui.requests import AttractRequest, BareScreen, ScreenName, ScreenRequest
from kiosk.ui.resources import ASSETS, load_resources
from kiosk.ui.screens import SCREENS, KioskScreen
from kiosk.ui.screens.provision import first_boot_pending
from kiosk.ui.screens.result import ResultScreen
from kiosk.ui.sounds import Sounds
from kiosk.ui.theme import Theme, theme_for

log = logging.getLogger(__name__)

# Provisioning as the composition root offers it: (crm_url, code) -> the device id.
Provisioner = Callable[[str, str], str]


class SyncControl(Protocol):
    """What the counter asks of the background sync worker."""

    def push_now(self) -> None:
        """Push at once (after a sale)."""


# systemd restarts the service whatever its exit status (Restart=always); a distinct code
# tells the journal that a technician asked for it.
RESTART_EXIT_CODE = 3
_PROBE_EVERY = timedelta(seconds=5)
# Kivy's key codes of the keys a USB keyboard drives the screens with (kivy.core.window
# Keyboard.keycodes): Enter and the numeric keypad's Enter, Backspace, Escape.
HARDWARE_KEYS = {13: "enter", 271: "enter", 8: "backspace", 27: "escape"}


class _KeepRunning(ExceptionHandler):
    """A bug in a screen is logged; the shopper sees an error message, never a traceback."""

    def __init__(self, app: KioskApp) -> None:
        self.app = app

    def handle_exception(self, inst: BaseException) -> int:
        if isinstance(inst, KeyboardInterrupt | SystemExit):
            return int(ExceptionManager.RAISE)
        log.error("unexpected error in the touch app", exc_info=inst)
        self.app.bugs.append(f"{type(inst).__name__}: {inst}")
        self.app.unexpected_error()
        return int(ExceptionManager.PASS)


class KioskApp(App):
    """The kiosk's touch app on one service (database), readers and feedback device."""

    lang = StringProperty("fa")
    rtl = BooleanProperty(True)
    # The unit of every size in the kv rules: the window's height in pixels.
    u = NumericProperty(480)
    # The palette, type scale and spacing the kv rules read (kiosk/ui/theme.py).
    theme = ObjectProperty(Theme())
    # The CRM link: "off" (no CRM configured), "online" or "offline" (set by the sync worker).
    network_state = StringProperty("off")

    def __init__(
        self,
        service: LoyaltyService,
        *,
        data_dir: Path,
        readers: ReaderSet | None = None,
        feedback: Feedback | None = None,
        sounds: Sounds | None = None,
        exit_app: Callable[[int], None] | None = None,
        sync_now: Callable[[], str] | None = None,
        poke_sync: Callable[[], None] | None = None,
        notifier: Notifier | None = None,
        provision: Provisioner | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.title = "Loyalty kiosk"
        self.service = service
        self.config_ = service.config
        self.theme = theme_for(service.config.shop.brand_colour, service.config.shop.logo)
        self.data_dir = data_dir
        self.readers = readers
        self.feedback = feedback or NoFeedback()
        self.sounds = sounds or Sounds(ASSETS / "sounds", enabled=service.config.ui.sounds)
        self.exit_app = exit_app
        self.sync_now = sync_now
        self.poke_sync = poke_sync
        # Enrolls this kiosk at a CRM (the technician's provisioning screen); the
        # composition root gives it, so no screen opens a network client itself.
        self.provision = provision
        # systemd's watchdog: pinged from Kivy's Clock, so a stuck UI loop stops the pings.
        self.notifier = notifier or Notifier(environ={})
        self.exit_code = 0
        self.clock = service.clock
        default: Language = self.default_language()
        # The visit rating after a purchase (kiosk/ui/screens/feedback.py).
        self.visit_feedback = VisitFeedback(
            service.conn, service.clock, service.tz, service.device_id, service.config.feedback
        )
        self.counter = Counter(
            self.clock,
            default_language=default,
            idle_timeout=timedelta(seconds=service.config.ui.idle_timeout_seconds),
            shift_timeout=timedelta(minutes=service.config.security.shift_timeout_minutes),
        )
        self.reader_states: dict[str, ReaderStatusChanged] = {}
        self.result_until: datetime | None = None
        self.next_probe: datetime | None = None
        self.storage_problem = ""
        self.storage_uncertain = False
        self.last_sync = ""
        self._texts: dict[str, Texts] = {}
        self.manager: ScreenManager | None = None
        self.home: BareScreen = "attract"  # or the first-boot setup (build)
        self._handler: _KeepRunning | None = None
        self.stopped = False
        # How many card taps the UI has handled (no ids kept: they are personal data).
        self.cards_handled = 0
        # Unexpected errors caught (what, not where: the log has the traceback).
        self.bugs: list[str] = []
        self._set_language(default)

    # -- building ------------------------------------------------------------------------

    def build(self) -> ScreenManager:
        """The screen manager with every screen; readers start here."""
        load_resources()
        ui = self.config_.ui
        Window.show_cursor = ui.show_cursor
        self.u = Window.height
        Window.bind(
            on_resize=self._resized,
            on_touch_down=self._touched,
            on_textinput=self._typed,
            on_key_down=self._key_down,
        )
        self._handler = _KeepRunning(self)
        ExceptionManager.add_handler(self._handler)
        manager = ScreenManager(transition=NoTransition())
        for name, screen_class in SCREENS.items():
            manager.add_widget(screen_class(name=name))
        self.manager = manager
        # The screen an idle kiosk shows: the first-boot setup on a flashed kiosk not set
        # up yet (kiosk/ui/screens/provision.py), else the attract screen.
        manager.current = "attract"
        log.info("screen: attract")
        self.home = "first_boot" if first_boot_pending(self.service) else "attract"
        if self.home != "attract":
            self.go(self.home)
        Clock.schedule_interval(self.tick, 0.5)
        if self.notifier.interval is not None:
            Clock.schedule_interval(self._watchdog, self.notifier.interval)
        Clock.schedule_once(self._ready, 0)  # after the first frame is drawn
        if self.readers is not None:
            self.readers.start(self._reader_thread_event)
        return manager

    def _ready(self, _dt: float = 0) -> None:
        self.notifier.ready(f"attract screen, device {self.service.device_id}")
        # On the KMS display (SDL's kmsdrm) the frames drawn while the app starts did not
        # reach the screen: a static first screen stayed black until something changed
        # (found by make appliance-test, docs/appliance-test.md). Draw it again, twice.
        for delay in (1, 5):
            Clock.schedule_once(self._draw_again, delay)

    def _draw_again(self, _dt: float = 0) -> None:
        Window.canvas.ask_update()

    def _watchdog(self, _dt: float = 0) -> None:
        self.notifier.ping()

    def on_stop(self) -> None:
        """Stop the readers and close the feedback device."""
        self.shutdown()

    def shutdown(self) -> None:
        """Stop everything this app started (also used by tests, which keep the window)."""
        if self.stopped:
            return
        self.stopped = True
        self.notifier.stopping()
        Clock.unschedule(self.tick)
        Clock.unschedule(self._watchdog)
        Window.unbind(
            on_resize=self._resized,
            on_touch_down=self._touched,
            on_textinput=self._typed,
            on_key_down=self._key_down,
        )
        if self._handler is not None:
            ExceptionManager.remove_handler(self._handler)
            self._handler = None
        if self.readers is not None:
            self.readers.stop()
            self.readers = None
        self.feedback.close()

    # -- text --------------------------------------------------------------------------

    @property
    def texts(self) -> Texts:
        """Words, numbers, money and dates in the language the screen is drawn in."""
        # The UI's language, not the counter's: a text must never come in another
        # language than the buttons around it.
        language: Language = "en" if self.lang == "en" else "fa"
        if language not in self._texts:
            self._texts[language] = Texts(
                language,
                unit=self.config_.money.entry_unit,
                persian_digits=self.config_.ui.persian_digits,
                timezone=self.config_.shop.timezone,
            )
        return self._texts[language]

    def t(self, key: str, _binding: object = None, /, **params: Any) -> str:
        """The message `key` translated, filled in and shaped for display.

        `_binding` is ignored: kv rules pass `app.lang` so that they run again when the
        language changes.
        """
        return self.show(self.texts.tr(key, **params))

    def show(self, text: str) -> str:
        """Shape text that is data, not a message (a name, a code, a formatted number)."""
        return visual(text, self.rtl)

    def error_text(self, error: KioskError) -> str:
        """An error, translated and shaped."""
        return self.show(self.texts.error(error))

    # -- navigation --------------------------------------------------------------------

    @property
    def screen(self) -> KioskScreen[Any]:
        """The screen shown now."""
        assert self.manager is not None
        current: KioskScreen[Any] = self.manager.current_screen
        return current

    def go(self, where: BareScreen | ScreenRequest, /) -> None:
        """Show a screen by name, or the screen a request names, prepared with it."""
        assert self.manager is not None
        name: ScreenName = where if isinstance(where, str) else where.screen
        request = None if isinstance(where, str) else where
        screen: KioskScreen[Any] = self.manager.get_screen(name)
        screen.prepare(request)
        if self.manager.current == name:
            screen.refresh()
        elif log.isEnabledFor(logging.INFO):
            log.info("screen: %s", name)  # names only: no shopper data in logs
        self.manager.current = name

    def go_home(self) -> None:
        """Forget the shopper and show the attract screen in the shop's language."""
        self.counter.forget_shopper()
        self.result_until = None
        if self.manager is not None:
            for screen in self.manager.screens:
                screen.forget()
                screen.clear_message()
        self._set_language(self.counter.language)
        self.go(self.home)

    def next_shopper(self) -> None:
        """Someone else is served now (a card tapped mid-session): forget the previous
        shopper but keep the language on screen, which the person there chose."""
        language = self.counter.language
        self.counter.forget_shopper()
        self.counter.language = language

    def toggle_language(self) -> None:
        """The shopper's language button: Persian <-> English until the next idle."""
        self.counter.language = "en" if self.counter.language == "fa" else "fa"
        self._set_language(self.counter.language)

    def default_language(self) -> Language:
        """The shop's language: set on the device by a technician, else from the config."""
        value = self.service.settings.get("default_language", self.config_.shop.default_language)
        return "en" if value == "en" else "fa"

    def _set_language(self, language: Language) -> None:
        if self.manager is not None and language != self.lang:
            self.clear_messages()  # said in the language before
        self.rtl = language == "fa"
        self.lang = language
        if self.manager is not None:
            self.screen.refresh()

    def clear_messages(self) -> None:
        """Clear every screen's message line (nobody reads what was said to another)."""
        if self.manager is not None:
            for screen in self.manager.screens:
                screen.clear_message()

    # -- events ------------------------------------------------------------------------

    def _reader_thread_event(self, event: ReaderEvent) -> None:
        # Called on a reader's thread: hand the event to the UI thread, touch nothing here.
        Clock.schedule_once(partial(self._reader_event, event), -1)

    def _reader_event(self, event: ReaderEvent, _dt: float = 0) -> None:
        if self.stopped or self.manager is None:
            return  # scheduled just before the app stopped
        if isinstance(event, ReaderStatusChanged):
            hint = f" ({event.hint})" if event.hint else ""
            log.info("[%s] %s: %s%s", event.reader, event.state, event.message, hint)
            self.reader_states[event.reader] = event
            self.screen.status_changed()
        elif isinstance(event, CardPresented):
            self.card_presented(event.uid, event.reader)

    def card_presented(self, uid: str, reader: str = "") -> None:
        """A card was tapped: the current screen decides what it means."""
        self.counter.touched()
        try:
            if self.screen.name != "out_of_service":
                self.screen.card(uid, reader)
        finally:
            self.cards_handled += 1

    def _touched(self, _window: Any, _touch: Any) -> bool:
        self.counter.touched()
        return False

    def _typed(self, _window: Any, text: str) -> None:
        # A USB keyboard or a keyboard-wedge reader typing into the focused screen.
        self.counter.touched()
        self.screen.typed(text)

    def _key_down(
        self, _window: Any, key: int, _scancode: int, _codepoint: str | None, _modifiers: Any
    ) -> bool:
        # Keys that type no text (SDL sends Enter and Backspace as keys only): the screen
        # presses the button a finger would. Escape is always taken: Kivy would close the
        # window on it (launch.py turns that off too).
        name = HARDWARE_KEYS.get(key)
        if name is None:
            return False
        self.counter.touched()
        self.screen.hardware_key(name)
        return True

    def _resized(self, _window: Any, _width: int, height: int) -> None:
        self.u = height

    def recorded(self) -> None:
        """Something was written to the ledger: let the sync worker push it now."""
        if self.poke_sync is not None:
            self.poke_sync()

    def attach_sync(self, background: SyncControl) -> None:
        """Push after each sale and on the technician's "sync now" through `background`."""

        def sync_now() -> str:
            background.push_now()
            return "tech.sync_started"

        self.sync_now = sync_now
        self.poke_sync = background.push_now

    def reader_report(self) -> list[dict[str, str]]:
        """The readers' states for the heartbeat (any thread: a copy of the latest events)."""
        return [
            {"name": event.reader, "state": str(event.state)}
            for event in list(self.reader_states.values())
        ]

    def sync_reported(self, status: SyncStatus) -> None:
        """The sync worker's status after a push (called on any thread)."""
        Clock.schedule_once(partial(self._sync_status, status), -1)

    def _sync_status(self, status: SyncStatus, _dt: float = 0) -> None:
        if self.stopped or self.manager is None:
            return
        if not status.configured:
            self.network_state = "off"
        elif status.online:
            self.network_state = "online"
        else:
            self.network_state = "offline"
        if status.program_changed:
            self.service.reload_program()
        self.last_sync = status.last_success_at or ""
        self.screen.status_changed()

    def signal(self, ok: bool) -> None:
        """Beep and flash the reader's light (and play the screen's sound)."""
        self.feedback.signal(Signal.SUCCESS if ok else Signal.FAILURE)

    # -- failures ----------------------------------------------------------------------

    def failed(self, error: KioskError) -> bool:
        """Handle errors that are not the screen's business; True if handled here."""
        if isinstance(error, StorageUnavailable):
            self.out_of_service(str(error), uncertain=isinstance(error, StorageUncertain))
            return True
        return False

    def out_of_service(self, reason: str, *, uncertain: bool = False) -> None:
        """The database cannot be written: say so and probe until it can.

        `uncertain`: the last save failed at its commit and may yet be there after a
        power cut; the screen says to check before entering it again.
        """
        log.error("out of service: %s", reason)
        self.storage_problem = reason
        self.storage_uncertain = uncertain
        self.next_probe = self.clock() + _PROBE_EVERY
        self.counter.forget_shopper()
        self._set_language(self.counter.language)
        self.go("out_of_service")

    def unexpected_error(self) -> None:
        """A bug: go back to the start and say something went wrong, in words."""
        self.counter.forget_shopper()
        self._set_language(self.counter.language)
        self.go(AttractRequest(message_key="error.generic"))

    # -- time --------------------------------------------------------------------------

    def tick(self, _dt: float = 0) -> None:
        """Run the timeouts: result screen, idle shopper, shift, out-of-service probe."""
        if self.stopped or self.manager is None:
            return
        now = self.clock()
        name = self.manager.current
        self.counter.cashier()  # ends a timed-out shift
        if name == "out_of_service":
            if self.next_probe is not None and now >= self.next_probe:
                if storage_writable(self.service.conn):
                    log.info("storage writable again: back in service")
                    self.next_probe = None
                    self.go_home()
                else:
                    self.next_probe = now + _PROBE_EVERY
            return
        if name == "result" and self.result_until is not None and now >= self.result_until:
            result: ResultScreen = self.manager.get_screen("result")
            result.done()
            return
        if self.screen.waiting():
            self.counter.touched()  # the idle timeout starts when the wait ends
        elif self.counter.idle() and (
            name != self.home or self.counter.language != self.counter.default_language
        ):
            self.go_home()  # forgets the shopper, and their language
            return
        self.screen.tick()

    def restart(self) -> None:
        """The technician's "restart the app": exit so that systemd starts it again."""
        self.exit_code = RESTART_EXIT_CODE
        if self.exit_app is not None:
            self.exit_app(RESTART_EXIT_CODE)
        else:
            self.stop()
