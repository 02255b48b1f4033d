"""The change feed: one row per change, in the order a kiosk must apply them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Change(models.Model):
    """A change for the kiosks to pull; `cursor` only grows (hub/feed/feed.py says how)."""

    cursor = models.BigAutoField(primary_key=True)
    type = models.TextField()
    data = models.JSONField()
    # The owner's signature of a `staff` or `program` change (sync/owner_key.py); null on
    # every other type.
    signature = models.TextField(null=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Whose change it is (hub/feed/feed.py `_member_of`): only their branches' devices get
    # it; null for a change for every device (program, staff).
    member_id = models.TextField(null=True)

    class Meta:
        db_table = "hub_change"
        ordering = ("cursor",)
        # An erasure finds the member's earlier records in the feed (hub/feed/feed.py `_forget`).
        indexes = (
            models.Index(
                fields=("member_id",), name="hub_change_member", condition=models.Q(type="member")
            ),
        )


class FeedEpoch(models.Model):
    """A nonce in the feed's epoch, changed by `hub feed reset-epoch` (hub/feed/epoch.py).

    One row at most. A dump carries it, so it alone names no restore: the epoch mixes in
    what a restore changes by itself (the cluster, its timeline, the database's and the
    table's OIDs); the nonce is for a restore those do not show.
    """

    slot = models.PositiveSmallIntegerField(primary_key=True, default=1)
    nonce = models.TextField()
    reset_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hub_feed_epoch"
        constraints = (
            models.CheckConstraint(condition=models.Q(slot=1), name="hub_feed_epoch_one"),
        )
