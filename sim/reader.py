"""An in-process simulated reader (fast tests, `make run`), and its local control socket.

`SimReader` runs the same `ThreadedReader` machinery as the real drivers (status changes,
reconnect after unplug) with cards presented by method calls. With a `socket_path`, a
running kiosk also takes `present UID`, `remove` and `tap UID` lines on a Unix socket:
that is how `kiosk sim tap UID` reaches it.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from pathlib import Path

from drivers.base import Backoff, EventSink, ReaderFault, ReaderState, ThreadedReader

_WAKE = ("wake", "")


class SimReader(ThreadedReader):
    """A reader whose cards come from `present()` / `remove()` calls or the control socket."""

    technology = "ISO14443-A"

    def __init__(
        self, name: str = "sim", *, socket_path: Path | None = None, backoff: Backoff | None = None
    ) -> None:
        super().__init__(name, backoff=backoff or Backoff(first=0.01, most=0.1))
        self.socket_path = socket_path
        self.garbage_received = 0
        self._commands: queue.Queue[tuple[str, str]] = queue.Queue()
        self._plugged = threading.Event()
        self._plugged.set()
        self._listener: threading.Thread | None = None
        self._server: socket.socket | None = None

    # -- controls (any thread) ------------------------------------------------------------

    def present(self, uid: str) -> None:
        """Put a card in the field."""
        self._commands.put(("present", uid))

    def remove(self) -> None:
        """Take the card away."""
        self._commands.put(("remove", ""))

    def tap(self, uid: str) -> None:
        """Present and remove a card."""
        self.present(uid)
        self.remove()

    def send_garbage(self) -> None:
        """Noise: a real reader's parser drops it; here it is counted and dropped."""
        self._commands.put(("garbage", ""))

    def unplug(self) -> None:
        self._plugged.clear()
        self._commands.put(("unplug", ""))

    def replug(self) -> None:
        self._plugged.set()
        self._commands.put(_WAKE)

    # -- the reader -----------------------------------------------------------------------

    def start(self, on_event: EventSink) -> None:
        super().start(on_event)
        if self.socket_path is not None:
            self._serve(self.socket_path)

    def stop(self, timeout: float = 5.0) -> None:
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(OSError):
                server.close()
        if self._listener is not None:
            self._listener.join(timeout)
            self._listener = None
            if self.socket_path is not None:
                with contextlib.suppress(FileNotFoundError):
                    self.socket_path.unlink()
        super().stop(timeout)

    def session(self) -> None:
        if not self._plugged.is_set():
            raise ReaderFault(
                "the simulated reader is unplugged", "replug it", state=ReaderState.DISCONNECTED
            )
        self.connected("simulated reader ready")
        while not self.stopping.is_set():
            command, uid = self._commands.get()
            if command == "present":
                self.card_present(uid)
            elif command == "remove":
                self.card_removed()
            elif command == "garbage":
                self.garbage_received += 1
            elif command == "unplug":
                raise ReaderFault(
                    "the simulated reader was unplugged",
                    "replug it",
                    state=ReaderState.DISCONNECTED,
                )

    def interrupt(self) -> None:
        self._commands.put(_WAKE)

    # -- the control socket ---------------------------------------------------------------

    def _serve(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        path.chmod(0o600)
        server.listen(4)
        server.settimeout(0.2)
        self._server = server
        self._listener = threading.Thread(
            target=self._accept, args=(server,), name=f"reader-{self.name}-socket", daemon=True
        )
        self._listener.start()

    def _accept(self, server: socket.socket) -> None:
        while self._server is server:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    line = conn.makefile("r", encoding="ascii", errors="replace").readline()
                    conn.sendall(self._control(line.split()).encode())
                except OSError:
                    continue

    def _control(self, words: list[str]) -> str:
        from kiosk.core.cards import normalize_uid
        from kiosk.errors import InvalidCardUid

        if words[:1] == ["remove"]:
            self.remove()
            return "ok\n"
        if len(words) == 2 and words[0] in ("present", "tap"):
            try:
                uid = normalize_uid(words[1])
            except InvalidCardUid as exc:
                return f"error: {exc}\n"
            if words[0] == "tap":
                self.tap(uid)
            else:
                self.present(uid)
            return "ok\n"
        return "error: say `present UID`, `tap UID` or `remove`\n"


def send_control(path: Path, line: str, timeout: float = 5.0) -> str:
    """Send one control line to a running SimReader; returns its answer line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(str(path))
        client.sendall(line.strip().encode() + b"\n")
        return client.makefile("r", encoding="ascii").readline().strip()
