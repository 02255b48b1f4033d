"""The change feed: one row per change, in the order a kiosk must apply them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Change(models.Model):
    """A change for the kiosks to pull; `cursor` only grows (hub/feed/feed.py says how)."""

    cursor = models.BigAutoField(primary_key=True)
    type = models.TextField()
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hub_change"
        ordering = ("cursor",)
