"""The members a campaign is sent to: a segment, found by one set-based query.

A segment is any of a tier, a branch, an RFM segment and "no visit for N days", all of
them met (none: every active member). Each means what the panel's reports mean by it
(hub/insights), so that a campaign to "at risk" reaches the members the RFM report counts
there:

- tier: hub/insights/reports.py `tier_distribution`: the earned points of the last 365
  days' purchases (less voided ones), at any branch, against the program's thresholds;
- branch: a member who used the branch (`hub_branch_member`), as every scoped report;
- RFM segment: hub/insights/rfm.py, chain-wide quintiles of recency, frequency and spend
  over 365 days, its `segment_of` written as a CASE;
- inactive N days: hub/insights/people.py `inactive_members`, joined before the cut and
  no purchase or redemption since it.

Merged ids count as their survivor throughout; only active members who are no one's
merged id are returned (consent, opt-outs and phones are the campaign's to check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from hub.errors import HubError
from hub.insights import sql
from hub.insights.program import current_program, tiers_of
from hub.insights.reports import RFM_WINDOW_DAYS, TIER_WINDOW_DAYS
from hub.insights.rfm import SEGMENTS

MOST_INACTIVE_DAYS = 3650

# rfm.segment_of as SQL over the scores r, f, m (tests/hub/test_messaging_segments.py
# checks the two agree on all 125 combinations).
SEGMENT_OF = """CASE
    WHEN r >= 4 AND f >= 4 AND m >= 4 THEN 'champions'
    WHEN r >= 3 AND f >= 4 THEN 'loyal'
    WHEN r >= 4 THEN 'promising'
    WHEN r = 3 THEN 'needs_attention'
    WHEN f >= 3 THEN 'at_risk'
    WHEN r = 2 THEN 'hibernating'
    ELSE 'lost' END"""


@dataclass(frozen=True)
class Segment:
    """Who a campaign is for: each filter given must hold (None: not filtered by it)."""

    tier: str | None = None
    branch_id: int | None = None
    rfm: str | None = None
    inactive_days: int | None = None

    def describe(self) -> dict[str, Any]:
        """The filters given, for the campaign's record and the audit log (no personal data)."""
        return {k: v for k, v in vars(self).items() if v is not None}


def _tier_bounds(tier: str, program: dict[str, Any]) -> tuple[int, int | None]:
    """The earned points a tier takes: its threshold, and the next tier's (None: no next)."""
    tiers = tiers_of(program)
    for i, found in enumerate(tiers):
        if found.id == tier:
            upper = tiers[i + 1].threshold if i + 1 < len(tiers) else None
            return found.threshold, upper
    raise HubError(f"no tier {tier!r} in the program in force")


def member_ids(
    segment: Segment, *, now: datetime | None = None, program: dict[str, Any] | None = None
) -> list[str]:
    """The ids of the active members in `segment`, in id order."""
    return [member for member, _ in members(segment, now=now, program=program)]


def members(
    segment: Segment, *, now: datetime | None = None, program: dict[str, Any] | None = None
) -> list[tuple[str, str]]:
    """The active members in `segment`, in id order: (id, language: `en` or else `fa`)."""
    moment = now or timezone.now()
    params: dict[str, Any] = {"now": moment, "branches": None}
    ctes: list[str] = []
    where = ["m.merged_into IS NULL", "m.status = 'active'"]
    if segment.branch_id is not None:
        params["branch"] = segment.branch_id
        where.append(
            "EXISTS (SELECT 1 FROM hub_branch_member bm"
            " WHERE bm.member_id = m.member_id AND bm.branch_id = %(branch)s)"
        )
    if segment.tier is not None:
        low, high = _tier_bounds(segment.tier, program or current_program())
        params |= {"tier_since": moment - timedelta(days=TIER_WINDOW_DAYS), "low": low}
        params["high"] = high
        ctes.append(
            f"""earned AS (
                SELECT {sql.SURVIVOR} AS member_id, sum(e.points) AS points
                FROM hub_entry e
                {sql.JOIN_ALIAS}
                WHERE e.status = 'stored' AND e.created_at >= %(tier_since)s
                  AND (e.kind = 'earn' OR (e.kind = 'reversal' AND e.amount IS NOT NULL))
                GROUP BY 1)"""
        )
        # No earnings at all is 0 points: the lowest tier (threshold 0) takes them.
        points = "COALESCE((SELECT t.points FROM earned t WHERE t.member_id = m.member_id), 0)"
        where.append(f"{points} >= %(low)s")
        where.append(f"(%(high)s::bigint IS NULL OR {points} < %(high)s)")
    if segment.rfm is not None:
        if segment.rfm not in SEGMENTS:
            raise HubError(f"no RFM segment {segment.rfm!r}; the segments: {', '.join(SEGMENTS)}")
        params |= {"rfm_since": moment - timedelta(days=RFM_WINDOW_DAYS), "rfm": segment.rfm}
        ctes.append(
            f"""per_member AS (
                SELECT {sql.SURVIVOR} AS member_id,
                       max(e.created_at) FILTER (WHERE e.kind = 'earn') AS last_at,
                       {sql.PURCHASES} AS purchases,
                       {sql.PURCHASE_TOTAL} AS total
                FROM hub_entry e
                {sql.JOIN_DEVICE}
                {sql.JOIN_ALIAS}
                WHERE {sql.ENTRY_SCOPE}
                  AND (e.kind = 'earn' OR (e.kind = 'reversal' AND e.amount IS NOT NULL))
                  AND e.created_at >= %(rfm_since)s AND e.created_at <= %(now)s
                GROUP BY 1
            ), scored AS (
                SELECT member_id,
                       ntile(5) OVER (ORDER BY last_at, member_id) AS r,
                       ntile(5) OVER (ORDER BY purchases, member_id) AS f,
                       ntile(5) OVER (ORDER BY total, member_id) AS m
                FROM per_member
                WHERE purchases > 0
            ), segmented AS (
                SELECT member_id, {SEGMENT_OF} AS segment FROM scored)"""
        )
        where.append(
            "m.member_id IN (SELECT s.member_id FROM segmented s WHERE s.segment = %(rfm)s)"
        )
    if segment.inactive_days is not None:
        if not 0 < segment.inactive_days <= MOST_INACTIVE_DAYS:
            raise HubError(f"inactive days must be from 1 to {MOST_INACTIVE_DAYS}")
        params["cut"] = moment - timedelta(days=segment.inactive_days)
        where.append("m.created_at < %(cut)s")
        where.append(
            """NOT EXISTS (
                SELECT 1 FROM hub_entry e
                WHERE e.status = 'stored' AND e.kind IN ('earn', 'redeem')
                  AND e.created_at >= %(cut)s
                  AND e.member_id IN (
                      SELECT m.member_id
                      UNION ALL
                      SELECT x.member_id FROM hub_member x WHERE x.merged_into = m.member_id))"""
        )
    with_clause = f"WITH {', '.join(ctes)}" if ctes else ""
    found = sql.rows(
        f"""{with_clause}
        SELECT m.member_id, CASE WHEN m.language = 'en' THEN 'en' ELSE 'fa' END
        FROM hub_member m
        WHERE {" AND ".join(where)}
        ORDER BY m.member_id""",
        params,
        large=True,
    )
    return [(str(row[0]), str(row[1])) for row in found]
