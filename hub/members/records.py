"""Members as the devices push them: the newest record wins, and the feed hears of it.

Protocol v1 keeps the record with the newest `updated_at` (the device's clock). The rules
of v2 (issue 15: the hub's own received-at order, no device moving another member's phone
or card) belong in `_accepted`, the one place that decides whether a record is taken.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection

from hub.devices.models import Device
from hub.formats import parse_date, parse_timestamp, to_timestamp
from hub.members.models import Card, Member

_MEMBERS = Member._meta.db_table
_CARDS = Card._meta.db_table

FeedChange = tuple[str, dict[str, Any]]


def accept(device: Device, records: list[dict[str, Any]]) -> list[FeedChange]:
    """Take checked MemberRecords in one transaction; the feed changes they make.

    Rows are locked in member-id order, as every push does, so that two pushes naming the
    same members wait for each other instead of deadlocking.
    """
    ordered = sorted(records, key=lambda r: str(r["member_id"]))  # stable: batch order kept
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT member_id, status FROM {_MEMBERS} WHERE member_id = ANY(%s) "
            "ORDER BY member_id FOR UPDATE",
            [sorted({str(r["member_id"]) for r in ordered})],
        )
        status_of: dict[str, str] = {str(row[0]): str(row[1]) for row in cursor.fetchall()}
    changes: list[FeedChange] = []
    for record in ordered:
        member_id = str(record["member_id"])
        if not _accepted(device, record) or not _write(device, record):
            continue
        erased = record["status"] == "erased"
        if erased and status_of.get(member_id) != "erased":
            changes.append(("erasure", {"member_id": member_id}))
        elif not erased:
            changes.append(("member", record))
        status_of[member_id] = str(record["status"])
    return changes


def _accepted(device: Device, record: dict[str, Any]) -> bool:
    """Whether the hub takes this record from this device (v1: every checked record)."""
    return True


def _write(device: Device, record: dict[str, Any]) -> bool:
    """Insert or update the member if the record is newer; whether it was written."""
    erased = record["status"] == "erased"
    values = _columns(record)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_MEMBERS} (member_id, status, created_at, updated_at, received_at,
                pushed_by_id, phone, name, birthday, language, consent_marketing,
                consent_version, consent_at)
            VALUES (%s, %s, %s, %s, now(), %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (member_id) DO UPDATE SET
                status = excluded.status, created_at = excluded.created_at,
                updated_at = excluded.updated_at, received_at = excluded.received_at,
                pushed_by_id = excluded.pushed_by_id, phone = excluded.phone,
                name = excluded.name, birthday = excluded.birthday,
                language = excluded.language, consent_marketing = excluded.consent_marketing,
                consent_version = excluded.consent_version, consent_at = excluded.consent_at
            WHERE {_MEMBERS}.updated_at < excluded.updated_at
            RETURNING member_id
            """,
            [
                record["member_id"],
                record["status"],
                parse_timestamp(record["created_at"]),
                parse_timestamp(record["updated_at"]),
                device.pk,
                *values,
            ],
        )
        if cursor.fetchone() is None:
            return False  # as new or newer is held
        cursor.execute(f"DELETE FROM {_CARDS} WHERE member_id = %s", [record["member_id"]])
        if not erased:
            cursor.executemany(
                f"INSERT INTO {_CARDS} (member_id, uid, status) VALUES (%s, %s, %s)",
                [(record["member_id"], uid, status) for uid, status in _cards(record).items()],
            )
    return True


def _columns(record: dict[str, Any]) -> list[Any]:
    """The personal columns of a record (all null for an erased member)."""
    if record["status"] == "erased":
        return [None, None, None, None, False, None, None]
    return [
        record["phone"],
        record["name"],
        parse_date(record["birthday"]) if record["birthday"] else None,
        record["language"],
        record["consent_marketing"],
        record["consent_version"],
        parse_timestamp(record["consent_at"]) if record["consent_at"] else None,
    ]


def _cards(record: dict[str, Any]) -> dict[str, str]:
    """uid -> status; a uid listed twice keeps its last status."""
    return {str(card["uid"]): str(card["status"]) for card in record["cards"]}


def record_of(member: Member, cards: Iterable[Card]) -> dict[str, Any]:
    """The member as a MemberRecord of the protocol (for `hub export` and the feed)."""
    head: dict[str, Any] = {
        "member_id": member.member_id,
        "status": member.status,
        "created_at": to_timestamp(member.created_at),
        "updated_at": to_timestamp(member.updated_at),
    }
    if member.status == "erased":
        return head
    return head | {
        "phone": member.phone,
        "name": member.name,
        "birthday": member.birthday.isoformat() if member.birthday else None,
        "language": member.language,
        "consent_marketing": member.consent_marketing,
        "consent_version": member.consent_version,
        "consent_at": _iso(member.consent_at),
        "cards": [{"uid": card.uid, "status": card.status} for card in cards],
    }


def _iso(moment: datetime | None) -> str | None:
    return to_timestamp(moment) if moment is not None else None
