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

Positions come from a sequence, and a database restored from a dump (or to a point in
time) sets it back: the positions after the restored head are handed out again, to other
events, and a reader whose cursor is past that head would skip them without a sign. So a
cursor names the epoch it was given in, `<epoch>.<position>`: the epoch of the kiosks'
feed (hub/feed/epoch.py), with this table's OID. A cursor of another epoch is refused
(`CursorExpired`, answered 410 `cursor_expired`): the reader reads again from the start and
drops by id what it holds. A plain number from before cursors named an epoch (other than
`0`, the start) is refused the same way: nothing tells which database it was given by.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connection

from hub.feed import epoch as feed_epoch
from hub.integration.models import Event

_EVENTS = Event._meta.db_table
START = "0"
_HEX = frozenset("0123456789abcdef")


class CursorExpired(Exception):
    """A cursor given in another epoch: the hub was restored (or its epoch reset) since."""


@dataclass(frozen=True)
class Page:
    """Events after a cursor, the cursor to ask with next, and whether more are there."""

    events: list[dict[str, Any]]
    next_cursor: str
    more: bool


def epoch() -> str:
    """The epoch the events' positions are numbered in now."""
    return feed_epoch.current(_EVENTS)


def _position(text: str) -> int | None:
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def parse_cursor(text: str, now: str) -> int:
    """A cursor this API gave in epoch `now` -> its position (`0`: the start).

    ValueError if it is no cursor of this API; CursorExpired if it was given in another
    epoch, or is a plain position from before cursors named their epoch.
    """
    if text == START:
        return 0
    named, dot, position = text.partition(".")
    if not dot:
        if _position(text) is None:
            raise ValueError("not a cursor")
        raise CursorExpired(text)
    after = _position(position)
    if after is None or len(named) != len(now) or not _HEX.issuperset(named):
        raise ValueError("not a cursor")
    if named != now:
        raise CursorExpired(text)
    return after


def page(after: int, limit: int, now: str) -> Page:
    """The events after position `after`, at most `limit`; cursors of epoch `now`."""
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
    return Page(events=events, next_cursor=f"{now}.{last}", more=len(rows) > limit)
