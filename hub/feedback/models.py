"""A shopper's rating of one visit, held with the earn entry it follows."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from hub.devices.models import Branch, Device
from hub.ledger.models import Entry

# What a shopper may say a visit was about (the kiosk's kiosk/core/feedback.py REASONS):
# a fixed list, never free text.
REASONS = ("staff", "price", "quality", "waiting", "cleanliness", "choice")


class VisitRating(models.Model):
    """The rating (1..5) and reasons of the visit whose earn entry is `entry`.

    `branch` is the branch of the device that recorded the visit, kept as it was (a device
    moved later does not move its visits); `version` is the kiosk's count of changes, so
    that a push arriving late never puts back older reasons.
    """

    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    rating = models.SmallIntegerField()
    reasons = models.TextField(default="")  # comma-separated names from REASONS
    rated_at = models.DateTimeField()
    version = models.IntegerField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hub_visit_rating"
        constraints = (
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="hub_visit_rating_1_5"
            ),
        )
        indexes = (
            models.Index(fields=("branch", "rated_at"), name="hub_visit_rating_by_branch"),
            models.Index(fields=("rated_at",), name="hub_visit_rating_by_time"),
        )
