"""The kiosk's HTTP client for the CRM: signed, gzipped, verified TLS, typed answers and errors.

It speaks docs/sync-protocol.md and nothing else: what to push, when to retry and what to
do with the answers is the worker's business.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeGuard
from urllib.parse import quote, urlencode, urlsplit

import requests
import urllib3

from sync.owner_key import OwnerKey
from sync.signing import PROTOCOL, PROTOCOL_VERSION, sign

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read (seconds)
# Bodies smaller than this are sent as they are: gzip would cost more than it saves.
_GZIP_ABOVE = 1024
# The device secret: 32 bytes, in base64url 43 characters and a "=" the CRM may leave off
# (docs/sync-openapi.yaml, EnrollAnswer). It is the HMAC key as bytes, never as text.
SECRET_BYTES = 32
_SECRET_TEXT = re.compile(r"[A-Za-z0-9_-]{43}=?")


class CrmError(Exception):
    """The CRM refused, or could not be reached; `retryable` says whether to try again."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "network",
        retry_after: float | None = None,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.reason = reason  # a refused enrollment code: "unknown", "used" or "expired"
        self.detail = detail or {}  # the answer's whole "error" object (a hold's `available`)

    @property
    def retryable(self) -> bool:
        """Network errors, 429, 5xx and a refused time or nonce are worth retrying."""
        return (
            self.status is None
            or self.status == 429
            or self.status >= 500
            or self.code in RETRYABLE_REFUSALS
        )

    @property
    def credentials(self) -> bool:
        """401/403 but for the time or the nonce: the credentials are refused; stop."""
        return self.status in (401, 403) and self.code not in RETRYABLE_REFUSALS


# 401s that say nothing against the secret: the request's time was too far from the CRM's
# (the answer's Date gives the offset the next request is signed with), or its nonce was
# seen (something between resent it; the next request has a new one).
RETRYABLE_REFUSALS = frozenset({"signature_expired", "replayed"})


@dataclass(frozen=True)
class PushAnswer:
    """The CRM's answer to a push."""

    high_water: int
    stored: int
    duplicates: int
    rejected: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ChangesPage:
    """One page of the change feed."""

    changes: list[dict[str, Any]]
    next_cursor: int
    more: bool
    # Which numbering the cursors belong to (sync/feed_epoch.py); None from an older CRM,
    # and when it is not a short string.
    epoch: str | None = None


class CrmClient:
    """Signed requests to one CRM for one device."""

    def __init__(
        self,
        base_url: str,
        device_id: str,
        secret: bytes | None = None,
        *,
        ca_bundle: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.base_path = urlsplit(self.base_url).path
        self.device_id = device_id
        self.secret = secret
        self.timeout = timeout
        # The environment must not choose the CA or a proxy behind our back:
        # REQUESTS_CA_BUNDLE silently overrides Session.verify when trust_env is on.
        self.session = requests.Session()
        self.session.trust_env = False
        self.verify: bool | str = ca_bundle or True
        self.clock = clock  # this kiosk's clock (Unix seconds)
        # CRM time minus ours, seconds, from the last answer's Date (or as the worker
        # remembered it): requests are signed with our clock corrected by it.
        self.clock_offset: float | None = None
        # The chain owner's key from the last enrollment answer (None when it had none).
        self.owner_key: OwnerKey | None = None

    def close(self) -> None:
        self.session.close()

    def now(self) -> float:
        """The CRM's time as this kiosk best knows it: its clock plus the measured offset."""
        return self.clock() + (self.clock_offset or 0.0)

    # -- the protocol ----------------------------------------------------------------------

    def enroll(self, code: str) -> bytes:
        """Trade a one-time code for this device's secret (kept by the caller)."""
        answer = self._request(
            "POST", "/v2/enroll", {"code": code, "device_id": self.device_id}, signed=False
        )
        text = answer.get("secret")
        if not isinstance(text, str):
            raise _bad_answer("no secret in the enrollment answer")
        try:
            secret = decode_secret(text)
        except ValueError as exc:
            raise _bad_answer(f"the enrollment answer's secret is {exc}") from exc
        self.secret = secret
        self.owner_key = _owner_key(answer)
        return secret

    def push(
        self,
        members: list[dict[str, Any]],
        entries: list[dict[str, Any]],
        *,
        chain_head: dict[str, Any] | None = None,
    ) -> PushAnswer:
        """Send one batch (with the ledger's and audit log's chain heads, if given); the
        answer's high-water mark is the only acknowledgement."""
        body: dict[str, Any] = {"device_id": self.device_id, "members": members, "entries": entries}
        if chain_head is not None:
            body["chain_head"] = chain_head
        answer = self._request("POST", "/v2/push", body)
        high_water = answer.get("high_water")
        rejected = answer.get("rejected", [])
        if not _count(high_water) or not isinstance(rejected, list):
            raise _bad_answer("the push answer has no usable high_water or rejected")
        return PushAnswer(
            high_water=high_water,
            stored=int(answer.get("stored", 0)) if _count(answer.get("stored", 0)) else 0,
            duplicates=(
                int(answer.get("duplicates", 0)) if _count(answer.get("duplicates", 0)) else 0
            ),
            rejected=[r for r in rejected if isinstance(r, dict)],
        )

    def push_feedback(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send visit ratings (docs/sync-protocol.md, "Feedback"); the rows refused for good."""
        body = {"device_id": self.device_id, "feedback": rows}
        answer = self._request("POST", "/v2/feedback", body)
        refused = answer.get("refused")
        if not _count(answer.get("stored")) or not isinstance(refused, list):
            raise _bad_answer("the feedback answer has no usable stored or refused")
        return [r for r in refused if isinstance(r, dict) and isinstance(r.get("entry_id"), str)]

    def changes(self, cursor: int, limit: int = 500) -> ChangesPage:
        """The changes after `cursor`."""
        query = urlencode({"cursor": cursor, "limit": limit})
        answer = self._request("GET", f"/v2/changes?{query}", None)
        changes, next_cursor, more = (answer.get(k) for k in ("changes", "next_cursor", "more"))
        if (
            not isinstance(changes, list)
            or not all(isinstance(c, dict) for c in changes)
            or not _count(next_cursor)
            or not isinstance(more, bool)
        ):
            raise _bad_answer("the page of changes is not what the protocol says")
        epoch = answer.get("epoch")
        named = epoch if isinstance(epoch, str) and 0 < len(epoch) <= 128 else None
        return ChangesPage(changes=changes, next_cursor=next_cursor, more=more, epoch=named)

    def heartbeat(self, status: dict[str, Any]) -> dict[str, Any]:
        """Tell the CRM how this kiosk is doing; its answer (`server_time`, and `members`,
        the chain's count, while its program shows the club's size)."""
        return self._request("POST", "/v2/heartbeat", status)

    def hold(
        self,
        client_txn_id: str,
        member_id: str,
        points: int,
        reward_id: str | None,
        *,
        timeout: tuple[float, float] | None = None,
    ) -> dict[str, Any]:
        """Ask the CRM to hold a redemption's points: its HoldAnswer (CrmError if refused)."""
        body = {
            "client_txn_id": client_txn_id,
            "member_id": member_id,
            "points": points,
            "reward_id": reward_id,
        }
        answer = self._request("POST", "/v2/holds", body, timeout=timeout)
        if not _count(answer.get("available")) or not isinstance(answer.get("expires_at"), str):
            raise _bad_answer("the hold answer has no usable available or expires_at")
        return answer

    def release(self, client_txn_id: str, *, timeout: tuple[float, float] | None = None) -> bool:
        """Let go of a hold this kiosk could not finish; whether one was let go of."""
        path = f"/v2/holds/{quote(client_txn_id, safe='')}"
        return self._request("DELETE", path, None, timeout=timeout).get("released") is True

    def lookup(
        self,
        *,
        phone: str | None = None,
        card: str | None = None,
        timeout: tuple[float, float] | None = None,
    ) -> dict[str, Any]:
        """A member by phone or card: {"member", "balance"} (CrmError 404 if none)."""
        query = urlencode({"phone": phone} if phone is not None else {"card": card})
        answer = self._request("GET", f"/v2/members?{query}", None, timeout=timeout)
        member, balance = answer.get("member"), answer.get("balance")
        if (
            not isinstance(member, dict)
            or not isinstance(balance, dict)
            or not isinstance(member.get("member_id"), str)
            or balance.get("member_id") != member["member_id"]
        ):
            raise _bad_answer("the lookup answer has no usable member and balance")
        return answer

    # -- plumbing --------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        payload: Any,
        *,
        signed: bool = True,
        timeout: tuple[float, float] | None = None,
    ) -> dict[str, Any]:
        timeout = timeout or self.timeout
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
            PROTOCOL: PROTOCOL_VERSION,
        }
        if body:
            headers["Content-Type"] = "application/json"
            if len(body) > _GZIP_ABOVE:
                body = gzip.compress(body, compresslevel=5)
                headers["Content-Encoding"] = "gzip"
        if signed:
            if self.secret is None:
                raise CrmError(
                    "this kiosk is not enrolled at the CRM", code="not_enrolled", status=401
                )
            headers.update(
                sign(
                    self.device_id, self.secret, method, self.base_path + path, body, now=self.now()
                )
            )
        deadline = time.monotonic() + sum(timeout)
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                data=body or None,
                headers=headers,
                timeout=timeout,
                verify=self.verify,
                stream=True,
                allow_redirects=False,  # the protocol has none; a 3xx is no answer
            )
            try:
                content = _read_bounded(response, deadline)
            finally:
                response.close()
        except requests.RequestException as exc:
            raise CrmError(f"the CRM cannot be reached: {type(exc).__name__}") from exc
        response._content = content  # for _error() and json()
        self._note_clock(response)
        if not 200 <= response.status_code < 300:
            raise _error(response)
        try:
            data = json.loads(content) if content else {}
        except (ValueError, RecursionError) as exc:
            raise CrmError(
                "the CRM answered something that is not JSON",
                status=response.status_code,
                code="bad_answer",
            ) from exc
        if not isinstance(data, dict):
            raise CrmError(
                "the CRM answered an unexpected shape",
                status=response.status_code,
                code="bad_answer",
            )
        return data

    def _note_clock(self, response: requests.Response) -> None:
        date = response.headers.get("Date")
        if not date:
            return
        try:
            theirs = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        if theirs.tzinfo is None:  # "-0000" or no zone: HTTP dates are GMT
            theirs = theirs.replace(tzinfo=UTC)
        # Date has whole seconds: the estimate is good to about a second, enough to sign
        # within the CRM's window of 300 seconds and to tell a technician the clock is wrong.
        try:
            stamp = theirs.timestamp()
        except (OverflowError, ValueError, OSError):
            return
        if stamp > 0:  # a time before 1970 could not be signed (the CRM takes digits only)
            self.clock_offset = stamp - self.clock()


def _owner_key(answer: dict[str, Any]) -> OwnerKey | None:
    """The chain owner's key from an enrollment answer, or None (an older CRM sends none).

    One that is there but not valid is left out too: the secret was issued and the code
    spent, so the kiosk keeps it and syncs its entries, and refuses staff and program
    changes as a kiosk without a key does; the log says why.
    """
    key, chain = answer.get("owner_key"), answer.get("chain_id")
    if key is None and chain is None:
        return None
    try:
        return OwnerKey.parse(str(key), str(chain))
    except ValueError:
        log.error("the enrollment answer's owner_key or chain_id is not valid; left out")
        return None


def decode_secret(text: str) -> bytes:
    """The device secret's 32 bytes from its base64url text, with or without its padding."""
    if not _SECRET_TEXT.fullmatch(text):
        raise ValueError(f"not {SECRET_BYTES} bytes in base64url")
    try:
        return base64.urlsafe_b64decode(text[:43] + "=")
    except binascii.Error as exc:  # not expected after the pattern; still a ValueError
        raise ValueError(f"not {SECRET_BYTES} bytes in base64url") from exc


def _count(value: object) -> TypeGuard[int]:
    """A JSON integer (not a boolean) from 0 to 2**63 - 1."""
    return type(value) is int and 0 <= value < 2**63


def _bad_answer(why: str) -> CrmError:
    # Retryable (no status): a CRM with a bug may be fixed; the kiosk keeps everything.
    return CrmError(f"the CRM's answer is not valid: {why}", code="bad_answer")


# An answer is a page of changes or a small JSON object: more than this is not the CRM
# talking sense, and reading on would cost the kiosk its memory.
MAX_ANSWER_BYTES = 16 * 1024 * 1024


def _read_bounded(response: requests.Response, deadline: float) -> bytes:
    """The answer's body (gunzipped), at most MAX_ANSWER_BYTES, by `deadline`.

    `read1` returns what one receive brought, so a CRM that sends a byte at a time (each
    within the read timeout) is still cut off at the deadline, and a gzip bomb at the size.
    """
    parts: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = response.raw.read1(65536, decode_content=True)
        except (OSError, urllib3.exceptions.HTTPError) as exc:
            raise CrmError(f"the CRM's answer broke off: {type(exc).__name__}") from exc
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise CrmError(
                f"the CRM's answer is larger than {MAX_ANSWER_BYTES // (1024 * 1024)} MiB",
                code="answer_too_large",
            )
        if time.monotonic() > deadline:
            raise CrmError("the CRM answers too slowly", code="too_slow")
        parts.append(chunk)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds, or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # '²'.isdigit() is true too
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    except OverflowError:
        return None


def _error(response: requests.Response) -> CrmError:
    code, message = "http_error", f"the CRM answered {response.status_code}"
    reason, detail = None, {}
    try:
        detail = response.json().get("error", {})
        if not isinstance(detail, dict):
            detail = {}
        code = str(detail.get("code") or code)
        message = str(detail.get("message") or message)
        reason = str(detail["reason"]) if isinstance(detail.get("reason"), str) else None
    except (ValueError, AttributeError, RecursionError):
        pass
    return CrmError(
        message,
        status=response.status_code,
        code=code,
        retry_after=retry_after(response.headers.get("Retry-After")),
        reason=reason,
        detail=detail,
    )
