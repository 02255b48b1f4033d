"""Entries the hub makes itself: an owner's adjustment of a member's points from the panel.

The ledger stays one table: such an entry is a row of hub_entry like a kiosk's, with no
device (the hub is its source), a sequence of the hub's own (gapless, one at a time under
an advisory lock), a UUID, and `as_pushed` in the kiosk's own shape with `device_id`
"hub", so that every reader of entries (exports, reports, the member's history) reads it
as it reads the others. It counts in the member's hub balance at once, and the `balance`
change it appends reaches the kiosks of the member's branches at their next pull: a kiosk
shows the hub's balance plus its own entries the hub has not acknowledged
(docs/sync-protocol.md, "Pull"), so the adjustment shows there and nothing is counted twice.

Locks, in the order of a push (hub/ledger/push.py): the member's row, their balance row,
the hub's sequence, the feed's.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from hub.errors import HubError
from hub.feed import feed
from hub.formats import to_timestamp
from hub.ledger.models import Balance, Entry
from hub.members import lookup, records
from hub.members.models import Member

HUB_SOURCE = "hub"  # the `device_id` of the hub's own entries as written in `as_pushed`
_SEQUENCE_LOCK = 0x48756241  # "HubA": the advisory lock of the hub's own sequence
_ENTRIES = Entry._meta.db_table
_BALANCES = Balance._meta.db_table
_MEMBERS = Member._meta.db_table


@dataclass(frozen=True)
class Adjusted:
    """An adjustment stored (or found, for a repeated client transaction id)."""

    entry_id: str
    seq: int
    member_id: str  # the survivor whose balance it counts in
    points: int
    balance: int  # the member's hub balance after it
    repeated: bool = False


def adjust(member_id: str, points: int, reason: str, actor: str, client_txn_id: str) -> Adjusted:
    """Add `points` (signed) to the member's balance as an `adjust` entry of the hub.

    `actor` names who made it (kept as the entry's `cashier_id`); a `client_txn_id` seen
    before gives back the first adjustment, nothing added twice. The caller checks limits.
    """
    with transaction.atomic():
        survivor = _lock_member(member_id)
        balance = _lock_balance(survivor)
        found = _made_before(client_txn_id)
        if found is not None:
            return found
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEQUENCE_LOCK])
            cursor.execute(
                f"SELECT COALESCE(MAX(seq), 0) + 1, now() FROM {_ENTRIES} WHERE device_id IS NULL"
            )
            seq, now = cursor.fetchone()
        entry = hub_entry(survivor, int(seq), points, reason, actor, client_txn_id, now)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {_ENTRIES} (device_id, entry_id, seq, status, code, member_id,
                    kind, points, amount, currency, cashier_id, created_at, reverses,
                    reward_id, coupon_code, reason, expires_at, client_txn_id, as_pushed,
                    received_at)
                VALUES (NULL, %s, %s, 'stored', NULL, %s, 'adjust', %s, NULL, NULL, %s, %s,
                    NULL, NULL, NULL, %s, NULL, %s, %s, %s)
                """,
                [
                    str(entry["entry_id"]),
                    seq,
                    survivor,
                    points,
                    actor,
                    now,
                    reason,
                    client_txn_id,
                    json.dumps(entry, sort_keys=True),
                    now,
                ],
            )
            cursor.execute(
                f"UPDATE {_BALANCES} SET balance = balance + %s, updated_at = now() "
                "WHERE member_id = %s",
                [points, survivor],
            )
        feed.append([("balance", lookup.balance_of(survivor))])
    return Adjusted(str(entry["entry_id"]), int(seq), survivor, points, balance + points)


def _lock_member(member_id: str) -> str:
    """Lock the member's row (an erasure waits, or is waited for); their survivor's id."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT status, merged_into FROM {_MEMBERS} WHERE member_id = %s FOR UPDATE",
            [member_id],
        )
        row = cursor.fetchone()
    if row is None or row[0] != "active":
        raise HubError(f"no member {member_id!r} to adjust (unknown or erased)")
    survivor = records.survivor_of([member_id])[member_id]
    if survivor != member_id:
        return _lock_member(survivor)
    return member_id


def _lock_balance(member_id: str) -> int:
    """The member's hub balance, its row made if need be and locked to the end."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_BALANCES} (member_id, balance, updated_at) VALUES (%s, 0, now()) "
            "ON CONFLICT (member_id) DO NOTHING",
            [member_id],
        )
        cursor.execute(
            f"SELECT balance FROM {_BALANCES} WHERE member_id = %s FOR UPDATE", [member_id]
        )
        return int(cursor.fetchone()[0])


def _made_before(client_txn_id: str) -> Adjusted | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.entry_id, e.seq, e.member_id, e.points, b.balance FROM {_ENTRIES} e "
            f"JOIN {_BALANCES} b ON b.member_id = e.member_id "
            "WHERE e.device_id IS NULL AND e.client_txn_id = %s",
            [client_txn_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Adjusted(str(row[0]), int(row[1]), str(row[2]), int(row[3]), int(row[4]), True)


def hub_entry(
    member_id: str,
    seq: int,
    points: int,
    reason: str,
    actor: str,
    client_txn_id: str,
    now: datetime,
    kind: str = "adjust",
) -> dict[str, object]:
    """The entry in the kiosk's shape (hub/ledger/chain.py's LEDGER_FIELDS); the hub's
    referral bonuses (hub/ledger/referrals.py) are in it too."""
    return {
        "entry_id": str(uuid.uuid4()),
        "device_id": HUB_SOURCE,
        "seq": seq,
        "kind": kind,
        "member_id": member_id,
        "points": points,
        "amount": None,
        "currency": None,
        "cashier_id": actor,
        "created_at": to_timestamp(now),
        "client_txn_id": client_txn_id,
        "reverses": None,
        "reward_id": None,
        "coupon_code": None,
        "reason": reason,
        "expires_at": None,
    }
