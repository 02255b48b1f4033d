"""Raising flags, inside the transaction that made the decision, and listing them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.devices.models import Device
from hub.flags.models import Flag


@dataclass(frozen=True)
class Raised:
    """A flag to raise: its code, and what it is about."""

    code: str
    member_id: str | None = None
    entry_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def raise_flags(device: Device | None, raised: list[Raised]) -> None:
    """Store the flags; call it inside the transaction that refused or took what they name."""
    if raised:
        Flag.objects.bulk_create(
            Flag(
                code=r.code,
                device=device,
                member_id=r.member_id,
                entry_id=r.entry_id,
                detail=r.detail,
            )
            for r in raised
        )


def listing(*, unresolved_only: bool = True) -> list[dict[str, Any]]:
    """Every flag (the unresolved ones by default), oldest first, as plain data."""
    flags = Flag.objects.select_related("device").order_by("id")
    if unresolved_only:
        flags = flags.filter(resolved_at__isnull=True)
    return [
        {
            "id": f.id,
            "raised_at": f.raised_at.isoformat().replace("+00:00", "Z"),
            "code": f.code,
            "device": f.device.device_id if f.device is not None else None,
            "member_id": f.member_id,
            "entry_id": f.entry_id,
            "detail": f.detail,
        }
        for f in flags
    ]
