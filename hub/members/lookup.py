"""Looking a member up by phone or card for a device (GET /v2/members).

A kiosk is sent its own branch's members only (hub/feed/feed.py); anyone else who comes to
its counter is looked up here, online. The answer is the member's record and balance, as
the feed would carry them, and the member becomes one of the device's branch, so that the
branch's feed carries their later changes.

Each device may look up LOOKUPS_PER_HOUR members an hour (a bucket of that many, refilled
at that rate): a thief with one kiosk's secret cannot walk the phone numbers of the chain.
The first refusal of a run is flagged `lookup_rate` for the owner.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from django.db import connection, transaction

from hub.devices.models import Device
from hub.flags.flags import Raised, raise_flags
from hub.ledger import badge_check
from hub.ledger.models import Balance, Entry, HighWater
from hub.members import branches, records, referrals
from hub.members.models import Card, LookupAllowance, Member

LOOKUPS_PER_HOUR = 300
_PER_SECOND = LOOKUPS_PER_HOUR / 3600
_PHONE = re.compile(r"\+[1-9][0-9]{1,14}")  # E.164, as member records hold it
_CARD = re.compile(r"[0-9A-F]{4,32}")  # the kiosk's form: upper-case hex, no separators
_ALLOWANCES = LookupAllowance._meta.db_table
_MEMBERS = Member._meta.db_table
_CARDS = Card._meta.db_table
_BALANCES = Balance._meta.db_table
_ENTRIES = Entry._meta.db_table
_MARKS = HighWater._meta.db_table
_DEVICES = Device._meta.db_table


@dataclass(frozen=True)
class Found:
    """The member (their survivor, if merged) as a MemberRecord, and their balance change."""

    member: dict[str, Any]
    balance: dict[str, Any]


@dataclass(frozen=True)
class Missing:
    """No member to give: `unknown_member`, or `card_blocked` (the card is blocked)."""

    code: str
    message: str


@dataclass(frozen=True)
class Limited:
    """The device has used its lookups: it may ask again after `retry_after` seconds."""

    retry_after: int


def query_of(query_string: str) -> tuple[str, str]:
    """("phone" or "card", value) from the query; ValueError with the reason if not exactly one."""
    query = parse_qs(query_string, keep_blank_values=True)
    given = [name for name in ("phone", "card") if name in query]
    if len(given) != 1:
        raise ValueError("give either phone or card, not both or neither")
    name = given[0]
    values = query[name]
    pattern = _PHONE if name == "phone" else _CARD
    if len(values) != 1 or not pattern.fullmatch(values[0]):
        form = "in E.164 (+989121234567)" if name == "phone" else "4 to 32 upper-case hex digits"
        raise ValueError(f"{name} must be one value, {form}")
    return name, values[0]


def lookup(device: Device, by: str, value: str) -> Found | Missing | Limited:
    """Look the member up for `device`, within its allowance."""
    with transaction.atomic():
        limited = _take_one(device)
    if limited is not None:
        return limited
    # The branch's membership is committed before the member is read: any change made
    # after the read is then sent to the branch by the feed (hub/feed/feed.py decides when
    # it is read); one made before is in the answer.
    with transaction.atomic():
        member_id = _find(by, value)
        if isinstance(member_id, Missing):
            return member_id
        member_id = records.survivor_of([member_id])[member_id]
        branches.record(device.branch_id, [member_id])
    member = Member.objects.get(pk=member_id)
    if member.status != "active":  # erased between the two reads
        return Missing("unknown_member", "No member with this phone number or card.")
    record = records.record_of(member, member.cards.order_by("id"))
    balance = balance_of(member_id)
    # Their visits at every branch, as the feed's balance changes carry them: the badges a
    # kiosk gives count them (hub/ledger/badge_check.py).
    badge_check.with_visits([("balance", balance)])
    referrals.with_states([("balance", balance)])  # settled at the hub: this kiosk pays no more
    return Found(member=record, balance=balance)


def balance_of(member_id: str) -> dict[str, Any]:
    """The member's balance as a `balance` change carries it, `acknowledged` included."""
    ids = sorted(records.family([member_id]))  # its entries and its aliases' count
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT balance FROM {_BALANCES} WHERE member_id = %s", [member_id])
        row = cursor.fetchone()
        cursor.execute(
            f"""
            SELECT d.device_id, m.high_water FROM {_DEVICES} d
            JOIN {_MARKS} m ON m.device_id = d.id
            WHERE d.device_id IS NOT NULL AND EXISTS (
                SELECT 1 FROM {_ENTRIES} e WHERE e.device_id = d.id AND e.member_id = ANY(%s))
            """,
            [ids],
        )
        acknowledged = {str(device_id): int(mark) for device_id, mark in cursor.fetchall()}
    return {
        "member_id": member_id,
        "balance": int(row[0]) if row is not None else 0,
        "acknowledged": acknowledged,
    }


def _take_one(device: Device) -> Limited | None:
    """Take one lookup from the device's bucket; Limited (and flagged once) when empty."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_ALLOWANCES} (device_id, tokens, updated_at, flagged) "
            "VALUES (%s, %s, now(), false) ON CONFLICT (device_id) DO NOTHING",
            [device.pk, float(LOOKUPS_PER_HOUR)],
        )
        cursor.execute(
            f"SELECT tokens, extract(epoch FROM now() - updated_at), flagged "
            f"FROM {_ALLOWANCES} WHERE device_id = %s FOR UPDATE",
            [device.pk],
        )
        tokens, elapsed, flagged = cursor.fetchone()
        tokens = min(float(LOOKUPS_PER_HOUR), tokens + max(0.0, float(elapsed)) * _PER_SECOND)
        allowed = tokens >= 1
        cursor.execute(
            f"UPDATE {_ALLOWANCES} SET tokens = %s, updated_at = now(), flagged = %s "
            "WHERE device_id = %s",
            [tokens - 1 if allowed else tokens, not allowed, device.pk],
        )
    if allowed:
        return None
    if not flagged:
        raise_flags(device, [Raised("lookup_rate", detail={"per_hour": LOOKUPS_PER_HOUR})])
    return Limited(retry_after=max(1, math.ceil((1 - tokens) / _PER_SECOND)))


def _find(by: str, value: str) -> str | Missing:
    """The id of the member with this phone, or holding this card (an active holder first)."""
    with connection.cursor() as cursor:
        if by == "phone":
            cursor.execute(
                f"SELECT member_id FROM {_MEMBERS} WHERE phone = %s AND status = 'active' "
                "ORDER BY merged_into IS NOT NULL, received_at, member_id LIMIT 1",
                [value],
            )
            row = cursor.fetchone()
            if row is None:
                return Missing("unknown_member", "No member with this phone number.")
            return str(row[0])
        cursor.execute(
            f"SELECT c.member_id, c.status FROM {_CARDS} c "
            f"JOIN {_MEMBERS} m ON m.member_id = c.member_id "
            "WHERE c.uid = %s AND m.status = 'active' "
            "ORDER BY c.status = 'active' DESC, c.id DESC LIMIT 1",
            [value],
        )
        row = cursor.fetchone()
    if row is None:
        return Missing("unknown_member", "No member with this card.")
    if row[1] != "active":
        return Missing("card_blocked", "This card is blocked.")
    return str(row[0])
