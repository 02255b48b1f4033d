"""A campaign's segments on real PostgreSQL: the members of a tier, a branch, an RFM segment,
the inactive ones, and all at once, agreeing with what the reports count (hub/insights)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from hub.errors import HubError
from tests.hub.test_insights import TEHRAN_NOW, Chain, at, chain

__all__ = ["chain"]  # a fixture, used by name


def test_the_sql_segment_of_is_rfm_segment_of_for_every_score(chain: Chain):
    from hub.insights import sql
    from hub.insights.rfm import segment_of
    from hub.messaging.segments import SEGMENT_OF

    scores = list(itertools.product(range(1, 6), repeat=3))
    values = ", ".join(f"({r}, {f}, {m})" for r, f, m in scores)
    found = sql.rows(f"SELECT r, f, m, {SEGMENT_OF} FROM (VALUES {values}) AS s(r, f, m)", {})

    assert {(r, f, m): s for r, f, m, s in found} == {
        (r, f, m): segment_of(r, f, m) for r, f, m in scores
    }


def test_a_tier_is_the_members_the_tier_report_counts_there(chain: Chain):
    from hub.insights.reports import tier_distribution
    from hub.insights.scope import Scope
    from hub.messaging.segments import Segment, member_ids

    north, south = chain.branch("North"), chain.branch("South")
    d_north, d_south = chain.device(north), chain.device(south)
    old = at("2025-01-01 00:00")
    lately = TEHRAN_NOW - timedelta(days=10)
    for member, branches in (("m1", (south,)), ("m2", (south,)), ("m3", (north,))):
        chain.member(member, old, branches)
    chain.member("m4", old, (north,))
    chain.member("m2-again", old, (north,), merged_into="m2")
    chain.member("m6", old, (north,), erased=True)
    chain.entry(d_south, "m1", "earn", 999, lately, amount=1)
    chain.entry(d_south, "m2", "earn", 600, lately, amount=1)
    chain.entry(d_north, "m2-again", "earn", 400, lately, amount=1)  # m2's: 1,000
    voided = chain.entry(d_north, "m3", "earn", 6000, lately, amount=1)
    chain.entry(d_north, "m3", "reversal", -6000, lately, amount=1, reverses=voided)
    chain.entry(d_north, "m3", "earn", 5000, lately, amount=1)
    chain.entry(d_north, "m6", "earn", 1500, lately, amount=1)

    tiers = {t: member_ids(Segment(tier=t), now=TEHRAN_NOW) for t in ("bronze", "silver", "gold")}

    assert tiers == {"bronze": ["m1", "m4"], "silver": ["m2"], "gold": ["m3"]}
    # The report counts the erased m6 too (a member still); a campaign cannot reach them.
    counted = {t.tier: t.members for t in tier_distribution(Scope(), now=TEHRAN_NOW)}
    assert counted == {"bronze": 2, "silver": 2, "gold": 1}
    assert member_ids(Segment(tier="silver", branch_id=south), now=TEHRAN_NOW) == ["m2"]
    assert member_ids(Segment(tier="gold", branch_id=south), now=TEHRAN_NOW) == []
    with pytest.raises(HubError, match="no tier"):
        member_ids(Segment(tier="platinum"), now=TEHRAN_NOW)


def test_an_rfm_segment_is_the_members_the_rfm_report_counts_there(chain: Chain):
    from hub.insights.rfm import SEGMENTS, rfm
    from hub.insights.scope import Scope
    from hub.messaging.segments import Segment, member_ids

    branch = chain.branch("North")
    device = chain.device(branch)
    for member in "ABCDEFG":
        chain.member(member, at("2024-01-01 00:00"), (branch,))
    chain.member("A-again", at("2024-01-01 00:00"), (branch,), merged_into="A")

    def bought(member: str, days_ago: list[int], amount: int) -> None:
        for days in days_ago:
            chain.entry(device, member, "earn", 1, TEHRAN_NOW - timedelta(days=days), amount=amount)

    bought("A", [1, 2, 3, 4], 1_000_000)  # champions (with the merged id's purchase)
    bought("A-again", [5], 1_000_000)
    bought("B", [10], 100_000)  # promising
    bought("C", [50, 60, 70, 80], 500_000)  # loyal
    bought("D", [200, 210, 220], 1_000_000)  # at risk
    bought("E", [300, 310], 500_000)  # lost
    bought("F", [400], 9_000_000)  # before the window; G never bought: in no segment

    found = {s: member_ids(Segment(rfm=s), now=TEHRAN_NOW) for s in SEGMENTS}

    assert found == {
        "champions": ["A"],
        "loyal": ["C"],
        "promising": ["B"],
        "needs_attention": [],
        "at_risk": ["D"],
        "hibernating": [],
        "lost": ["E"],
    }
    report = rfm(Scope(), now=TEHRAN_NOW)
    assert {s.segment: s.members for s in report.segments} == {k: len(v) for k, v in found.items()}
    with pytest.raises(HubError, match="no RFM segment"):
        member_ids(Segment(rfm="whales"), now=TEHRAN_NOW)


def test_inactive_members_as_the_inactive_report_and_a_branch(chain: Chain):
    from hub.insights.people import every_inactive_member
    from hub.insights.scope import Scope
    from hub.messaging.segments import Segment, member_ids, members

    north, south = chain.branch("North"), chain.branch("South")
    d_north = chain.device(north)
    chain.member("old1", at("2025-01-01 00:00"), (north,), language="en")
    chain.member("old2", at("2025-02-01 00:00"), (north,), language=None)
    chain.member("old3", at("2025-03-01 00:00"), (south,))
    chain.member("old4", at("2025-04-01 00:00"), (north,))
    chain.member("old4-again", at("2025-04-02 00:00"), (north,), merged_into="old4")
    chain.member("old5", at("2025-05-01 00:00"), (south,), erased=True)
    chain.member("new", at("2026-06-01 00:00"), (north,))
    chain.entry(d_north, "old2", "earn", 1, at("2026-04-01 09:00"), amount=1)
    chain.entry(d_north, "old3", "bonus", 50, at("2026-06-01 09:00"))  # not a visit
    chain.entry(d_north, "old4-again", "earn", 1, at("2026-06-05 09:00"), amount=1)

    inactive = member_ids(Segment(inactive_days=30), now=TEHRAN_NOW)

    reported = [m.member_id for m in every_inactive_member(Scope(), 30, now=TEHRAN_NOW)]
    assert reported == ["old1", "old2", "old3", "old5"]
    assert inactive == ["old1", "old2", "old3"]  # the erased old5 has no phone to reach
    assert members(Segment(inactive_days=30, branch_id=north), now=TEHRAN_NOW) == [
        ("old1", "en"),
        ("old2", "fa"),  # no language: Persian, as the campaign writes to them
    ]
    assert member_ids(Segment(branch_id=south), now=TEHRAN_NOW) == ["old3"]
    assert member_ids(Segment(), now=TEHRAN_NOW) == ["new", "old1", "old2", "old3", "old4"]
    with pytest.raises(HubError, match="inactive days"):
        member_ids(Segment(inactive_days=0), now=TEHRAN_NOW)
