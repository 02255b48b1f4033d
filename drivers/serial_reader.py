"""Serial card readers through pyserial's `serial_for_url` (device paths, `loop://`,
`socket://`, `rfc2217://`), speaking `rdm6300` or `line` (see serial_protocols)."""

from __future__ import annotations

import contextlib
import errno
import time
from collections.abc import Callable
from typing import Any

from drivers.base import Backoff, ReaderFault, ReaderState, ThreadedReader
from drivers.serial_protocols import LineParser, Rdm6300Parser

PROTOCOLS = ("rdm6300", "line")


class SerialReader(ThreadedReader):
    """A serial reader on its own thread; reconnects after unplug.

    rdm6300 readers repeat their frame while a card is held: the repeats are one
    presentation, and the card counts as removed `removal_timeout` seconds after its last
    frame. A line reader has no presence: each code is a presentation and a removal.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        protocol: str = "rdm6300",
        baudrate: int = 9600,
        removal_timeout: float = 0.3,
        prefix: str = "",
        suffix: str = "",
        pattern: str = r"[0-9A-Fa-f]{4,32}",
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name, backoff=backoff)
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown serial protocol {protocol!r} (rdm6300 or line)")
        self.url = url
        self.protocol = protocol
        self.baudrate = baudrate
        self.removal_timeout = removal_timeout
        self.line_options = (prefix, suffix, pattern)
        self.technology = "EM4100" if protocol == "rdm6300" else "line"
        self.clock = clock
        self.port: Any = None  # the open pyserial port, while connected

    def session(self) -> None:
        import serial

        try:
            port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.05)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise open_fault(self.url, exc) from exc
        self.port = port
        parser: Rdm6300Parser | LineParser = (
            Rdm6300Parser() if self.protocol == "rdm6300" else LineParser(*self.line_options)
        )
        try:
            self.connected(f"reading {self.protocol} at {self.url}")
            last_seen = 0.0
            while not self.stopping.is_set():
                try:
                    data = port.read(max(1, port.in_waiting))
                except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                    if self.stopping.is_set():
                        return
                    raise ReaderFault(
                        f"the reader at {self.url} went away ({exc})",
                        "check the USB cable; the kiosk reconnects by itself",
                        state=ReaderState.DISCONNECTED,
                    ) from exc
                now = self.clock()
                for uid in parser.feed(data) if data else ():
                    if self.protocol == "line":
                        self.card_present(uid)
                        self.card_removed()
                    else:
                        self.card_present(uid)
                        last_seen = now
                if self.protocol == "rdm6300" and now - last_seen > self.removal_timeout:
                    self.card_removed()
        finally:
            self.port = None
            port.close()

    def interrupt(self) -> None:
        port = self.port
        if port is not None and hasattr(port, "cancel_read"):
            with contextlib.suppress(Exception):  # best effort: the read times out anyway
                port.cancel_read()


def open_fault(url: str, exc: BaseException) -> ReaderFault:
    """A plain message and hint for a port that would not open."""
    number = getattr(exc, "errno", None)
    text = str(exc)
    if number == errno.EACCES or "Permission denied" in text:
        return ReaderFault(
            f"no permission to open {url}",
            "add the kiosk's service user to the dialout group",
        )
    if number == errno.EBUSY or "busy" in text.lower():
        return ReaderFault(
            f"{url} is held by another program",
            "stop it (e.g. ModemManager: sudo systemctl disable --now ModemManager)",
        )
    if number in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or "No such file" in text:
        return ReaderFault(
            f"no serial reader at {url}",
            "is it plugged in? `ls /dev/serial/by-id/` lists the serial devices",
            state=ReaderState.DISCONNECTED,
        )
    return ReaderFault(f"cannot open {url}: {text}", "check the reader URL in the config")
