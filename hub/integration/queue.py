"""The deliveries' queue: a PostgreSQL table claimed with FOR UPDATE SKIP LOCKED and a lease.

Written here, small, rather than borrowed: the SMS outbox's claim (hub/messaging/queue.py,
the same pattern) is made for messages (marketing held back at the claim, a lapsed claim
asked of the gateway before anything is sent again), not for any table. A worker claims
due rows in a short transaction (rows another worker is claiming are skipped, not waited
for) and sets a lease on them; the HTTP request is made outside any transaction, and its
outcome written by id. A worker killed mid-batch leaves leases that run out: its rows are
claimed again then, and delivered again (at least once; the receiver drops a repeated
event id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction

from hub.integration.models import Delivery, Endpoint, Event

_DELIVERIES = Delivery._meta.db_table
_EVENTS = Event._meta.db_table
_ENDPOINTS = Endpoint._meta.db_table


@dataclass(frozen=True)
class Claimed:
    """A delivery claimed by this worker until `leased_until`, with what it sends."""

    id: int
    attempts: int
    created_at: datetime
    url: str
    sealed_secret: bytes
    sealed_previous: bytes | None
    previous_until: datetime | None
    event_id: str
    event_type: str
    event_created_at: datetime
    payload: dict[str, Any]


def claim(now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Claim up to `limit` due deliveries of active endpoints, oldest due first."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT d.id FROM {_DELIVERIES} d JOIN {_ENDPOINTS} p ON p.id = d.endpoint_id
            WHERE d.state = 'pending' AND p.active AND d.next_attempt_at <= %s
                AND (d.leased_until IS NULL OR d.leased_until <= %s)
            ORDER BY d.next_attempt_at, d.id
            LIMIT %s
            FOR UPDATE OF d SKIP LOCKED
            """,
            [now, now, limit],
        )
        ids = [int(row[0]) for row in cursor.fetchall()]
        if not ids:
            return []
        cursor.execute(
            f"""
            UPDATE {_DELIVERIES} d SET leased_until = %s WHERE d.id = ANY(%s)
            RETURNING d.id, d.attempts, d.created_at, d.endpoint_id, d.event_id
            """,
            [now + lease, ids],
        )
        leased = cursor.fetchall()
        cursor.execute(
            f"""
            SELECT d.id, p.url, p.sealed_secret, p.sealed_previous_secret, p.previous_until,
                e.event_id, e.type, e.created_at, e.payload::text
            FROM {_DELIVERIES} d JOIN {_ENDPOINTS} p ON p.id = d.endpoint_id
            JOIN {_EVENTS} e ON e.id = d.event_id WHERE d.id = ANY(%s)
            """,
            [ids],
        )
        details = {int(row[0]): row[1:] for row in cursor.fetchall()}
    claimed = []
    for row in sorted(leased, key=lambda r: ids.index(int(r[0]))):
        url, sealed, previous, until, event_id, event_type, created, payload = details[int(row[0])]
        claimed.append(
            Claimed(
                id=int(row[0]),
                attempts=int(row[1]),
                created_at=row[2],
                url=str(url),
                sealed_secret=bytes(sealed),
                sealed_previous=bytes(previous) if previous is not None else None,
                previous_until=until,
                event_id=str(event_id),
                event_type=str(event_type),
                event_created_at=created,
                payload=json.loads(payload),
            )
        )
    return claimed


def release(ids: list[int]) -> None:
    """Give claimed deliveries back at once (a worker stopping before it sent them)."""
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_DELIVERIES} SET leased_until = NULL "
                "WHERE id = ANY(%s) AND state = 'pending'",
                [ids],
            )


def delivered(delivery_id: int, now: datetime, status: int) -> None:
    """Mark a delivery done (unless the member's erasure cancelled it meanwhile)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_DELIVERIES} SET state = 'delivered', attempts = attempts + 1,
                last_status = %s, last_error = NULL, finished_at = %s, leased_until = NULL
            WHERE id = %s AND state = 'pending'
            """,
            [status, now, delivery_id],
        )


def retry_or_fail(
    delivery_id: int, status: int | None, error: str, next_at: datetime | None, now: datetime
) -> None:
    """Record a failed attempt: due again at `next_at`, or failed for good (None)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_DELIVERIES} SET attempts = attempts + 1, last_status = %s,
                last_error = %s, leased_until = NULL,
                state = CASE WHEN %s::timestamptz IS NULL THEN 'failed' ELSE state END,
                finished_at = CASE WHEN %s::timestamptz IS NULL THEN %s ELSE NULL END,
                next_attempt_at = COALESCE(%s::timestamptz, next_attempt_at)
            WHERE id = %s AND state = 'pending'
            """,
            [status, error[:500], next_at, next_at, now, next_at, delivery_id],
        )
