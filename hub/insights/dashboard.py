"""The dashboard's figures: today and the last 30 days, per branch, the points owed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from hub.devices.models import Branch
from hub.insights import rollup, sql
from hub.insights.devices import DeviceAttention, Thresholds, needing_attention
from hub.insights.program import current_program, point_value, value_of
from hub.insights.scope import Scope

PERIOD_DAYS = 30


@dataclass(frozen=True)
class Figures:
    """What happened in a period (see hub/insights/__init__.py for what each counts)."""

    new_members: int = 0
    visits: int = 0
    purchases: int = 0
    purchase_total: int = 0  # Rial
    points_issued: int = 0
    points_redeemed: int = 0

    @property
    def redemption_rate(self) -> float | None:
        """Points redeemed over points issued in the period; None when none were issued."""
        if self.points_issued <= 0:
            return None
        return self.points_redeemed / self.points_issued

    def plus(self, other: Figures) -> Figures:
        """Both periods' figures added (they are disjoint)."""
        return Figures(
            new_members=self.new_members + other.new_members,
            visits=self.visits + other.visits,
            purchases=self.purchases + other.purchases,
            purchase_total=self.purchase_total + other.purchase_total,
            points_issued=self.points_issued + other.points_issued,
            points_redeemed=self.points_redeemed + other.points_redeemed,
        )


@dataclass(frozen=True)
class BranchFigures:
    """One branch's figures today and in the last 30 days."""

    branch_id: int
    name: str
    today: Figures
    last_30_days: Figures


@dataclass(frozen=True)
class Liability:
    """The points the members of the scope hold now, and what they are worth."""

    members: int  # survivors with points (a balance above 0)
    points: int  # the sum of the balances above 0: a negative balance is owed to the chain
    value: int | None  # Rial, at the program's point value; None if it has none


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows, for one scope at one moment."""

    day: date  # today, in the chain's time zone
    first_day: date  # the first of the last 30 days
    today: Figures
    last_30_days: Figures
    liability: Liability
    branches: tuple[BranchFigures, ...]
    devices: tuple[DeviceAttention, ...]


def dashboard(
    scope: Scope,
    now: datetime | None = None,
    thresholds: Thresholds | None = None,
    *,
    live: bool = False,
) -> Dashboard:
    """The dashboard of `scope` at `now` (the real clock's by default); `live`: every
    figure from the entries and balances, none off the rollups (to check them)."""
    moment = now or timezone.now()
    day = scope.today(moment)
    first = day - timedelta(days=PERIOD_DAYS - 1)
    since, until = scope.days(first, day)
    params = {
        "branches": scope.branch_list(),
        "tz": scope.tz_name,
        "since": since,
        "until": until,
        "today": scope.start_of(day),
    }
    if rollup.uses_rollup(scope) and not live:
        # Today's figures live (a day's entries: an index range), the 29 days before from
        # the rollups (worked out first if anything was written to them since).
        params["since"] = params["today"]
        split, whole = _today_and_closed(scope, params, first, day - timedelta(days=1))
    else:
        split = _entry_figures(params)  # (branch, is_today) -> Figures; None: the hub's
        per_branch, whole = _new_members(params)
        for key, count in per_branch.items():
            split[key] = replace(split.get(key, Figures()), new_members=count)

    names = Branch.objects.order_by("id")
    if scope.branch_ids is not None:
        names = names.filter(id__in=scope.branch_ids)
    branches = tuple(
        BranchFigures(
            branch_id=b.pk,
            name=b.name,
            today=split.get((b.pk, True), Figures()),
            last_30_days=split.get((b.pk, True), Figures()).plus(
                split.get((b.pk, False), Figures())
            ),
        )
        for b in names
    )
    today = _total(split, whole, True)
    earlier = _total(split, whole, False)
    return Dashboard(
        day=day,
        first_day=first,
        today=today,
        last_30_days=today.plus(earlier),
        liability=liability(scope, live=live),
        branches=branches,
        devices=needing_attention(scope, thresholds, moment),
    )


def _today_and_closed(
    scope: Scope, params: dict[str, Any], first: date, last: date
) -> tuple[dict[tuple[int | None, bool], Figures], dict[bool, int]]:
    split = _entry_figures(params)
    per_branch, whole = _new_members(params)
    for key, count in per_branch.items():
        split[key] = replace(split.get(key, Figures()), new_members=count)
    for rolled in rollup.totals(scope, first, last):
        figures = Figures(
            new_members=rolled.new_members,
            visits=rolled.visits,
            purchases=rolled.purchases,
            purchase_total=rolled.purchase_total,
            points_issued=rolled.points_issued,
            points_redeemed=rolled.points_redeemed,
        )
        if rolled.branch_key == rollup.CHAIN:
            whole[False] = rolled.new_members
        elif rolled.branch_key == rollup.HUB_OWN:
            split[(None, False)] = replace(figures, new_members=0)
        else:
            split[(rolled.branch_key, False)] = figures
            if scope.branch_ids is not None:  # one branch: its new members are the scope's
                whole[False] = rolled.new_members
    return split, whole


def _total(
    split: dict[tuple[int | None, bool], Figures], whole: dict[bool, int], is_today: bool
) -> Figures:
    # The entry figures add up over branches (and the hub's own entries, of no branch);
    # new members are counted once for the scope, a member of two branches being in both
    # branches' rows.
    added = Figures()
    for (_, flag), figures in split.items():
        if flag == is_today:
            added = added.plus(replace(figures, new_members=0))
    return replace(added, new_members=whole.get(is_today, 0))


def _entry_figures(params: dict[str, Any]) -> dict[tuple[int | None, bool], Figures]:
    found = sql.rows(
        f"""
        SELECT branch_id, is_today, count(*) FILTER (WHERE visit), sum(purchases),
               sum(total), sum(issued), sum(redeemed)
        FROM (
            SELECT d.branch_id, e.created_at >= %(today)s AS is_today,
                   {sql.IS_VISIT} AS visit, {sql.PURCHASES} AS purchases,
                   {sql.PURCHASE_TOTAL} AS total, {sql.POINTS_ISSUED} AS issued,
                   {sql.POINTS_REDEEMED} AS redeemed
            FROM hub_entry e
            {sql.JOIN_DEVICE}
            {sql.JOIN_ALIAS}
            WHERE {sql.ENTRY_SCOPE}
              AND e.created_at >= %(since)s AND e.created_at < %(until)s
            GROUP BY 1, 2, {sql.SURVIVOR}, {sql.LOCAL_DAY}
        ) per_member_day
        GROUP BY 1, 2
        """,
        params,
        large=True,
    )
    return {
        (None if branch is None else int(branch), bool(flag)): Figures(
            visits=sql.whole(visits),
            purchases=sql.whole(purchases),
            purchase_total=sql.whole(total),
            points_issued=sql.whole(issued),
            points_redeemed=sql.whole(redeemed),
        )
        for branch, flag, visits, purchases, total, issued, redeemed in found
    }


def _new_members(
    params: dict[str, Any],
) -> tuple[dict[tuple[int | None, bool], int], dict[bool, int]]:
    # Per branch, and once for the whole scope (the grouping set without the branch).
    found = sql.rows(
        """
        SELECT bm.branch_id, GROUPING(bm.branch_id), m.created_at >= %(today)s,
               count(DISTINCT m.member_id)
        FROM hub_member m
        LEFT JOIN hub_branch_member bm ON bm.member_id = m.member_id
        WHERE m.merged_into IS NULL
          AND m.created_at >= %(since)s AND m.created_at < %(until)s
          AND (%(branches)s::bigint[] IS NULL OR bm.branch_id = ANY(%(branches)s))
        GROUP BY GROUPING SETS ((bm.branch_id, m.created_at >= %(today)s),
                                (m.created_at >= %(today)s))
        """,
        params,
    )
    per_branch: dict[tuple[int | None, bool], int] = {}
    whole: dict[bool, int] = {}
    for branch, grouped, flag, count in found:
        if grouped:
            whole[bool(flag)] = int(count)
        elif branch is not None:
            per_branch[(int(branch), bool(flag))] = int(count)
    return per_branch, whole


def liability(
    scope: Scope, program: dict[str, Any] | None = None, *, live: bool = False
) -> Liability:
    """The points held now by the scope's members (survivors), and their value: off the
    rollup (a snapshot and the changes since, exact) for the chain or a branch."""
    if rollup.uses_rollup(scope) and not live:
        members, points = rollup.held(scope)
    else:
        members, points = _held_live(scope)
    rate = point_value(program if program is not None else current_program())
    return Liability(
        members=sql.whole(members),
        points=sql.whole(points),
        value=value_of(sql.whole(points), rate),
    )


def _held_live(scope: Scope) -> tuple[int, int]:
    # One pass over the balances, less the few merged ids' (an anti-join with them alone):
    # a join with a million members would cost more than the sum itself.
    ((members, points),) = sql.rows(
        f"""
        SELECT count(*), COALESCE(sum(b.balance), 0)
        FROM hub_balance b
        WHERE b.balance > 0
          AND NOT EXISTS (SELECT 1 FROM hub_member a
                          WHERE a.member_id = b.member_id AND a.merged_into IS NOT NULL)
          AND {sql.member_in_scope("b.member_id")}
        """,
        {"branches": scope.branch_list()},
    )
    return sql.whole(members), sql.whole(points)
