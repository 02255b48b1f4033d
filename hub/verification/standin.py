"""A stand-in for `hub.messaging.outbox.enqueue` (the same signature) until it is committed."""

from __future__ import annotations

from datetime import datetime

from hub.verification.models import Outgoing


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
) -> Outgoing:
    """Keep the message, once per `key`, in the caller's transaction."""
    message, _ = Outgoing.objects.get_or_create(
        key=key, defaults={"phone": phone, "body": body, "kind": kind, "language": language}
    )
    return message
