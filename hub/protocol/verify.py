"""Verification codes on the wire (docs/sync-protocol.md, "Verification"), served by the hub."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from hub.devices import signatures
from hub.devices.models import Device
from hub.protocol.wire import BadRequest, answer, error, json_object, operation
from hub.verification import codes
from hub.verification.proofs import Verified, utc

_LIMITS = {
    "resend_delay": "A code was sent to this phone a moment ago: wait, then ask again.",
    "phone_hourly": "This phone had as many codes as it may in an hour: wait.",
    "device_hourly": "This kiosk asked for as many codes as it may in an hour: wait.",
}
_DEAD = {
    "expired": "The code has expired: ask for a new one.",
    "exhausted": "Too many wrong codes: ask for a new one.",
    "replaced": "A newer code was sent: type that one.",
    "used": "The code was used already.",
}


@operation("POST")
def send(request: HttpRequest, raw: bytes, device: Device | None) -> HttpResponse:
    """Send a code to a phone for an enrollment or a card link, or say how long to wait."""
    assert device is not None
    body = json_object(request, raw)
    problem = codes.request_problem(body)
    if problem is not None:
        raise BadRequest(problem)
    result = codes.send(
        device, body["phone"], body["purpose"], body.get("card"), body.get("language", "fa")
    )
    signatures.seen(device)
    if isinstance(result, codes.Limited):
        limited = error(429, "rate_limited", _LIMITS[result.reason], reason=result.reason)
        limited["Retry-After"] = str(result.retry_after)
        return limited
    return answer(
        201,
        {
            "verification_id": result.verification_id,
            "expires_at": utc(result.expires_at),
            "resend_after": result.resend_after,
            "attempts_left": result.attempts_left,
        },
    )


@operation("POST")
def check(request: HttpRequest, raw: bytes, device: Device | None) -> HttpResponse:
    """Check a typed code: a one-time proof, or why not."""
    assert device is not None
    body = json_object(request, raw)
    problem = codes.check_problem(body)
    if problem is not None:
        raise BadRequest(problem)
    result = codes.check(device, body["verification_id"], body["code"])
    signatures.seen(device)
    if isinstance(result, Verified):
        return answer(200, {"proof": result.proof, "expires_at": utc(result.expires_at)})
    if isinstance(result, codes.Wrong):
        return error(409, "wrong_code", "That is not the code.", attempts_left=result.attempts_left)
    if isinstance(result, codes.Dead):
        return error(410, "code_dead", _DEAD[result.reason], reason=result.reason)
    return error(404, "unknown_verification", "This kiosk has no verification with this id.")
