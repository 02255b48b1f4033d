"""The chain's branches and devices, the codes that enroll them, the nonces they have used."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Branch(models.Model):
    """A shop of the chain."""

    name = models.TextField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hub_branch"
        ordering = ("id",)

    def __str__(self) -> str:
        return self.name


class Device(models.Model):
    """A kiosk at a branch: made by `hub device add`, bound to the kiosk's own id at enrollment.

    The record comes first (with its number, its branch and a one-time code); the kiosk's
    device id (`device.id` in its config) is learnt when it enrolls with that code, and no
    other record may take it afterwards.
    """

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="devices")
    device_id = models.TextField(unique=True, null=True)
    # The HMAC key of the protocol's signatures: the hub must hold it as it is, so it is
    # as sensitive as the database itself (see docs/hub.md, "Security").
    secret = models.BinaryField(null=True)
    created_at = models.DateTimeField(default=timezone.now)
    enrolled_at = models.DateTimeField(null=True)
    revoked_at = models.DateTimeField(null=True)
    last_seen_at = models.DateTimeField(null=True)
    last_heartbeat = models.JSONField(null=True)

    class Meta:
        db_table = "hub_device"
        ordering = ("id",)

    def __str__(self) -> str:
        return f"device {self.pk} ({self.device_id or 'not enrolled'})"

    @property
    def state(self) -> str:
        """revoked, enrolled, or waiting (for its kiosk to enroll)."""
        if self.revoked_at is not None:
            return "revoked"
        return "enrolled" if self.secret is not None else "waiting"


class EnrollmentCode(models.Model):
    """A one-time code bound to one device record; expires after 24 hours."""

    code = models.TextField(primary_key=True)  # normalised: upper case, "XXXX-XXXX"
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="codes")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "hub_enrollment_code"


class RequestNonce(models.Model):
    """A nonce a device signed with, kept while a replay of it could still be on time.

    In PostgreSQL rather than in a process's memory: a request replayed to another hub
    process, or after a restart, is refused all the same.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    nonce = models.TextField()
    seen_at = models.DateTimeField()

    class Meta:
        db_table = "hub_request_nonce"
        constraints = (
            models.UniqueConstraint(fields=("device", "nonce"), name="hub_nonce_once_per_device"),
        )
        indexes = (models.Index(fields=("device", "seen_at"), name="hub_nonce_by_age"),)


class EnrollmentFailure(models.Model):
    """A refused enrollment code, by source address: ten in ten minutes and the source waits.

    Only failures are kept (a kiosk enrolling with a good code leaves no trace), and only
    while they count: older rows go as new failures arrive.
    """

    source = models.TextField()  # an IP address, as the hub sees the client (docs/hub.md)
    failed_at = models.DateTimeField()

    class Meta:
        db_table = "hub_enrollment_failure"
        indexes = (
            models.Index(fields=("source", "failed_at"), name="hub_enroll_failure_by_source"),
            models.Index(fields=("failed_at",), name="hub_enroll_failure_by_age"),
        )


class StorageKey(models.Model):
    """The key that wraps a kiosk's data key (its `hub` key source), kept here for it alone.

    Made at the device's first request for it and never changed: a kiosk whose cache was
    lost (a power cut empties /run) can open its members' data only with this row, so the
    hub's database backups must keep it (docs/hub.md, "The storage key"). It stays with the
    record through a revocation and a reinstatement: the same kiosk, enrolled again, opens
    the data it has.
    """

    device = models.OneToOneField(
        Device, on_delete=models.CASCADE, primary_key=True, related_name="storage_key"
    )
    key = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hub_storage_key"
