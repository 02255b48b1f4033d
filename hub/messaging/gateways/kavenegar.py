"""Kavenegar through its official package, `kavenegar` (1.1.2, pinned in hub/pyproject.toml).

We keep the package's client (its method names, its parameters, its `return`/`entries`
answer) and replace one method, `_request`, because 1.1.2 (2018):
- builds `https://` + host into every URL, so the simulator on plain loopback HTTP could
  not be reached (our `_request` takes a base URL: https://api.kavenegar.com, or the sim's);
- posts with no timeout (a stuck connection would hold a worker for ever) through
  `requests.post`, which reads proxies from the environment (ours: a Session, trust_env off);
- puts the URL, with the API key in its path, into its exceptions' text and its repr
  (ours raise without it; the repr is masked), so the key cannot reach a log.

Idempotency: `localid` on sms/send is our message id; Kavenegar answers a repeated localid
with the message it already has instead of sending again, and sms/statuslocalmessageid
finds a message by it (docs/messaging.md, "Exactly once").
"""

from __future__ import annotations

import json
from typing import Any

import kavenegar  # type: ignore[import-untyped]
import requests

from hub.messaging.gateways import (
    Accepted,
    Outgoing,
    Refused,
    Reply,
    Report,
    TryLater,
    mask,
    msisdn,
    read_key,
    register,
    request,
    timeout,
)

REAL_BASE = "https://api.kavenegar.com"
TIMEOUT = (5.0, 15.0)  # connect, read (seconds)
# Kavenegar's `return.status` codes worth another try: 409 (server busy), 418 (credit
# ran out: the owner tops up), 429 and 451 (too many requests); 5xx are the HTTP layer's.
_TRANSIENT = {409, 418, 429, 451}
# Delivery statuses (sms/status): 10 delivered; 6 failed, 11 undelivered, 13 cancelled,
# 14 blocked by the recipient; 100 an id it does not know; the rest still on their way.
_DELIVERED = {10}
_FAILED = {6, 11, 13, 14}


class _Client(kavenegar.KavenegarAPI):  # type: ignore[misc]
    """The package's client with a base URL, a timeout, no proxies and no key in errors."""

    def __init__(self, apikey: str, base: str, timeout: tuple[float, float]) -> None:
        super().__init__(apikey)
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False

    def __repr__(self) -> str:
        return f"kavenegar.KavenegarAPI({mask(self.apikey)!r})"

    __str__ = __repr__

    def _request(self, action: str, method: str, params: Any = None) -> Any:
        url = f"{self.base}/{self.version}/{self.apikey}/{action}/{method}.json"
        answer = request(
            self.session,
            "POST",
            url,
            name="kavenegar",
            timeout=self.timeout,
            headers=self.headers,
            data=params or {},
        )
        retry_after = _seconds(answer.headers.get("Retry-After"))
        try:
            body = json.loads(answer.content.decode("utf-8"))
            status = int(body["return"]["status"])
        except (ValueError, KeyError, TypeError):
            raise TryLater(
                f"kavenegar: HTTP {answer.status_code} without its answer",
                after=retry_after,
                ambiguous=answer.status_code >= 500,
            ) from None
        if status == 200:
            return body["entries"]
        if status in _TRANSIENT or answer.status_code >= 500:
            raise TryLater(f"kavenegar: status {status}", after=retry_after)
        raise Refused(f"kavenegar: status {status}")


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


class Kavenegar:
    """Kavenegar's sms/send, sms/statuslocalmessageid and sms/status."""

    name = "kavenegar"
    dedupes = True

    def __init__(
        self, key: str, sender: str, base: str = REAL_BASE, limits: tuple[float, float] = TIMEOUT
    ) -> None:
        self.sender = sender
        self.base = base
        self._client = _Client(key, base, limits)

    def send(self, message: Outgoing) -> Accepted:
        entries = self._client.sms_send(
            {
                "receptor": msisdn(message.phone),
                "sender": self.sender,
                "message": message.body,
                "localid": message.local_id,
            }
        )
        return Accepted(str(entries[0]["messageid"]))

    def find(self, message: Outgoing) -> Accepted | None:
        try:
            entries = self._client.sms_statuslocalmessageid({"localid": message.local_id})
        except Refused:
            return None
        found = entries[0] if entries else {}
        if int(found.get("status", 100)) == 100 or not found.get("messageid"):
            return None
        return Accepted(str(found["messageid"]))

    def status(self, gateway_message_ids: list[str]) -> list[Report]:
        if not gateway_message_ids:
            return []
        entries = self._client.sms_status({"messageid": ",".join(gateway_message_ids)})
        return [Report(str(e["messageid"]), outcome(int(e["status"]))) for e in entries]

    def balance(self) -> int:
        """account/info's remaincredit (Rial)."""
        entries = self._client.account_info()
        info = entries[0] if isinstance(entries, list) else entries
        return int(info["remaincredit"])

    def replies(self, since: int) -> list[Reply]:
        return []  # Kavenegar posts them to the hub's receive callback (views.inbound)

    def describe(self) -> str:
        return f"kavenegar {self.base} sender={self.sender} key={mask(self._client.apikey)}"


def outcome(status: int) -> str:
    """A Kavenegar delivery status as delivered, failed or pending."""
    if status in _DELIVERED:
        return "delivered"
    if status in _FAILED:
        return "failed"
    return "pending"


def open_kavenegar(
    address: str, path: str, options: dict[str, str], base: str = REAL_BASE
) -> Kavenegar:
    from hub.errors import HubError

    sender = options.get("sender", "")
    if not sender.isdigit():
        raise HubError("HUB_SMS_GATEWAY for kavenegar needs sender=NUMBER (your line)")
    return Kavenegar(read_key(options), sender, base, timeout(options, TIMEOUT))


register("kavenegar", open_kavenegar)
