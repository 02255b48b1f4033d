"""The one small protocol every card reader implements, and the thread that runs one.

A reader turns hardware into events on its own thread: `CardPresented`, `CardRemoved` and
`ReaderStatusChanged`. Consumers (the UI, `kiosk reader test`) get them through the callback
given to `start()`; the UI hops them onto its own thread. Nothing here imports a hardware
library, so the protocol loads everywhere.
"""

from __future__ import annotations

import abc
import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


class ReaderState(enum.StrEnum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    ERROR = "error"


@dataclass(frozen=True)
class CardPresented:
    """A card entered the field (one presentation, however long it is held there)."""

    uid: str  # upper-case hex, as kiosk.cards.normalize_uid gives it
    technology: str  # "ISO14443-A", "ISO14443-B", "FeliCa", "EM4100", "line", ...
    reader: str


@dataclass(frozen=True)
class CardRemoved:
    """The card left the field (or stopped being seen)."""

    uid: str
    reader: str


@dataclass(frozen=True)
class ReaderStatusChanged:
    """A reader connected, disconnected or failed; `message` is for a technician."""

    reader: str
    state: ReaderState
    message: str
    hint: str = ""  # what to do about it, when we know


ReaderEvent = CardPresented | CardRemoved | ReaderStatusChanged
EventSink = Callable[[ReaderEvent], None]


class Reader(Protocol):
    """What the kiosk needs of a card reader."""

    name: str

    @property
    def status(self) -> ReaderStatusChanged:
        """The last status (STOPPED before start)."""
        ...

    def start(self, on_event: EventSink) -> None:
        """Start reading on a thread of its own; events go to `on_event` (from that thread)."""
        ...

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading and join the thread; safe to call twice."""
        ...


class ReaderFault(Exception):
    """A reader cannot be used right now; `message` and `hint` are shown to a technician."""

    def __init__(self, message: str, hint: str = "", *, state: ReaderState = ReaderState.ERROR):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.state = state


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: `first`, doubling up to `most`; reset after a good connection."""

    first: float = 0.2
    most: float = 10.0

    def delays(self) -> Callable[[], float]:
        current = [self.first]

        def next_delay() -> float:
            delay = current[0]
            current[0] = min(self.most, delay * 2)
            return delay

        return next_delay


class ThreadedReader(abc.ABC):
    """A reader whose worker thread runs `session()` and reconnects with backoff.

    Subclasses implement `session()`: open the device, report CONNECTED through
    `connected()`, read until `self.stopping` is set (return) or the device fails (raise
    `ReaderFault` or `OSError`). Cards go out through `card_present()` and `card_removed()`.
    """

    technology = "unknown"

    def __init__(self, name: str, *, backoff: Backoff | None = None) -> None:
        self.name = name
        self.backoff = backoff or Backoff()
        self.stopping = threading.Event()
        self._status = ReaderStatusChanged(name, ReaderState.STOPPED, "not started")
        self._sink: EventSink | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._card: str | None = None

    # -- the protocol ----------------------------------------------------------------

    @property
    def status(self) -> ReaderStatusChanged:
        return self._status

    def start(self, on_event: EventSink) -> None:
        with self._lock:
            if self._thread is not None:
                raise RuntimeError(f"reader {self.name} is already started")
            self._sink = on_event
            self.stopping.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"reader-{self.name}", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self.stopping.set()
        self.interrupt()
        thread.join(timeout)
        if thread.is_alive():  # pragma: no cover - a wedged library call
            log.warning("reader %s did not stop within %.1f s", self.name, timeout)
        self._set_status(ReaderState.STOPPED, "stopped")

    # -- for subclasses ---------------------------------------------------------------

    @abc.abstractmethod
    def session(self) -> None:
        """One connection's life: open the device, deliver cards until it fails or stops."""

    def interrupt(self) -> None:  # noqa: B027 - an optional hook: most sessions poll `stopping`
        """Wake a blocked `session()` so it sees `stopping` (close a port, ...)."""

    def connected(self, message: str) -> None:
        self._set_status(ReaderState.CONNECTED, message)

    def report(self, state: ReaderState, message: str, hint: str = "") -> None:
        """Report a status from a helper thread (e.g. a watchdog) without ending the session."""
        self._set_status(state, message, hint)

    def card_present(self, uid: str, technology: str | None = None) -> None:
        """The card `uid` is in the field now (a new card ends the previous presence)."""
        if self._card == uid:
            return
        if self._card is not None:
            self.card_removed()
        self._card = uid
        self._emit(CardPresented(uid, technology or self.technology, self.name))

    def card_removed(self) -> None:
        """The card in the field (if any) left it."""
        if self._card is not None:
            uid, self._card = self._card, None
            self._emit(CardRemoved(uid, self.name))

    # -- the worker -------------------------------------------------------------------

    def _run(self) -> None:
        next_delay = self.backoff.delays()
        self._set_status(ReaderState.CONNECTING, "opening the reader")
        while not self.stopping.is_set():
            was_connected = False
            try:
                self.session()
                was_connected = self._status.state == ReaderState.CONNECTED
            except ReaderFault as fault:
                was_connected = self._status.state == ReaderState.CONNECTED
                self._set_status(fault.state, fault.message, fault.hint)
            except OSError as exc:
                was_connected = self._status.state == ReaderState.CONNECTED
                self._set_status(
                    ReaderState.DISCONNECTED,
                    f"the reader went away ({exc.strerror or exc})",
                    "check the cable; the kiosk reconnects by itself",
                )
            except Exception as exc:  # a library bug must not kill the reader for good
                log.exception("reader %s failed", self.name)
                self._set_status(ReaderState.ERROR, f"unexpected error: {exc!r}")
            self.card_removed()
            if self.stopping.is_set():
                break
            if was_connected:
                next_delay = self.backoff.delays()
            self.stopping.wait(next_delay())

    def _set_status(self, state: ReaderState, message: str, hint: str = "") -> None:
        status = ReaderStatusChanged(self.name, state, message, hint)
        if status == self._status:
            return
        self._status = status
        self._emit(status)

    def _emit(self, event: ReaderEvent) -> None:
        sink = self._sink
        if sink is None:
            return
        try:
            sink(event)
        except Exception:  # the consumer's bug must not stop the reader
            # Never the event's repr: it holds the card id. Its kind only; the log's masker
            # is given the event (`personal`) to mask its fields in the traceback too.
            log.exception(
                "reader %s: the event handler failed on a %s",
                self.name,
                type(event).__name__,
                extra={"personal": event},
            )


class Debouncer:
    """Passes events on, but the same UID presented again within `window` seconds of its
    last presentation or removal is the same presentation: the repeat and its removal are
    dropped. Cheap readers flicker; a shopper's card held at the edge of the field too."""

    def __init__(
        self, sink: EventSink, window: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.sink = sink
        self.window = window
        self.clock = clock
        self._last: dict[str, float] = {}
        self._swallowed: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def __call__(self, event: ReaderEvent) -> None:
        with self._lock:
            if isinstance(event, CardPresented):
                now = self.clock()
                last = self._last.get(event.uid)
                self._last[event.uid] = now
                if last is not None and now - last < self.window:
                    self._swallowed.add((event.uid, event.reader))
                    return
            elif isinstance(event, CardRemoved):
                self._last[event.uid] = self.clock()  # the window runs from when it left
                key = (event.uid, event.reader)
                if key in self._swallowed:
                    self._swallowed.discard(key)
                    return
        self.sink(event)
