"""Events since a cursor, for the read API: complete and in a stable order.

Ids are handed out when rows are inserted, but transactions commit in their own order: a
reader ordering by id could pass id 12, committed, while 11 is still to commit, and never
see 11. So events are read by `position`, a number given at the commit of the
transaction that wrote them, one transaction after another under a lock held until its
commit ends (migration 0002): a position a reader sees has every lower position committed
and visible before it. The cursor is the last position read.

The guarantee (docs/integration.md): every committed event appears once, in commit order,
after the events of the cursors before it; none is skipped however writers interleave.
Positions may jump (a rolled-back transaction's numbers are not reused): a gap in the
numbers is never a missing event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connection

from hub.integration.models import Event

_EVENTS = Event._meta.db_table
START = "0"


@dataclass(frozen=True)
class Page:
    """Events after a cursor, the cursor to ask with next, and whether more are there."""

    events: list[dict[str, Any]]
    next_cursor: str
    more: bool


def parse_cursor(text: str) -> int | None:
    """A cursor this API gave (a position) -> the number; None if it is not one."""
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def page(after: int, limit: int) -> Page:
    """The events after position `after`, at most `limit`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT position, event_id, type, created_at, payload::text FROM {_EVENTS}
            WHERE position > %s ORDER BY position LIMIT %s
            """,
            [after, limit + 1],
        )
        rows = cursor.fetchall()
    events = [
        {
            "id": str(row[1]),
            "type": str(row[2]),
            "created_at": row[3].isoformat().replace("+00:00", "Z"),
            "data": json.loads(row[4]),
        }
        for row in rows[:limit]
    ]
    last = int(rows[:limit][-1][0]) if rows else after
    return Page(events=events, next_cursor=str(last), more=len(rows) > limit)
