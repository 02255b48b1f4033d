"""The simulated CRM's verification codes (docs/sync-protocol.md, "Verification codes").

POST /v2/verify and /v2/verify/check as the hub answers them, so that `make run` (the
kiosk on this simulator) shows the code screen online instead of asking a cashier. No SMS
is sent: the code is always DEMO_CODE, told on the simulator's console with the phone
masked ("code for 0912***: 12345"), never the number. Like the hub: 5 tries, 5 minutes, a
resend 60 s after the last code to the phone, a code checked by the device that asked for
it only. What it does not do: the hourly limits, keep codes across restarts (they live in
memory), or hold a pushed link without a proof (it takes records as they come).
"""

from __future__ import annotations

import math
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PATHS = ("/v2/verify", "/v2/verify/check")
DEMO_CODE = "12345"
VALID_SECONDS = 300
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
_PHONE = re.compile(r"\+[1-9][0-9]{1,14}")
_CODE = re.compile(r"[0-9]{5}")

Answer = tuple[int, dict[str, Any], dict[str, str] | None]


def masked(phone: str) -> str:
    """The phone's first digits only, as written at home for Iran: "0912***"."""
    if phone.startswith("+98"):
        return f"0{phone[3:6]}***"
    return f"{phone[:4]}***"


def _to_console(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class _Code:
    device: str
    phone: str
    sent_at: float
    attempts: int = 0
    state: str = "pending"  # pending, verified, exhausted, expired, replaced


class Codes:
    """The codes this simulator sent, by id (in memory)."""

    def __init__(self, clock: Callable[[], float], tell: Callable[[str], None] = _to_console):
        self.clock = clock
        self.tell = tell  # where the demo's code is shown (the console by default)
        self._lock = threading.Lock()
        self._codes: dict[int, _Code] = {}

    def answer(self, device: str, path: str, body: object) -> Answer:
        """(status, body, headers) of a verification request of `device`."""
        if not isinstance(body, dict):
            return _bad("the body must be a JSON object")
        return self._send(device, body) if path == PATHS[0] else self._check(device, body)

    def _send(self, device: str, body: dict[str, Any]) -> Answer:
        phone, purpose, card = body.get("phone"), body.get("purpose"), body.get("card")
        if not isinstance(phone, str) or not _PHONE.fullmatch(phone):
            return _bad("phone must be a number in E.164 (+98912...)")
        if purpose not in ("enroll", "link_card"):
            return _bad("purpose must be enroll or link_card")
        if purpose == "link_card" and not (isinstance(card, str) and 1 <= len(card) <= 64):
            return _bad("a link_card verification names the card")
        now = self.clock()
        with self._lock:
            last = max((c.sent_at for c in self._codes.values() if c.phone == phone), default=None)
            if last is not None and now - last < RESEND_SECONDS:
                wait = max(1, math.ceil(last + RESEND_SECONDS - now))
                error = {"code": "rate_limited", "message": "Too soon.", "reason": "resend_delay"}
                return 429, {"error": error}, {"Retry-After": str(wait)}
            for code in self._codes.values():
                if code.phone == phone and code.state == "pending":
                    code.state = "replaced"
            ident = len(self._codes) + 1
            self._codes[ident] = _Code(device, phone, now)
        self.tell(f"simulated CRM: code for {masked(phone)}: {DEMO_CODE}")
        sent = {
            "verification_id": ident,
            "expires_at": _timestamp(now + VALID_SECONDS),
            "resend_after": RESEND_SECONDS,
            "attempts_left": MAX_ATTEMPTS,
        }
        return 201, sent, None

    def _check(self, device: str, body: dict[str, Any]) -> Answer:
        ident, typed = body.get("verification_id"), body.get("code")
        if type(ident) is not int or ident < 1:
            return _bad("verification_id must be the number the CRM gave")
        if not isinstance(typed, str) or not _CODE.fullmatch(typed):
            return _bad("code must be 5 digits")
        now = self.clock()
        with self._lock:
            code = self._codes.get(ident)
            if code is None or code.device != device:
                return _error(404, "unknown_verification", "No such verification here.")
            if code.state == "verified" and typed == DEMO_CODE:
                return 200, _proof(ident, code, now), None
            if code.state == "pending" and now >= code.sent_at + VALID_SECONDS:
                code.state = "expired"
            if code.state != "pending":
                reason = "used" if code.state == "verified" else code.state
                return _error(410, "code_dead", "The code cannot be used.", reason=reason)
            if typed == DEMO_CODE:
                code.state = "verified"
                return 200, _proof(ident, code, now), None
            code.attempts += 1
            if code.attempts >= MAX_ATTEMPTS:
                code.state = "exhausted"
            left = MAX_ATTEMPTS - code.attempts
        return _error(409, "wrong_code", "Not the code.", attempts_left=left)


def _proof(ident: int, code: _Code, now: float) -> dict[str, Any]:
    # Not signed: the simulator takes every pushed record as it comes.
    return {"proof": f"sim.{ident}", "expires_at": _timestamp(now + 86_400)}


def _bad(reason: str) -> Answer:
    return _error(400, "bad_request", f"The request is not valid: {reason}")


def _error(status: int, code: str, message: str, **more: Any) -> Answer:
    return status, {"error": {"code": code, "message": message, **more}}, None


def _timestamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
