"""Devices that need someone's attention, from what their heartbeats last said.

A kiosk sends a heartbeat every 300 s (`crm.heartbeat_interval_seconds`) with its queue
of entries not yet pushed, the oldest of them, its readers, its free disk and its clock's
offset from the hub's (docs/sync-protocol.md, "Heartbeat"); the hub keeps the last one on
the device's row (`Device.last_heartbeat`). Revoked devices and devices not enrolled yet
are not counted: nobody is expected to look after them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from hub.devices.models import Device
from hub.formats import parse_timestamp
from hub.insights.scope import Scope


@dataclass(frozen=True)
class Thresholds:
    """When a device needs attention; each is a reason of its own."""

    # Twelve heartbeats missed: a kiosk switched off at night is not a fault by morning.
    unseen_hours: int = 1
    queue_depth: int = 1000  # two batches of 500 not pushed: the network, or the hub refusing
    unsynced_hours: int = 1  # a push goes every 30 s while the hub answers
    # The protocol refuses a signature more than 300 s off; half of it is a warning.
    clock_offset_ms: int = 150_000
    disk_free_bytes: int = 500 * 1024 * 1024


@dataclass(frozen=True)
class DeviceAttention:
    """A device that needs attention and why (reason codes, for the page to word)."""

    device: int  # the device's number (its row id), as `hub device list` shows it
    device_id: str | None
    branch_id: int
    branch: str
    last_seen_at: datetime | None
    reasons: tuple[str, ...]  # never_seen, unseen, queue, unsynced, clock, disk, reader
    queue_depth: int | None
    oldest_unsynced_at: datetime | None
    clock_offset_ms: int | None
    disk_free_bytes: int | None
    version: str | None


def needing_attention(
    scope: Scope, thresholds: Thresholds | None = None, now: datetime | None = None
) -> tuple[DeviceAttention, ...]:
    """Enrolled devices of the scope with at least one reason, in the order they were added."""
    limits = thresholds or Thresholds()
    moment = now or timezone.now()
    devices = Device.objects.select_related("branch").filter(
        revoked_at__isnull=True, secret__isnull=False
    )
    if scope.branch_ids is not None:
        devices = devices.filter(branch_id__in=scope.branch_ids)
    found = []
    for device in devices.order_by("id"):
        item = _attention(device, limits, moment)
        if item.reasons:
            found.append(item)
    return tuple(found)


def _attention(device: Device, limits: Thresholds, now: datetime) -> DeviceAttention:
    beat: dict[str, Any] = device.last_heartbeat or {}
    reasons = []
    if device.last_seen_at is None:
        reasons.append("never_seen")
    elif now - device.last_seen_at > timedelta(hours=limits.unseen_hours):
        reasons.append("unseen")
    queue = beat.get("queue_depth")
    if isinstance(queue, int) and queue >= limits.queue_depth:
        reasons.append("queue")
    oldest_text = beat.get("oldest_unsynced_at")
    oldest = parse_timestamp(oldest_text) if isinstance(oldest_text, str) else None
    if oldest is not None and now - oldest > timedelta(hours=limits.unsynced_hours):
        reasons.append("unsynced")
    offset = beat.get("clock_offset_ms")
    if isinstance(offset, int) and abs(offset) >= limits.clock_offset_ms:
        reasons.append("clock")
    disk = beat.get("disk_free_bytes")
    if isinstance(disk, int) and disk < limits.disk_free_bytes:
        reasons.append("disk")
    readers = beat.get("readers") or []
    if any(isinstance(r, dict) and r.get("state") != "connected" for r in readers):
        reasons.append("reader")
    version = beat.get("version")
    return DeviceAttention(
        device=device.pk,
        device_id=device.device_id,
        branch_id=device.branch_id,
        branch=device.branch.name,
        last_seen_at=device.last_seen_at,
        reasons=tuple(reasons),
        queue_depth=queue if isinstance(queue, int) else None,
        oldest_unsynced_at=oldest,
        clock_offset_ms=offset if isinstance(offset, int) else None,
        disk_free_bytes=disk if isinstance(disk, int) else None,
        version=version if isinstance(version, str) else None,
    )
