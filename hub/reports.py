"""What the owner reads of the hub: its devices (`hub device list`), everything (`hub export`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from django.db import connection, transaction
from django.db.models import BigIntegerField, F, Value
from django.db.models.functions import Coalesce

from hub.devices.models import Branch, Device
from hub.formats import to_timestamp
from hub.ledger.models import Entry, HighWater
from hub.members.models import Member
from hub.members.records import record_of

_CHUNK = 2000


@dataclass(frozen=True)
class DeviceView:
    """A device as the owner sees it (never its secret)."""

    number: int
    branch: str
    device_id: str | None
    state: str
    high_water: int
    enrolled_at: datetime | None
    revoked_at: datetime | None
    last_seen_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "device": self.number,
            "branch": self.branch,
            "device_id": self.device_id,
            "state": self.state,
            "high_water": self.high_water,
            "enrolled_at": _iso(self.enrolled_at),
            "revoked_at": _iso(self.revoked_at),
            "last_seen_at": _iso(self.last_seen_at),
        }


def devices() -> list[DeviceView]:
    """Every device, in the order they were added."""
    marks = dict(HighWater.objects.values_list("device_id", "high_water"))
    return [
        DeviceView(
            number=d.pk,
            branch=d.branch.name,
            device_id=d.device_id,
            state=d.state,
            high_water=int(marks.get(d.pk, 0)),
            enrolled_at=d.enrolled_at,
            revoked_at=d.revoked_at,
            last_seen_at=d.last_seen_at,
        )
        for d in Device.objects.select_related("branch").order_by("id")
    ]


def export(out: TextIO) -> None:
    """Write branches, devices, members (with balances) and entries as one JSON object.

    Streamed a row at a time, so that a chain's whole ledger needs no memory to export; in
    one repeatable-read transaction, so that the sections agree with each other.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        _export(out)


def _export(out: TextIO) -> None:
    out.write("{")
    _section(
        out,
        "branches",
        (
            {"name": b.name, "created_at": _iso(b.created_at)}
            for b in Branch.objects.order_by("id").iterator(_CHUNK)
        ),
        first=True,
    )
    _section(out, "devices", (d.as_json() for d in devices()))
    _section(out, "members", _members())
    _section(out, "entries", _entries())
    out.write("}\n")


def _section(
    out: TextIO, name: str, items: Iterator[dict[str, Any]], *, first: bool = False
) -> None:
    out.write(("" if first else ",") + f"\n{json.dumps(name)}: [")
    for i, item in enumerate(items):
        out.write(("" if i == 0 else ",") + "\n  " + json.dumps(item, ensure_ascii=False))
    out.write("\n]")


def _members() -> Iterator[dict[str, Any]]:
    members = Member.objects.order_by("member_id").annotate(
        points=Coalesce(F("balance__balance"), Value(0), output_field=BigIntegerField())
    )
    for member in members.prefetch_related("cards").iterator(_CHUNK):
        cards = sorted(member.cards.all(), key=lambda c: c.uid)
        # An alias (a merged enrollment) names its survivor; its entries count in that balance.
        yield record_of(member, cards) | {
            "balance": int(member.points),
            "merged_into": member.merged_into_id,
        }


def _entries() -> Iterator[dict[str, Any]]:
    rows = Entry.objects.order_by("device_id", "seq").values_list(
        "device__device_id", "status", "code", "as_pushed"
    )
    for device_id, status, code, as_pushed in rows.iterator(_CHUNK):
        yield {
            "device_id": device_id,
            "status": status,
            "code": code,
            "entry": json.loads(as_pushed),
        }


def _iso(moment: datetime | None) -> str | None:
    return to_timestamp(moment) if moment is not None else None
