"""A flag: one thing the hub refused or found suspicious, kept for the owner to look at."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from hub.devices.models import Device


class Flag(models.Model):
    """Something a device sent that the hub refused (or took, but the owner should know).

    `code` is stable (`docs/hub.md` lists them); `detail` holds the figures that explain
    it (points, limits, balances), never a phone number, name or PIN hash.
    """

    raised_at = models.DateTimeField(default=timezone.now)
    code = models.TextField()
    device = models.ForeignKey(Device, null=True, on_delete=models.SET_NULL, related_name="+")
    member_id = models.TextField(null=True)
    entry_id = models.TextField(null=True)
    detail = models.JSONField(default=dict)
    resolved_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "hub_flag"
        ordering = ("id",)
        indexes = (models.Index(fields=("code", "raised_at"), name="hub_flag_by_code"),)
