"""The webhooks' signature, Stripe's scheme: `X-Club-Signature: t=<unix>,v1=<hex>`.

`v1` is HMAC-SHA256 with the endpoint's secret (its UTF-8 bytes) over `f"{t}.{body}"`,
the body's bytes exactly as sent. `verify` is the receiver's check documented in
docs/integration.md (the tests and tests/hub/webhook_receiver.py use it): standard library only,
so that a receiver can copy it.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Club-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header's value for `body` sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class BadSignature(ValueError):
    """A delivery the receiver must refuse: tampered, signed with another secret, or old."""


def verify(
    secrets: list[str],
    header: str,
    body: bytes,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> int:
    """Check a delivery as a receiver should; its timestamp, or BadSignature.

    `secrets`: the endpoint's secrets in force (two for a while after a rotation). Every
    `v1` in the header is tried (the hub may send one per secret), compared in constant
    time; the timestamp must be within `tolerance` seconds of the receiver's `now`, so a
    recorded delivery cannot be played again later. Within the window the receiver drops
    an event id it has already processed (deliveries are at least once).
    """
    timestamp: int | None = None
    given: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            given.append(value)
    if timestamp is None or not given:
        raise BadSignature("no timestamp or no v1 signature")
    if abs(now - timestamp) > tolerance:
        raise BadSignature("the timestamp is outside the tolerance (a replay, or a clock off)")
    signed = f"{timestamp}.".encode() + body
    for secret in secrets:
        expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, candidate) for candidate in given):
            return timestamp
    raise BadSignature("no signature matches (a tampered body, or another secret)")
