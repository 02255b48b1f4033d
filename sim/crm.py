"""A simulated CRM that follows docs/sync-protocol.md, with faults on demand.

`kiosk sim crm --port P [--db PATH] [--faults SPEC]` runs it; tests start `CrmServer` on
a free loopback port. It signs the staff and program changes it publishes with its owner
key (sim/crm_store.py); `/sim/publish` with a `signature` member publishes the change with
that signature instead (null: unsigned), to show what a kiosk refuses. The faults it injects
on demand are in sim/crm_faults.py.
"""

from __future__ import annotations

import json
import random
import secrets
import ssl
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sim import crm_feedback, crm_holds, crm_lookup, crm_verify
from sim.crm_checks import heartbeat_problem, is_int64, member_problem
from sim.crm_faults import GARBAGE, Faults
from sim.crm_store import CODE_REFUSED, MAX_BATCH, CrmStore
from sim.crm_wire import BadRequest, JsonHandler
from sync.signing import PROTOCOL, PROTOCOL_VERSION, SIGNED_HEADERS, Verifier

MAX_PAGE = 1000
_OPERATIONS = {
    ("POST", "/v2/enroll"),
    ("POST", "/v2/push"),
    ("GET", "/v2/changes"),
    ("POST", "/v2/heartbeat"),
    ("POST", "/v2/holds"),
    ("GET", crm_lookup.PATH),
    ("POST", crm_feedback.PATH),
    *(("POST", path) for path in crm_verify.PATHS),
}


class _Server(ThreadingHTTPServer):
    """Quiet about clients that hang up (kiosks killed, timed out, or giving up on a slow
    answer): that is normal here, not a server error worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class CrmServer:
    """The simulated CRM on a threaded HTTP server (loopback by default)."""

    def __init__(
        self,
        store: CrmStore | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        clock: Any = time.time,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.store = store or CrmStore()
        self.clock = clock  # the CRM's clock: the signature window and the Date header
        self.faults = faults or Faults()
        self.random = random.Random(self.faults.seed)
        self.verifier = Verifier(self.store.secret_of, revoked=self.store.revoked, clock=clock)
        self.requests = 0
        self.faults_injected = 0
        self.injected: Counter[str] = Counter()  # faults that hit, by kind
        # Verification codes: always crm_verify.DEMO_CODE, told on the console (masked);
        # None: a CRM without verification (404 not_found, as one from before it).
        self.codes: crm_verify.Codes | None = crm_verify.Codes(clock)
        # Tests hear of each request as it arrives (its path), before it is handled.
        self.on_request: Callable[[str], None] | None = None
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"crm": self})
        self.httpd = _Server((host, port), handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:  # (certificate, key): HTTPS, to test the client's verification
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def start(self) -> CrmServer:
        # A short poll interval: shutdown() waits for the serving loop's next poll.
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sim-crm",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> CrmServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def roll(self, fault: str) -> bool:
        """Whether `fault` hits this time."""
        rate = self.faults.rates.get(fault, 0.0)
        if not rate:
            return False
        with self._lock:
            hit = self.random.random() < rate
            if hit:
                self.faults_injected += 1
                self.injected[fault] += 1
        return hit


class _Handler(JsonHandler, BaseHTTPRequestHandler):  # do_GET &c.: the stdlib's names
    crm: CrmServer
    protocol_version = "HTTP/1.1"
    # http.server sends an answer's headers and body in two writes; with Nagle's algorithm
    # the body waits for the client's delayed ACK (about 40 ms on Linux loopback).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and benchmarks make many requests

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header by the CRM's own clock, the one its signature window uses: a
        # CRM whose clock is off is a kiosk whose clock is off, seen from the other side.
        return super().date_time_string(self.crm.clock() if timestamp is None else timestamp)

    # -- routing -------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _no_such_method(self) -> None:
        if self._body() is None:  # read it, so that the answer reaches a client still sending
            return
        self.close_connection = True
        self._error(404, "not_found", f"No {self.command} {urlsplit(self.path).path} here.")

    def do_PUT(self) -> None:
        self._no_such_method()

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_PATCH(self) -> None:
        self._no_such_method()

    def _route(self, method: str) -> None:
        crm = self.crm
        with crm._lock:
            crm.requests += 1
        if crm.on_request is not None:
            crm.on_request(urlsplit(self.path).path)
        raw = self._body()
        if raw is None:
            return
        path = urlsplit(self.path).path
        if path.startswith("/sim/"):
            try:
                self._sim(method, path, raw)
            except BadRequest as exc:
                self._error(400, "bad_request", f"The request is not valid: {exc}")
            return
        if (method, path) not in _OPERATIONS and not crm_holds.is_release(method, path):
            self._error(404, "not_found", f"No {method} {path} here.")
            return
        if self.headers.get(PROTOCOL) != PROTOCOL_VERSION:
            self._error(
                400,
                "unsupported_version",
                "Send X-Kiosk-Protocol: 2; this CRM speaks version 2 only.",
            )
            return
        if crm.faults.latency:
            time.sleep(crm.faults.latency)
        if method == "POST" and path == "/v2/enroll":
            try:
                self._enroll(raw)
            except BadRequest as exc:
                self._error(400, "bad_request", f"The request is not valid: {exc}")
            return
        signed = {name: self.headers.get(name, "") for name in SIGNED_HEADERS}
        device, refusal = crm.verifier.check(method, self.path, signed, raw)
        if refusal is not None:
            self._error(refusal.status, refusal.code, refusal.message)
            return
        assert device is not None
        if crm.faults.revoked:
            self._error(403, "device_revoked", "This device's credentials were revoked.")
            return
        if crm.roll("reset") and path != "/v2/push":
            self._reset()
            return
        if crm.roll("5xx"):
            self._error(503, "unavailable", "The CRM is busy; try again later.", retry_after=1)
            return
        if crm.roll("429"):
            self._error(429, "rate_limited", "Too many requests; slow down.", retry_after=1)
            return
        try:
            if method == "POST" and path == "/v2/push":
                self._push(device, raw)
            elif method == "GET" and path == "/v2/changes":
                self._changes()
            elif path.startswith("/v2/holds"):
                self._holds(device, method, path, raw)
            elif path == crm_feedback.PATH:
                body = self._json(raw)
                problem = crm_feedback.body_problem(body)
                if problem is not None:
                    raise BadRequest(problem)
                self._send(*crm_feedback.answer(crm.store, device, body))
            elif path == crm_lookup.PATH:
                self._send(*crm_lookup.answer(crm.store, urlsplit(self.path).query))
            elif path in crm_verify.PATHS and crm.codes is not None:
                self._send(*crm.codes.answer(device, path, self._json(raw)))
            elif path in crm_verify.PATHS:
                self._error(404, "not_found", f"No {method} {path} here.")
            else:
                status = self._json(raw)
                problem = heartbeat_problem(status)
                if problem is not None:
                    raise BadRequest(problem)
                members = crm.store.heartbeat(device, status)  # the club's size, always
                mark = 0 if crm.faults.amnesia else crm.store.high_water(device)
                self._send(200, {"server_time": _now_iso(), "members": members, "high_water": mark})
        except BadRequest as exc:
            self._error(400, "bad_request", f"The request is not valid: {exc}")

    def _enroll(self, raw: bytes) -> None:
        body = self._object(raw)
        code, device = body.get("code"), body.get("device_id")
        if not isinstance(code, str) or not isinstance(device, str) or not device:
            self._error(400, "bad_request", "Send a code and a device id.")
            return
        secret = self.crm.store.try_enroll(code, device)
        if isinstance(secret, str):
            self._send(
                403,
                {
                    "error": {
                        "code": "bad_enrollment_code",
                        "reason": secret,
                        "message": CODE_REFUSED[secret],
                    }
                },
            )
            return
        from base64 import urlsafe_b64encode

        owner = self.crm.store.owner.public
        self._send(
            201,
            {
                "device_id": device,
                "secret": urlsafe_b64encode(secret).decode(),
                "server_time": _now_iso(),
                "owner_key": owner.text,
                "chain_id": owner.chain_id,
            },
        )

    def _push(self, device: str, raw: bytes) -> None:
        crm = self.crm
        body = self._object(raw)
        entries, members = body.get("entries"), body.get("members")
        if body.get("device_id") != device:
            raise BadRequest("device_id differs from the signing device")
        if not isinstance(entries, list) or not isinstance(members, list):
            raise BadRequest("members and entries must be arrays")
        if len(entries) > MAX_BATCH:
            self._error(413, "batch_too_large", f"At most {MAX_BATCH} entries in a batch.")
            return
        for record in members:
            problem = member_problem(record)
            if problem is not None:
                raise BadRequest(f"a member record: {problem}")
        if entries and crm.roll("partial"):
            entries = entries[: max(1, len(entries) // 2)]
        result = crm.store.push(device, members, entries, body.get("chain_head"))
        if crm.roll("timeout"):
            time.sleep(crm.faults.hang)
            self._reset()
            return
        if crm.roll("reset"):
            self._reset()
            return
        self._answer(
            {
                "high_water": 0 if crm.faults.amnesia else result.high_water,
                "stored": result.stored,
                "duplicates": result.duplicates,
                "rejected": result.rejected,
            }
        )

    def _holds(self, device: str, method: str, path: str, raw: bytes) -> None:
        if method == "DELETE":
            self._send(*crm_holds.release(self.crm.store, device, path, self.crm.clock()))
            return
        body = self._object(raw)
        problem = crm_holds.request_problem(body)
        if problem is not None:
            raise BadRequest(problem)
        self._send(*crm_holds.take(self.crm.store, device, body, self.crm.clock()))

    def _answer(self, payload: dict[str, Any]) -> None:
        """A 200 answer, or one of the answer faults (slow, huge, garbage) in its place."""
        crm = self.crm
        if crm.roll("slow"):
            self._trickle(json.dumps(payload).encode())
        elif crm.roll("huge"):
            padding = "x" * (20 * 1024 * 1024)
            self._send_raw(200, json.dumps(payload | {"padding": padding}).encode())
        elif crm.roll("garbage"):
            self._send_raw(200, crm.random.choice(GARBAGE))
        else:
            self._send(200, payload)

    def _trickle(self, body: bytes) -> None:
        # Headers at once, then the body a byte at a time: each byte within any read
        # timeout, the whole far slower than a kiosk should wait (slowloris, backwards).
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.close_connection = True
        try:
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(self.crm.faults.drip)
        except OSError:
            return  # the kiosk gave up

    def _changes(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        cursor = _number(query.get("cursor", ["0"])[0])
        limit = _number(query.get("limit", ["500"])[0])
        if cursor is None or limit is None or limit < 1 or not is_int64(cursor):
            raise BadRequest("cursor must be 0 or more and limit 1 or more")
        limit = min(limit, MAX_PAGE)
        page, next_cursor, more = self.crm.store.changes(cursor, limit)
        # `restless`: a server naming a new epoch at every page (an abuse test).
        epoch = secrets.token_hex(16) if self.crm.faults.restless else self.crm.store.epoch()
        self._answer({"changes": page, "next_cursor": next_cursor, "more": more, "epoch": epoch})

    def _sim(self, method: str, path: str, raw: bytes) -> None:
        store = self.crm.store
        if method == "POST" and path == "/sim/codes":
            self._send(201, {"code": store.new_code()})
        elif method == "GET" and path == "/sim/view":
            self._send(200, store.view())
        elif method == "POST" and path == "/sim/publish":
            body = self._object(raw)
            if not isinstance(body.get("type"), str) or not isinstance(body.get("data"), dict):
                raise BadRequest("send a type and its data")
            if "signature" in body:  # published as given: unsigned, or a forged signature
                given = body["signature"]
                if given is not None and not isinstance(given, str):
                    raise BadRequest("a signature is a string or null")
                store.publish(body["type"], body["data"], signature=given, sign=False)
            else:
                store.publish(body["type"], body["data"])
            self._send(201, {"ok": True})
        elif method == "POST" and path == "/sim/revoke":
            device = self._object(raw).get("device_id")
            if not isinstance(device, str):
                raise BadRequest("send a device_id")
            store.revoke(device)
            self._send(200, {"ok": True})
        else:
            self._error(404, "not_found", f"No {method} {path} here.")


def _number(text: str) -> int | None:
    """A query parameter's non-negative integer, or None (ASCII digits only)."""
    return int(text) if text.isascii() and text.isdigit() else None


def _now_iso() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def serve(port: int, db: Path | None, faults: Faults) -> None:
    """Run the simulated CRM in the foreground until interrupted (`kiosk sim crm`)."""
    server = CrmServer(CrmStore(db or ":memory:"), port=port, faults=faults)
    print(f"simulated CRM on {server.url} (Ctrl-C stops it)", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
