"""A CRM's webhook endpoint for the hub's tests: a real HTTP server on loopback, with faults.

(Here, not in sim/: it checks with the hub's own `verify`, and nothing the kiosk installs
may import the hub.)

It does what docs/integration.md asks of a receiver: the signature checked with the
documented `verify` (hub/integration/signature.py, five minutes' tolerance, constant-time
compare), then the event id looked up, so that a delivery repeated (at least once) is
processed once. Its clock is given (the tests share their injected clock with the hub's
worker). Faults, set with `down(...)` and cycled through request by request until `up()`:

- `reset`: the connection closed with no answer, nothing processed;
- `timeout`: no answer until the receiver closes (the hub's read timeout runs out);
- `500`: an error answer, nothing processed;
- `stored_then_reset`: processed, then the connection closed before the answer (the hub
  cannot know, and sends it again: the dedupe's case);
- `stored_then_timeout`: processed, then no answer until the receiver closes (a worker
  killed while it waits has sent it; the next sends it again);
- `redirect`: 302 to another address (the hub must not follow it).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from hub.integration.signature import HEADER, BadSignature, verify

FAULTS = ("reset", "timeout", "500", "stored_then_reset", "stored_then_timeout", "redirect")
MOST_BODY = 1024 * 1024
HOLD_LIMIT = 30.0  # a safety limit on a `timeout` fault's hold, never a pace


@dataclass
class Attempt:
    """One request the receiver got: the event id it named and what became of it."""

    event_id: str
    outcome: str  # processed, duplicate, refused: <why>, or the fault's name


@dataclass
class Captured:
    """A request as it came, to be played again (a replay) or altered (a tamper)."""

    headers: dict[str, str]
    body: bytes


@dataclass
class ReceiverState:
    """What the receiver holds: secrets, faults, and what it saw."""

    secrets: list[str]
    clock: Callable[[], float]
    redirect_to: str = "http://127.0.0.1:9/elsewhere"
    faults: Iterator[str] | None = None
    processed: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> event
    attempts: list[Attempt] = field(default_factory=list)
    captured: list[Captured] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests read the state, not a log

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        if length > MOST_BODY:
            self._answer(413, {"error": "too large"})
            return
        body = self.rfile.read(length)
        event_id = self.headers.get("X-Club-Event-Id", "")
        with state.lock:
            state.captured.append(Captured(dict(self.headers.items()), body))
            fault = next(state.faults) if state.faults is not None else None
        if fault in ("reset", "timeout", "500", "redirect"):
            self._record(event_id, fault)
            self._fault(fault)
            return
        outcome = self._receive(body)
        self._record(event_id, outcome)
        if fault in ("stored_then_reset", "stored_then_timeout") and outcome == "processed":
            self._fault(fault.removeprefix("stored_then_"))
            return
        status = 400 if outcome.startswith("refused") else 200
        self._answer(status, {"outcome": outcome})

    def _receive(self, body: bytes) -> str:
        """The documented check, then the dedupe by event id, then the processing."""
        state = self.server.state
        try:
            verify(state.secrets, self.headers.get(HEADER, ""), body, state.clock())
        except BadSignature as exc:
            return f"refused: {exc}"
        event = json.loads(body)
        with state.lock:
            if event["id"] in state.processed:
                return "duplicate"
            state.processed[event["id"]] = event
            return "processed"

    def _record(self, event_id: str, outcome: str) -> None:
        state = self.server.state
        with state.changed:
            state.attempts.append(Attempt(event_id, outcome))
            state.changed.notify_all()

    def _fault(self, fault: str) -> None:
        if fault == "500":
            self._answer(500, {"error": "the CRM is down"})
            return
        if fault == "redirect":
            self.send_response(302)
            self.send_header("Location", self.server.state.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if fault == "timeout":
            self.server.state.release.wait(HOLD_LIMIT)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _answer(self, status: int, data: dict[str, Any]) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ReceiverState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class WebhookReceiver:
    """The receiver on a free loopback port; `with WebhookReceiver(...) as r:` runs it."""

    def __init__(
        self, secrets: list[str] | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.state = ReceiverState(secrets=list(secrets or []), clock=clock)
        self._server = _Server(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where the hub posts."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/club-events"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving; a held (`timeout`) request is let go."""
        self.state.release.set()
        self._server.shutdown()
        self._server.server_close()

    def down(self, *faults: str) -> None:
        """Fail every request from now on, with these faults in turn."""
        unknown = [f for f in faults if f not in FAULTS]
        if unknown or not faults:
            raise ValueError(f"faults are {FAULTS}, not {unknown}")
        with self.state.lock:
            self.state.faults = itertools.cycle(faults)

    def up(self) -> None:
        """Answer normally again."""
        with self.state.lock:
            self.state.faults = None

    def wait_for(self, predicate: Callable[[ReceiverState], bool], timeout: float = 30.0) -> bool:
        """Wait until `predicate(state)` holds (checked at each request); whether it did."""
        with self.state.changed:
            return self.state.changed.wait_for(lambda: predicate(self.state), timeout)

    def processed_ids(self) -> set[str]:
        """The event ids processed (each once, whatever was delivered twice)."""
        with self.state.lock:
            return set(self.state.processed)

    def outcomes(self) -> list[str]:
        """Every attempt's outcome, in order."""
        with self.state.lock:
            return [a.outcome for a in self.state.attempts]
