"""Sending the deliveries: signed, retried with backoff and jitter, failed after three days.

At least once per endpoint and event: a delivery is done when the endpoint answers 2xx;
anything else (an error, a timeout, a redirect, 4xx or 5xx) is tried again after a
backoff that doubles from 30 s up to 6 hours, jittered (half to all of it, so that
receivers coming back are not hit by every hub at once), until the delivery is three days
old; then it is `failed` and shown by `hub webhook list`. The clock and the randomness are
the caller's (the tests inject both).

The HTTP client: requests with trust_env off (no proxy or CA from the environment),
timeouts, redirects never followed, the answer's body never read, the target checked
before each request (hub/integration/targets.py) and the connection made to the very
address that was checked (`PinnedAdapter`: no second look-up for DNS rebinding to answer).
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.exceptions import InvalidTag
from requests.adapters import HTTPAdapter

from hub.integration import queue, sealing, signature, targets

log = logging.getLogger(__name__)

FIRST_BACKOFF = timedelta(seconds=30)
MOST_BACKOFF = timedelta(hours=6)
RETRY_WINDOW = timedelta(days=3)
LEASE = timedelta(minutes=2)  # longer than a request can take (the timeouts below)
BATCH = 20
USER_AGENT = "loyalty-hub-webhooks/1"

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The time now, in UTC."""
    return datetime.now(UTC)


@dataclass
class Sender:
    """What a worker sends with: its HTTP session, timeouts, clock and randomness."""

    clock: Clock = system_clock
    rng: random.Random = field(default_factory=random.Random)
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    allow_private: bool | None = None  # None: the setting (targets.private_allowed)
    session: requests.Session = field(default_factory=requests.Session)
    resolve: targets.Resolver = targets.system_resolve

    def __post_init__(self) -> None:
        self.session.trust_env = False  # no proxy, CA bundle or .netrc from the environment
        self.session.mount("https://", PinnedAdapter())
        self.session.mount("http://", PinnedAdapter())


class PinnedAdapter(HTTPAdapter):
    """Requests to a URL whose host is the checked address, with the name in `Host`: TLS
    names the name (SNI) and checks the certificate against it, not against the address.

    urllib3's own `server_hostname` and `assert_hostname` pool settings do it (they are
    part of its pool key, so two names at one address never share a connection).
    """

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> Any:  # requests' own (private) typed dicts, which lack urllib3's TLS name keys
        """The pool's key, with the Host header's name for TLS when the URL names an address."""
        host_params, kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pool_kwargs: dict[str, Any] = dict(kwargs)
        named = request.headers.get("Host")
        if host_params["scheme"] == "https" and named:
            name = urlsplit(f"//{named}").hostname
            if name and name != host_params["host"].strip("[]"):
                pool_kwargs["server_hostname"] = name
                pool_kwargs["assert_hostname"] = name
        return host_params, pool_kwargs


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """How long after the `attempts`-th failure to try again: doubling, capped, jittered."""
    full = min(MOST_BACKOFF, FIRST_BACKOFF * (2 ** min(attempts - 1, 20)))
    jittered: timedelta = full * (0.5 + rng.random() / 2)
    return jittered


def body_of(claimed: queue.Claimed) -> bytes:
    """The bytes sent: the event's envelope (the id a receiver dedupes by, its type, when)."""
    envelope = {
        "id": claimed.event_id,
        "type": claimed.event_type,
        "created_at": claimed.event_created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": claimed.payload,
    }
    return json.dumps(envelope, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signature_header(claimed: queue.Claimed, body: bytes, now: datetime) -> str:
    """`t=...,v1=...`: one v1 per secret in force (two after a rotation, for a while)."""
    timestamp = int(now.timestamp())
    header = signature.sign(sealing.unseal(claimed.sealed_secret), timestamp, body)
    if (
        claimed.sealed_previous is not None
        and claimed.previous_until is not None
        and now < claimed.previous_until
    ):
        old = signature.sign(sealing.unseal(claimed.sealed_previous), timestamp, body)
        header += "," + old.split(",", 1)[1]
    return header


class _Unsealable(Exception):
    """The sealing key is missing or another: the delivery waits, the worker goes on."""


def _signed(claimed: queue.Claimed, body: bytes, now: datetime) -> str:
    try:
        return signature_header(claimed, body, now)
    except (OSError, ValueError, InvalidTag) as exc:
        raise _Unsealable from exc


def send(sender: Sender, claimed: queue.Claimed) -> bool:
    """Make one attempt of a delivery and record it; whether it was delivered."""
    now = sender.clock()
    status: int | None = None
    try:
        target = targets.check(
            claimed.url, allow_private=sender.allow_private, resolve=sender.resolve
        )
        body = body_of(claimed)
        header = _signed(claimed, body, now)
        answer = sender.session.post(
            target.pinned_url,  # the address checked, never the name looked up again
            data=body,
            headers={
                "Host": target.host_header,
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                signature.HEADER: header,
                "X-Club-Event-Id": claimed.event_id,
                "X-Club-Event-Type": claimed.event_type,
            },
            timeout=(sender.connect_timeout, sender.read_timeout),
            allow_redirects=False,
            stream=True,  # the body is never read: a receiver cannot make the hub read much
        )
        answer.close()
        status = answer.status_code
        error = "" if 200 <= status < 300 else f"answered {status}"
    except targets.UnsafeTarget as exc:
        error = str(exc)
    except _Unsealable:
        error = f"the endpoint's secret cannot be unsealed (is {sealing.KEY_FILENAME} there?)"
    except requests.Timeout:
        error = "no answer within the timeout"
    except requests.RequestException as exc:
        error = f"could not connect ({type(exc).__name__})"
    if not error and status is not None:
        queue.delivered(claimed.id, now, status)
        return True
    attempts = claimed.attempts + 1
    due = now + backoff(attempts, sender.rng)
    gave_up = due - claimed.created_at > RETRY_WINDOW
    queue.retry_or_fail(claimed.id, status, error, None if gave_up else due, now)
    # The endpoint's id and the event's, never its URL (it may carry a token) or the body.
    log.info(
        "webhook delivery %s of %s failed (%s)%s",
        claimed.id,
        claimed.event_id,
        error,
        ", given up" if gave_up else "",
    )
    return False


def deliver_due(sender: Sender, stop: threading.Event | None = None) -> int:
    """Claim the due deliveries, a batch, and send each; how many were attempted.

    A `stop` set midway ends the batch after the delivery in flight; the rest go back.
    """
    claimed = queue.claim(sender.clock(), BATCH, LEASE)
    done = 0
    for one in claimed:
        if stop is not None and stop.is_set():
            break
        send(sender, one)
        done += 1
    queue.release([c.id for c in claimed[done:]])
    return done


def work(sender: Sender, stop: threading.Event, idle_wait: float = 2.0) -> None:
    """Deliver until `stop` is set (SIGTERM), waiting `idle_wait` seconds when none are due."""
    while not stop.is_set():
        if deliver_due(sender, stop) == 0:
            stop.wait(idle_wait)
