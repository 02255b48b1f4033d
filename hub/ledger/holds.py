"""Online redemption holds (docs/sync-protocol.md, "Holds"): points set aside at the hub.

A kiosk that can reach the hub asks it to hold a reward's points before it shows the
coupon. What a member may hold is their hub balance minus the points of their active holds
(not confirmed, not released, not expired) of every device. A hold is taken under the
member's balance row lock (`SELECT ... FOR UPDATE` on hub_balance, the row every push
locks in member-id order), so two kiosks racing for the same points are served one after
the other and the second sees the first's hold. A hold holds for 15 minutes; the device's
pushed redeem entry with the same client_txn_id, member and points confirms it (then the
entry's own points have left the balance), and the device may release it when it could
not finish. Times are the database's (`now()`): one clock for every hub process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction

from hub.devices.models import Device
from hub.formats import is_int64, is_text
from hub.ledger.models import Balance, Hold
from hub.members.models import Member

HOLD_MINUTES = 15
MAX_TXN_ID = 100  # the kiosk's own bound on a client transaction id
_HOLDS = Hold._meta.db_table
_BALANCES = Balance._meta.db_table
_MEMBERS = Member._meta.db_table
# An active hold: the one condition every sum of held points uses.
_ACTIVE = "state = 'active' AND expires_at > now()"


@dataclass(frozen=True)
class Taken:
    """A hold made (201) or repeated (200), and the answer's body."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Refused:
    """No hold: a 409 with this code, message and extra members (`available`)."""

    code: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)


def request_problem(body: dict[str, Any]) -> str | None:
    """Why a POST /v2/holds body is not a HoldRequest, or None."""
    txn, member_id = body.get("client_txn_id"), body.get("member_id")
    points, reward_id = body.get("points"), body.get("reward_id")
    if not isinstance(txn, str) or not is_text(txn) or not 1 <= len(txn) <= MAX_TXN_ID:
        return f"client_txn_id must be text of 1 to {MAX_TXN_ID} characters"
    if not is_text(member_id) or not member_id:
        return "member_id must be text"
    if not is_int64(points, minimum=1):
        return "points must be a whole number above 0"
    if reward_id is not None and not is_text(reward_id):
        return "reward_id must be text or null"
    return None


def take(
    device: Device, client_txn_id: str, member_id: str, points: int, reward_id: str | None
) -> Taken | Refused:
    """Hold `points` of the member for the device's transaction, or say why not."""
    with transaction.atomic(), connection.cursor() as cursor:
        _no_disk_wait(cursor)
        # A merged enrollment spends its survivor's points: the hold is the survivor's.
        # The survivor's row is read under a share lock: an erasure holds it locked from
        # its status change to its commit (hub/members/operations.py `erase`), so a hold
        # asked for meanwhile waits, then sees `erased`, instead of outliving it.
        cursor.execute(
            f"SELECT s.status, s.member_id FROM {_MEMBERS} m JOIN {_MEMBERS} s "
            "ON s.member_id = COALESCE(m.merged_into, m.member_id) WHERE m.member_id = %s "
            "FOR SHARE OF s",
            [member_id],
        )
        row = cursor.fetchone()
        first = _find(cursor, device, client_txn_id, lock=False)
        if row is not None:
            member_id = str(row[1])
        if first is not None and (first["member_id"], first["points"]) != (member_id, points):
            return _conflict()  # this transaction holds something else (whoever it names)
        if row is None or row[0] != "active":
            return Refused("unknown_member", "The hub has no member with this id.")
        balance = _lock_balance(cursor, member_id)
        held = _find(cursor, device, client_txn_id, lock=True)
        if held is not None:
            if (held["member_id"], held["points"]) != (member_id, points):
                return _conflict()
            if held["state"] == "confirmed" or (held["state"] == "active" and held["live"]):
                return Taken(200, _body(held))
        available = balance - _held_of(cursor, member_id)
        if points > available:
            return Refused(
                "insufficient_points",
                "The member's points at the hub do not cover this.",
                {"available": max(available, 0)},
            )
        if held is None:
            made = _insert(cursor, device, client_txn_id, member_id, points, reward_id, available)
            if made is None:  # the same transaction id, held meanwhile by a repeat in flight
                return take(device, client_txn_id, member_id, points, reward_id)  # the survivor
            return Taken(201, _body(made))
        # Released or expired: taken again, as a new hold would be (it had let go).
        cursor.execute(
            f"UPDATE {_HOLDS} SET state = 'active', available = %s, created_at = now(), "
            f"expires_at = now() + interval '{HOLD_MINUTES} minutes' WHERE id = %s",
            [available - points, held["id"]],
        )
        again = _find(cursor, device, client_txn_id, lock=False)
        assert again is not None
        return Taken(200, _body(again))


def _no_disk_wait(cursor: Any) -> None:
    """Commit this transaction without waiting for the disk to have its record.

    A shopper waits at the counter for a hold, and a commit waits for every record written
    before it to reach the disk: with kiosks pushing batches of 500, for theirs too. A
    crash may lose the last fraction of a second of holds (PostgreSQL's
    wal_writer_delay); the redemption is then judged, when its entry arrives, as one made
    offline: within the allowance, as every kiosk out of reach is. Never for entries.
    """
    cursor.execute("SET LOCAL synchronous_commit TO off")


def release(device: Device, client_txn_id: str) -> bool:
    """Let go of the device's active hold; whether there was one to let go of."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_HOLDS} SET state = 'released' "
            f"WHERE device_id = %s AND client_txn_id = %s AND {_ACTIVE}",
            [device.pk, client_txn_id],
        )
        return bool(cursor.rowcount > 0)


def held_points(member_ids: list[str]) -> dict[str, int]:
    """The points of the active holds of each member (of every device); 0 when none."""
    wanted = sorted(set(member_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT member_id, SUM(points) FROM {_HOLDS} "
            f"WHERE member_id = ANY(%s) AND {_ACTIVE} GROUP BY member_id",
            [wanted],
        )
        found = {str(row[0]): int(row[1]) for row in cursor.fetchall()}
    return {member_id: found.get(member_id, 0) for member_id in wanted}


# The member an entry's member id counts in: itself, or the survivor it was merged into.
_SURVIVOR = f"(SELECT COALESCE(merged_into, member_id) FROM {_MEMBERS} WHERE member_id = %s)"


def confirms(device: Device, entry: dict[str, Any]) -> bool:
    """Whether a (checked) entry is the redeem a hold of this device was made for.

    A hold confirmed or expired still counts: the kiosk had the hub's word before it gave
    the coupon. A released one does not: the kiosk said it would not finish.
    """
    txn = entry.get("client_txn_id")
    if entry.get("kind") != "redeem" or not is_text(txn):
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {_HOLDS} WHERE device_id = %s AND client_txn_id = %s "
            f"AND member_id = {_SURVIVOR} AND points = %s AND state <> 'released'",
            [device.pk, txn, entry.get("member_id"), -_points(entry)],
        )
        return cursor.fetchone() is not None


def confirm(device: Device, entries: list[dict[str, Any]]) -> int:
    """Mark confirmed the holds the device's stored redeem entries were made for; how many.

    Called by a push after it stored the entries and moved the balances (so after the
    balance locks, in the order a hold takes them).
    """
    count = 0
    with connection.cursor() as cursor:
        for entry in entries:
            txn = entry.get("client_txn_id")
            if entry.get("kind") != "redeem" or not is_text(txn):
                continue
            cursor.execute(
                f"UPDATE {_HOLDS} SET state = 'confirmed', entry_id = %s "
                f"WHERE device_id = %s AND client_txn_id = %s AND member_id = {_SURVIVOR} "
                "AND points = %s AND state = 'active'",
                [entry.get("entry_id"), device.pk, txn, entry.get("member_id"), -_points(entry)],
            )
            count += cursor.rowcount
    return count


# -- the rows ----------------------------------------------------------------------------


def _points(entry: dict[str, Any]) -> int:
    points = entry.get("points")
    return points if is_int64(points) and isinstance(points, int) else 0


def _conflict() -> Refused:
    return Refused(
        "hold_conflict",
        "This client_txn_id already holds points for another member or amount.",
    )


def _lock_balance(cursor: Any, member_id: str) -> int:
    """The member's hub balance, its row locked to the end of the transaction."""
    cursor.execute(
        f"INSERT INTO {_BALANCES} (member_id, balance, updated_at) VALUES (%s, 0, now()) "
        "ON CONFLICT (member_id) DO NOTHING",
        [member_id],
    )
    cursor.execute(f"SELECT balance FROM {_BALANCES} WHERE member_id = %s FOR UPDATE", [member_id])
    return int(cursor.fetchone()[0])


def _held_of(cursor: Any, member_id: str) -> int:
    cursor.execute(
        f"SELECT COALESCE(SUM(points), 0) FROM {_HOLDS} WHERE member_id = %s AND {_ACTIVE}",
        [member_id],
    )
    return int(cursor.fetchone()[0])


_FIELDS = "id, member_id, points, state, available, expires_at, expires_at > now(), client_txn_id"


def _find(cursor: Any, device: Device, client_txn_id: str, *, lock: bool) -> dict[str, Any] | None:
    cursor.execute(
        f"SELECT {_FIELDS} FROM {_HOLDS} WHERE device_id = %s AND client_txn_id = %s"
        + (" FOR UPDATE" if lock else ""),
        [device.pk, client_txn_id],
    )
    row = cursor.fetchone()
    return None if row is None else _hold(row)


def _insert(
    cursor: Any,
    device: Device,
    client_txn_id: str,
    member_id: str,
    points: int,
    reward_id: str | None,
    available: int,
) -> dict[str, Any] | None:
    cursor.execute(
        f"INSERT INTO {_HOLDS} (device_id, client_txn_id, member_id, points, reward_id, state, "
        "available, created_at, expires_at) VALUES (%s, %s, %s, %s, %s, 'active', %s, now(), "
        f"now() + interval '{HOLD_MINUTES} minutes') "
        f"ON CONFLICT (device_id, client_txn_id) DO NOTHING RETURNING {_FIELDS}",
        [device.pk, client_txn_id, member_id, points, reward_id, available - points],
    )
    row = cursor.fetchone()
    return None if row is None else _hold(row)


def _hold(row: tuple[Any, ...]) -> dict[str, Any]:
    names = ("id", "member_id", "points", "state", "available", "expires_at", "live", "txn")
    return dict(zip(names, row, strict=True))


def _body(hold: dict[str, Any]) -> dict[str, Any]:
    expires: datetime = hold["expires_at"]
    return {
        "client_txn_id": hold["txn"],
        "member_id": hold["member_id"],
        "points": int(hold["points"]),
        "available": max(int(hold["available"]), 0),
        "expires_at": expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
