"""Webhook endpoints: added with a secret shown once, listed with their failures, rotated."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Q

from hub.errors import HubError
from hub.integration import sealing, targets
from hub.integration.events import TYPES
from hub.integration.models import Delivery, Endpoint

# How long the old secret still signs after a rotation (a second v1 in the header).
ROTATION_OVERLAP = timedelta(hours=24)
MOST_URL = 2000


@dataclass(frozen=True)
class Made:
    """An endpoint added or its secret rotated: the secret, shown this once."""

    id: int
    url: str
    secret: str


def new_secret() -> str:
    """A signing secret: 32 random bytes, URL-safe, with Stripe's recognisable prefix."""
    return "whsec_" + secrets.token_urlsafe(32)


def parse_events(text: str) -> list[str]:
    """`member.enrolled,points.earned` (or `all`) -> the types; an unknown one is refused."""
    wanted = [t.strip() for t in text.split(",") if t.strip()]
    if wanted == ["all"]:
        return list(TYPES)
    unknown = [t for t in wanted if t not in TYPES]
    if unknown or not wanted:
        raise HubError(
            f"unknown event type {', '.join(unknown) or '(none)'}; the types: {', '.join(TYPES)}"
        )
    return sorted(set(wanted), key=TYPES.index)


def add(url: str, events: list[str]) -> Made:
    """Add an endpoint (its URL checked as every delivery checks it)."""
    if len(url) > MOST_URL:
        raise HubError(f"the URL is longer than {MOST_URL} characters")
    targets.check(url)
    secret = new_secret()
    endpoint = Endpoint.objects.create(url=url, sealed_secret=sealing.seal(secret), events=events)
    return Made(endpoint.pk, url, secret)


def rotate(endpoint_id: int, now: datetime) -> Made:
    """A new secret; the old one signs too for ROTATION_OVERLAP (the receiver switches)."""
    with transaction.atomic():
        endpoint = _get(endpoint_id, lock=True)
        secret = new_secret()
        endpoint.sealed_previous_secret = bytes(endpoint.sealed_secret)
        endpoint.previous_until = now + ROTATION_OVERLAP
        endpoint.sealed_secret = sealing.seal(secret)
        endpoint.save()
    return Made(endpoint.pk, endpoint.url, secret)


def set_active(endpoint_id: int, active: bool) -> None:
    """Pause or resume an endpoint (its pending deliveries wait meanwhile)."""
    endpoint = _get(endpoint_id)
    endpoint.active = active
    endpoint.save(update_fields=["active"])


def retry_failed(endpoint_id: int, now: datetime) -> int:
    """Give an endpoint's failed deliveries another three days; how many."""
    _get(endpoint_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Delivery._meta.db_table} SET state = 'pending', next_attempt_at = %s, "
            "created_at = %s, finished_at = NULL WHERE endpoint_id = %s AND state = 'failed'",
            [now, now, endpoint_id],
        )
        return int(cursor.rowcount)


def _get(endpoint_id: int, *, lock: bool = False) -> Endpoint:
    found = Endpoint.objects.select_for_update() if lock else Endpoint.objects
    try:
        return found.get(pk=endpoint_id)
    except Endpoint.DoesNotExist:
        raise HubError(f"no webhook endpoint {endpoint_id} (see hub webhook list)") from None


def listing() -> list[dict[str, Any]]:
    """Every endpoint with its deliveries by state and its latest failure (no secret)."""
    counts = {
        row["endpoint_id"]: row
        for row in Delivery.objects.values("endpoint_id").annotate(
            pending=Count("id", filter=Q(state="pending")),
            delivered=Count("id", filter=Q(state="delivered")),
            failed=Count("id", filter=Q(state="failed")),
            retrying=Count("id", filter=Q(state="pending", attempts__gt=0)),
            last_delivered=Max("finished_at", filter=Q(state="delivered")),
        )
    }
    shown = []
    for endpoint in Endpoint.objects.order_by("id"):
        count = counts.get(endpoint.pk, {})
        failure = (
            Delivery.objects.filter(endpoint=endpoint, last_error__isnull=False)
            .exclude(state__in=("delivered", "cancelled"))
            .order_by("-id")
            .values("last_error", "last_status", "state", "attempts")
            .first()
        )
        shown.append(
            {
                "id": endpoint.pk,
                "url": endpoint.url,
                "events": endpoint.events,
                "active": endpoint.active,
                "pending": count.get("pending", 0),
                "retrying": count.get("retrying", 0),
                "delivered": count.get("delivered", 0),
                "failed": count.get("failed", 0),
                "last_delivered": count.get("last_delivered"),
                "last_failure": failure,
            }
        )
    return shown
