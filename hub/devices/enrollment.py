"""One-time enrollment codes: made for one device record, traded once for its secret.

A code is single-use, expires after 24 hours, and is bound to the record it was made for:
the kiosk that uses it first gives the record its device id, and from then on a code of
that record works only for that kiosk, and that kiosk only with that record's codes. A
revoked record stays revoked: its codes are refused and `hub device code` makes none.

Guessing is limited per source address: after ten refused codes in ten minutes, a source
is answered 429 (good code or not) until the oldest of them is ten minutes old. A code has
31^8 (about 8.5 * 10^11) values, so ten guesses per ten minutes will not find one in 24 hours.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from hub.devices.models import Device, EnrollmentCode, EnrollmentFailure

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud, typed by hand
CODE_LIFETIME = timedelta(hours=24)
SECRET_BYTES = 32
MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=10)
# Names the per-source lock among PostgreSQL's advisory locks (two-key form: this, the
# source's hash); the feed's lock is a one-key lock, a space of its own.
_SOURCE_LOCKS = 0x656E72


@dataclass(frozen=True)
class Issued:
    """A code made for a device."""

    device: Device
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class Refused:
    """Why a code was not traded: the protocol's status, error code, reason and message."""

    status: int
    code: str
    message: str
    reason: str | None = None


@dataclass(frozen=True)
class Limited:
    """Too many refused codes from this source lately: nothing tried, wait `retry_after` s."""

    retry_after: int


def attempt(
    code: str, device_id: str, source: str, now: datetime | None = None
) -> bytes | Refused | Limited:
    """`enroll`, unless `source` had too many codes refused lately; a refusal counts."""
    moment = now or timezone.now()
    since = moment - FAILURE_WINDOW
    with transaction.atomic():
        # One source's attempts one at a time, in every hub process: guesses sent in
        # parallel cannot all pass the count before any is recorded.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_SOURCE_LOCKS, source]
            )
        recent = list(
            EnrollmentFailure.objects.filter(source=source, failed_at__gt=since)
            .order_by("-failed_at")
            .values_list("failed_at", flat=True)[:MAX_FAILURES]
        )
        if len(recent) >= MAX_FAILURES:
            # Free again when the oldest of the last MAX_FAILURES leaves the window.
            wait = (recent[-1] + FAILURE_WINDOW - moment).total_seconds()
            return Limited(max(1, math.ceil(wait)))
        result = enroll(code, device_id, moment)
        if isinstance(result, Refused):
            EnrollmentFailure.objects.filter(failed_at__lte=since).delete()
            EnrollmentFailure.objects.create(source=source, failed_at=moment)
        return result


def issue(device: Device, now: datetime | None = None) -> Issued:
    """A new one-time code for `device` (not revoked), valid for 24 hours."""
    moment = now or timezone.now()
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    code = EnrollmentCode.objects.create(
        code=f"{raw[:4]}-{raw[4:]}", device=device, expires_at=moment + CODE_LIFETIME
    )
    return Issued(device=device, code=code.code, expires_at=code.expires_at)


def enroll(code: str, device_id: str, now: datetime | None = None) -> bytes | Refused:
    """The new secret of the record the code was made for, now bound to `device_id`."""
    moment = now or timezone.now()
    try:
        with transaction.atomic():
            return _enroll(code.strip().upper(), device_id, moment)
    except IntegrityError:
        # Another record took this device id at the same moment: the unique index decided.
        return _elsewhere()


def _enroll(code: str, device_id: str, moment: datetime) -> bytes | Refused:
    row = EnrollmentCode.objects.select_for_update().filter(code=code).first()
    if row is None:
        return _bad_code("unknown", "No such enrollment code: check it, or ask for a new one.")
    if row.used_at is not None:
        return _bad_code("used", "This enrollment code was already used: ask for a new one.")
    if row.expires_at < moment:
        return _bad_code("expired", "This enrollment code has expired: ask for a new one.")
    device = Device.objects.select_for_update().get(pk=row.device_id)
    if device.revoked_at is not None:
        return _revoked()
    if device.device_id is not None and device.device_id != device_id:
        return _bad_code(
            "unknown",
            "This enrollment code was made for another device: ask for a code for this one.",
        )
    other = Device.objects.filter(device_id=device_id).exclude(pk=device.pk).first()
    if other is not None:
        return _revoked() if other.revoked_at is not None else _elsewhere()
    secret = secrets.token_bytes(SECRET_BYTES)
    row.used_at = moment
    row.save(update_fields=["used_at"])
    device.device_id = device_id
    device.secret = secret
    device.enrolled_at = moment
    device.save(update_fields=["device_id", "secret", "enrolled_at"])
    return secret


def _bad_code(reason: str, message: str) -> Refused:
    return Refused(403, "bad_enrollment_code", message, reason)


def _revoked() -> Refused:
    return Refused(
        403, "device_revoked", "This device's credentials were revoked at the hub: ask its owner."
    )


def _elsewhere() -> Refused:
    # Protocol v1 has no reason for "bound to another record"; "unknown" says "not for you".
    return _bad_code(
        "unknown",
        "This kiosk is enrolled at the hub as another device: ask for a code of that device "
        "(hub device code).",
    )
