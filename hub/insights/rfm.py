"""Members by RFM segment: how recently, how often and how much they bought.

Scoring: over the purchases of the last `window_days` (365 by default) at the scope's
branches, each member (a merged id counted as its survivor) who made at least one (voids
taken off) gets three scores from 1 to 5 by PostgreSQL's `ntile(5)`: quintiles of the
members ranked by the time of their last purchase (R: 5 is the most recent fifth), by the
number of purchases (F) and by what they spent (M). Ties are split by member id, so that
equal members may fall either side of a cut but the same data always scores the same.

Segments, the first rule a member's scores meet:

| segment | scores |
|---|---|
| champions | R ≥ 4, F ≥ 4 and M ≥ 4: bought lately, often, and much |
| loyal | R ≥ 3 and F ≥ 4: often, and not long ago |
| promising | R ≥ 4: lately, not yet often |
| needs_attention | R = 3 |
| at_risk | R ≤ 2 and F ≥ 3: used to come often, not lately |
| hibernating | R = 2 |
| lost | R = 1: the least recent fifth |

Members with no purchase in the window are counted apart (`without_purchases`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from hub.insights import rollup, sql
from hub.insights.scope import Scope

SEGMENTS = (
    "champions",
    "loyal",
    "promising",
    "needs_attention",
    "at_risk",
    "hibernating",
    "lost",
)
WINDOW_DAYS = 365


def segment_of(recency: int, frequency: int, monetary: int) -> str:
    """The segment of a member's three scores (1-5 each), by the table above."""
    if recency >= 4 and frequency >= 4 and monetary >= 4:
        return "champions"
    if recency >= 3 and frequency >= 4:
        return "loyal"
    if recency >= 4:
        return "promising"
    if recency == 3:
        return "needs_attention"
    if frequency >= 3:
        return "at_risk"
    return "hibernating" if recency == 2 else "lost"


@dataclass(frozen=True)
class SegmentRow:
    """A segment's members and what they did in the window."""

    segment: str
    members: int
    purchases: int
    purchase_total: int  # Rial
    mean_days_since_last: float | None  # None for a segment with no members


@dataclass(frozen=True)
class RfmReport:
    """Every segment (in the order of SEGMENTS), and the members who bought nothing."""

    window_days: int
    segments: tuple[SegmentRow, ...]
    without_purchases: int


def rfm(scope: Scope, *, window_days: int = WINDOW_DAYS, now: datetime | None = None) -> RfmReport:
    """Members of the scope by RFM segment over the last `window_days`."""
    moment = now or timezone.now()
    params = {
        "branches": scope.branch_list(),
        "since": moment - timedelta(days=window_days),
        "now": moment,
    }
    found = sql.rows(
        f"""
        WITH per_member AS (
            SELECT {sql.SURVIVOR} AS member_id,
                   max(e.created_at) FILTER (WHERE e.kind = 'earn') AS last_at,
                   {sql.PURCHASES} AS purchases,
                   {sql.PURCHASE_TOTAL} AS total
            FROM hub_entry e
            {sql.JOIN_DEVICE}
            {sql.JOIN_ALIAS}
            WHERE {sql.ENTRY_SCOPE}
              AND (e.kind = 'earn' OR (e.kind = 'reversal' AND e.amount IS NOT NULL))
              AND e.created_at >= %(since)s AND e.created_at <= %(now)s
            GROUP BY 1
        ), scored AS (
            SELECT ntile(5) OVER (ORDER BY last_at, member_id) AS r,
                   ntile(5) OVER (ORDER BY purchases, member_id) AS f,
                   ntile(5) OVER (ORDER BY total, member_id) AS m,
                   purchases, total,
                   extract(epoch FROM %(now)s - last_at) / 86400 AS days
            FROM per_member
            WHERE purchases > 0
        )
        SELECT r, f, m, count(*), sum(purchases), sum(total), sum(days)
        FROM scored GROUP BY 1, 2, 3
        """,
        params,
        large=True,
    )
    totals: dict[str, list[float]] = {s: [0, 0, 0, 0.0] for s in SEGMENTS}
    for r, f, m, members, purchases, total, days in found:
        into = totals[segment_of(int(r), int(f), int(m))]
        into[0] += int(members)
        into[1] += sql.whole(purchases)
        into[2] += sql.whole(total)
        into[3] += float(days)
    scored = sum(int(t[0]) for t in totals.values())
    ((members,),) = sql.rows(
        f"SELECT count(*) FROM hub_member m WHERE m.merged_into IS NULL AND {sql.MEMBER_IN_SCOPE}",
        {"branches": scope.branch_list()},
    )
    return RfmReport(
        window_days=window_days,
        segments=tuple(
            SegmentRow(
                segment=name,
                members=int(t[0]),
                purchases=int(t[1]),
                purchase_total=int(t[2]),
                mean_days_since_last=(t[3] / t[0]) if t[0] else None,
            )
            for name, t in totals.items()
        ),
        without_purchases=max(0, sql.whole(members) - scored),
    )


def kept_rfm(scope: Scope) -> tuple[RfmReport, datetime]:
    """The RFM report as last worked out (nightly by `hub insights work`), and when; live
    for a scope the rollups do not keep."""
    if not rollup.uses_rollup(scope):
        return rfm(scope), timezone.now()
    found = rollup.kept("rfm", scope, lambda: asdict(rfm(scope)))
    data = dict(found.data)
    data["segments"] = tuple(SegmentRow(**row) for row in data["segments"])
    return RfmReport(**data), found.at
