"""SMS gateways behind one small protocol, chosen by a URL-like setting (HUB_SMS_GATEWAY).

    kavenegar://?sender=10004346&key-file=/etc/loyalty-hub/kavenegar.key
    smsir://?line=30007732000000&key-file=/etc/loyalty-hub/smsir.key
    sim://127.0.0.1:8765/kavenegar?sender=10004346&key-file=...   (sim/sms_gateway.py)
    sim://127.0.0.1:8765/smsir?line=3000&key-file=...

Each scheme registers itself (`register`); `open_gateway` builds the one the URL names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import requests

from hub.errors import HubError


@dataclass(frozen=True)
class Outgoing:
    """What a gateway needs of a message: our id (the gateway's local id), phone, text."""

    local_id: str
    phone: str  # E.164
    body: str


@dataclass(frozen=True)
class Accepted:
    """The gateway took the message: its own id for it."""

    gateway_message_id: str


class TryLater(Exception):
    """Not sent now (down, 5xx, throttled, a timeout); `after` seconds if the gateway said.

    `ambiguous`: the request may have reached the gateway (a read timeout, a cut
    connection), so the message may have gone out.
    """

    def __init__(self, reason: str, *, after: float | None = None, ambiguous: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.after = after
        self.ambiguous = ambiguous


class Refused(Exception):
    """The gateway will never send this message (a bad number, a text it refuses)."""


class Unknown(Exception):
    """The gateway cannot say whether it has a message of ours (it keeps no local id)."""


@dataclass(frozen=True)
class Report:
    """A delivery report: the gateway's id and the outcome, `delivered`, `failed` or `pending`."""

    gateway_message_id: str
    outcome: str


@dataclass(frozen=True)
class Reply:
    """A message a phone sent to the chain's line (a stop word, perhaps)."""

    phone: str  # E.164
    text: str
    at: int  # Unix seconds, as the gateway received it


class Gateway(Protocol):
    """An SMS gateway: send one message, find one by our id, poll delivery."""

    name: str  # kept with each message: "kavenegar", "smsir"
    # Whether the gateway dedupes our local id: then resending a message whose outcome is
    # unknown cannot send it twice.
    dedupes: bool

    def send(self, message: Outgoing) -> Accepted:
        """Hand over one message; raises TryLater or Refused."""
        ...

    def find(self, message: Outgoing) -> Accepted | None:
        """The gateway's id for a message we may have sent (None: it has none); or Unknown."""
        ...

    def status(self, gateway_message_ids: list[str]) -> list[Report]:
        """Delivery outcomes for messages it accepted."""
        ...

    def replies(self, since: int) -> list[Reply]:
        """Replies received after `since` (Unix seconds), where they are polled; a gateway
        that posts them to the hub's callback answers []."""
        ...

    def balance(self) -> int:
        """The account's credit left, as the gateway counts it (Rial); TryLater or Refused."""
        ...

    def describe(self) -> str:
        """The gateway's setting with its key masked, for people."""
        ...


Opener = Callable[[str, str, dict[str, str]], Gateway]  # (address, path, options)
_SCHEMES: dict[str, Opener] = {}


def register(scheme: str, opener: Opener) -> None:
    """A gateway scheme's opener (called by each gateway's module)."""
    _SCHEMES[scheme] = opener


def open_gateway(url: str) -> Gateway:
    """The gateway the setting names; HubError with what to fix otherwise."""
    from hub.messaging.gateways import kavenegar, simulated, smsir  # noqa: F401 (they register)

    parts = urlsplit(url)
    opener = _SCHEMES.get(parts.scheme)
    if opener is None:
        known = ", ".join(sorted(_SCHEMES))
        raise HubError(f"HUB_SMS_GATEWAY must start with one of {known}, not {parts.scheme!r}")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return opener(parts.netloc, parts.path.strip("/"), options)


def read_key(options: dict[str, str]) -> str:
    """The API key from the file `key-file` names (never the URL itself: it gets printed)."""
    if "key" in options:
        raise HubError("HUB_SMS_GATEWAY must name a key-file, not carry the key itself")
    name = options.get("key-file")
    if not name:
        raise HubError("HUB_SMS_GATEWAY needs key-file=PATH (the gateway's API key)")
    try:
        key = Path(name).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise HubError(
            f"cannot read the SMS gateway's key file {name}: {exc.__class__.__name__}"
        ) from None
    if not key:
        raise HubError(f"the SMS gateway's key file {name} is empty")
    return key


def mask(key: str) -> str:
    """A key as config output shows it: its last four characters."""
    return "****" + key[-4:] if len(key) > 12 else "****"


def e164(number: str) -> str:
    """A number as gateways give it (989121234567, 09121234567, 00989...) in E.164."""
    digits = number.strip().lstrip("+")
    if digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = "98" + digits[1:]
    return "+" + digits


def msisdn(phone: str) -> str:
    """E.164 without the plus (989121234567), as both gateways take numbers."""
    return phone.lstrip("+")


def timeout(options: dict[str, str], default: tuple[float, float]) -> tuple[float, float]:
    """`timeout=SECONDS` (the read timeout; the simulator's tests shorten it), else `default`."""
    given = options.get("timeout")
    if not given:
        return default
    try:
        seconds = float(given)
    except ValueError:
        raise HubError(f"HUB_SMS_GATEWAY's timeout must be seconds, not {given!r}") from None
    return (min(default[0], seconds), seconds)


def request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    name: str,
    timeout: tuple[float, float],
    **options: object,
) -> requests.Response:
    """One HTTP request; a failure to reach the gateway is TryLater, raised with no trace of
    requests' exception: its text holds the URL, which holds Kavenegar's key."""
    try:
        return session.request(method, url, timeout=timeout, **options)  # type: ignore[arg-type]
    except requests.ConnectTimeout:
        failure = TryLater(f"{name}: no connection (timeout)")
    except requests.ConnectionError as exc:
        # Refused before a byte was sent, or cut after: the latter may have sent it.
        text = str(exc)
        refused = "Connection refused" in text or "Failed to establish a new connection" in text
        failure = TryLater(f"{name}: connection failed", ambiguous=not refused)
    except requests.Timeout:
        failure = TryLater(f"{name}: no answer (timeout)", ambiguous=True)
    raise failure  # outside the handler: no __context__ to carry the URL along
