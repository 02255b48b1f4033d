"""The rollups the panel reads (hub/insights/rollup.py) say what the live queries say.

After every kind of write that changes a figure (an entry arriving late for a past day, a
member's merge, a device moved to another branch, a member using a new branch, balances
moving), the dashboard and the by-day report off the rollups equal the same figures
worked out from the entries and balances (`live=True`). And a writer that commits while
a refresh is working is not lost: its day is worked out by the next read.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import psycopg
import pytest

from tests.hub.test_insights import TEHRAN_NOW, Chain, Story, at, chain, story

__all__ = ["chain", "story"]  # fixtures, used by name

DAY = date(2026, 6, 10)  # TEHRAN_NOW's day in Tehran


def same_figures(scope_ids: frozenset[int] | None = None) -> None:
    from hub.insights.dashboard import dashboard
    from hub.insights.reports import by_day
    from hub.insights.scope import Scope

    scope = Scope(scope_ids)
    rolled = dashboard(scope, now=TEHRAN_NOW)
    worked = dashboard(scope, now=TEHRAN_NOW, live=True)
    assert rolled.today == worked.today
    assert rolled.last_30_days == worked.last_30_days
    assert rolled.branches == worked.branches
    assert rolled.liability == worked.liability
    first = DAY - timedelta(days=60)
    assert by_day(scope, first, DAY - timedelta(days=1)) == by_day(
        scope, first, DAY - timedelta(days=1), live=True
    )


def every_scope(story: Story) -> None:
    for ids in (None, frozenset({story.north}), frozenset({story.south})):
        same_figures(ids)


def test_the_rollups_equal_the_live_figures_on_the_story(story: Story):
    every_scope(story)


def test_an_entry_pushed_late_for_a_past_day_counts_there(story: Story, chain: Chain):
    from hub.insights.dashboard import dashboard
    from hub.insights.scope import Scope

    before = dashboard(Scope(), now=TEHRAN_NOW).last_30_days
    # A kiosk back online after a week pushes a purchase of 3 June.
    chain.entry(story.d_south, "alice", "earn", 5, at("2026-06-03 08:00"), amount=500_000)
    after = dashboard(Scope(), now=TEHRAN_NOW).last_30_days
    assert after.purchases == before.purchases + 1
    assert after.purchase_total == before.purchase_total + 500_000
    every_scope(story)


def test_a_merge_a_move_and_a_new_branch_are_followed(story: Story, chain: Chain):
    # bob-again and bob on one day at one branch: one visit once merged (it was already);
    # now alice's twin visits the day alice did, then is merged into her.
    chain.member("alice-twin", at("2026-06-01 08:00"), (story.north,), balance=40)
    chain.entry(story.d_north, "alice-twin", "earn", 4, at("2026-06-03 08:00"), amount=1)
    chain.entry(story.d_north, "alice", "earn", 4, at("2026-06-03 09:00"), amount=1)
    every_scope(story)
    chain.hub.sql("UPDATE hub_member SET merged_into = 'alice' WHERE member_id = 'alice-twin'")
    every_scope(story)
    # The north kiosk is carried to the south branch: its days count there now.
    chain.hub.sql("UPDATE hub_device SET branch_id = %s WHERE id = %s", story.south, story.d_north)
    every_scope(story)
    # eve starts using the south branch: she joins its new members of her day, and her
    # points (none above 0 yet) ... then she earns some.
    chain.hub.sql(
        "INSERT INTO hub_branch_member (branch_id, member_id, since) VALUES (%s, 'eve', now())",
        story.south,
    )
    chain.hub.sql("UPDATE hub_balance SET balance = 25 WHERE member_id = 'eve'")
    every_scope(story)
    chain.hub.sql("UPDATE hub_balance SET balance = 0 WHERE member_id = 'bob'")
    every_scope(story)


def test_the_points_held_are_exact_before_and_after_a_snapshot(story: Story, chain: Chain):
    from hub.insights import rollup
    from hub.insights.dashboard import liability
    from hub.insights.scope import Scope

    chain.hub.sql("UPDATE hub_balance SET balance = balance + 100 WHERE member_id = 'alice'")
    held = liability(Scope())
    assert held == liability(Scope(), live=True)
    assert held.points == 105 + 67  # alice and bob; eve's -3 and bob-again's (merged) not
    rollup.refresh_liability()
    assert liability(Scope()) == held
    assert liability(Scope(frozenset({story.south}))).points == 67  # bob only


def test_a_writer_committing_during_a_refresh_is_worked_out_by_the_next_read(
    story: Story, chain: Chain
):
    from hub.insights import rollup
    from hub.insights.dashboard import dashboard
    from hub.insights.scope import Scope

    rollup.refresh_days()
    rollup.refresh_liability()
    before = dashboard(Scope(), now=TEHRAN_NOW).last_30_days
    # A push in its own transaction, open while the refresh reads its notes, committed
    # then: the refresh's snapshot sees neither its entry nor its note.
    writer = psycopg.connect(chain.hub.postgres.url(chain.hub.database))
    writer.execute(
        "INSERT INTO hub_entry (device_id, entry_id, seq, status, member_id, kind, points,"
        " amount, currency, created_at, as_pushed, received_at)"
        " VALUES (%s, 'late-1', 9999, 'stored', 'alice', 'earn', 7, 700000, 'IRR', %s,"
        " '{}', now())",
        (story.d_north, at("2026-06-04 08:00")),
    )
    writer.execute("UPDATE hub_balance SET balance = balance + 7 WHERE member_id = 'alice'")
    committed = threading.Event()

    def commit_now() -> None:
        writer.commit()
        committed.set()

    rollup.refresh_days(read=commit_now)
    assert committed.is_set()
    rollup.refresh_liability()
    writer.close()
    after = dashboard(Scope(), now=TEHRAN_NOW).last_30_days
    assert after.purchases == before.purchases + 1
    assert after.points_issued == before.points_issued + 7
    every_scope(story)


def test_a_liability_change_committed_during_its_snapshot_is_kept(story: Story, chain: Chain):
    from hub.insights import rollup
    from hub.insights.dashboard import liability
    from hub.insights.scope import Scope

    writer = psycopg.connect(chain.hub.postgres.url(chain.hub.database))
    writer.execute("UPDATE hub_balance SET balance = balance + 1000 WHERE member_id = 'bob'")
    rollup.refresh_liability(read=writer.commit)
    writer.close()
    assert liability(Scope()) == liability(Scope(), live=True)
    assert liability(Scope()).points == 5 + 1067


def test_the_worker_works_out_the_nightly_reports_once_a_day_after_three(
    story: Story, chain: Chain
):
    from hub.insights import upkeep
    from hub.insights.reports import kept_tiers, tier_distribution
    from hub.insights.rfm import kept_rfm, rfm
    from hub.insights.scope import Scope

    clock = [datetime.fromisoformat("2026-06-10T01:00:00+03:30")]
    worker = upkeep.Worker(now=lambda: clock[0])
    first = worker.round()
    assert first["reports"] == 2 * 3  # none kept yet: the chain's and each branch's, now
    assert worker.round()["reports"] == 0  # the same night
    clock[0] = datetime.fromisoformat("2026-06-11T02:59:00+03:30")
    assert worker.round()["reports"] == 0  # not before three
    clock[0] = datetime.fromisoformat("2026-06-11T03:00:00+03:30")
    assert worker.round()["reports"] == 6
    tiers, _ = kept_tiers(Scope())
    report, _ = kept_rfm(Scope())
    assert tiers == tier_distribution(Scope())
    # (the mean days since the last purchase grow with the clock: the members are kept)
    assert [s.members for s in report.segments] == [s.members for s in rfm(Scope()).segments]
    assert sum(t.members for t in tiers) == 4  # alice, bob, eve, and carol, erased


def test_a_new_program_version_works_the_tiers_out_again(story: Story, chain: Chain):
    from hub.insights.reports import kept_tiers
    from hub.insights.scope import Scope

    _, made = kept_tiers(Scope())
    assert kept_tiers(Scope())[1] == made  # kept
    chain.program([])
    assert kept_tiers(Scope())[1] > made  # another version: worked out again


@pytest.mark.parametrize("scope_ids", [None, "north"])
def test_a_page_never_reads_a_noted_day_before_working_it_out(
    story: Story, chain: Chain, scope_ids: str | None
):
    from hub.insights import rollup
    from hub.insights.reports import by_day
    from hub.insights.scope import Scope

    scope = Scope(None if scope_ids is None else frozenset({story.north}))
    rollup.refresh_days()
    assert rollup.pending_days() == set()
    chain.entry(story.d_north, "bob", "earn", 1, at("2026-05-25 08:00"), amount=1)
    assert date(2026, 5, 25) in rollup.pending_days()
    rows = by_day(scope, date(2026, 5, 25), date(2026, 5, 25))
    assert [r.purchases for r in rows if r.branch_id == story.north] == [1]
    assert date(2026, 5, 25) not in rollup.pending_days()


def test_an_entry_deleted_by_hand_leaves_its_days(story: Story, chain: Chain):
    every_scope(story)
    chain.hub.sql("DELETE FROM hub_entry WHERE member_id = 'eve'")  # a repair by hand
    every_scope(story)
