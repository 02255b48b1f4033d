"""SMS.ir through its REST API (v1) with `requests`: POST /v1/send/bulk, GET /v1/send/{id}.

The key goes in the X-API-KEY header, never in a URL. SMS.ir takes no id of ours, so it
cannot dedupe a resend nor find a message we may have sent: a send whose answer was lost
(a read timeout, a worker killed mid-request) is not sent again but ends `failed` with
"outcome unknown" for a person to look at (docs/messaging.md, "Exactly once").
"""

from __future__ import annotations

from typing import Any

import requests

from hub.messaging.gateways import (
    Accepted,
    Outgoing,
    Refused,
    Reply,
    Report,
    TryLater,
    Unknown,
    e164,
    mask,
    msisdn,
    read_key,
    register,
    request,
    timeout,
)

REAL_BASE = "https://api.sms.ir"
TIMEOUT = (5.0, 15.0)
# deliveryState of GET /v1/send/{id}: 1 delivered to the phone; 2 not delivered to the
# phone, 4 not delivered to the operator, 6 on the operator's blacklist; others pending.
_FAILED = {2, 4, 6}


class SmsIr:
    """SMS.ir's v1 REST API."""

    name = "smsir"
    dedupes = False

    def __init__(
        self, key: str, line: str, base: str = REAL_BASE, limits: tuple[float, float] = TIMEOUT
    ) -> None:
        self.line = line
        self.timeout = limits
        self.base = base.rstrip("/")
        self._key = key
        self._session = requests.Session()
        self._session.trust_env = False
        self._session.headers.update({"X-API-KEY": key, "Accept": "application/json"})

    def __repr__(self) -> str:
        return f"SmsIr({self.base!r}, key={mask(self._key)!r})"

    def send(self, message: Outgoing) -> Accepted:
        data = self._call(
            "POST",
            "/v1/send/bulk",
            {
                "lineNumber": int(self.line),
                "messageText": message.body,
                "mobiles": [msisdn(message.phone)],
                "sendDateTime": None,
            },
        )
        return Accepted(str((data or {})["messageIds"][0]))

    def find(self, message: Outgoing) -> Accepted | None:
        raise Unknown("SMS.ir keeps no id of ours")

    def status(self, gateway_message_ids: list[str]) -> list[Report]:
        reports = []
        for gateway_id in gateway_message_ids:
            data = self._call("GET", f"/v1/send/{int(gateway_id)}", None) or {}
            state = int(data.get("deliveryState") or 0)
            reports.append(Report(gateway_id, outcome(state)))
        return reports

    def balance(self) -> int:
        """GET /v1/credit: the credit left (SMS.ir counts it in its own units)."""
        return int(float(self._call("GET", "/v1/credit", None) or 0))

    def replies(self, since: int) -> list[Reply]:
        """GET /v1/receive/latest: the latest 100 received (SMS.ir posts none to us)."""
        data = self._call("GET", "/v1/receive/latest?count=100", None)
        found = []
        for item in data if isinstance(data, list) else []:
            at = int(item.get("receivedDateTime") or 0)
            mobile = str(item.get("mobile") or "")
            if at > since and mobile.isdigit():
                found.append(Reply(e164(mobile), str(item.get("messageText") or ""), at))
        return sorted(found, key=lambda reply: reply.at)

    def describe(self) -> str:
        return f"smsir {self.base} line={self.line} key={mask(self._key)}"

    def _call(self, method: str, path: str, payload: dict[str, Any] | None) -> Any:
        answer = request(
            self._session,
            method,
            self.base + path,
            name="smsir",
            timeout=self.timeout,
            json=payload,
        )
        after = answer.headers.get("Retry-After")
        if answer.status_code == 429 or answer.status_code >= 500:
            raise TryLater(
                f"smsir: HTTP {answer.status_code}",
                after=float(after) if after and after.isdigit() else None,
                ambiguous=answer.status_code >= 500 and method == "POST",
            )
        try:
            body = answer.json()
        except ValueError:
            raise TryLater(f"smsir: HTTP {answer.status_code} without its answer") from None
        if answer.status_code != 200 or body.get("status") != 1:
            raise Refused(f"smsir: HTTP {answer.status_code} status {body.get('status')}")
        return body.get("data")


def outcome(state: int) -> str:
    """An SMS.ir deliveryState as delivered, failed or pending."""
    if state == 1:
        return "delivered"
    if state in _FAILED:
        return "failed"
    return "pending"


def open_smsir(address: str, path: str, options: dict[str, str], base: str = REAL_BASE) -> SmsIr:
    from hub.errors import HubError

    line = options.get("line", "")
    if not line.isdigit():
        raise HubError("HUB_SMS_GATEWAY for smsir needs line=NUMBER (your line number)")
    return SmsIr(read_key(options), line, base, timeout(options, TIMEOUT))


register("smsir", open_smsir)
