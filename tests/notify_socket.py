"""A stand-in for systemd's notify socket: a datagram socket the tests read from.

No reader thread: a datagram is in the socket's buffer as soon as `sendto` returns, so
`drain()` (which reads until the buffer is empty) takes every message sent before it.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from types import TracebackType


class NotifySocket:
    """Binds an AF_UNIX datagram socket; one consumer reads it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))

    def _receive(self, timeout: float) -> str | None:
        self.sock.settimeout(max(timeout, 0.001))
        try:
            return self.sock.recv(4096).decode()
        except TimeoutError:
            return None

    def next(self, wanted: str, within: float = 20.0) -> None:
        """Wait for a message holding the line `wanted` (a safety limit, not a pace)."""
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            text = self._receive(left)
            if text is not None and wanted in text.split("\n"):
                return
        raise AssertionError(f"no {wanted!r} within {within} s")

    def silent_for(self, wanted: str, seconds: float) -> bool:
        """True when no `wanted` message arrives for `seconds` (how a stuck loop shows)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            text = self._receive(left)
            if text is not None and wanted in text.split("\n"):
                return False
        return True

    def drain(self) -> list[str]:
        """Every message sent so far."""
        seen = []
        self.sock.setblocking(False)
        try:
            while True:
                seen.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return seen
        finally:
            self.sock.setblocking(True)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> NotifySocket:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()
