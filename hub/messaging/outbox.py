"""The outbox: `enqueue()` puts a message in it, idempotent by the caller's key.

The row is written in the caller's transaction: a receipt queued with the purchase that
earned it commits or rolls back with it, and a worker sends it only once it is committed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from hub.errors import HubError
from hub.messaging import limits, parts
from hub.messaging.models import Message

DEFAULT_LIFETIME = timedelta(days=1)  # a message not sent a day after its time is stale
LANGUAGES = ("fa", "en")


def enqueue(
    *,
    phone: str,
    body: str,
    kind: str,
    key: str,
    member_id: str | None = None,
    marketing: bool = False,
    language: str = "fa",
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Message:
    """Queue one SMS; the same `key` again returns the first message, unchanged.

    Marketing is checked at once (consent, opt-out, the frequency cap): a refused one is
    kept `cancelled` with the reason, so that the key stays spent. Quiet hours move its
    `not_before` to their end. `expires_at` defaults to a day after it is due.
    """
    return put(
        phone=phone,
        body=body,
        kind=kind,
        key=key,
        member_id=member_id,
        marketing=marketing,
        language=language,
        not_before=not_before,
        expires_at=expires_at,
        now=now,
    )[0]


def put(
    *,
    phone: str,
    body: str,
    kind: str,
    key: str,
    member_id: str | None,
    marketing: bool,
    language: str,
    not_before: datetime | None,
    expires_at: datetime | None,
    now: datetime | None,
) -> tuple[Message, bool]:
    """enqueue(), and whether this call added the message (False: the key was known)."""
    existing = Message.objects.filter(key=key).first()
    if existing is not None:
        return existing, False
    if not (phone.startswith("+") and phone[1:].isascii() and phone[1:].isdigit()):
        raise HubError("a message needs a phone number in E.164 form (+98...)")
    if language not in LANGUAGES:
        raise HubError(f"a message's language is fa or en, not {language!r}")
    if not body.strip():
        raise HubError("a message needs a text")
    moment = now or timezone.now()
    with transaction.atomic():
        rules = limits.policy()
        size = parts.measure(body)
        due = not_before or moment
        state, error, consent_version = "queued", "", None
        if marketing:
            error, consent_version = limits.marketing_refusal(phone, member_id, moment, rules)
            if error:
                state = "cancelled"
            else:
                due = limits.after_quiet_hours(due, rules)
        Message.objects.bulk_create(
            [
                Message(
                    key=key,
                    kind=kind,
                    phone=phone,
                    member_id=member_id,
                    language=language,
                    body=body,
                    marketing=marketing,
                    consent_version=consent_version,
                    state=state,
                    error=error,
                    not_before=due,
                    expires_at=expires_at or due + DEFAULT_LIFETIME,
                    parts=size.parts,
                    cost=parts.cost(size, price_ucs2=rules.price_ucs2, price_gsm=rules.price_gsm),
                    created_at=moment,
                    finished_at=moment if state == "cancelled" else None,
                )
            ],
            # Two callers with one key at once: the second waits for the first's commit
            # and inserts nothing (ON CONFLICT DO NOTHING); both read the one row below.
            ignore_conflicts=True,
        )
        found = Message.objects.get(key=key)
        # Ours if it carries this call's moment and text (ON CONFLICT DO NOTHING says no more).
        return found, found.created_at == moment and found.body == body
