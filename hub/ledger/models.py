"""The chain's ledger: every entry as a device pushed it, balances, and high-water marks."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from hub.devices.models import Device
from hub.members.models import Member


class Entry(models.Model):
    """One ledger row of one device, held for ever under (device, entry id).

    A rejected entry is kept too (with its code), so that a kiosk repeating it hears the
    same answer, and its sequence number counts towards the high-water mark. The typed
    columns are filled for stored entries; `as_pushed` is the JSON exactly as received.
    """

    # Null for an entry the hub made itself (an owner's adjustment from the panel,
    # hub/ledger/adjustments.py): the hub is then its source, with a sequence of its own.
    device = models.ForeignKey(Device, null=True, on_delete=models.PROTECT, related_name="+")
    entry_id = models.TextField()
    seq = models.BigIntegerField()
    status = models.TextField(choices=(("stored", "stored"), ("rejected", "rejected")))
    code = models.TextField(null=True)  # why it was rejected
    member = models.ForeignKey(Member, null=True, on_delete=models.PROTECT, related_name="+")
    kind = models.TextField(null=True)
    points = models.BigIntegerField(default=0)
    amount = models.BigIntegerField(null=True)
    currency = models.TextField(null=True)
    cashier_id = models.TextField(null=True)
    created_at = models.DateTimeField(null=True)
    reverses = models.TextField(null=True)
    reward_id = models.TextField(null=True)
    coupon_code = models.TextField(null=True)
    reason = models.TextField(null=True)
    expires_at = models.DateTimeField(null=True)
    client_txn_id = models.TextField(null=True)
    # Text, not jsonb: a rejected entry may hold what jsonb refuses (a \u0000 escape).
    as_pushed = models.TextField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hub_entry"
        constraints = (
            models.UniqueConstraint(fields=("device", "entry_id"), name="hub_entry_once"),
            models.UniqueConstraint(fields=("device", "seq"), name="hub_entry_seq_once"),
            # The hub's own entries (device null, which the two above let through): one
            # gapless sequence, an id once, a client transaction id once (a form sent twice).
            models.UniqueConstraint(
                fields=("seq",), condition=models.Q(device=None), name="hub_entry_hub_seq_once"
            ),
            models.UniqueConstraint(
                fields=("entry_id",), condition=models.Q(device=None), name="hub_entry_hub_once"
            ),
            models.UniqueConstraint(
                fields=("client_txn_id",),
                condition=models.Q(device=None),
                name="hub_entry_hub_txn_once",
            ),
        )
        indexes = (models.Index(fields=("member", "device"), name="hub_entry_by_member"),)


class Balance(models.Model):
    """A member's points: the sum of their stored entries, kept as entries arrive."""

    member = models.OneToOneField(
        Member, primary_key=True, on_delete=models.PROTECT, related_name="balance"
    )
    balance = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hub_balance"


class HighWater(models.Model):
    """The highest sequence number of a device up to which the hub holds every entry.

    Its row is locked for the whole of a push: a device's pushes are taken one at a time,
    whichever hub process receives them.
    """

    device = models.OneToOneField(
        Device, primary_key=True, on_delete=models.PROTECT, related_name="high_water"
    )
    high_water = models.BigIntegerField(default=0)

    class Meta:
        db_table = "hub_high_water"


class Hold(models.Model):
    """Points a device asked to spend, set aside at the hub until its redeem entry arrives.

    Active while neither confirmed (by the device's pushed redeem entry with the same
    client_txn_id, member and points) nor released (by the device) nor past `expires_at`.
    One per (device, client_txn_id): a repeat is the same hold.
    """

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="+")
    client_txn_id = models.TextField()
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    points = models.BigIntegerField()
    reward_id = models.TextField(null=True)
    state = models.TextField(
        choices=(("active", "active"), ("confirmed", "confirmed"), ("released", "released"))
    )
    available = models.BigIntegerField()  # after this hold, as first answered (for a repeat)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    entry_id = models.TextField(null=True)  # the redeem entry that confirmed it

    class Meta:
        db_table = "hub_hold"
        constraints = (
            models.UniqueConstraint(fields=("device", "client_txn_id"), name="hub_hold_once"),
        )
        indexes = (models.Index(fields=("member", "state"), name="hub_hold_by_member"),)


class ChainHead(models.Model):
    """The last head of a device's ledger or audit chain that a push named (`chain_head`).

    Kept to compare the next one with (hub/ledger/chain.py): `at` is the entry's seq or
    the audit record's id, `hash` its link, as the kiosk computes it (docs/sync-protocol.md).
    """

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="+")
    chain = models.TextField(choices=(("ledger", "ledger"), ("audit", "audit")))
    at = models.BigIntegerField()
    hash = models.TextField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hub_chain_head"
        constraints = (
            models.UniqueConstraint(fields=("device", "chain"), name="hub_chain_head_once"),
        )
