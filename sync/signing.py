"""Request signing of the sync protocol (docs/sync-protocol.md, "Signing every other request").

HMAC-SHA256, keyed with the device secret, over the method, the path with its query, the
timestamp, a nonce and the SHA-256 of the body bytes as sent. The CRM checks the
signature, a window of 300 seconds around its clock, and that the nonce is new.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

DEVICE = "X-Kiosk-Device"
TIMESTAMP = "X-Kiosk-Timestamp"
NONCE = "X-Kiosk-Nonce"
SIGNATURE = "X-Kiosk-Signature"
PROTOCOL = "X-Kiosk-Protocol"
PROTOCOL_VERSION = "2"
SIGNED_HEADERS = (DEVICE, TIMESTAMP, NONCE, SIGNATURE)
WINDOW_SECONDS = 300
# Nonces are remembered for twice the window: a request older than the window is refused
# by its timestamp anyway.
NONCE_MEMORY_SECONDS = 2 * WINDOW_SECONDS
_STAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() takes '²' and '٣' too
_NONCE = re.compile(r"[0-9a-fA-F]{32}")


def canonical(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The five lines that are signed."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), path, timestamp, nonce, digest)).encode()


def signature(
    secret: bytes, method: str, path: str, timestamp: str, nonce: str, body: bytes
) -> str:
    """The value of X-Kiosk-Signature."""
    mac = hmac.new(secret, canonical(method, path, timestamp, nonce, body), hashlib.sha256)
    return "v1=" + mac.hexdigest()


def sign(
    device_id: str,
    secret: bytes,
    method: str,
    path: str,
    body: bytes,
    *,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that sign one request."""
    stamp = str(int(time.time() if now is None else now))
    nonce = nonce or secrets.token_hex(16)
    return {
        DEVICE: device_id,
        TIMESTAMP: stamp,
        NONCE: nonce,
        SIGNATURE: signature(secret, method, path, stamp, nonce, body),
        PROTOCOL: PROTOCOL_VERSION,
    }


@dataclass(frozen=True)
class Refusal:
    """Why a signed request is refused: a protocol error code and a message."""

    status: int
    code: str
    message: str


class Verifier:
    """Checks signed requests for the CRM: secret, signature, time window, fresh nonce."""

    def __init__(
        self,
        secret_of: Callable[[str], bytes | None],
        *,
        revoked: Callable[[str], bool] = lambda _device: False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret_of = secret_of
        self.revoked = revoked
        self.clock = clock
        self._seen: set[tuple[str, str]] = set()
        self._order: deque[tuple[float, tuple[str, str]]] = deque()
        self._lock = threading.Lock()

    def check(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[str, None] | tuple[None, Refusal]:
        """(device id, None) for a good request, else (None, why it is refused)."""
        device = headers.get(DEVICE, "")
        stamp = headers.get(TIMESTAMP, "")
        nonce = headers.get(NONCE, "")
        given = headers.get(SIGNATURE, "")
        secret = self.secret_of(device) if device else None
        if secret is None:
            return None, Refusal(401, "unknown_device", "This device is not enrolled.")
        if not (_STAMP.fullmatch(stamp) and _NONCE.fullmatch(nonce) and given.startswith("v1=")):
            return None, Refusal(401, "bad_signature", "The request is not signed.")
        expected = signature(secret, method, path, stamp, nonce, body)
        if not hmac.compare_digest(expected, given):
            return None, Refusal(401, "bad_signature", "The signature does not match.")
        if self.revoked(device):
            return None, Refusal(403, "device_revoked", "This device's credentials were revoked.")
        now = self.clock()
        with self._lock:
            self._forget_before(now - NONCE_MEMORY_SECONDS)
        if abs(now - int(stamp)) > WINDOW_SECONDS:
            return None, Refusal(401, "signature_expired", "The request's time is too far off.")
        with self._lock:
            key = (device, nonce)
            if key in self._seen:
                return None, Refusal(401, "replayed", "This request was already received.")
            self._seen.add(key)
            self._order.append((now, key))
        return device, None

    def _forget_before(self, moment: float) -> None:
        while self._order and self._order[0][0] < moment:
            self._seen.discard(self._order.popleft()[1])
