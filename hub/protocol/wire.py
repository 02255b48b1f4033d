"""The protocol's plumbing: bounded bodies, gzip, the version header, JSON answers, errors."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import zlib
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from hub.devices import signatures
from hub.devices.models import Device
from sync.signing import PROTOCOL, PROTOCOL_VERSION, SIGNED_HEADERS, Refusal

log = logging.getLogger(__name__)
MAX_BODY = 8 * 1024 * 1024
# A larger body is not even read to the end: the client may get a broken pipe.
_DISCARD_LIMIT = 64 * 1024 * 1024
_RETRY_AFTER_SECONDS = 5


class BadRequest(Exception):
    """The request is not what the protocol says: 400 bad_request with the reason."""


def error(status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    """An error answer: {"error": {"code", "message", ...}}."""
    response = answer(status, {"error": {"code": code, "message": message, **extra}})
    if status in (429, 503):
        response["Retry-After"] = str(_RETRY_AFTER_SECONDS)
    return response


def answer(status: int, payload: Any) -> HttpResponse:
    """A JSON answer (gzipped by the middleware when the kiosk asks for it)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    response = HttpResponse(body, status=status, content_type="application/json")
    response["Content-Length"] = str(len(body))  # the gzip middleware sets its own
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Every path or method the protocol does not have (Django's handler404 too)."""
    return error(404, "not_found", f"No {request.method} {request.path} here.")


def server_error(request: HttpRequest) -> HttpResponse:
    """An error of the hub's own (Django's handler500): the kiosk retries later."""
    return error(503, "unavailable", "The hub had a problem; try again later.")


def read_body(request: HttpRequest) -> bytes | HttpResponse:
    """The body as sent, at most 8 MiB; else the answer to give (413 or 400)."""
    given = request.META.get("CONTENT_LENGTH") or "0"
    if not (given.isascii() and given.isdigit()):
        return error(400, "bad_request", "Content-Length is not a number.")
    length = int(given)
    if length > MAX_BODY:
        # Read what was sent (up to a bound), so that the kiosk, still sending, gets the
        # answer rather than a broken pipe.
        if length <= _DISCARD_LIMIT:
            _discard(request, length)
        return error(413, "batch_too_large", "The body is larger than 8 MiB.")
    parts, size = [], 0
    while size < length:
        chunk = request.read(min(length - size, 1 << 16))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _discard(request: HttpRequest, length: int) -> None:
    with contextlib.suppress(OSError):
        while length > 0:
            chunk = request.read(min(length, 1 << 16))
            if not chunk:
                return
            length -= len(chunk)


def json_body(request: HttpRequest, raw: bytes) -> Any:
    """The body's JSON; BadRequest when it is not gzip (as declared), UTF-8 or JSON."""
    data = raw
    if request.headers.get("Content-Encoding") == "gzip":
        try:
            inflater = zlib.decompressobj(wbits=31)
            data = inflater.decompress(raw, MAX_BODY)
            if inflater.unconsumed_tail or not inflater.eof:
                raise BadRequest("the gzip body is truncated or inflates beyond 8 MiB")
        except zlib.error as exc:
            raise BadRequest("the body is not gzip") from exc
    try:
        return json.loads(data or b"{}")
    except (ValueError, RecursionError) as exc:
        raise BadRequest("the body is not JSON") from exc


def json_object(request: HttpRequest, raw: bytes) -> dict[str, Any]:
    """The body's JSON object; BadRequest for anything else."""
    body = json_body(request, raw)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def signed_path(request: HttpRequest) -> str:
    """The path and query exactly as the kiosk sent (and signed) them."""
    raw = request.META.get("RAW_URI")  # gunicorn's, untouched by any decoding
    if isinstance(raw, str) and raw.startswith("/"):
        return raw
    return request.get_full_path()


Handler = Callable[[HttpRequest, bytes, Device | None], HttpResponse]


def operation(
    method: str, *, signed: bool = True
) -> Callable[[Handler], Callable[..., HttpResponse]]:
    """A protocol operation: its method, the body bound, the version, the signature, errors.

    The order of the checks is the simulated CRM's, so that both answer a bad request with
    the same code: method (404), body size (413), version (400), signature (401/403).
    """

    def wrap(handler: Handler) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(handler)
        def view(request: HttpRequest, **_path: object) -> HttpResponse:
            # Path parameters (a hold's client_txn_id) are read from request.resolver_match.
            raw = read_body(request)
            if isinstance(raw, HttpResponse):
                return raw
            if request.method != method:
                return not_found(request)
            if request.headers.get(PROTOCOL) != PROTOCOL_VERSION:
                return error(
                    400,
                    "unsupported_version",
                    "Send X-Kiosk-Protocol: 2; this hub speaks version 2 only.",
                )
            try:
                device = None
                if signed:
                    headers = {name: request.headers.get(name, "") for name in SIGNED_HEADERS}
                    checked = signatures.authenticate(
                        str(request.method), signed_path(request), headers, raw
                    )
                    if isinstance(checked, Refusal):
                        return error(checked.status, checked.code, checked.message)
                    device = checked
                return handler(request, raw, device)
            except BadRequest as exc:
                return error(400, "bad_request", f"The request is not valid: {exc}")
            except (OperationalError, InterfaceError) as exc:
                # PostgreSQL down, restarting or out of connections: worth a retry.
                log.warning("database unavailable: %s", str(exc).splitlines()[0])
                return error(
                    503, "unavailable", "The hub's database is unavailable; try again later."
                )
            except DatabaseError:
                log.exception("database error in %s", request.path)
                return error(503, "unavailable", "The hub had a problem; try again later.")

        return view

    return wrap
