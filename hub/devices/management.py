"""Branches and devices as the panel manages them, each operation scoped to the branches a
panel user may act on (None: every branch, the owner's).

Adding a device, a new code and a revocation go through hub/devices/registry.py, as the
`hub branch` and `hub device` commands do: one code path for the shell and the panel. What
is refused is said in Persian and English (`Problem`), and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from hub.devices import health, registry
from hub.devices.enrollment import Issued
from hub.devices.models import Branch, Device
from hub.errors import HubError
from hub.formats import storable
from hub.program.wording import Problem, Text

BranchIds = Collection[int] | None  # None: every branch


@dataclass(frozen=True)
class BranchRow:
    """A branch and how many of its devices are in use."""

    id: int
    name: str
    devices: int
    created_at: datetime


@dataclass(frozen=True)
class DeviceRow:
    """A device, its branch, and its health."""

    number: int
    branch_id: int
    branch: str
    device_id: str | None
    state: str
    enrolled_at: datetime | None
    health: health.Health


def branches(allowed: BranchIds) -> list[BranchRow]:
    """The branches one may see, with their devices not revoked."""
    rows = Branch.objects.annotate(
        in_use=Count("devices", filter=Q(devices__revoked_at__isnull=True))
    ).order_by("id")
    if allowed is not None:
        rows = rows.filter(id__in=list(allowed))
    return [BranchRow(b.pk, b.name, int(b.in_use), b.created_at) for b in rows]


def add_branch(name: str) -> Branch:
    """A new branch (the owner's); Problem for an empty or taken name."""
    name = name.strip()
    if not name or len(name) > 200 or not storable(name):
        raise Problem(
            Text("نام شعبه را بنویسید (تا ۲۰۰ نویسه).", "Name the branch (1 to 200 characters).")
        )
    if Branch.objects.filter(name=name).exists():
        raise Problem(Text("شعبه‌ای با این نام هست.", "A branch of that name exists already."))
    try:
        return registry.add_branch(name)
    except HubError:  # taken at the same moment by another request
        raise Problem(
            Text("شعبه‌ای با این نام هست.", "A branch of that name exists already.")
        ) from None


def add_device(branch_id: int, allowed: BranchIds, now: datetime | None = None) -> Issued:
    """A new device at a branch, with its one-time code (shown once, valid 24 hours)."""
    branch = _branch(branch_id, allowed)
    return registry.add_device(branch.name, now)


def new_code(number: int, allowed: BranchIds, now: datetime | None = None) -> Issued:
    """Another one-time code for a device (its kiosk enrolls again)."""
    device = _device(number, allowed)
    try:
        return registry.new_code(str(device.pk), now)
    except HubError:
        raise Problem(
            Text(
                "این دستگاه لغو شده است و کدی نمی‌گیرد.", "This device is revoked: it gets no code."
            )
        ) from None


def revoke(number: int, allowed: BranchIds) -> tuple[Device, bool]:
    """Revoke a device for good; (the device, whether it was revoked just now)."""
    return registry.revoke(str(_device(number, allowed).pk))


def devices(allowed: BranchIds, now: datetime | None = None) -> list[DeviceRow]:
    """Every device one may see with its health; those needing attention first."""
    moment = now or timezone.now()
    rows = Device.objects.select_related("branch").order_by("id")
    if allowed is not None:
        rows = rows.filter(branch_id__in=list(allowed))
    found = [
        DeviceRow(
            number=d.pk,
            branch_id=d.branch_id,
            branch=d.branch.name,
            device_id=d.device_id,
            state=d.state,
            enrolled_at=d.enrolled_at,
            health=health.assess(d.state, d.last_seen_at, d.last_heartbeat, moment),
        )
        for d in rows.defer("secret")
    ]
    return sorted(found, key=lambda r: (not r.health.needs_attention, r.number))


def _branch(branch_id: int, allowed: BranchIds) -> Branch:
    branch = Branch.objects.filter(pk=branch_id).first()
    if branch is None or (allowed is not None and branch.pk not in allowed):
        raise Problem(Text("چنین شعبه‌ای نیست.", "No such branch."))
    return branch


def _device(number: int, allowed: BranchIds) -> Device:
    # Another branch's device reads as missing: a manager learns nothing of it.
    device = Device.objects.filter(pk=number).first()
    if device is None or (allowed is not None and device.branch_id not in allowed):
        raise Problem(Text("چنین دستگاهی نیست.", "No such device."))
    return device
