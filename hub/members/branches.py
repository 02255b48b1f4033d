"""Which members use which branch: the share of the feed each branch's devices are sent.

A member becomes a member of a branch when a device of the branch pushes their record or
an entry of theirs, or looks them up; nothing removes it (a member who once shopped here
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

from hub.formats import is_text
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
    if _has_merged_into():
        cursor.execute(
            f"SELECT member_id, merged_into FROM {_MEMBERS} WHERE member_id = ANY(%s)", [wanted]
        )
        found = {str(id_) for row in cursor.fetchall() for id_ in row if id_ is not None}
    else:
        cursor.execute(f"SELECT member_id FROM {_MEMBERS} WHERE member_id = ANY(%s)", [wanted])
        found = {str(row[0]) for row in cursor.fetchall()}
    return sorted(found)


def _has_merged_into() -> bool:
    # The seam to part C of issue 15 (merges): `hub_member.merged_into` names the survivor
    # of a merged id. Until that column is there, no member is merged.
    return any(f.name == "merged_into" for f in Member._meta.get_fields())


def record_pushed(branch_id: int, records: list[dict[str, Any]], entries: list[Any]) -> None:
    """After a push: the members whose records or entries it carried use the branch."""
    named = [r["member_id"] for r in records] + [
        e["member_id"] for e in entries if isinstance(e, dict) and is_text(e.get("member_id"))
    ]
    record(branch_id, [str(member_id) for member_id in named])
