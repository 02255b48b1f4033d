"""Which members use which branch: the share of the feed each branch's devices are sent.

A member becomes a member of a branch when the hub takes their record or an entry of
theirs from a device of the branch (a refused one does not count), or the device looks
them up; nothing removes it (a member who once shopped here
may come again, and their kiosk keeps them). A merged member's branches are their
survivor's too: the kiosks that knew the merged id must hear of the one it became.

Rows are inserted in member-id order (ON CONFLICT DO NOTHING waits for a concurrent insert
of the same row), after the balances a push locks and before the feed's lock: the lock
order of hub/ledger/push.py, extended.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper

from hub.members.models import BranchMember, Member

_BRANCH_MEMBERS = BranchMember._meta.db_table
_MEMBERS = Member._meta.db_table


def record(branch_id: int, member_ids: Iterable[str]) -> None:
    """Make these members (those the hub holds) members of the branch, and their survivors."""
    wanted = sorted(set(member_ids))
    if not wanted:
        return
    with connection.cursor() as cursor:
        known = _known(cursor, wanted)
        cursor.executemany(
            f"INSERT INTO {_BRANCH_MEMBERS} (branch_id, member_id, since) "
            "VALUES (%s, %s, now()) ON CONFLICT (branch_id, member_id) DO NOTHING",
            [(branch_id, member_id) for member_id in known],
        )


def share_with_survivor(merged: str, into: str) -> None:
    """Every branch of the merged id becomes a branch of its survivor (and the reverse).

    Called with the `merge` change, in its transaction, before the feed's lock: the merge
    change, filed under one of the two ids, then reaches the branches of both.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_BRANCH_MEMBERS} (branch_id, member_id, since)
            SELECT DISTINCT b.branch_id, pair.to_id, now()
            FROM {_BRANCH_MEMBERS} b
            JOIN (VALUES (%s, %s), (%s, %s)) AS pair(from_id, to_id) ON pair.from_id = b.member_id
            ORDER BY 2, 1
            ON CONFLICT (branch_id, member_id) DO NOTHING
            """,
            [merged, into, into, merged],
        )


def _known(cursor: CursorWrapper, wanted: list[str]) -> list[str]:
    """The ids the hub holds, with the survivor of each merged one, in id order."""
    cursor.execute(
        f"SELECT member_id, merged_into FROM {_MEMBERS} WHERE member_id = ANY(%s)", [wanted]
    )
    return sorted({str(id_) for row in cursor.fetchall() for id_ in row if id_ is not None})


def record_taken(branch_id: int, changes: list[tuple[str, dict[str, Any]]]) -> None:
    """After a push: the members the hub took something of (a record, an entry, a merge)
    use the branch.

    Read from the push's feed changes, not from what it carried: a record or an entry the
    hub refused (a thief naming a member id it learnt) makes no one a member of the branch.
    """
    named = [str(data["member_id"]) for kind, data in changes if "member_id" in data]
    named += [str(data["into"]) for kind, data in changes if kind == "merge"]
    record(branch_id, named)
