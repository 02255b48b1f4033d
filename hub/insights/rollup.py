"""Working out the rollups (hub/insights/models.py) and reading them for a scope.

- `refresh_days`: the chain's days that something was written to since (the notes the
  triggers leave), worked out again from the entries and members; `ensure_days` does it
  for the days a page is about to read, so a page never shows a day older than its data.
- `refresh_liability`: folds the changes to the points held into a new snapshot.
- `refresh_snapshots`: the reports over every member (tiers, RFM) for the chain and each
  branch; nightly, by the worker (`hub insights work`).
- `rebuild`: everything from scratch (`hub insights refresh --all`): after a bulk load
  that bypassed the triggers, or a change of the chain's time zone.

Each refresh reads its notes and the tables in one REPEATABLE READ snapshot and deletes
only the notes it read: a writer that commits meanwhile leaves its note for the next run,
whatever order the transactions commit in. One refresh at a time (a session advisory
lock, taken before the snapshot, so a refresh never works on notes another one deleted).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from hub.insights import sql
from hub.insights.scope import CHAIN_TIME_ZONE, Scope

# The rollups' days are the chain's (HUB_TIME_ZONE, as the panel's; a change of it needs
# `hub insights refresh --all`); a scope of another zone is worked out live (the
# functions keep their live queries for it).
ROLLUP_TIME_ZONE = ZoneInfo(getattr(settings, "PANEL_TIME_ZONE", CHAIN_TIME_ZONE.key))
CHAIN = -1  # the branch_key of the chain as a whole
HUB_OWN = 0  # the branch_key of the hub's own entries (no device, no branch)
_LOCK = "hub_insight_refresh"
_CHUNK_DAYS = 31
_HOUR_END = timedelta(minutes=59, seconds=59, microseconds=999999)


def uses_rollup(scope: Scope) -> bool:
    """Whether the scope's figures can be read off the rollups: the chain's time zone, and
    the whole chain or one branch (several branches would count a member twice)."""
    return scope.tz.key == ROLLUP_TIME_ZONE.key and (
        scope.branch_ids is None or len(scope.branch_ids) == 1
    )


def _keys(scope: Scope) -> list[int] | None:
    return scope.branch_list()


@contextmanager
def _snapshot() -> Iterator[Any]:
    """A cursor in a REPEATABLE READ transaction, one refresh at a time."""
    if connection.in_atomic_block:
        raise RuntimeError("a rollup refresh needs a transaction of its own")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [_LOCK])
        try:
            with transaction.atomic():
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute(f"SET LOCAL work_mem = '{sql.REPORT_WORK_MEM}'")
                yield cursor
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [_LOCK])


def _days_of(hour: datetime, tz: ZoneInfo) -> set[date]:
    return {hour.astimezone(tz).date(), (hour + _HOUR_END).astimezone(tz).date()}


def pending_days(tz: ZoneInfo = ROLLUP_TIME_ZONE) -> set[date]:
    """The chain's days with something written since they were worked out."""
    found: set[date] = set()
    for (hour,) in sql.rows("SELECT DISTINCT hour FROM hub_insight_dirty", {}):
        found |= _days_of(hour, tz)
    return found


def refresh_days(
    only: Collection[date] | None = None, *, read: Callable[[], object] | None = None
) -> int:
    """Work out again the noted days (those of `only`, if given); how many were. `read` is
    called once the notes are read (a test commits a writer's transaction there)."""
    tz = ROLLUP_TIME_ZONE
    with _snapshot() as cursor:
        cursor.execute("SELECT DISTINCT hour FROM hub_insight_dirty")
        hours = [row[0] for row in cursor.fetchall()]
        if read is not None:
            read()
        wanted = set(only) if only is not None else None
        chosen = [h for h in hours if wanted is None or _days_of(h, tz) & wanted]
        days: set[date] = set()
        for hour in chosen:
            days |= _days_of(hour, tz)
        for chunk in _chunks(sorted(days)):
            _work_out(cursor, chunk, tz)
        if chosen:
            cursor.execute("DELETE FROM hub_insight_dirty WHERE hour = ANY(%s)", [chosen])
    return len(days)


def ensure_days(first: date, last: date) -> None:
    """Work out the noted days from `first` to `last` before they are read."""
    stale = {d for d in pending_days() if first <= d <= last}
    if stale:
        refresh_days(stale)


def _chunks(days: Sequence[date]) -> Iterator[list[date]]:
    chunk: list[date] = []
    for day in days:
        if chunk and (day - chunk[0]).days >= _CHUNK_DAYS:
            yield chunk
            chunk = []
        chunk.append(day)
    if chunk:
        yield chunk


def _work_out(cursor: Any, days: list[date], tz: ZoneInfo) -> None:
    """The figures of `days` (within a month of each other), from the entries and members."""
    scope = Scope(tz=tz)
    since, until = scope.days(days[0], days[-1])
    params = {"days": days, "since": since, "until": until, "tz": tz.key, "branches": None}
    cursor.execute("DELETE FROM hub_insight_day WHERE day = ANY(%(days)s::date[])", params)
    cursor.execute(
        f"""
        INSERT INTO hub_insight_day (day, branch_key, entries, visits, purchases,
                                     purchase_total, points_issued, points_redeemed,
                                     new_members)
        SELECT day, COALESCE(branch_id, {HUB_OWN}), sum(entries), count(*) FILTER (WHERE visit),
               sum(purchases), sum(total), sum(issued), sum(redeemed), 0
        FROM (
            SELECT {sql.LOCAL_DAY} AS day, d.branch_id, count(*) AS entries,
                   {sql.IS_VISIT} AS visit, {sql.PURCHASES} AS purchases,
                   {sql.PURCHASE_TOTAL} AS total, {sql.POINTS_ISSUED} AS issued,
                   {sql.POINTS_REDEEMED} AS redeemed
            FROM hub_entry e
            {sql.JOIN_DEVICE}
            {sql.JOIN_ALIAS}
            WHERE {sql.ENTRY_SCOPE}
              AND e.created_at >= %(since)s AND e.created_at < %(until)s
            GROUP BY 1, 2, {sql.SURVIVOR}
        ) per_member_day
        WHERE day = ANY(%(days)s::date[])
        GROUP BY 1, 2
        """,
        params,
    )
    cursor.execute(
        f"""
        INSERT INTO hub_insight_day (day, branch_key, new_members)
        SELECT (m.created_at AT TIME ZONE %(tz)s)::date,
               CASE WHEN GROUPING(bm.branch_id) = 1 THEN {CHAIN} ELSE bm.branch_id END,
               count(DISTINCT m.member_id)
        FROM hub_member m
        LEFT JOIN hub_branch_member bm ON bm.member_id = m.member_id
        WHERE m.merged_into IS NULL
          AND m.created_at >= %(since)s AND m.created_at < %(until)s
          AND (m.created_at AT TIME ZONE %(tz)s)::date = ANY(%(days)s::date[])
        GROUP BY GROUPING SETS (((m.created_at AT TIME ZONE %(tz)s)::date, bm.branch_id),
                                ((m.created_at AT TIME ZONE %(tz)s)::date))
        HAVING GROUPING(bm.branch_id) = 1 OR bm.branch_id IS NOT NULL
        ON CONFLICT (day, branch_key) DO UPDATE SET new_members = EXCLUDED.new_members
        """,
        params,
    )


@dataclass(frozen=True)
class DayFigures:
    """A branch's (HUB_OWN: the hub's own; CHAIN: the chain's new members) rolled-up days."""

    branch_key: int
    entries: int
    visits: int
    purchases: int
    purchase_total: int
    points_issued: int
    points_redeemed: int
    new_members: int


_FIGURES = (
    "sum(entries), sum(visits), sum(purchases), sum(purchase_total), sum(points_issued),"
    " sum(points_redeemed), sum(new_members)"
)


def _figures(branch_key: int, values: Sequence[Any]) -> DayFigures:
    return DayFigures(int(branch_key), *(sql.whole(v) for v in values))


def _scope_filter(scope: Scope) -> str:
    # The chain: every row (each branch, the hub's own, the chain's new members); one
    # branch: its rows alone.
    return "(%(branches)s::bigint[] IS NULL OR branch_key = ANY(%(branches)s))"


def totals(scope: Scope, first: date, last: date) -> list[DayFigures]:
    """Each branch key's figures summed from `first` to `last` (closed days, worked out)."""
    ensure_days(first, last)
    found = sql.rows(
        f"""
        SELECT branch_key, {_FIGURES} FROM hub_insight_day
        WHERE day >= %(first)s AND day <= %(last)s AND {_scope_filter(scope)}
        GROUP BY branch_key
        """,
        {"first": first, "last": last, "branches": _keys(scope)},
    )
    return [_figures(row[0], row[1:]) for row in found]


def per_day(scope: Scope, first: date, last: date) -> list[tuple[date, DayFigures]]:
    """Each day's figures per branch key from `first` to `last`, days with entries only."""
    ensure_days(first, last)
    found = sql.rows(
        f"""
        SELECT day, branch_key, {_FIGURES} FROM hub_insight_day
        WHERE day >= %(first)s AND day <= %(last)s AND entries > 0 AND {_scope_filter(scope)}
        GROUP BY day, branch_key
        ORDER BY day, branch_key
        """,
        {"first": first, "last": last, "branches": _keys(scope)},
    )
    return [(row[0], _figures(row[1], row[2:])) for row in found]


def held(scope: Scope) -> tuple[int, int]:
    """The members holding points and the points they hold, now: the snapshot plus every
    change committed since (one statement: one consistent view of both)."""
    key = CHAIN if scope.branch_ids is None else next(iter(scope.branch_ids))
    ((holders, points),) = sql.rows(
        """
        SELECT COALESCE(sum(holders), 0), COALESCE(sum(points), 0) FROM (
            SELECT holders, points FROM hub_insight_liability WHERE branch_key = %(key)s
            UNION ALL
            SELECT holders, points FROM hub_insight_liability_change WHERE branch_key = %(key)s
        ) both_parts
        """,
        {"key": key},
    )
    return sql.whole(holders), sql.whole(points)


def changes_waiting() -> int:
    """How many changes to the points held wait to be folded into the snapshot."""
    ((count,),) = sql.rows("SELECT count(*) FROM hub_insight_liability_change", {})
    return sql.whole(count)


_HELD_NOW = """
SELECT -1, count(*), COALESCE(sum(b.balance), 0) FROM hub_balance b
WHERE b.balance > 0 AND NOT EXISTS (SELECT 1 FROM hub_member a
                                    WHERE a.member_id = b.member_id AND a.merged_into IS NOT NULL)
UNION ALL
SELECT bm.branch_id, count(*), sum(b.balance)
FROM hub_balance b JOIN hub_branch_member bm ON bm.member_id = b.member_id
WHERE b.balance > 0 AND NOT EXISTS (SELECT 1 FROM hub_member a
                                    WHERE a.member_id = b.member_id AND a.merged_into IS NOT NULL)
GROUP BY bm.branch_id
"""


def refresh_liability(*, read: Callable[[], object] | None = None) -> None:
    """A new snapshot of the points held, the changes it includes deleted (`read`: as
    refresh_days's)."""
    with _snapshot() as cursor:
        cursor.execute(_HELD_NOW)
        rows = cursor.fetchall()
        if read is not None:
            read()
        cursor.execute("DELETE FROM hub_insight_liability")
        cursor.execute(
            "INSERT INTO hub_insight_liability (branch_key, holders, points, at)"
            " SELECT key, holders, points, now()"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS t(key, holders, points)",
            [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
        )
        cursor.execute("DELETE FROM hub_insight_liability_change")


# Reports over every member: worked out for a scope and kept, read as they were.


@dataclass(frozen=True)
class Kept:
    """A report as worked out at `at`."""

    at: datetime
    data: Any


def snapshot_name(report: str, scope: Scope) -> str:
    """The key of a report's snapshot for a scope."""
    key = CHAIN if scope.branch_ids is None else next(iter(sorted(scope.branch_ids)))
    return f"{report}:{key}"


def kept(report: str, scope: Scope, make: Callable[[], Any], *, per_program: bool = False) -> Kept:
    """The report's snapshot for the scope; made now (and kept) if there is none, or, for
    a report `per_program`, if it was made for another version of the program.

    One statement (the snapshot and the program's version), outside a transaction: a
    page's read of it is one round trip.
    """
    name = snapshot_name(report, scope)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.at, s.data::text, (SELECT COALESCE(max(version), 0) FROM hub_program)"
            " FROM (SELECT 1) AS one LEFT JOIN hub_insight_snapshot s ON s.name = %s",
            [name],
        )
        at, text, newest = cursor.fetchone()
    version = int(newest) if per_program else None
    if text is not None:
        stored = json.loads(text)
        if stored.get("version") == _version(version):
            return Kept(at=at, data=stored["report"])
    return remake(report, scope, make, version=version)


def remake(report: str, scope: Scope, make: Callable[[], Any], *, version: object = None) -> Kept:
    """Work the report out for the scope now and keep it."""
    moment = timezone.now()
    data = make()
    payload = json.dumps({"version": _version(version), "report": data})
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO hub_insight_snapshot (name, at, data) VALUES (%s, %s, %s::jsonb)"
            " ON CONFLICT (name) DO UPDATE SET at = EXCLUDED.at, data = EXCLUDED.data",
            [snapshot_name(report, scope), moment, payload],
        )
    return Kept(at=moment, data=data)


def _version(version: object) -> str | None:
    return None if version is None else str(version)
