"""A push, taken in one PostgreSQL transaction: members, entries, balances, high-water mark.

The behaviour on the wire is the simulated CRM's (sim/crm_store.py), which the kiosk is
tested against: entries held for ever under (device, entry id), a repeat counted as a
duplicate (and rejected again with its first code), the same sequence number under
another id rejected as `seq_conflict`, an entry of an unknown member rejected, and the
high-water mark stopping below the first gap.

Locks, always in this order, so that concurrent pushes wait instead of deadlocking: the
device's high-water row (one push per device at a time, in any hub process), the members
of the batch (by id), the balances (by member id), and last the feed's.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from hub.devices.models import Device
from hub.feed import feed
from hub.flags.flags import Raised, raise_flags
from hub.formats import is_text, parse_timestamp
from hub.integration import events
from hub.ledger import badge_check, chain, holds, rules
from hub.ledger.checks import entry_key, entry_problem
from hub.ledger.models import Balance, Entry, HighWater
from hub.members import branches, records, referrals
from hub.members.models import Member
from hub.messaging import receipts

MAX_BATCH = 1000
_ENTRIES = Entry._meta.db_table
_BALANCES = Balance._meta.db_table
_MARKS = HighWater._meta.db_table
_MEMBERS = Member._meta.db_table
_DEVICES = Device._meta.db_table
REJECTIONS = {
    "invalid_entry": "The entry is missing a field or has one of the wrong type.",
    "unknown_member": "No member with this id was pushed before the entry.",
    "seq_conflict": "Another entry of this device already has this sequence number.",
    "outside_program": "The program in force does not allow this entry (its kind, points, "
    "amount, reward or the entry it reverses); the owner is told.",
    "overdraw": "This redemption takes the member's points at the hub below what the "
    "offline allowance permits; the owner is told.",
}
_COLUMNS = (
    "device_id, entry_id, seq, status, code, member_id, kind, points, amount, currency, "
    "cashier_id, created_at, reverses, reward_id, coupon_code, reason, expires_at, "
    "client_txn_id, as_pushed, received_at"
)


@dataclass
class PushResult:
    """The answer to one push."""

    high_water: int
    stored: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def answer(self) -> dict[str, Any]:
        """The body of the 200 answer."""
        return {
            "high_water": self.high_water,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
        }


@dataclass
class _Held:
    """What the hub already holds of this device for the batch's ids and sequence numbers."""

    code_of: dict[str, str | None]  # entry id -> its rejection code (None: stored)
    seqs: set[int]


def push(
    device: Device,
    members: list[dict[str, Any]],
    entries: list[Any],
    chain_head: object = None,
) -> PushResult:
    """Store a checked batch (member records already checked); the answer.

    `chain_head` (optional) is compared with the last kept (hub/ledger/chain.py): a
    history rewritten after a push raises `chain_broken`, and the push is taken as ever.
    """
    with transaction.atomic():
        _lock_mark(device)
        changes = records.accept(device, members)
        held = _held(device, entries)
        known = _known_members(entries)
        judge = rules.Judge(device, entries, known)  # locks the members' balances
        raised: list[Raised] = []
        result = PushResult(high_water=0)
        rows: list[tuple[Any, ...]] = []
        points: dict[str, int] = defaultdict(int)
        stored: list[dict[str, Any]] = []  # for the holds they confirm
        for entry in entries:
            code = _take(device, entry, held, known, rows, judge, raised)
            if code == "duplicate":
                result.duplicates += 1
            elif code is not None and code.startswith("duplicate:"):
                result.duplicates += 1
                result.rejected.append(_rejection(entry, code.partition(":")[2]))
            elif code is None:
                result.stored += 1
                points[entry["member_id"]] += entry["points"]
                stored.append(entry)
            else:
                result.rejected.append(_rejection(entry, code))
        _insert(rows)
        for member_id, added in judge.referrals.settle(raised).items():  # the hub pays
            points[member_id] += added  # (hub/ledger/referrals.py)
        events.emit(events.EntriesStored(device, stored))  # for the CRM, in this transaction
        raise_flags(device, raised)  # nothing the hub refuses goes unseen by the owner
        result.high_water = _advance(device)
        raise_flags(device, chain.check(device, chain_head, result.high_water))
        for kind, data in changes:  # a merge: the survivor's balance, now with the alias's
            if kind == "merge":
                points[data["into"]] += 0
        changes += _balances_changed(points)
        badge_check.with_visits(changes)  # the members' visits at every branch, for badges
        referrals.with_states(changes)  # a referral settled here: the enrolling kiosk pays no more
        receipts.after_push(device, stored)  # SMS receipts, with the balances after them
        holds.confirm(device, stored)  # after the balance locks: the order a hold takes
        branches.record_taken(device.branch_id, changes)  # before the feed's lock
        feed.append(changes)
    return result


def _lock_mark(device: Device) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_MARKS} (device_id, high_water) VALUES (%s, 0) "
            "ON CONFLICT (device_id) DO NOTHING",
            [device.pk],
        )
        cursor.execute(f"SELECT 1 FROM {_MARKS} WHERE device_id = %s FOR UPDATE", [device.pk])


def _held(device: Device, entries: list[Any]) -> _Held:
    keys = [entry_key(e) for e in entries if isinstance(e, dict)]
    ids = sorted({k[0] for k in keys if k[0] is not None})
    seqs = sorted({k[1] for k in keys if k[1] is not None})
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT entry_id, seq, code FROM {_ENTRIES} WHERE device_id = %s "
            "AND (entry_id = ANY(%s) OR seq = ANY(%s))",
            [device.pk, ids, seqs],
        )
        rows = cursor.fetchall()
    return _Held(code_of={str(r[0]): r[2] for r in rows}, seqs={int(r[1]) for r in rows})


def _known_members(entries: list[Any]) -> set[str]:
    wanted = sorted(
        {e["member_id"] for e in entries if isinstance(e, dict) and is_text(e.get("member_id"))}
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT member_id FROM {_MEMBERS} WHERE member_id = ANY(%s)", [wanted])
        return {str(row[0]) for row in cursor.fetchall()}


def _take(
    device: Device,
    entry: object,
    held: _Held,
    known: set[str],
    rows: list[tuple[Any, ...]],
    judge: rules.Judge,
    raised: list[Raised],
) -> str | None:
    """Judge one entry and queue its row: None (stored), a rejection code, or a duplicate.

    Every rejection but a duplicate's raises a flag (so does an offline overdraw stored).
    """
    if not isinstance(entry, dict):
        raised.append(Raised("invalid_entry", detail={"reason": "not an object"}))
        return "invalid_entry"
    entry_id, seq = entry_key(entry)
    if entry_id is None or seq is None:
        raised.append(Raised("invalid_entry", detail={"reason": "no entry_id or seq"}))
        return "invalid_entry"  # nothing to keep it under: not stored
    if entry_id in held.code_of:
        # Rejected the first time: say so again, the kiosk may have missed the answer.
        first = held.code_of[entry_id]
        return "duplicate" if first is None else f"duplicate:{first}"
    member_id = entry.get("member_id") if is_text(entry.get("member_id")) else None
    if seq in held.seqs:
        raised.append(Raised("seq_conflict", member_id, entry_id, {"seq": seq}))
        return "seq_conflict"
    verdict = _judge(device, entry, known, judge)
    if verdict.flag is not None:
        raised.append(Raised(verdict.flag, member_id, entry_id, verdict.detail))
    if verdict.code is None:
        judge.stored(entry)
    held.code_of[entry_id] = verdict.code
    held.seqs.add(seq)
    rows.append(_row(device, entry, entry_id, seq, verdict.code))
    return verdict.code


def _judge(
    device: Device, entry: dict[str, Any], known: set[str], judge: rules.Judge
) -> rules.Verdict:
    """Why the hub rejects a new entry for good (and the flag it raises), or store it.

    The shape of a ledger row, a member the hub knows, then the program's rules and the
    overdraw (hub/ledger/rules.py).
    """
    problem = entry_problem(entry, str(device.device_id))
    if problem is not None:
        return rules.Verdict("invalid_entry", "invalid_entry", {"reason": problem})
    if entry["member_id"] not in known:
        return rules.Verdict("unknown_member", "unknown_member")
    return judge.judge(entry)


def _row(
    device: Device, entry: dict[str, Any], entry_id: str, seq: int, code: str | None
) -> tuple[Any, ...]:
    text = json.dumps(entry, sort_keys=True)  # ASCII: \u0000 stays an escape, not a NUL
    if code is not None:
        return (device.pk, entry_id, seq, "rejected", code, *([None] * 2), 0, *([None] * 10), text)
    return (
        device.pk,
        entry_id,
        seq,
        "stored",
        None,
        entry["member_id"],
        entry["kind"],
        entry["points"],
        entry["amount"],
        entry["currency"],
        entry["cashier_id"],
        parse_timestamp(entry["created_at"]),
        entry["reverses"],
        entry["reward_id"],
        entry["coupon_code"],
        entry["reason"],
        parse_timestamp(entry["expires_at"]) if entry["expires_at"] else None,
        entry.get("client_txn_id"),
        text,
    )


def _insert(rows: list[tuple[Any, ...]]) -> None:
    """Write the batch's rows with COPY: one round trip, where an INSERT per row costs ten
    times as much at 500 entries (bench/hub.py measures both). The unique constraints hold
    as for an INSERT, and the rows go with the transaction if it rolls back."""
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")  # the transaction's time, as now() in SQL would be
        received = cursor.fetchone()[0]
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        with raw.copy(f"COPY {_ENTRIES} ({_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row, received))


def _advance(device: Device) -> int:
    """Move the device's mark up to the first gap; the new mark.

    The sequence numbers above the mark, in order, less their rank: the first run without
    a gap (mark+1, mark+2, ...) is where that difference equals the mark, and its largest
    number is the new mark. One pass over the device's entries above the mark, in the
    order of its (device, seq) index; a probe per entry for its successor cost three
    times as much at 500 entries.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_MARKS} m SET high_water = COALESCE((
                SELECT MAX(run.seq) FROM (
                    SELECT e.seq, e.seq - ROW_NUMBER() OVER (ORDER BY e.seq) AS gapless_to
                    FROM {_ENTRIES} e
                    WHERE e.device_id = m.device_id AND e.seq > m.high_water
                ) run
                WHERE run.gapless_to = m.high_water
            ), m.high_water)
            WHERE m.device_id = %s
            RETURNING m.high_water
            """,
            [device.pk],
        )
        row = cursor.fetchone()
    return int(row[0])


def _balances_changed(points: dict[str, int]) -> list[records.FeedChange]:
    """Add each member's new points to their balance; a `balance` change for each."""
    if not points:
        return []
    # An alias's entries (a merged enrollment) count in its survivor's balance.
    survivor = records.survivor_of(points)
    credited: dict[str, int] = defaultdict(int)
    for member_id, added in points.items():
        credited[survivor[member_id]] += added
    points = credited
    members = sorted(points)
    counted = records.family(members)
    with connection.cursor() as cursor:
        # One statement for all of them, in member-id order (the lock order of every push;
        # the judge has locked these rows already when the batch had entries to judge).
        cursor.execute(
            f"INSERT INTO {_BALANCES} (member_id, balance, updated_at) "
            "SELECT m, p, now() FROM unnest(%s::text[], %s::bigint[]) AS t(m, p) ORDER BY m "
            f"ON CONFLICT (member_id) DO UPDATE SET balance = {_BALANCES}.balance + "
            "excluded.balance, updated_at = now() RETURNING member_id, balance",
            [members, [points[m] for m in members]],
        )
        balance_of = {str(row[0]): int(row[1]) for row in cursor.fetchall()}
        cursor.execute(
            f"""
            SELECT DISTINCT e.member_id, d.device_id, m.high_water
            FROM {_ENTRIES} e JOIN {_DEVICES} d ON d.id = e.device_id
            JOIN {_MARKS} m ON m.device_id = e.device_id
            WHERE e.member_id = ANY(%s)
            """,
            [sorted(counted)],
        )
        acknowledged: dict[str, dict[str, int]] = defaultdict(dict)
        for member_id, device_id, mark in cursor.fetchall():
            acknowledged[counted[str(member_id)]][str(device_id)] = int(mark)
    return [
        (
            "balance",
            {"member_id": m, "balance": balance_of[m], "acknowledged": acknowledged[m]},
        )
        for m in members
    ]


def _rejection(entry: object, code: str) -> dict[str, Any]:
    """A Rejection naming the entry by its own id and seq (null where it had none)."""
    entry_id, seq = entry_key(entry) if isinstance(entry, dict) else (None, None)
    return {"entry_id": entry_id, "seq": seq, "code": code, "message": REJECTIONS[code]}
