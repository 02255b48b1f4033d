"""Members and their cards: the person (kept apart so that erasure removes it) and the id."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

from hub.devices.models import Branch, Device


class Member(models.Model):
    """A member of the club, the record a device pushed last (by the hub's `received_at`).

    The personal fields are null once the member is erased; the row stays, so that the
    anonymous ledger still points at it.
    """

    member_id = models.TextField(primary_key=True)  # made by the kiosk that enrolled them
    status = models.TextField(choices=(("active", "active"), ("erased", "erased")))
    created_at = models.DateTimeField()
    # As the device reported it (clamped to the hub's time when far ahead: `future_dated`);
    # records are ordered by the hub's own `received_at`, never by this.
    updated_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    pushed_by = models.ForeignKey(Device, null=True, on_delete=models.SET_NULL, related_name="+")
    phone = models.TextField(null=True, db_index=True)  # E.164
    name = models.TextField(null=True)
    birthday = models.DateField(null=True)
    language = models.TextField(null=True)
    consent_marketing = models.BooleanField(default=False)
    consent_version = models.TextField(null=True)
    consent_at = models.DateTimeField(null=True)
    # Set on a member id enrolled again with a phone another member held (two branches,
    # offline): the id stays, as an alias, and its entries count in this survivor's balance.
    merged_into = models.ForeignKey(
        "self", null=True, on_delete=models.PROTECT, related_name="aliases", db_column="merged_into"
    )

    class Meta:
        db_table = "hub_member"
        indexes = (
            # The panel's search by part of a name (hub/members/search.py: `name ILIKE`):
            # a trigram index answers a contains-match on a million names from the index,
            # where a b-tree can only serve a prefix. pg_trgm ships with PostgreSQL and is a
            # trusted extension (the database's owner may create it).
            GinIndex(fields=("name",), name="hub_member_name_trgm", opclasses=("gin_trgm_ops",)),
        )

    def __str__(self) -> str:
        return self.member_id


class Card(models.Model):
    """A card linked to a member, active or blocked."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="cards")
    uid = models.TextField(db_index=True)
    status = models.TextField(choices=(("active", "active"), ("blocked", "blocked")))

    class Meta:
        db_table = "hub_card"
        constraints = (
            models.UniqueConstraint(fields=("member", "uid"), name="hub_card_once_per_member"),
        )


class BranchMember(models.Model):
    """A member who uses a branch: the branch's feed carries their changes.

    Recorded when the hub takes the member's record or an entry of theirs from a device of
    the branch, or the device looks them up (hub/members/branches.py); never removed.
    """

    # Found by the unique (branch, member) index below; an index of its own would only
    # cost every insert.
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+", db_index=False)
    # No foreign key to hub_member: a key's check would share-lock the member's row, which
    # a push of their record holds for update; the hub writes only ids it has just read.
    member_id = models.TextField()
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hub_branch_member"
        constraints = (
            # Its index is the one the feed's filter probes: (branch, member).
            models.UniqueConstraint(fields=("branch", "member_id"), name="hub_branch_member_once"),
        )


class LookupAllowance(models.Model):
    """A device's lookups left: a bucket refilled at the hourly rate (hub/members/lookup.py)."""

    device = models.OneToOneField(
        Device, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    tokens = models.FloatField()
    updated_at = models.DateTimeField()
    # Whether the owner was told (flag `lookup_rate`) that this device ran out: once a run.
    flagged = models.BooleanField(default=False)

    class Meta:
        db_table = "hub_lookup_allowance"


class Referral(models.Model):
    """A new member's referrer, as the kiosk that enrolled them pushed it with their record
    (`referrer_id`), and what became of it (hub/members/referrals.py keeps it, hub/ledger/
    referrals.py pays it once, docs/program.md "Referrals").

    `state`: pending until the new member's first qualifying purchase, then paid (by the
    device whose bonuses the hub stored, or by the hub itself), capped (the referrer's
    month was full), voided (that purchase was voided: both bonuses taken back) or refused
    when it was taken (`refused` says why). Ids only, no person: no foreign keys, whose
    checks would share-lock member rows a push holds (as BranchMember).
    """

    member_id = models.TextField(primary_key=True)  # the new member, as enrolled
    referrer_id = models.TextField()
    pushed_by = models.ForeignKey(Device, null=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)
    state = models.TextField(
        choices=[(s, s) for s in ("pending", "paid", "capped", "voided", "refused")],
        default="pending",
    )
    refused = models.TextField(null=True)
    paid_by = models.TextField(null=True, choices=(("device", "device"), ("hub", "hub")))
    paid_device = models.ForeignKey(Device, null=True, on_delete=models.SET_NULL, related_name="+")
    purchase_id = models.TextField(null=True)  # the qualifying purchase's entry id
    paid_at = models.DateTimeField(null=True)  # the month the referrer's cap counts it in
    referee_entry = models.TextField(null=True)
    referrer_entry = models.TextField(null=True)

    class Meta:
        db_table = "hub_referral"
        indexes = (
            models.Index(fields=("referrer_id", "paid_at"), name="hub_referral_by_referrer"),
            # The referrals a push has just taken (hub/ledger/referrals.py, `received_at =
            # now()`): found without reading every referral still waiting.
            models.Index(
                fields=("received_at",),
                name="hub_referral_pending",
                condition=models.Q(state="pending"),
            ),
        )
