"""Sending a code and checking the one typed back (docs/sync-protocol.md, "Verification").

A kiosk asks for a code for a phone and a purpose (`enroll`, or `link_card` with the
card's uid); the hub makes 5 random digits, keeps their keyed hash, and queues the SMS in
the same transaction. The code lives 5 minutes and takes 5 tries; a resend (a new code,
the old one dead) waits 60 seconds after the last code to the phone, and a phone gets at
most PHONE_PER_HOUR codes an hour, a device sends at most DEVICE_PER_HOUR: someone at a
counter can neither bomb a number with SMS nor spend the chain's SMS budget. Times are the
database's (`now()`), one clock for every hub process; the phone's and the device's
advisory locks serialise two requests at once, so that neither limit is passed by a race.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction

from hub.devices.models import Device
from hub.formats import is_text
from hub.verification import proofs, secrets
from hub.verification.models import Verification
from hub.verification.proofs import Verified
from hub.verification.sms import send_code

PURPOSES = ("enroll", "link_card")
VALID = timedelta(minutes=5)
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
PHONE_PER_HOUR = 5
DEVICE_PER_HOUR = 30
MAX_CARD = 64
_PHONE = re.compile(r"\+[1-9][0-9]{1,14}")
_CODE = re.compile(r"[0-9]{5}")
_LOCK = 0x56657269  # "Veri": the first key of the advisory locks' two
_TABLE = Verification._meta.db_table


@dataclass(frozen=True)
class Sent:
    """A code made and its SMS queued."""

    verification_id: int
    expires_at: datetime
    resend_after: int
    attempts_left: int


@dataclass(frozen=True)
class Limited:
    """No code now: wait `retry_after` seconds (`reason`: which limit, _LIMITS in verify.py)."""

    retry_after: int
    reason: str


@dataclass(frozen=True)
class Wrong:
    """Not the code; so many tries are left (0: the code is dead)."""

    attempts_left: int


@dataclass(frozen=True)
class Dead:
    """The code can no longer be used: expired, exhausted (tries), replaced, used."""

    reason: str


@dataclass(frozen=True)
class Unknown:
    """No verification of this device with this id."""


def request_problem(body: dict[str, Any]) -> str | None:
    """Why a POST /v2/verify body is not a VerifyRequest, or None."""
    phone, purpose, card = body.get("phone"), body.get("purpose"), body.get("card")
    if not isinstance(phone, str) or not _PHONE.fullmatch(phone):
        return "phone must be a number in E.164 (+98912...)"
    if purpose not in PURPOSES:
        return "purpose must be enroll or link_card"
    if purpose == "link_card" and card is None:
        return "a link_card verification names the card"
    if card is not None and (not is_text(card) or not 1 <= len(card) <= MAX_CARD):
        return f"card must be text of 1 to {MAX_CARD} characters"
    if body.get("language", "fa") not in ("fa", "en"):
        return "language must be fa or en"
    return None


def check_problem(body: dict[str, Any]) -> str | None:
    """Why a POST /v2/verify/check body is not a VerifyCheck, or None."""
    given = body.get("verification_id")
    if type(given) is not int or not 0 < given < 2**63:
        return "verification_id must be the number the hub gave"
    code = body.get("code")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        return "code must be 5 digits"
    return None


def send(
    device: Device, phone: str, purpose: str, card: str | None, language: str
) -> Sent | Limited:
    """A new code for the phone, its SMS queued; or how long to wait for one."""
    digest = secrets.phone_digest(phone)
    with transaction.atomic(), connection.cursor() as cursor:
        # The device's lock, then the phone's: always in this order.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s), pg_advisory_xact_lock(%s, %s)",
            [_LOCK, device.pk % 2**31, _LOCK + 1, _bucket(digest)],
        )
        cursor.execute("SELECT now()")
        now: datetime = cursor.fetchone()[0]
        limited = _limited(cursor, device, digest, now)
        if limited is not None:
            return limited
        cursor.execute(
            f"UPDATE {_TABLE} SET state = 'replaced' WHERE device_id = %s AND phone_digest = %s "
            "AND purpose = %s AND state = 'pending'",
            [device.pk, digest, purpose],
        )
        code = secrets.new_code()
        made = Verification.objects.create(
            device=device,
            purpose=purpose,
            phone_digest=digest,
            card=card,
            code_hash=secrets.code_hash(code),
            created_at=now,
            expires_at=now + VALID,
        )
        send_code(
            phone=phone,
            code=code,
            language=language,
            verification_id=made.pk,
            expires_at=made.expires_at,
        )
    return Sent(made.pk, made.expires_at, RESEND_SECONDS, MAX_ATTEMPTS)


def _bucket(digest: str) -> int:
    return int.from_bytes(hashlib.blake2b(digest.encode(), digest_size=4).digest(), "big") >> 1


def _limited(cursor: Any, device: Device, digest: str, now: datetime) -> Limited | None:
    """Whether a code may go to this phone from this device now, or how long to wait."""
    hour = now - timedelta(hours=1)
    cursor.execute(
        f"SELECT count(*), min(created_at), max(created_at) FROM {_TABLE} "
        "WHERE phone_digest = %s AND created_at > %s",
        [digest, hour],
    )
    count, oldest, newest = cursor.fetchone()
    if newest is not None and now - newest < timedelta(seconds=RESEND_SECONDS):
        return Limited(_seconds(newest + timedelta(seconds=RESEND_SECONDS) - now), "resend_delay")
    if count >= PHONE_PER_HOUR:
        return Limited(_seconds(oldest + timedelta(hours=1) - now), "phone_hourly")
    cursor.execute(
        f"SELECT count(*), min(created_at) FROM {_TABLE} WHERE device_id = %s AND created_at > %s",
        [device.pk, hour],
    )
    count, oldest = cursor.fetchone()
    if count >= DEVICE_PER_HOUR:
        return Limited(_seconds(oldest + timedelta(hours=1) - now), "device_hourly")
    return None


def _seconds(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))


def check(device: Device, verification_id: int, code: str) -> Verified | Wrong | Dead | Unknown:
    """Whether `code` is the verification's; a wrong one costs a try."""
    with transaction.atomic():
        row = (
            Verification.objects.select_for_update()
            .filter(pk=verification_id, device=device)
            .first()
        )
        if row is None:
            return Unknown()
        now = _now()
        if row.state == "verified" and secrets.code_matches(row.code_hash, code):
            return proofs.issue(row, device)  # the answer was lost: the same proof again
        if row.state != "pending":
            return Dead("used" if row.state == "verified" else row.state)
        if now >= row.expires_at:
            row.state = "expired"
            row.save(update_fields=["state"])
            return Dead("expired")
        if secrets.code_matches(row.code_hash, code):
            row.state, row.verified_at = "verified", now
            row.save(update_fields=["state", "verified_at"])
            return proofs.issue(row, device)
        row.attempts += 1
        if row.attempts >= MAX_ATTEMPTS:
            row.state = "exhausted"
        row.save(update_fields=["attempts", "state"])
        return Wrong(MAX_ATTEMPTS - row.attempts)


def _now() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        moment: datetime = cursor.fetchone()[0]
    return moment
