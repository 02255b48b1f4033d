"""Optional buzzer/LED feedback: the shopper hears and sees that a tap worked or failed.

`Feedback` is the protocol; `SerialFeedback` drives the common boards that take a command
byte string over a serial line (any pyserial URL), `NoFeedback` is for kiosks without one.
Feedback must never hold up a sale: a failure is logged and swallowed.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Signal(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


class Feedback(Protocol):
    def signal(self, signal: Signal) -> None:
        """Beep/flash for `signal`; returns at once and never raises."""
        ...

    def close(self) -> None: ...


class NoFeedback:
    def signal(self, signal: Signal) -> None:
        pass

    def close(self) -> None:
        pass


class SerialFeedback:
    """Writes `success` or `failure` bytes to a serial URL, reopening it after a failure."""

    def __init__(
        self, url: str, *, success: bytes = b"S\n", failure: bytes = b"F\n", baudrate: int = 9600
    ) -> None:
        self.url = url
        self.commands = {Signal.SUCCESS: success, Signal.FAILURE: failure}
        self.baudrate = baudrate
        self.failures = 0
        self._port: Any = None
        self._lock = threading.Lock()

    def signal(self, signal: Signal) -> None:
        import serial

        with self._lock:
            try:
                if self._port is None:
                    self._port = serial.serial_for_url(
                        self.url, baudrate=self.baudrate, write_timeout=0.2
                    )
                self._port.write(self.commands[signal])
                self._port.flush()
            except (serial.SerialException, OSError, ValueError) as exc:
                self.failures += 1
                log.warning("feedback device %s failed: %s", self.url, exc)
                self._close()

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(Exception):  # closing a dead port
                port.close()


FeedbackFactory = Callable[[str], Feedback]
# Kind -> factory, like the reader schemes: `sim` registers its own (sim/schemes.py).
_KINDS: dict[str, FeedbackFactory] = {}


def register_feedback(kind: str, factory: FeedbackFactory) -> None:
    """Make `kind:...` feedback URLs build with `factory` (given the whole URL)."""
    _KINDS[kind] = factory


def build_feedback(url: str) -> Feedback:
    """The buzzer/LED for `readers.feedback`: none for "", else by the URL's kind.

    A URL of no registered kind is a pyserial URL (`/dev/ttyUSB1`, `loop://`), as before
    kinds were registered.
    """
    if not url:
        return NoFeedback()
    kind, sep, _rest = url.partition(":")
    factory = _KINDS.get(kind) if sep else None
    return factory(url) if factory is not None else SerialFeedback(url)


register_feedback("serial", lambda url: SerialFeedback(url.removeprefix("serial:")))
