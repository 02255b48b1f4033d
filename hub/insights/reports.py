"""The panel's reports over a period: visits and purchases by day, tiers, rewards, RFM."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from hub.devices.models import Branch
from hub.insights import rollup, sql
from hub.insights.program import current_program, reward_names, tiers_of
from hub.insights.scope import Scope
from hub.program.models import Program

# The kiosk's tier window (`program.tier_window_days`, kiosk/config/defaults.toml): the
# hub's program does not carry it, so the reports take it as a parameter.
TIER_WINDOW_DAYS = 365
RFM_WINDOW_DAYS = 365


@dataclass(frozen=True)
class DayRow:
    """One branch's day: its visits and purchases (a day with neither has no row)."""

    day: date
    branch_id: int | None  # None: the hub's own entries (no device, no branch)
    branch: str
    visits: int
    purchases: int
    purchase_total: int  # Rial
    points_issued: int
    points_redeemed: int


def by_day(scope: Scope, first: date, last: date, *, live: bool = False) -> tuple[DayRow, ...]:
    """Visits and purchases of each day from `first` to `last` (chain's days), per branch.

    The days before today off the rollups (hub/insights/rollup.py), today's live; `live`:
    every day from the entries (to check the rollups).
    """
    if live or not rollup.uses_rollup(scope):
        return _by_day_live(scope, first, last)
    today = scope.today()
    closed_last = min(last, today - timedelta(days=1))
    rows: list[DayRow] = []
    if first <= closed_last:
        names = dict(Branch.objects.values_list("id", "name"))
        rows += [
            DayRow(
                day=day,
                branch_id=None if f.branch_key == rollup.HUB_OWN else f.branch_key,
                branch=names.get(f.branch_key, ""),
                visits=f.visits,
                purchases=f.purchases,
                purchase_total=f.purchase_total,
                points_issued=f.points_issued,
                points_redeemed=f.points_redeemed,
            )
            for day, f in rollup.per_day(scope, first, closed_last)
            if f.branch_key != rollup.CHAIN
        ]
    if last >= today:
        rows += _by_day_live(scope, max(first, today), last)
    # As the live query orders them: by day, then branch, the hub's own last.
    return tuple(sorted(rows, key=lambda r: (r.day, r.branch_id is None, r.branch_id or 0)))


def _by_day_live(scope: Scope, first: date, last: date) -> tuple[DayRow, ...]:
    since, until = scope.days(first, last)
    found = sql.rows(
        f"""
        SELECT day, branch_id, b.name, count(*) FILTER (WHERE visit), sum(purchases),
               sum(total), sum(issued), sum(redeemed)
        FROM (
            SELECT {sql.LOCAL_DAY} AS day, d.branch_id,
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
        LEFT JOIN hub_branch b ON b.id = per_member_day.branch_id
        GROUP BY 1, 2, 3
        ORDER BY 1, 2
        """,
        {"branches": scope.branch_list(), "tz": scope.tz_name, "since": since, "until": until},
        large=True,
    )
    return tuple(
        DayRow(
            day=day,
            branch_id=branch_id,
            branch=name or "",
            visits=sql.whole(visits),
            purchases=sql.whole(purchases),
            purchase_total=sql.whole(total),
            points_issued=sql.whole(issued),
            points_redeemed=sql.whole(redeemed),
        )
        for day, branch_id, name, visits, purchases, total, issued, redeemed in found
    )


@dataclass(frozen=True)
class TierRow:
    """How many members a tier has now."""

    tier: str
    name_fa: str
    name_en: str
    threshold: int
    members: int


def tier_distribution(
    scope: Scope,
    *,
    window_days: int = TIER_WINDOW_DAYS,
    program: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[TierRow, ...]:
    """Members of the scope by tier: the highest whose threshold their earned points reach.

    Earned points are those of purchases at any branch in the last `window_days` (less
    voided ones), as the kiosk decides a tier (kiosk/core/program.py, `tier_for`); a tier
    a kiosk holds after a demotion (`tier_until`) is the kiosk's alone and not seen here.
    """
    tiers = tiers_of(program if program is not None else current_program())
    since = (now or timezone.now()) - timedelta(days=window_days)
    thresholds = [t.threshold for t in tiers]
    # Each earning member's points counted against every threshold in one pass over the
    # year's earnings; every member of the scope reaches a threshold of 0 (no join of a
    # million members with their earnings: those who earned nothing need no row).
    reached = ", ".join(
        f"count(*) FILTER (WHERE points >= %(t{i})s)" for i in range(len(thresholds))
    )
    params: dict[str, Any] = {"branches": scope.branch_list(), "since": since}
    params |= {f"t{i}": t for i, t in enumerate(thresholds)}
    ((everyone, *counts),) = sql.rows(
        f"""
        WITH earned AS (
            SELECT {sql.SURVIVOR} AS member_id, sum(e.points) AS points
            FROM hub_entry e
            {sql.JOIN_ALIAS}
            WHERE e.status = 'stored' AND e.created_at >= %(since)s
              AND (e.kind = 'earn' OR (e.kind = 'reversal' AND e.amount IS NOT NULL))
            GROUP BY 1
        )
        SELECT (SELECT count(*) FROM hub_member m
                WHERE m.merged_into IS NULL AND {sql.MEMBER_IN_SCOPE}),
               {reached}
        FROM earned
        WHERE {sql.member_in_scope("earned.member_id")}
        """,
        params,
        large=True,
    )
    reached_counts = [
        sql.whole(everyone) if t <= 0 else sql.whole(c)
        for t, c in zip(thresholds, counts, strict=True)
    ] + [0]
    return tuple(
        TierRow(
            tier=t.id,
            name_fa=t.name_fa,
            name_en=t.name_en,
            threshold=t.threshold,
            # Those who reach this threshold but not the next one.
            members=reached_counts[i] - reached_counts[i + 1],
        )
        for i, t in enumerate(tiers)
    )


@dataclass(frozen=True)
class RewardRow:
    """A reward's redemptions in the period (voided ones not counted)."""

    reward_id: str
    name_fa: str
    name_en: str
    redemptions: int
    points: int
    members: int


def rewards_redeemed(
    scope: Scope, first: date, last: date, program: dict[str, Any] | None = None
) -> tuple[RewardRow, ...]:
    """Each reward redeemed from `first` to `last`, most redeemed first.

    A redemption voided later (a `reversal` naming it, from the same device) does not
    count, whenever the void was made; a reward no longer in the program keeps its id.
    """
    since, until = scope.days(first, last)
    found = sql.rows(
        f"""
        SELECT e.reward_id, count(*), -sum(e.points), count(DISTINCT {sql.SURVIVOR})
        FROM hub_entry e
        {sql.JOIN_DEVICE}
        {sql.JOIN_ALIAS}
        WHERE {sql.ENTRY_SCOPE} AND e.kind = 'redeem'
          AND e.created_at >= %(since)s AND e.created_at < %(until)s
          AND NOT EXISTS (
              SELECT 1 FROM hub_entry r
              WHERE r.device_id = e.device_id AND r.reverses = e.entry_id
                AND r.status = 'stored')
        GROUP BY 1
        ORDER BY 2 DESC, 1
        """,
        {"branches": scope.branch_list(), "since": since, "until": until},
    )
    names = reward_names(program if program is not None else current_program())
    return tuple(
        RewardRow(
            reward_id=str(reward_id or ""),
            name_fa=names.get(str(reward_id), (str(reward_id), ""))[0],
            name_en=names.get(str(reward_id), ("", str(reward_id)))[1],
            redemptions=sql.whole(count),
            points=sql.whole(points),
            members=sql.whole(members),
        )
        for reward_id, count, points, members in found
    )


def program_version() -> int:
    """The version of the program in force (0: none published yet, the default's)."""
    newest = Program.objects.order_by("-version").values_list("version", flat=True).first()
    return int(newest or 0)


def kept_tiers(scope: Scope) -> tuple[tuple[TierRow, ...], datetime]:
    """The tier distribution as last worked out (nightly, or for another program version:
    again now), and when; live for a scope the rollups do not keep."""
    if not rollup.uses_rollup(scope):
        return tier_distribution(scope), timezone.now()
    found = rollup.kept(
        "tiers",
        scope,
        lambda: [asdict(row) for row in tier_distribution(scope)],
        per_program=True,
    )
    return tuple(TierRow(**row) for row in found.data), found.at
