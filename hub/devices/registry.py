"""The owner's operations on branches and devices (the `hub branch` and `hub device` commands)."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from hub.devices import enrollment
from hub.devices.models import Branch, Device
from hub.errors import HubError
from hub.formats import storable


def add_branch(name: str) -> Branch:
    """A new branch; HubError for an empty name or one that exists."""
    name = name.strip()
    if not name or not storable(name) or len(name) > 200:
        raise HubError("a branch needs a name (1 to 200 characters)")
    try:
        with transaction.atomic():
            return Branch.objects.create(name=name)
    except IntegrityError:
        raise HubError(f"a branch named {name!r} exists already") from None


def branch_named(name: str) -> Branch:
    """The branch of that name; HubError naming the branches there are."""
    branch = Branch.objects.filter(name=name.strip()).first() if storable(name) else None
    if branch is None:
        names = ", ".join(repr(b.name) for b in Branch.objects.all()[:20]) or "none yet"
        raise HubError(f"no branch named {name!r} (branches: {names}); add it: hub branch add NAME")
    return branch


def add_device(branch_name: str, now: datetime | None = None) -> enrollment.Issued:
    """A new device record at a branch, with its one-time enrollment code."""
    branch = branch_named(branch_name)
    with transaction.atomic():
        device = Device.objects.create(branch=branch)
        return enrollment.issue(device, now)


def device_by_ref(ref: str) -> Device:
    """A device by its number (`hub device list`) or by the kiosk's device id."""
    ref = ref.strip()
    if ref.isascii() and ref.isdigit():
        device = Device.objects.filter(pk=int(ref)).first() if len(ref) < 19 else None
    else:
        device = Device.objects.filter(device_id=ref).first() if storable(ref) else None
    if device is None:
        raise HubError(f"no device {ref!r}: see hub device list")
    return device


def new_code(ref: str, now: datetime | None = None) -> enrollment.Issued:
    """Another one-time code for an existing device (re-enrolling the same kiosk)."""
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device_by_ref(ref).pk)
        if device.revoked_at is not None:
            raise HubError(f"device {device.pk} is revoked: it gets no enrollment code")
        return enrollment.issue(device, now)


def revoke(ref: str) -> tuple[Device, bool]:
    """Revoke a device for good: its requests and codes are refused. (device, newly revoked)."""
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device_by_ref(ref).pk)
        if device.revoked_at is not None:
            return device, False
        device.revoked_at = timezone.now()
        device.save(update_fields=["revoked_at"])
    return device, True


def reinstate(ref: str, now: datetime | None = None) -> enrollment.Issued:
    """Lift a revocation on purpose: the old secret stays refused; a new code to enroll again.

    Whoever took the kiosk's SD card holds its old secret, so reinstating never brings that
    secret back: the record waits for its kiosk to enroll again, with the code printed here.
    """
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device_by_ref(ref).pk)
        if device.revoked_at is None:
            raise HubError(f"device {device.pk} is not revoked: nothing to lift")
        device.revoked_at = None
        device.secret = None
        device.save(update_fields=["revoked_at", "secret"])
        return enrollment.issue(device, now)
