"""The phone page's sign-in: a code by SMS to the number typed, then a session.

The numbers are verification's (hub/verification/codes.py): 5 digits, alive 5 minutes,
5 tries; a new code to a number waits RESEND_SECONDS after the last, a number gets at
most PHONE_PER_HOUR codes an hour and an address asks for at most ADDRESS_PER_HOUR.
A number that is no member (or an erased one) goes through exactly the same steps, its
row kept and its limits counted, only no SMS leaves: the page answers the same words for
every number, so it cannot be used to learn who is a member.

The code's SMS goes through the hub's outbox (hub/messaging/outbox.py) in the same
transaction, expiring with the code, as verification's do.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from hub.club.models import ClubCode, ClubSession
from hub.members.models import Member
from hub.messaging.outbox import enqueue
from hub.verification import secrets as code_secrets
from hub.verification.messages import code_text

VALID = timedelta(minutes=5)
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
PHONE_PER_HOUR = 5
ADDRESS_PER_HOUR = 20
IDLE = timedelta(minutes=15)  # a session unused this long is over
MOST = timedelta(hours=2)  # and any session this old, however used
FRESH = timedelta(minutes=10)  # an erasure needs a code typed this recently
KIND = "verification"  # a code, as a kiosk's are (the panel's message log names it so)
_LOCK = 0x436C7562  # "Club": the first key of the advisory locks


@dataclass(frozen=True)
class Sent:
    """A code made (and sent, if the number is a member's)."""

    code_id: int


@dataclass(frozen=True)
class Limited:
    """No code now: wait `retry_after` seconds."""

    retry_after: int
    reason: str  # resend_delay, phone_hourly, address_hourly


@dataclass(frozen=True)
class Wrong:
    """Not the code; so many tries left (0: the code is dead)."""

    attempts_left: int


@dataclass(frozen=True)
class Dead:
    """The code is over: expired, exhausted, replaced, used, or not this browser's."""

    reason: str


@dataclass(frozen=True)
class SignedIn:
    """The code was right: the member's new session (its token goes in the cookie)."""

    member_id: str
    token: str


def _mac(purpose: str, text: str) -> str:
    key = hashlib.sha256(f"loyalty-hub:club-{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def member_of_phone(phone: str) -> Member | None:
    """The active member with this number (a merged alias's survivor holds it)."""
    return (
        Member.objects.filter(phone=phone, status="active", merged_into__isnull=True)
        .order_by("created_at", "member_id")
        .first()
    )


def send(phone: str, address: str, language: str, now: datetime) -> Sent | Limited:
    """A new code for `phone` (E.164), asked from `address`; or how long to wait."""
    phone_digest, address_digest = _mac("phone", phone), _mac("address", address)
    with transaction.atomic(), connection.cursor() as cursor:
        # The address's lock, then the phone's: always in this order.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s), pg_advisory_xact_lock(%s, %s)",
            [_LOCK, _bucket(address_digest), _LOCK + 1, _bucket(phone_digest)],
        )
        limited = _limited(phone_digest, address_digest, now)
        if limited is not None:
            return limited
        ClubCode.objects.filter(phone_digest=phone_digest, state="pending").update(state="replaced")
        member = member_of_phone(phone)
        code = code_secrets.new_code()
        made = ClubCode.objects.create(
            phone_digest=phone_digest,
            address_digest=address_digest,
            member_id=member.member_id if member is not None else None,
            code_hash=code_secrets.code_hash(code),
            created_at=now,
            expires_at=now + VALID,
        )
        if member is not None:
            enqueue(
                phone=phone,
                body=code_text(code, language),
                kind=KIND,
                key=f"club:{made.pk}",
                member_id=member.member_id,
                language=language,
                expires_at=made.expires_at,
                now=now,
            )
    return Sent(made.pk)


def _bucket(digest: str) -> int:
    return int(digest[:8], 16) >> 1


def _limited(phone_digest: str, address_digest: str, now: datetime) -> Limited | None:
    hour = now - timedelta(hours=1)
    mine = ClubCode.objects.filter(phone_digest=phone_digest, created_at__gt=hour)
    times = sorted(mine.values_list("created_at", flat=True))
    if times and now - times[-1] < timedelta(seconds=RESEND_SECONDS):
        return Limited(
            _seconds(times[-1] + timedelta(seconds=RESEND_SECONDS) - now), "resend_delay"
        )
    if len(times) >= PHONE_PER_HOUR:
        return Limited(_seconds(times[0] + timedelta(hours=1) - now), "phone_hourly")
    theirs = ClubCode.objects.filter(address_digest=address_digest, created_at__gt=hour)
    asked = sorted(theirs.values_list("created_at", flat=True))
    if len(asked) >= ADDRESS_PER_HOUR:
        return Limited(_seconds(asked[0] + timedelta(hours=1) - now), "address_hourly")
    return None


def _seconds(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))


def check(code_id: int, typed: str, now: datetime) -> SignedIn | Wrong | Dead:
    """Whether `typed` is the code `code_id`; a wrong one costs a try. A right code of a
    number that is no member is answered as a wrong one (it was never sent anyway)."""
    with transaction.atomic():
        row = ClubCode.objects.select_for_update().filter(pk=code_id).first()
        if row is None:
            return Dead("unknown")
        if row.state != "pending":
            return Dead(row.state)
        if now >= row.expires_at:
            row.state = "expired"
            row.save(update_fields=["state"])
            return Dead("expired")
        if row.member_id is not None and code_secrets.code_matches(row.code_hash, typed):
            row.state = "used"
            row.save(update_fields=["state"])
            return SignedIn(row.member_id, open_session(row.member_id, now))
        row.attempts += 1
        if row.attempts >= MAX_ATTEMPTS:
            row.state = "exhausted"
        row.save(update_fields=["attempts", "state"])
        return Wrong(MAX_ATTEMPTS - row.attempts)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(member_id: str, now: datetime) -> str:
    """A new session for the member; its token (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    # Sessions past their limits are gone with the next sign-in, used or not.
    ClubSession.objects.filter(last_seen__lt=now - IDLE).delete()
    ClubSession.objects.filter(created_at__lt=now - MOST).delete()
    ClubSession.objects.create(
        token_hash=token_hash(token), member_id=member_id, created_at=now, last_seen=now
    )
    return token


def session_of(token: str, now: datetime) -> ClubSession | None:
    """The live session of this token, its use recorded; None (and it is ended) if over."""
    if not token:
        return None
    found = ClubSession.objects.filter(token_hash=token_hash(token)).first()
    if found is None:
        return None
    if now - found.last_seen > IDLE or now - found.created_at > MOST:
        found.delete()
        return None
    found.last_seen = now
    found.save(update_fields=["last_seen"])
    return found


def end_session(token: str) -> None:
    ClubSession.objects.filter(token_hash=token_hash(token)).delete()


def end_sessions_of(member_ids: list[str]) -> None:
    ClubSession.objects.filter(member_id__in=member_ids).delete()
