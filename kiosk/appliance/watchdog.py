"""systemd's notify protocol: READY=1 once started, WATCHDOG=1 from the loop that works.

A unit with `Type=notify` waits for READY=1; with `WatchdogSec=` it restarts the service
when no WATCHDOG=1 came for that long. The pings must come from the loop that does the
real work (Kivy's Clock in the touch app; the scheduler's one thread in `kiosk sync`), so
a stuck loop stops them and systemd restarts the service.

The protocol is one datagram to the AF_UNIX socket named in $NOTIFY_SOCKET
(https://www.freedesktop.org/software/systemd/man/sd_notify.html). It is written here,
in a few lines, rather than taken from a package: the Python ones are either bindings
to libsystemd (a C build on the Pi) or unmaintained since 2017. Outside systemd (no
$NOTIFY_SOCKET) every call does nothing. A failed send is logged once, never raised: the
kiosk must not stop because its supervisor is gone.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping

log = logging.getLogger(__name__)

SEND_TIMEOUT = 2.0  # seconds a READY=1 or STOPPING=1 may wait for a full queue


class Notifier:
    """Tells systemd that the service is ready, alive, or stopping."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.interval: float | None = None  # seconds between pings; None: no watchdog
        usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
        ours = not pid or (pid.isdigit() and int(pid) == os.getpid())
        if self.address and usec.isascii() and usec.isdigit() and int(usec) > 0 and ours:
            self.interval = int(usec) / 1_000_000 / 2  # half, as sd_watchdog_enabled(3) says
        self.pings = 0
        self._failed = False
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Running under systemd with a notify socket."""
        return bool(self.address)

    def ready(self, status: str = "") -> None:
        """READY=1: the service is up (after the first frame, or the scheduler started)."""
        self._send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def ping(self) -> None:
        """WATCHDOG=1: the work loop is alive."""
        if self.interval is not None:
            self.pings += 1
            self._send("WATCHDOG=1")

    def stopping(self) -> None:
        """STOPPING=1: shutting down on purpose."""
        self._send("STOPPING=1")

    def _send(self, message: str) -> None:
        if not self.address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                # A supervisor that does not read fills its socket's queue (ten datagrams
                # by default), and a blocking send then waits for ever: the ping's thread
                # hung, and with it the service's stop. A ping that cannot go now is
                # dropped (the next one follows); READY and STOPPING wait a little.
                sock.settimeout(0.0 if message == "WATCHDOG=1" else SEND_TIMEOUT)
                sock.sendto(message.encode(), self.address)
        except OSError as exc:
            with self._lock:
                first, self._failed = not self._failed, True
            if first:
                log.warning("cannot notify systemd (%s); going on without it", exc)
