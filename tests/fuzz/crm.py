"""The fuzzing CRM: an HTTP server on loopback that answers whatever it is told to.

`client_for` and `worker_for` point the kiosk's real CRM client and sync worker at it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sync.client import CrmClient
from sync.worker import SyncWorker
from tests.conftest import START
from tests.fuzz.database import Kiosk

SECRET = b"k" * 32


@dataclass(frozen=True)
class Answer:
    """What the fuzzing CRM answers every request with."""

    label: str
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    intended: Any = None  # the JSON document the body carries, if it carries one
    framing: str = "exact"  # Content-Length: "exact", "none" (read to close) or "long"


class FuzzCrm:
    """A CRM on loopback that answers whatever it is told to, and remembers what it served."""

    def __init__(self) -> None:
        self.answer = Answer("empty", 200, b"{}", intended={})
        self.served: list[tuple[str, str, Answer]] = []  # (method, path, answer)
        self.lock = threading.Lock()
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.respond()

            def do_POST(self) -> None:
                self.respond()

            def respond(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with crm.lock:
                    answer = crm.answer
                    crm.served.append((self.command, self.path, answer))
                self.send_response_only(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                if answer.framing == "exact":
                    self.send_header("Content-Length", str(len(answer.body)))
                elif answer.framing == "long":
                    self.send_header("Content-Length", str(len(answer.body) + 100))
                self.send_header("Connection", "close")
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up on a huge answer is no news

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def serve(self, answer: Answer) -> int:
        """Answer everything with `answer` from now on; returns how many were served before."""
        with self.lock:
            self.answer = answer
            return len(self.served)

    def since(self, mark: int) -> list[tuple[str, str, Answer]]:
        with self.lock:
            return list(self.served[mark:])


def client_for(crm: FuzzCrm, device_id: str = "kiosk-test") -> CrmClient:
    return CrmClient(crm.url, device_id, SECRET, timeout=(2.0, 10.0))


def crm_answer(crm: FuzzCrm, answer: Answer, call: Callable[[CrmClient], Any]) -> Any:
    crm.serve(answer)
    client = client_for(crm)
    try:
        return call(client)
    finally:
        client.close()


def pending(conn: sqlite3.Connection, state: str = "pending") -> dict[int, str]:
    return {
        int(row[0]): str(row[1])
        for row in conn.execute("SELECT seq, entry_id FROM outbox WHERE state = ?", (state,))
    }


def worker_for(kiosk: Kiosk, client: CrmClient) -> SyncWorker:
    return SyncWorker(
        kiosk.service,
        client,
        kiosk.service.config.crm,
        clock=START.timestamp,
        jitter=lambda: 0.5,
    )
