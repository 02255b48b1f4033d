"""A verification: one code sent to one phone for one device and purpose."""

from __future__ import annotations

from django.db import models

from hub.devices.models import Device


class Verification(models.Model):
    """A code sent (its keyed hash only), the tries at it, and what it proved.

    The phone is kept as a keyed digest (hub/verification/secrets.py): enough to count the
    codes sent to a number and to bind the proof to it, never the number itself; the
    message in the outbox has the number, as it must to be sent.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    purpose = models.TextField(choices=(("enroll", "enroll"), ("link_card", "link_card")))
    phone_digest = models.TextField()
    card = models.TextField(null=True)  # the card's uid as the protocol carries it (link_card)
    code_hash = models.TextField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.IntegerField(default=0)
    # pending: waiting for the code; verified: typed right; dead: expired, too many wrong
    # tries, or replaced by a resend; used: its proof taken by a push.
    state = models.TextField(default="pending")
    verified_at = models.DateTimeField(null=True)
    used_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "hub_verification"
        indexes = (
            # The hourly limits and the resend delay count a phone's and a device's sends.
            models.Index(fields=("phone_digest", "created_at"), name="hub_verif_by_phone"),
            models.Index(fields=("device", "created_at"), name="hub_verif_by_device"),
        )
