"""The rollups the panel reads instead of scanning ten million entries at each page.

Each is kept equal to what the live queries would say (tests/hub/test_insights_rollup.py
compares them on the same data), by rules that hold whatever order transactions commit in:

- `Day`: one row per (chain's day, branch) with that day's figures; `branch_key` is the
  branch's id, 0 for the hub's own entries (no branch), -1 for the chain's new members
  counted once (a member of two branches is in both branches' rows). A day is worked out
  again whenever an entry, a member or a member's branch of that day is written: the
  triggers of migration 0001 note the hour (`DirtyHour`) in the writer's transaction, and
  `rollup.refresh_days` reworks those days and deletes the notes it read, in one
  REPEATABLE READ snapshot (a note committed after that snapshot stays for the next run).
- `Liability`/`LiabilityChange`: the points the members hold, per branch (and -1: the
  chain), as a snapshot plus the changes written since (a trigger on hub_balance, on a
  merge and on a member's new branch); read as their sum, folded into the snapshot by
  `rollup.refresh_liability` in one snapshot likewise. Exact at every moment.
- `Snapshot`: reports over every member (tiers, RFM) worked out nightly per scope, with
  when; the page says "as of".
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Day(models.Model):
    """A chain's day at a branch: the dashboard's and the by-day report's figures."""

    day = models.DateField()
    branch_key = models.BigIntegerField()  # branch id; 0: the hub's own; -1: the chain
    entries = models.BigIntegerField(
        default=0, db_default=0
    )  # stored entries: 0 for a day of members only
    visits = models.BigIntegerField(default=0, db_default=0)
    purchases = models.BigIntegerField(default=0, db_default=0)
    purchase_total = models.BigIntegerField(default=0, db_default=0)  # Rial
    points_issued = models.BigIntegerField(default=0, db_default=0)
    points_redeemed = models.BigIntegerField(default=0, db_default=0)
    new_members = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "hub_insight_day"
        constraints = (
            models.UniqueConstraint(fields=("day", "branch_key"), name="hub_insight_day_once"),
        )


class DirtyHour(models.Model):
    """An hour (UTC, truncated) with something written since its days were worked out."""

    hour = models.DateTimeField()

    class Meta:
        db_table = "hub_insight_dirty"


class Liability(models.Model):
    """The points held at a moment by the members of a branch (-1: of the chain)."""

    branch_key = models.BigIntegerField(primary_key=True)
    holders = models.BigIntegerField(default=0, db_default=0)  # members with a balance above 0
    points = models.BigIntegerField(default=0, db_default=0)  # the sum of those balances
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hub_insight_liability"


class LiabilityChange(models.Model):
    """A change to a branch's (-1: the chain's) points held, since its snapshot."""

    branch_key = models.BigIntegerField()
    holders = models.BigIntegerField()
    points = models.BigIntegerField()

    class Meta:
        db_table = "hub_insight_liability_change"
        indexes = (models.Index(fields=("branch_key",), name="hub_insight_change_branch"),)


class Snapshot(models.Model):
    """A report over every member, for one scope, worked out at `at`."""

    name = models.TextField(primary_key=True)  # e.g. "rfm:-1", "tiers:12"
    at = models.DateTimeField()
    data = models.JSONField()

    class Meta:
        db_table = "hub_insight_snapshot"
