"""The simulated CRM's HTTP plumbing: a request's body read within bounds (gzip, JSON) and
JSON answers and errors written as the hub writes them; sim/crm.py routes on top of it."""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import zlib
from http.server import BaseHTTPRequestHandler
from typing import Any

_MAX_BODY = 8 * 1024 * 1024
_DISCARD_LIMIT = 64 * 1024 * 1024  # a larger body is not read: the connection is closed


class BadRequest(Exception):
    """The request is not what the protocol says: answered 400 bad_request with the reason."""


class JsonHandler(BaseHTTPRequestHandler):
    """Reading and answering JSON over HTTP/1.1; the routes are the subclass's."""

    # -- plumbing ------------------------------------------------------------------------

    def _body(self) -> bytes | None:
        """The body as sent, or None when it has been answered (too large, bad length)."""
        given = self.headers.get("Content-Length") or "0"
        if not (given.isascii() and given.isdigit()):
            self.close_connection = True
            self._error(400, "bad_request", "Content-Length is not a number.")
            return None
        length = int(given)
        if length > _MAX_BODY:
            # Read what was sent (up to a bound), so that the client, still sending, gets
            # the answer rather than a broken pipe; then close.
            self.close_connection = True
            if length <= _DISCARD_LIMIT:
                self._discard(length)
            self._error(413, "batch_too_large", "The body is larger than 8 MiB.")
            return None
        return self.rfile.read(length) if length else b""

    def _discard(self, length: int) -> None:
        with contextlib.suppress(OSError):
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 16))
                if not chunk:
                    return
                length -= len(chunk)

    def _json(self, raw: bytes) -> Any:
        """The body's JSON; BadRequest when it is not gzip (as declared), UTF-8 or JSON."""
        data = raw
        if self.headers.get("Content-Encoding") == "gzip":
            try:
                inflater = zlib.decompressobj(wbits=31)
                data = inflater.decompress(raw, _MAX_BODY)
                if inflater.unconsumed_tail or not inflater.eof:
                    raise BadRequest("the gzip body is truncated or inflates beyond 8 MiB")
            except zlib.error as exc:
                raise BadRequest("the body is not gzip") from exc
        try:
            return json.loads(data or b"{}")
        except (ValueError, RecursionError) as exc:
            raise BadRequest("the body is not JSON") from exc

    def _object(self, raw: bytes) -> dict[str, Any]:
        body = self._json(raw)
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        gzipped = "gzip" in (self.headers.get("Accept-Encoding") or "") and len(body) > 1024
        if gzipped:
            body = gzip.compress(body, compresslevel=5)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        self._send(status, {"error": {"code": code, "message": message}}, headers)

    def _reset(self) -> None:
        # Close without an answer: the client sees a connection reset or an empty reply.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_raw(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)
