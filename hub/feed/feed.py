"""Appending to the change feed and reading it by cursor, safely from many hub processes.

A cursor is a bigserial: values are handed out when rows are inserted, but transactions
commit in their own order. Were two pushes to insert at once, the one with cursor 12 could
commit before the one with 11, and a kiosk reading in between would move past 11 for ever.
So appending takes a transaction-scoped advisory lock, held until commit: changes are
appended, and become visible, one transaction after another, in cursor order. Callers
append last in their transaction, so the lock is held only for the end of it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from hub.feed.models import Change

# An arbitrary number naming the feed's lock among PostgreSQL's advisory locks.
_FEED_LOCK = 0x4B696F736B  # "Kiosk"
_TABLE = Change._meta.db_table


@dataclass(frozen=True)
class Page:
    """One page of the feed: changes after a cursor, the next cursor, and whether more follow."""

    changes: list[dict[str, Any]]
    next_cursor: int
    more: bool


def append(changes: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Append (type, data) changes in order; call it inside the transaction that made them."""
    if not changes:
        return
    assert connection.in_atomic_block, "append in the transaction that made the changes"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FEED_LOCK])
        cursor.executemany(
            f"INSERT INTO {_TABLE} (type, data, created_at) VALUES (%s, %s::jsonb, now())",
            [(kind, json.dumps(data, sort_keys=True)) for kind, data in changes],
        )


def page(after: int, limit: int) -> Page:
    """The changes after cursor `after`, at most `limit` of them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT cursor, type, data::text FROM {_TABLE} WHERE cursor > %s "
            "ORDER BY cursor LIMIT %s",
            [after, limit + 1],
        )
        rows = cursor.fetchall()
    changes = [
        {"cursor": int(row[0]), "type": str(row[1]), "data": json.loads(row[2])}
        for row in rows[:limit]
    ]
    next_cursor = changes[-1]["cursor"] if changes else after
    return Page(changes=changes, next_cursor=int(next_cursor), more=len(rows) > limit)
