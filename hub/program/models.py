"""The owner's public key and chain id, the program's versions, the staff published."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Owner(models.Model):
    """The chain: its id and the public half of its owner's key (one row, made at set-up).

    The private half is a file in the data directory (`owner-key`, mode 0600), never in
    the database: a copy of the database (a backup, `hub export`) signs nothing.
    """

    only = models.BooleanField(primary_key=True, default=True)
    chain_id = models.TextField()
    public_key = models.TextField()  # 32 bytes in base64url, as the enrollment answer has it
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hub_owner"
        constraints = (models.CheckConstraint(condition=models.Q(only=True), name="hub_one_owner"),)


class Program(models.Model):
    """One version of the program as published (signed, in the feed as a `program` change).

    A version stays in force for entries 7 days after the next one supersedes it: kiosks
    that have not pulled the new one yet still earn by the old one.
    """

    version = models.BigIntegerField(unique=True)
    data = models.JSONField()  # the signed data, `version` included
    signature = models.TextField()
    published_at = models.DateTimeField(default=timezone.now)
    superseded_at = models.DateTimeField(null=True)
    # Who published it: a panel user's username, or "" (the `hub` command, the set-up).
    published_by = models.TextField(db_default="", blank=True)

    class Meta:
        db_table = "hub_program"
        ordering = ("version",)


class Staff(models.Model):
    """A staff member as last published (the signed `staff` change's data)."""

    staff_id = models.TextField(primary_key=True)
    data = models.JSONField()  # name, role, PIN hash, cards, disabled: as signed
    published_at = models.DateTimeField(default=timezone.now)
    # The branch they work at, for the panel (a manager sees their branch's staff). Not in
    # the signed data: every kiosk of the chain gets every staff change (hub/feed/feed.py).
    branch = models.ForeignKey(
        "devices.Branch", null=True, on_delete=models.PROTECT, related_name="staff"
    )
    published_by = models.TextField(db_default="", blank=True)

    class Meta:
        db_table = "hub_staff"
        ordering = ("staff_id",)
