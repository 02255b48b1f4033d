"""A simulated SMS gateway speaking Kavenegar's and SMS.ir's HTTP APIs on loopback, with faults.

The same paths and answers as the real ones (docs/messaging.md, "Gateways"):
- Kavenegar: POST /v1/{API-KEY}/sms/send.json (form: receptor, sender, message, localid),
  sms/status.json (messageid, comma-separated), sms/statuslocalmessageid.json (localid);
  answers `{"return": {"status", "message"}, "entries": [...]}`. A localid seen before is
  answered with the message already sent, never sent again, as Kavenegar does.
- SMS.ir: POST /v1/send/bulk (JSON: lineNumber, messageText, mobiles, sendDateTime; the key
  in X-API-KEY), GET /v1/send/{messageId}; answers `{"status", "message", "data"}`.

Faults, set on `faults` by a test or `kiosk`-less demo: `down` (every request answered
with that HTTP status, e.g. 503), `throttle` (the next N requests answered 429 with
Retry-After), `stall` (the next N sends are taken and then not answered until `release()`:
the client's read timeout, or a worker killed mid-request), `never_receive` (numbers whose
messages are taken and never delivered), `duplicate_reports` (each delivery report posted
twice). `deliver()` delivers what was taken and posts the reports to `callback_url`
(Kavenegar's delivery callback: form messageid, status=10); `inbound(phone, text)` posts a
reply to `inbound_url` (Kavenegar's receive callback: messageid, from, to, message).

`sent` counts the messages truly sent, by (phone, text) and by local id: a test asserts
each is 1.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

STALL_LIMIT = 60.0  # a stalled answer is let go after this at the latest (a safety limit)


@dataclass
class Faults:
    """What goes wrong, changed by tests while the server runs."""

    down: int | None = None
    throttle: int = 0
    retry_after: int = 60
    stall: int = 0
    stall_after: int = 0  # stalls begin once this many messages were taken
    never_receive: set[str] = field(default_factory=set)
    duplicate_reports: bool = False


@dataclass
class SimMessage:
    """A message the gateway took."""

    gateway_id: int
    phone: str
    body: str
    local_id: str | None
    api: str  # "kavenegar" or "smsir"
    delivered: bool = False


class SmsGateway:
    """The simulated gateway on a threaded HTTP server on loopback."""

    def __init__(self, *, key: str = "sim-key-0123456789", port: int = 0) -> None:
        self.key = key
        self.faults = Faults()
        self.callback_url: str | None = None
        self.inbound_url: str | None = None
        self.messages: dict[int, SimMessage] = {}
        self.by_local_id: dict[str, int] = {}
        self.sent: Counter[tuple[str, str]] = Counter()
        self.sent_by_local_id: Counter[str] = Counter()
        self.asked_by_local_id: Counter[str] = Counter()  # sends asked, deduped or not
        self.credit = 12_345_000  # the account's balance its APIs report
        self.received: list[dict[str, Any]] = []  # replies SMS.ir's API lists
        self.requests = 0
        self.refused_requests = 0
        self.stalled = threading.Event()  # set when a send is taken and its answer held
        self.looked_up = threading.Event()  # set when a message it has is asked by local id
        self._release = threading.Event()
        self._ids = itertools.count(1_000_001)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        handler = type("Handler", (_Handler,), {"gateway": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{host!s}:{port}"

    def setting(self, api: str, key_file: str, **options: str) -> str:
        """The HUB_SMS_GATEWAY that points a hub's real client at this simulator."""
        line = "sender=10004346" if api == "kavenegar" else "line=30007732000000"
        extra = "".join(f"&{k.replace('_', '-')}={v}" for k, v in options.items())
        return f"sim://{self.address}/{api}?{line}&key-file={key_file}{extra}"

    def start(self) -> SmsGateway:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> SmsGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def release(self) -> None:
        """Answer the stalled sends (their clients may have given up already)."""
        self._release.set()

    def wait_for(self, count: int, timeout: float = 60.0) -> bool:
        """Wait until `count` messages were taken (an event, not a pace)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.messages) >= count, timeout)

    # -- what the gateway does ------------------------------------------------------------

    def take(
        self, phone: str, body: str, local_id: str | None, api: str
    ) -> tuple[SimMessage, bool]:
        """A message to send; (it, whether it is new). A known local id is not sent again."""
        with self._changed:
            if local_id is not None:
                self.asked_by_local_id[local_id] += 1
            if local_id is not None and local_id in self.by_local_id:
                return self.messages[self.by_local_id[local_id]], False
            message = SimMessage(next(self._ids), phone, body, local_id, api)
            self.messages[message.gateway_id] = message
            if local_id is not None:
                self.by_local_id[local_id] = message.gateway_id
                self.sent_by_local_id[local_id] += 1
            self.sent[(phone, body)] += 1
            self._changed.notify_all()
            return message, True

    def deliver(self) -> int:
        """Deliver every message taken (but to `never_receive`); post reports if asked."""
        with self._lock:
            due = [
                m
                for m in self.messages.values()
                if not m.delivered and m.phone not in self.faults.never_receive
            ]
            for message in due:
                message.delivered = True
        if self.callback_url:
            session = requests.Session()
            session.trust_env = False
            for message in due:
                for _ in range(2 if self.faults.duplicate_reports else 1):
                    session.post(
                        self.callback_url,
                        data={"messageid": str(message.gateway_id), "status": "10"},
                        timeout=30,
                    ).raise_for_status()
        return len(due)

    def inbound(self, phone: str, text: str, to: str = "10004346") -> int:
        """A reply from a phone, posted to the hub's receive callback; its HTTP status."""
        assert self.inbound_url is not None
        session = requests.Session()
        session.trust_env = False
        answer = session.post(
            self.inbound_url,
            data={"messageid": str(next(self._ids)), "from": phone, "to": to, "message": text},
            timeout=30,
        )
        return answer.status_code

    def receive(self, phone: str, text: str, at: int, line: str = "30007732000000") -> None:
        """A reply from a phone that SMS.ir's API lists (GET /v1/receive/latest)."""
        with self._lock:
            self.received.append(
                {
                    "messageText": text,
                    "number": line,
                    "mobile": phone.lstrip("+"),
                    "receivedDateTime": at,
                }
            )

    def kavenegar_status(self, message: SimMessage) -> int:
        if message.delivered:
            return 10
        return 4  # handed to the operator


class _Handler(BaseHTTPRequestHandler):
    gateway: SmsGateway
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go in two writes: without this, Nagle's algorithm holds the body
        # for the client's delayed ACK (40 ms a request on Linux's loopback).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the path holds the API key (Kavenegar's own URLs do)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        gateway = self.gateway
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with gateway._lock:
            gateway.requests += 1
            faults = gateway.faults
            if faults.down is not None:
                gateway.refused_requests += 1
                return self._reply(faults.down, b"<html>Service Unavailable</html>", "text/html")
            if faults.throttle > 0:
                faults.throttle -= 1
                gateway.refused_requests += 1
                return self._throttled()
        path = urlsplit(self.path).path
        if path.startswith(("/v1/send", "/v1/receive", "/v1/credit")):
            return self._smsir(method, path, raw)
        return self._kavenegar(path, raw)

    # -- Kavenegar ------------------------------------------------------------------------

    def _kavenegar(self, path: str, raw: bytes) -> None:
        gateway = self.gateway
        parts = path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "v1":
            return self._kv(404, "method not found")
        if parts[1] != gateway.key:
            return self._kv(403, "invalid API key")
        form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8")).items()}
        action = f"{parts[2]}/{parts[3]}"
        if action == "sms/send.json":
            receptor, text = form.get("receptor", ""), form.get("message", "")
            if not receptor.isdigit() or len(receptor) < 10:
                return self._kv(411, "invalid receptor")
            if not text:
                return self._kv(413, "empty message")
            message, new = gateway.take("+" + receptor, text, form.get("localid"), "kavenegar")
            if new and self._stall():
                return
            return self._kv(200, "تایید شد", [self._kv_entry(message)])
        if action == "account/info.json":
            entry = {"remaincredit": gateway.credit, "expiredate": 0, "type": "master"}
            return self._kv(200, "تایید شد", entry)
        if action == "sms/status.json":
            ids = [i for i in form.get("messageid", "").split(",") if i]
            entries = []
            for gateway_id in ids:
                found = gateway.messages.get(int(gateway_id)) if gateway_id.isdigit() else None
                status = gateway.kavenegar_status(found) if found else 100
                entries.append({"messageid": int(gateway_id or 0), "status": status})
            return self._kv(200, "تایید شد", entries)
        if action == "sms/statuslocalmessageid.json":
            local_id = form.get("localid", "")
            number = gateway.by_local_id.get(local_id)
            if number is None:
                entry = {"messageid": 0, "localid": local_id, "status": 100}
            else:
                message = gateway.messages[number]
                gateway.looked_up.set()
                entry = {
                    "messageid": number,
                    "localid": local_id,
                    "status": gateway.kavenegar_status(message),
                }
            return self._kv(200, "تایید شد", [entry])
        return self._kv(404, "method not found")

    def _kv_entry(self, message: SimMessage) -> dict[str, Any]:
        return {
            "messageid": message.gateway_id,
            "message": message.body,
            "status": 1,
            "statustext": "در صف ارسال",
            "sender": "10004346",
            "receptor": message.phone.lstrip("+"),
            "date": 0,
            "cost": 0,
        }

    def _kv(self, status: int, text: str, entries: Any = None) -> None:
        body = {"return": {"status": status, "message": text}, "entries": entries}
        # Kavenegar answers its own status as the HTTP status too.
        self._reply(status, json.dumps(body, ensure_ascii=False).encode(), "application/json")

    # -- SMS.ir ---------------------------------------------------------------------------

    def _smsir(self, method: str, path: str, raw: bytes) -> None:
        gateway = self.gateway
        if self.headers.get("X-API-KEY") != gateway.key:
            return self._ir(401, 0, "invalid API key")
        if method == "POST" and path == "/v1/send/bulk":
            try:
                body = json.loads(raw or b"{}")
                mobiles = [str(m) for m in body["mobiles"]]
                text = str(body["messageText"])
            except (ValueError, KeyError, TypeError):
                return self._ir(400, 0, "bad request")
            if not text or not mobiles:
                return self._ir(400, 0, "bad request")
            taken = [gateway.take("+" + m, text, None, "smsir")[0] for m in mobiles]
            if self._stall():
                return
            data = {
                "packId": f"pack-{taken[0].gateway_id}",
                "messageIds": [m.gateway_id for m in taken],
                "cost": float(len(taken)),
            }
            return self._ir(200, 1, "موفق", data)
        if method == "GET" and path == "/v1/credit":
            return self._ir(200, 1, "موفق", gateway.credit)
        if method == "GET" and path == "/v1/receive/latest":
            count = int(parse_qs(urlsplit(self.path).query).get("count", ["100"])[-1])
            return self._ir(200, 1, "موفق", list(reversed(gateway.received))[:count])
        if method == "GET" and path.startswith("/v1/send/"):
            number = path.rsplit("/", 1)[1]
            found = gateway.messages.get(int(number)) if number.isdigit() else None
            if found is None:
                return self._ir(404, 0, "not found")
            data = {
                "messageId": found.gateway_id,
                "mobile": found.phone.lstrip("+"),
                "messageText": found.body,
                "deliveryState": 1 if found.delivered else 3,
            }
            return self._ir(200, 1, "موفق", data)
        return self._ir(404, 0, "not found")

    def _ir(self, http: int, status: int, text: str, data: Any = None) -> None:
        body = {"status": status, "message": text, "data": data}
        self._reply(http, json.dumps(body, ensure_ascii=False).encode(), "application/json")

    # -- shared ---------------------------------------------------------------------------

    def _stall(self) -> bool:
        """Hold this answer (the message is taken) if a stall is due; whether it was held."""
        gateway = self.gateway
        with gateway._lock:
            if gateway.faults.stall <= 0 or len(gateway.messages) <= gateway.faults.stall_after:
                return False
            gateway.faults.stall -= 1
        gateway.stalled.set()
        gateway._release.wait(STALL_LIMIT)
        self.close_connection = True
        return True

    def _throttled(self) -> None:
        seconds = str(self.gateway.faults.retry_after)
        body = json.dumps({"return": {"status": 429, "message": "too many requests"}}).encode()
        self.send_response(429)
        self.send_header("Retry-After", seconds)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type + "; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    """`python -m sim.sms_gateway [PORT]`: a simulated gateway for a demo hub."""
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    gateway = SmsGateway(port=port)
    print(f"simulated SMS gateway on {gateway.address}, key {gateway.key!r}", flush=True)
    gateway.httpd.serve_forever()


if __name__ == "__main__":
    main()
