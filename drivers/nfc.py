"""NFC readers through nfcpy: `usb`, `usb:072f:2200`, `tty:S0:pn532`, `udp:HOST:PORT`.

A worker thread runs `ContactlessFrontend.connect()` with a terminate callback. nfcpy
calls that callback between sense rounds, so it doubles as the sign of life: after a full
round the reader is CONNECTED. A tag found calls `on-connect` (a presentation); nfcpy then
checks its presence until it leaves (`on-release`: the removal). When nfcpy gives up on
the device (it returns False from connect after an I/O error, or something escapes it),
the session ends and the base class reopens the device with backoff.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from typing import Any

from drivers.base import Backoff, ReaderFault, ReaderState, ThreadedReader

log = logging.getLogger(__name__)

TECHNOLOGY = {"A": "ISO14443-A", "B": "ISO14443-B", "F": "FeliCa"}
KERNEL_DRIVER_HINT = (
    "a kernel NFC driver holds the reader: add `blacklist pn533_usb` (and `pn533`, `nfc`) "
    "to /etc/modprobe.d/blacklist-nfc.conf, then unplug and replug it"
)


def open_fault(path: str, exc: BaseException | None) -> ReaderFault:
    """A plain message and hint for an NFC device that would not open."""
    number = getattr(exc, "errno", None)
    if number == errno.EBUSY:
        return ReaderFault(
            f"the NFC reader at {path} is busy: another program holds it",
            "often pcscd: sudo systemctl disable --now pcscd.socket pcscd",
        )
    if number == errno.EACCES:
        return ReaderFault(
            f"no permission to open the NFC reader at {path}",
            "install the udev rule (systemd/99-loyalty-kiosk.rules) or add the service user "
            "to the plugdev group, then replug the reader",
        )
    if number == errno.ENODEV or exc is None:
        hint = "is it plugged in? `lsusb` lists USB devices"
        if path.startswith("usb") and _kernel_driver_bound():
            hint = KERNEL_DRIVER_HINT
        return ReaderFault(f"no NFC reader found at {path}", hint, state=ReaderState.DISCONNECTED)
    return ReaderFault(f"cannot open the NFC reader at {path}: {exc}", "check readers.urls")


def _kernel_driver_bound() -> bool:
    """Whether Linux's own pn533 driver is loaded (it claims the reader before nfcpy)."""
    return os.path.isdir("/sys/module/pn533_usb") or os.path.isdir("/sys/module/pn533")  # noqa: PTH112


class NfcReader(ThreadedReader):
    """An nfcpy reader on its own thread; reconnects after unplug or I/O errors."""

    technology = "ISO14443-A"

    def __init__(
        self,
        name: str,
        path: str,
        *,
        backoff: Backoff | None = None,
        interval: float = 0.05,
        wedge_timeout: float = 10.0,
    ) -> None:
        super().__init__(name, backoff=backoff)
        self.path = path
        self.interval = interval
        # nfcpy readers are known to wedge: a call into the device that never returns.
        # nfcpy calls our terminate callback between sense rounds and while it watches a
        # held tag, so silence longer than this means the reader is stuck.
        self.wedge_timeout = wedge_timeout
        self._beat = time.monotonic()

    def _targets(self) -> list[str]:
        # nfcpy's udp: device waits a second for each kind of target nobody answers; the
        # simulated tag is type A, so only A is polled there. Real readers poll all three.
        return ["106A"] if self.path.startswith("udp") else ["106A", "106B", "212F"]

    def session(self) -> None:
        import nfc

        try:
            clf = nfc.ContactlessFrontend()
            opened = clf.open(self.path)
        except OSError as exc:
            raise open_fault(self.path, exc) from exc
        if not opened:
            raise open_fault(self.path, None)
        rounds = 0
        round_started = time.monotonic()
        self._beat = time.monotonic()
        watchdog = threading.Thread(
            target=self._watch, args=(clf,), name=f"reader-{self.name}-watchdog", daemon=True
        )
        watchdog.start()

        def terminate() -> bool:
            # nfcpy calls this between sense rounds (one round each: `iterations` 1), so it
            # paces the polling to `interval` and answers stop() at once while it waits.
            nonlocal rounds, round_started
            self._beat = time.monotonic()
            rounds += 1
            if rounds > 1:  # a full sense round went through: the reader answers
                self.connected(f"NFC reader {clf.device} ready")
                self.stopping.wait(max(0.0, self.interval - (time.monotonic() - round_started)))
            round_started = time.monotonic()
            return self.stopping.is_set()

        try:
            while not self.stopping.is_set():
                try:
                    result = clf.connect(
                        rdwr={
                            "targets": self._targets(),
                            "interval": self.interval,
                            "iterations": 1,
                            "beep-on-connect": False,
                            "on-connect": self._on_connect,
                            "on-release": self._on_release,
                        },
                        terminate=terminate,
                    )
                except Exception as exc:  # nfcpy lets some device faults escape
                    raise ReaderFault(
                        f"the NFC reader at {self.path} stopped answering properly ({exc!r})",
                        "the kiosk reopens it by itself; if this repeats, replug it",
                        state=ReaderState.DISCONNECTED,
                    ) from exc
                if self.stopping.is_set():
                    return
                if result is False:  # nfcpy logged an I/O error and gave up
                    raise ReaderFault(
                        f"the NFC reader at {self.path} went away",
                        "check the cable; the kiosk reconnects by itself",
                        state=ReaderState.DISCONNECTED,
                    )
                rounds = 0
        finally:
            self._beat = float("inf")  # the session is over: the watchdog leaves
            watchdog.join(5)
            self.card_removed()
            try:
                clf.close()
            except Exception:  # closing a device that is gone
                log.debug("closing %s failed", self.path, exc_info=True)

    def _watch(self, clf: Any) -> None:
        """Report a reader that stopped calling back (wedged), once per silence."""
        step = min(1.0, self.wedge_timeout / 4)
        reported_beat = None
        while not self.stopping.wait(step):
            beat = self._beat
            if beat == float("inf"):
                return
            if beat != reported_beat and time.monotonic() - beat > self.wedge_timeout:
                reported_beat = beat
                self.report(
                    ReaderState.ERROR,
                    f"the NFC reader at {self.path} stopped answering "
                    f"(nothing for {self.wedge_timeout:g} s)",
                    "unplug and replug it; if it happens often, check its power supply "
                    "(a powered USB hub helps)",
                )

    def _on_connect(self, tag: Any) -> bool:
        uid = bytes(tag.identifier).hex().upper()
        brty = getattr(getattr(tag, "target", None), "brty", "106A")
        self.card_present(uid, TECHNOLOGY.get(brty[-1:], "NFC"))
        return True  # nfcpy waits for the tag to leave, then calls on-release

    def _on_release(self, tag: Any) -> bool:
        self.card_removed()
        return False  # keep connect() looping for the next tag
