"""Appending to the change feed and reading it by cursor, safely from many hub processes.

A cursor is a bigserial: values are handed out when rows are inserted, but transactions
commit in their own order. Were two pushes to insert at once, the one with cursor 12 could
commit before the one with 11, and a kiosk reading in between would move past 11 for ever.
So appending takes a transaction-scoped advisory lock, held until commit: changes are
appended, and become visible, one transaction after another, in cursor order. Callers
append last in their transaction, so the lock is held only for the end of it.

A device is sent its branch's share of the feed (issue 15, data minimisation): each row
names the member it is about (`member_id`, from its data: `member`, `balance`, `erasure`
and `merge` changes), or none (`program`, `staff`: every device), and `page` passes over
the rows of members the branch does not have (hub/members/branches.py). Whether a row is
the branch's is decided when it is read, by the branch's members then: a member looked up
at a branch brings the branch their later changes. The cursor stays the feed's own, so a
page's `next_cursor` may move past rows the device was not sent, and a page may hold fewer
changes than asked for (even none) with `more` true.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from hub.feed.models import Change
from hub.members import branches
from hub.members.models import BranchMember

# An arbitrary number naming the feed's lock among PostgreSQL's advisory locks.
_FEED_LOCK = 0x4B696F736B  # "Kiosk"
_TABLE = Change._meta.db_table
_BRANCH_MEMBERS = BranchMember._meta.db_table
_FOR_EVERY_DEVICE = frozenset({"program", "staff"})
# At most this many rows are read for one page, however few of them are the branch's: a
# kiosk of a quiet branch far behind moves on by pages rather than reading the whole feed
# in one request.
SCAN_PER_PAGE = 10


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
    for kind, data in changes:
        if kind == "merge":  # before the feed's lock: the lock order of branches.py
            branches.share_with_survivor(str(data["member_id"]), str(data["into"]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FEED_LOCK])
        cursor.executemany(
            f"INSERT INTO {_TABLE} (type, data, member_id, created_at) "
            "VALUES (%s, %s::jsonb, %s, now())",
            [
                (kind, json.dumps(data, sort_keys=True), _member_of(kind, data))
                for kind, data in changes
            ],
        )
        for kind, data in changes:  # after: a record of this very push is taken out too
            if kind == "erasure":
                _forget(cursor, str(data["member_id"]))


def _forget(cursor: Any, member_id: str) -> None:
    """Take the person out of the member's earlier `member` changes (issue 16, erasure).

    A kiosk reading the feed from the start (a new one, or one reset) would otherwise still
    be sent the phone, name, birthday and cards of someone erased. What is left says the
    member is erased, which a kiosk applies as an erasure; the ids and times stay.
    PostgreSQL keeps the old row versions until it vacuums the table (docs/security.md).
    """
    cursor.execute(
        f"UPDATE {_TABLE} SET data = jsonb_build_object('member_id', data->'member_id', "
        "'status', 'erased', 'created_at', data->'created_at', "
        "'updated_at', data->'updated_at') "
        "WHERE member_id = %s AND type = 'member' AND data->>'status' IS DISTINCT FROM 'erased'",
        [member_id],
    )


def _member_of(kind: str, data: dict[str, Any]) -> str | None:
    """Whose change this is: the branches of that member get it; None: every device.

    A `merge` is filed under the merged id; `append` has made the branches of either id
    branches of both, so it reaches them all.
    """
    if kind in _FOR_EVERY_DEVICE:
        return None
    return str(data["member_id"])


def append_signed(kind: str, data: dict[str, Any], signature: str) -> None:
    """Append one change signed by the owner (`staff`, `program`), in the caller's transaction."""
    assert connection.in_atomic_block, "append in the transaction that made the change"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FEED_LOCK])
        cursor.execute(
            f"INSERT INTO {_TABLE} (type, data, signature, created_at) "
            "VALUES (%s, %s::jsonb, %s, now())",
            [kind, json.dumps(data, sort_keys=True), signature],
        )


def page(after: int, limit: int, branch_id: int | None = None) -> Page:
    """The changes after cursor `after`, at most `limit` of them: the branch's only, if given.

    Two reads, in this order: the end of the window this page may cover (at most
    SCAN_PER_PAGE x limit rows on), then the branch's changes up to that end. A row below
    a visible cursor has committed (the feed's lock), so nothing the second read could
    miss lies below the end, and `next_cursor` never passes an unsent change of the branch.
    """
    scan = limit * SCAN_PER_PAGE if branch_id is not None else limit + 1
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT max(cursor), count(*) FROM (SELECT cursor FROM {_TABLE} "
            "WHERE cursor > %s ORDER BY cursor LIMIT %s) AS w",
            [after, scan],
        )
        end, scanned = cursor.fetchone()
        if not scanned:
            return Page(changes=[], next_cursor=after, more=False)
        # The branch's: a change for every device, or one of a member of the branch (a
        # probe of hub_branch_member's (branch, member) index for each row of the window,
        # read along the primary key's index).
        mine = (
            ""
            if branch_id is None
            else f"AND (c.member_id IS NULL OR EXISTS (SELECT 1 FROM {_BRANCH_MEMBERS} b "
            "WHERE b.branch_id = %s AND b.member_id = c.member_id))"
        )
        cursor.execute(
            f"SELECT c.cursor, c.type, c.data::text, c.signature FROM {_TABLE} c "
            f"WHERE c.cursor > %s AND c.cursor <= %s {mine} ORDER BY c.cursor LIMIT %s",
            [after, end, *([] if branch_id is None else [branch_id]), limit + 1],
        )
        rows = cursor.fetchall()
    changes = [
        {"cursor": int(row[0]), "type": str(row[1]), "data": json.loads(row[2])}
        | ({"signature": str(row[3])} if row[3] is not None else {})
        for row in rows[:limit]
    ]
    if len(rows) > limit:
        return Page(changes=changes, next_cursor=int(changes[-1]["cursor"]), more=True)
    # Every change of the branch up to the window's end was read: the device moves past
    # the window, the rows of other branches included.
    return Page(changes=changes, next_cursor=int(end), more=scanned == scan)
