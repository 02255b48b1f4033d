"""Simulated serial card readers on a pseudo-terminal, so the real pyserial path runs.

The reader's port is a stable path (a symlink to the pty) that `unplug()` removes and
`replug()` points at a fresh pty, as a USB serial adapter disappears and comes back.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
import tty
from pathlib import Path

from drivers.serial_protocols import rdm6300_frame


class PtySerialReaderSim:
    """A reader writing `rdm6300` frames (repeated while a card is held) or `line` codes."""

    def __init__(
        self,
        directory: Path,
        protocol: str = "rdm6300",
        *,
        name: str = "ttySIM0",
        repeat_interval: float = 0.05,
        line_ending: bytes = b"\r\n",
        prefix: bytes = b"",
        suffix: bytes = b"",
    ) -> None:
        if protocol not in ("rdm6300", "line"):
            raise ValueError(f"unknown protocol {protocol!r}")
        self.path = directory / name
        self.protocol = protocol
        self.repeat_interval = repeat_interval
        self.line_ending = line_ending
        self.prefix = prefix
        self.suffix = suffix
        self.frames_sent = 0
        # When the first frame of the card now held was written (perf_counter): benchmarks
        # time the driver from here.
        self.first_frame_at: float | None = None
        self._last_written: str | None = None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._uid: str | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._closed = False
        self._random = random.Random(6300)
        self._plug()
        self._thread = threading.Thread(target=self._repeat, name="sim-serial", daemon=True)
        self._thread.start()

    # -- controls ------------------------------------------------------------------------

    def present(self, uid: str) -> None:
        """Hold a card in the field (rdm6300: repeated frames) or send one code (line)."""
        if self.protocol == "line":
            self._write(self.prefix + uid.encode() + self.suffix + self.line_ending)
            return
        rdm6300_frame(uid)  # refuse a bad id here, not in the thread
        with self._wake:
            self._uid = uid
            self._wake.notify_all()

    def remove(self) -> None:
        """Take the card away: the frames stop."""
        with self._wake:
            self._uid = None
            self._last_written = None

    def wait_frames(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until `count` more frames of the held card have been written."""
        with self._wake:
            target = self.frames_sent + count
            return self._wake.wait_for(lambda: self.frames_sent >= target, timeout)

    def send_garbage(self, length: int = 64) -> bytes:
        """Write random bytes (noise on the line, a reader booting, a wrong baud rate).

        A line reader's noise ends with a line end, as a booting reader's banner does.
        """
        junk = bytes(self._random.randrange(256) for _ in range(length))
        if self.protocol == "line":
            junk += self.line_ending
        self._write(junk)
        return junk

    def send_raw(self, data: bytes) -> None:
        """Write exactly `data` (a frame with a wrong checksum, half a frame, ...)."""
        self._write(data)

    def unplug(self) -> None:
        """The adapter disappears: the pty closes and the path is gone."""
        with self._wake:
            self._uid = None
            self._close_pty()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def replug(self) -> None:
        """The adapter comes back at the same path (a new pty behind it)."""
        with self._wake:
            self._plug()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._uid = None
            self._close_pty()
            self._wake.notify_all()
        self._thread.join(5)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def __enter__(self) -> PtySerialReaderSim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- inside ---------------------------------------------------------------------------

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation: bytes as a UART gives them
        os.set_blocking(master, False)  # a reader that is not reading must not block us
        self._master, self._slave = master, slave
        link = self.path.with_name(self.path.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(os.ttyname(slave))
        link.replace(self.path)

    def _close_pty(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._master is None:
                return  # unplugged: bytes go nowhere, as on a real cable
            with contextlib.suppress(BlockingIOError):
                os.write(self._master, data)

    def _repeat(self) -> None:
        with self._wake:
            while not self._closed:
                if self._uid is None or self._master is None:
                    self._wake.wait()
                    continue
                with contextlib.suppress(BlockingIOError):
                    os.write(self._master, rdm6300_frame(self._uid))
                    if self._uid != self._last_written:
                        self.first_frame_at = time.perf_counter()
                        self._last_written = self._uid
                    self.frames_sent += 1
                    self._wake.notify_all()
                self._wake.wait(self.repeat_interval)
