"""The touch app pings systemd's watchdog from Kivy's Clock: a stuck UI loop goes silent."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.appliance.watchdog import Notifier
from tests.notify_socket import NotifySocket


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    folder = Path(tempfile.mkdtemp(prefix="notify-"))  # AF_UNIX paths are short
    with NotifySocket(folder / "sock") as sock:
        yield sock
    shutil.rmtree(folder, ignore_errors=True)


def test_the_app_is_ready_after_its_first_frame_and_pings_from_the_clock(
    kiosk_factory, notify: NotifySocket
):
    from kivy.clock import Clock

    notifier = Notifier({"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "200000"})
    kiosk = kiosk_factory(notifier=notifier)
    kiosk.until(lambda: notifier.pings >= 3, "three watchdog pings")
    notify.next("READY=1")
    notify.next("WATCHDOG=1")
    verdict: dict[str, bool] = {}
    release = threading.Event()

    def watch() -> None:  # another thread: the UI loop is the one that is stuck
        notify.drain()
        verdict["silent"] = notify.silent_for("WATCHDOG=1", 1.0)  # five timeouts
        release.set()

    def stuck(_dt: float) -> None:  # a callback that never returns in time
        threading.Thread(target=watch, daemon=True).start()
        release.wait(30)

    Clock.schedule_once(stuck, 0)
    kiosk.pump()  # runs `stuck`, which holds the loop until the watcher has seen enough
    pings_after = notifier.pings
    kiosk.until(lambda: notifier.pings > pings_after, "pings again once the loop runs")

    assert verdict == {"silent": True}
    assert kiosk.screen == "attract"
