"""A real Kivy window (offscreen), the kiosk app on a real database, driven by touches.

One window per test process (Kivy has one); each test mounts a fresh app on it with its
own data directory, manual clock, simulated reader and staff. Touches go through the
window's event dispatch to the widgets under them, as a finger's would. Nothing sleeps:
`Kiosk.until()` runs the event loop until a condition holds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Kivy reads these when it is first imported: no command line, logs through `logging`, its home
# in a temporary folder, a window without a screen.
os.environ["KIVY_NO_ARGS"] = "1"
os.environ["KIVY_LOG_MODE"] = "PYTHON"
os.environ["KIVY_HOME"] = tempfile.mkdtemp(prefix="kivy-home-")
os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from drivers.factory import ReaderSet
from kiosk.bootstrap import Appliance
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from sim.reader import SimReader
from tests.conftest import START, make_config

CASHIER_PIN = "1357"
MANAGER_PIN = "2468"
TECHNICIAN_PIN = "9753"
_WAIT_SECONDS = 10.0  # a safety limit for `until`, never a pace


def _probe_window() -> None:
    # Kivy exits the process when it cannot open a window; find out in a child first.
    probe = "from kivy.core.window import Window; import sys; sys.exit(0 if Window else 3)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(
            "Kivy cannot open a window here (SDL offscreen needs Mesa's OpenGL: "
            f"apt-get install libgl1 libegl1 libgl1-mesa-dri, as `make test` does as root): {last}"
        )


@pytest.fixture(scope="session")
def can_open_window() -> None:
    """Skip (with the reason) where Kivy cannot open a window."""
    _probe_window()


@pytest.fixture(scope="session")
def window(can_open_window: None) -> Any:
    """The one Kivy window of this process, 800x480."""
    from kivy.config import Config

    Config.set("graphics", "width", "800")
    Config.set("graphics", "height", "480")
    Config.set("graphics", "maxfps", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    from kivy.core.window import Window

    return Window


class Kiosk:
    """The app under test and the hands that use it."""

    def __init__(self, app: Any, reader: SimReader, clock: ManualClock, window: Any) -> None:
        self.app = app
        self.reader = reader
        self.clock = clock
        self.window = window
        self.service: LoyaltyService = app.service
        self.exits: list[int] = []
        self.background: Any = None

    # -- looking ---------------------------------------------------------------------------

    @property
    def screen(self) -> str:
        return str(self.app.manager.current)

    def ids(self, name: str) -> Any:
        return self.app.screen.ids[name]

    def text(self, name: str) -> str:
        return str(self.ids(name).text)

    def shows(self, key: str, **params: Any) -> str:
        """What message `key` looks like on screen now (translated and shaped)."""
        return str(self.app.t(key, **params))

    def message(self) -> str:
        return self.text("message")

    # -- doing -----------------------------------------------------------------------------

    def pump(self, frames: int = 2) -> None:
        from kivy.base import EventLoop

        for _ in range(frames):
            EventLoop.idle()

    def until(self, condition: Callable[[], bool], what: str = "condition") -> None:
        deadline = time.monotonic() + _WAIT_SECONDS
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen {self.screen}")
            self.pump(1)

    def touch(self, widget: Any) -> None:
        """Press and release a finger at the centre of `widget`."""
        from kivy.tests.common import UnitTestTouch

        self.pump(1)
        assert widget.get_root_window() is not None, f"{widget} is not on screen"
        assert not widget.disabled, f"{widget} is disabled"
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        self._as_mainloop(touch.touch_down)
        self._as_mainloop(touch.touch_up)
        self.pump(1)

    def _as_mainloop(self, action: Callable[[], None]) -> None:
        # Kivy's main loop hands an exception from an event to the ExceptionManager (the
        # app's handler keeps the kiosk running); a test dispatching by hand does the same.
        from kivy.base import ExceptionManager

        try:
            action()
        except Exception as exc:
            if ExceptionManager.handle_exception(exc) == ExceptionManager.RAISE:
                raise

    def press(self, name: str) -> None:
        self.touch(self.ids(name))

    def keys(self, sequence: str, keypad: str = "keypad") -> None:
        """Touch keypad keys: digits, and words like "ok" and "back" between brackets."""
        pad = self.ids(keypad)
        for key in _split_keys(sequence):
            self.touch(pad.button(key))

    def sign_in(self, name: str, pin: str) -> None:
        """On the sign-in screen: touch `name` on the list of staff, then type `pin` and OK."""
        self.touch(self.app.screen.person_button(name))
        self.keys(pin + "[ok]")

    def staff_id(self, name: str) -> str:
        """The staff id of the person called `name`."""
        return next(s.staff_id for s in self.service.staff.list() if s.name == name)

    def tap_card(self, uid: str) -> None:
        """Tap a card on the simulated reader and wait until the UI has handled it."""
        handled = self.app.cards_handled
        self.reader.tap(uid)
        self.until(lambda: self.app.cards_handled > handled, f"card {uid} to reach the UI")
        self.pump(1)

    def tick(self, **delta: float) -> None:
        """Let time pass on the kiosk's clock and run its timeouts."""
        if delta:
            self.clock.advance(**delta)
        self.app.tick()
        self.pump(1)


def _split_keys(sequence: str) -> list[str]:
    keys: list[str] = []
    word = ""
    inside = False
    for char in sequence:
        if char == "[":
            inside = True
        elif char == "]":
            keys.append(word)
            word, inside = "", False
        elif inside:
            word += char
        elif not char.isspace():
            keys.append(char)
    return keys


def _sync_in_background(app: Any, crm: Any, appliance: Appliance) -> Any:
    """The sync worker on its thread, as `kiosk run` starts it, against `crm`."""
    from sync.worker import save_secret

    if crm.store is not None:  # a live simulated CRM: enroll this kiosk there
        client = appliance.enrollment_client(crm.url, app.service.device_id, None)
        try:
            secret = client.enroll(crm.store.new_code())
        finally:
            client.close()
    else:
        secret = b"k" * 32
    save_secret(appliance.config.crm, appliance.data_dir, secret)
    background = appliance.background_sync(on_status=app.sync_reported)
    assert background is not None, "a CRM test needs crm.url"
    app.background = background
    app.attach_sync(background)
    return background.start()


def _forget_previous_app() -> None:
    # kv rules reach the app through Kivy's ProxyApp, which caches the first app it sees
    # and forgets it only on that app's on_stop; a frame drawn after a test's teardown
    # can make it cache the stopped app again. One process, one app per test: reset it.
    from kivy.lang.parser import global_idmap

    object.__setattr__(global_idmap["app"], "_obj", None)


@pytest.fixture
def kiosk_factory(tmp_path: Path, window: Any) -> Iterator[Callable[..., Kiosk]]:
    """Mount a kiosk app with config `overrides` on the window; unmounted after the test."""
    from kivy.base import EventLoop

    from kiosk.ui.app import KioskApp
    from kiosk.ui.sounds import Sounds

    mounted: list[tuple[Any, Any, LoyaltyService]] = []

    def mount(
        *overrides: str,
        staff: bool = True,
        feedback: Any = None,
        crm: Any = None,
        notifier: Any = None,
    ) -> Kiosk:
        clock = ManualClock(START)
        config = make_config(*overrides)
        data_dir = tmp_path / f"data{len(mounted)}"
        appliance = Appliance(config, data_dir, clock=clock)
        service = appliance.open_service()
        if staff:
            service.staff.add(name="Sara", role="cashier", pin=CASHIER_PIN, actor=CLI)
            service.staff.add(name="Reza", role="manager", pin=MANAGER_PIN, actor=CLI)
            service.staff.add(name="Tara", role="technician", pin=TECHNICIAN_PIN, actor=CLI)
        reader = SimReader("sim")
        readers = ReaderSet([reader], debounce_seconds=0)
        exits: list[int] = []
        app = KioskApp(
            service,
            data_dir=data_dir,
            readers=readers,
            sounds=Sounds(Path("assets/sounds"), enabled=False),
            feedback=feedback,
            exit_app=exits.append,
            notifier=notifier,
            provision=appliance.provision_device,
        )
        _forget_previous_app()
        root = app.build()
        app.root = root
        window.add_widget(root)
        EventLoop.idle()
        kiosk = Kiosk(app, reader, clock, window)
        kiosk.exits = exits
        if crm is not None:
            kiosk.background = _sync_in_background(app, crm, appliance)
        mounted.append((app, root, service))
        kiosk.until(lambda: bool(app.reader_states), "the reader's first status")
        return kiosk

    yield mount
    for app, _root, _service in mounted:
        if getattr(app, "background", None) is not None:
            app.background.stop()
    for app, root, service in mounted:
        # on_stop also makes kv's `app` forget this app (Kivy's ProxyApp caches it).
        app.dispatch("on_stop")
        window.remove_widget(root)
        service.close()
    EventLoop.idle()


@pytest.fixture
def kiosk(kiosk_factory: Callable[..., Kiosk]) -> Kiosk:
    return kiosk_factory()
