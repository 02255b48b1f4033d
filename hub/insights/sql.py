"""The SQL that every figure shares: what an entry counts as, and whose it is.

Raw SQL (through Django's connection) rather than the ORM's aggregates: the figures are
FILTERed sums over one scan of the entries, AT TIME ZONE days and grouping sets, which
the ORM would only spell with several `RawSQL`s. The branch filter takes NULL for every
branch; parameters are bound on the client (Django's psycopg default), so PostgreSQL
plans each query with the literal scope and drops the filter it does not need.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction

# The device of an entry, if a device made it: the hub's own entries (an owner's adjustment
# made in the panel) have none, and so no branch: they count for the whole chain only.
JOIN_DEVICE = "LEFT JOIN hub_device d ON d.id = e.device_id"
# A stored entry of a device of the scope's branches (aliases: e `hub_entry`, d `hub_device`).
ENTRY_SCOPE = (
    "e.status = 'stored' AND (%(branches)s::bigint[] IS NULL OR d.branch_id = ANY(%(branches)s))"
)
# The member an entry counts for: the survivor of a merged id (alias a: merged ids only).
SURVIVOR = "COALESCE(a.merged_into, e.member_id)"
JOIN_ALIAS = "LEFT JOIN hub_member a ON a.member_id = e.member_id AND a.merged_into IS NOT NULL"
LOCAL_DAY = "(e.created_at AT TIME ZONE %(tz)s)::date"

PURCHASES = (
    "count(*) FILTER (WHERE e.kind = 'earn')"
    " - count(*) FILTER (WHERE e.kind = 'reversal' AND e.amount IS NOT NULL)"
)
PURCHASE_TOTAL = (
    "COALESCE(sum(e.amount) FILTER (WHERE e.kind = 'earn'), 0)"
    " - COALESCE(sum(e.amount) FILTER (WHERE e.kind = 'reversal'), 0)"
)
# A reversal of an earn takes points back (negative), of a redeem gives them back.
POINTS_ISSUED = (
    "COALESCE(sum(e.points) FILTER (WHERE e.kind IN ('earn', 'bonus', 'adjust')"
    " OR (e.kind = 'reversal' AND e.points < 0)), 0)"
)
POINTS_REDEEMED = (
    "-COALESCE(sum(e.points) FILTER (WHERE e.kind = 'redeem'"
    " OR (e.kind = 'reversal' AND e.points > 0)), 0)"
)
# Whether a member's entries of one day at one branch make a visit: summed as a count over
# rows grouped by (branch, member, day). Two levels of grouping, not a count(DISTINCT
# (member, day)): that sorts every entry by a row value, ten times slower on a month.
IS_VISIT = "bool_or(e.kind IN ('earn', 'redeem'))"


def member_in_scope(column: str) -> str:
    """Whether the member whose id is `column` uses one of the scope's branches (any member
    for no scope)."""
    return (
        "(%(branches)s::bigint[] IS NULL OR EXISTS (SELECT 1 FROM hub_branch_member bm"
        f" WHERE bm.member_id = {column} AND bm.branch_id = ANY(%(branches)s)))"
    )


# A member of the scope, `m` being hub_member.
MEMBER_IN_SCOPE = member_in_scope("m.member_id")


# The memory a report's query may sort and hash in before it spills to disk. PostgreSQL's
# default (4 MB) is sized for many small queries at once; a report groups a year of
# entries by member (hundreds of thousands of groups), and the panel runs few at a time.
REPORT_WORK_MEM = "64MB"


def rows(
    sql: str, params: dict[str, Any] | Sequence[Any], *, large: bool = False
) -> list[tuple[Any, ...]]:
    """Every row of one query; `large`: with REPORT_WORK_MEM, for this query alone."""
    with transaction.atomic(), connection.cursor() as cursor:
        if large:
            cursor.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def whole(value: object) -> int:
    """A sum or count from PostgreSQL (int, Decimal or NULL) as an int."""
    return int(value) if value is not None else 0  # type: ignore[call-overload]
