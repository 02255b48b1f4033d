"""The Verifier port (kiosk/core/verification.py) on the CRM client: codes sent by the hub.

docs/sync-protocol.md, "Verification". A shopper waits at the counter: the requests go with
the counter's short timeout (`crm.hold_timeout_seconds`) and never while the kiosk's
credentials stand refused or a Retry-After holds the device (sync/counter.py). Any answer
the kiosk cannot act on is `Unreachable`, and a cashier approves instead: the network, a
timeout, a 5xx, and a CRM that has no verification (404; the simulated CRM has it: its
code is always 12345, sim/crm_verify.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kiosk.config import CrmConfig
from kiosk.core.store.outbox import SyncState
from kiosk.core.verification import (
    CheckAnswer,
    CodeDead,
    CodeRequest,
    Proven,
    SendAnswer,
    Sent,
    Unreachable,
    Wait,
    WrongCode,
)
from sync.client import CrmClient, CrmError
from sync.counter import CounterLink

log = logging.getLogger(__name__)
_LONGEST_WAIT = 3600  # what a Retry-After of the hourly limits may be at most


class CrmVerifier:
    """Asks the CRM for codes, and checks them, for one kiosk database."""

    def __init__(
        self,
        state: SyncState,
        client: Callable[[], CrmClient | None],
        config: CrmConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.link = CounterLink(state, client, config, clock=clock)

    def send(self, request: CodeRequest) -> SendAnswer:
        """Ask the CRM to send a code; Unreachable for anything it cannot decide."""
        body: dict[str, Any] = {
            "phone": request.phone,
            "purpose": request.purpose,
            "language": request.language,
        }
        if request.card is not None:
            body["card"] = request.card
        answer = self._post("/v2/verify", body)
        if isinstance(answer, CrmError):
            if answer.status == 429 and answer.code == "rate_limited":
                wait = answer.retry_after if answer.retry_after is not None else 60.0
                reason = answer.detail.get("reason")
                return Wait(
                    max(1, min(int(wait), _LONGEST_WAIT)),
                    reason if isinstance(reason, str) else "rate_limited",
                )
            return self._unreachable(answer)
        given = (answer.get(k) for k in ("verification_id", "resend_after", "attempts_left"))
        numbers = [v for v in given if type(v) is int and v >= 0]
        if len(numbers) != 3:
            return Unreachable("bad_answer")
        return Sent(numbers[0], numbers[1], numbers[2], expires_in=300)

    def check(self, verification_id: int, code: str) -> CheckAnswer:
        """Check a typed code at the CRM; Unreachable for anything it cannot decide."""
        answer = self._post("/v2/verify/check", {"verification_id": verification_id, "code": code})
        if isinstance(answer, CrmError):
            if answer.status == 409 and answer.code == "wrong_code":
                left = answer.detail.get("attempts_left")
                return WrongCode(left if type(left) is int and left >= 0 else 0)
            if answer.status == 410 and answer.code == "code_dead":
                reason = answer.detail.get("reason")
                return CodeDead(reason if isinstance(reason, str) else "expired")
            if answer.status == 404 and answer.code == "unknown_verification":
                return CodeDead("unknown")
            return self._unreachable(answer)
        proof = answer.get("proof")
        if not isinstance(proof, str) or not proof:
            return Unreachable("bad_answer")
        return Proven(verification_id, proof)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any] | CrmError:
        client = self.link.client()
        if client is None:
            return CrmError("no CRM client", code="no_client")
        why_not = self.link.not_now(client)
        if why_not is not None:
            return CrmError(why_not, code="not_now")
        try:
            # The client's one way to send a signed request (its named operations are the
            # sync's; verification is the counter's alone).
            answer = client._request("POST", path, body)
        except CrmError as error:
            return error
        self.link.heard(client)
        return answer

    def _unreachable(self, error: CrmError) -> Unreachable:
        # The code only: a message may quote what was sent, and that has the phone.
        log.warning("no verification from the CRM (%s): a cashier approves instead", error.code)
        return Unreachable(error.code)
