"""What the kiosk owes the CRM: entries not acknowledged, members changed, and the sync state.

Plain SQL on the kiosk database, no network: the sync worker (`sync/worker.py`) reads a
batch here, sends it, and hands the CRM's answer back. Entries leave the outbox only up
to the CRM's high-water mark; an entry the CRM rejected stays, flagged, for the
technician. Nothing is ever deleted because the CRM said no.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kiosk.core.store import chain
from kiosk.core.store.db import redoable_transaction, write_transaction
from kiosk.core.store.ledger import Entry
from kiosk.core.store.members import CARD_UID, PERSON, person_fields

_ENTRY_COLUMNS = tuple(Entry.__dataclass_fields__)  # the protocol's Entry, in order
MAX_ENTRIES = 1000  # the protocol's limit on entries in one push
# The protocol's limit on a push body, counted before gzip: inflated, it may not be larger.
MAX_BODY_BYTES = 8 * 1024 * 1024
# The push body around the two lists: {"device_id":"...","members":[],"entries":[]}, and
# the device id is at most a few dozen characters.
_ENVELOPE_BYTES = 1024
# Each entry, then the number of characters of its values: JSON (ASCII, as sync/client.py
# sends it) takes at most 12 bytes a character (two \uXXXX escapes outside the BMP) plus
# _ENTRY_OVERHEAD (keys, quotes, nulls, commas). That bounds a batch's size without
# encoding it: encoding 500 entries would cost as much again as reading them.
_BATCH_SQL = (
    f"SELECT {', '.join(f'e.{name}' for name in _ENTRY_COLUMNS)}, "
    f"{' + '.join(f'COALESCE(length(e.{name}), 0)' for name in _ENTRY_COLUMNS)} "
    "FROM outbox o JOIN entries e ON e.device_id = o.device_id AND e.seq = o.seq "
    "WHERE o.device_id = ? AND o.state = 'pending' ORDER BY o.seq LIMIT ?"
)
_ENTRY_OVERHEAD = 3 + sum(len(name) + 10 for name in _ENTRY_COLUMNS)


@dataclass(frozen=True)
class Batch:
    """One push: entries in sequence order and the members changed since the last push."""

    entries: list[dict[str, Any]]
    members: list[dict[str, Any]]
    member_versions: list[tuple[str, int]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.entries and not self.members

    @property
    def last_seq(self) -> int:
        return int(self.entries[-1]["seq"]) if self.entries else 0


@dataclass(frozen=True)
class MemberChange:
    """A change of a member made here: waiting to be pushed, or pushed and not yet echoed."""

    pending: bool  # not pushed yet
    updated_at: str  # the `updated_at` of the record pushed (or to be pushed) for it


class Outbox:
    """The device's unacknowledged entries and changed members."""

    def __init__(self, conn: sqlite3.Connection, device_id: str) -> None:
        self.conn = conn
        self.device_id = device_id

    def member_change_pending(self, member_id: str) -> bool:
        """Whether a change of this member made here waits to be pushed."""
        change = self.member_change(member_id)
        return change is not None and change.pending

    def member_outstanding(self, member_id: str) -> bool:
        """Whether entries or a record of this member made here wait to be pushed."""
        if self.member_change_pending(member_id):
            return True
        row = self.conn.execute(
            "SELECT 1 FROM outbox o JOIN entries e ON e.entry_id = o.entry_id "
            "WHERE o.device_id = ? AND o.state = 'pending' AND e.member_id = ? LIMIT 1",
            (self.device_id, member_id),
        ).fetchone()
        return row is not None

    def member_change(self, member_id: str) -> MemberChange | None:
        """This kiosk's latest change of the member that the CRM's feed has not brought back.

        A row of `member_outbox` with a version above 0 waits to be pushed; once the CRM
        acknowledged it, its version is 0 and it waits for the CRM's echo (see `acknowledge`
        and kiosk/core/pulled.py), so that an older record pulled meanwhile cannot undo it.
        """
        row = self.conn.execute(
            "SELECT version, changed_at FROM member_outbox WHERE member_id = ?", (member_id,)
        ).fetchone()
        if row is None:
            return None
        return MemberChange(pending=int(row[0]) > 0, updated_at=_microseconds(str(row[1])))

    def forget_member_change(self, member_id: str) -> None:
        """Nothing of this member is owed or awaited (the CRM's record was written, or erased)."""
        self.conn.execute("DELETE FROM member_outbox WHERE member_id = ?", (member_id,))

    def next_batch(self, size: int, *, max_bytes: int = MAX_BODY_BYTES) -> Batch:
        """The oldest pending entries (at most `size`) with every changed member they name.

        An entry never goes without the record of its member if that record is still owed
        (the CRM would reject it `unknown_member`, for good). Other changed members fill
        the batch up to `size` members. The batch stays within `max_bytes` of JSON: when
        the entries' members would not fit, the entries are cut there.
        """
        size = min(size, MAX_ENTRIES)
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples: the batch is built in a hot loop
        rows = cursor.execute(_BATCH_SQL, (self.device_id, size)).fetchall()
        # zip() stops before the last column, the characters' count.
        entries = [dict(zip(_ENTRY_COLUMNS, row, strict=False)) for row in rows]
        entries_bound = sum(_ENTRY_OVERHEAD + 12 * row[-1] for row in rows)
        owed = self._owed_members({str(entry["member_id"]) for entry in entries})
        members: dict[str, dict[str, Any]] = {}
        versions: list[tuple[str, int]] = []
        for member_id in dict.fromkeys(str(entry["member_id"]) for entry in entries):
            if member_id in owed:
                version, changed_at = owed[member_id]
                members[member_id] = self.member_record(member_id, changed_at)
                versions.append((member_id, version))
        others = self.conn.execute(
            "SELECT member_id, version, changed_at FROM member_outbox WHERE version > 0 "
            "ORDER BY changed_at, member_id LIMIT ?",
            (size + len(members),),
        ).fetchall()
        for row in others:
            if len(members) >= size:
                break
            if row["member_id"] not in members:
                members[row["member_id"]] = self.member_record(row["member_id"], row["changed_at"])
                versions.append((str(row["member_id"]), int(row["version"])))
        batch = Batch(entries, list(members.values()), versions)
        if _ENVELOPE_BYTES + entries_bound + _list_size(batch.members) <= max_bytes:
            return batch  # nearly always: 500 entries and members are well under 8 MiB
        if _ENVELOPE_BYTES + _list_size(batch.entries) + _list_size(batch.members) <= max_bytes:
            return batch
        return _cut(batch, max_bytes)

    def chain_head(self, batch: Batch) -> dict[str, Any]:
        """The push's `chain_head`: the ledger's link at the batch's last entry (the device's
        last entry when the batch has none) and the audit log's last link.

        The CRM recomputes the ledger link from the entries it holds and flags a head that
        does not extend the last one it kept (docs/sync-protocol.md).
        """
        ledger = chain.ledger_head(self.conn, self.device_id)
        if batch.entries and batch.last_seq != ledger.at:
            row = self.conn.execute(
                "SELECT hash FROM entries WHERE device_id = ? AND seq = ?",
                (self.device_id, batch.last_seq),
            ).fetchone()
            ledger = chain.Head(batch.last_seq, str(row[0]))
        return {
            "ledger": ledger.as_dict("seq"),
            "audit": chain.audit_head(self.conn).as_dict("id"),
        }

    def _owed_members(self, member_ids: set[str]) -> dict[str, tuple[int, str]]:
        """Of these members, those whose record the CRM is owed: id -> (version, changed at)."""
        if not member_ids:
            return {}
        marks = ", ".join("?" * len(member_ids))
        rows = self.conn.execute(
            "SELECT member_id, version, changed_at FROM member_outbox "
            f"WHERE version > 0 AND member_id IN ({marks})",
            tuple(member_ids),
        ).fetchall()
        return {str(row[0]): (int(row[1]), str(row[2])) for row in rows}

    def member_record(self, member_id: str, updated_at: str) -> dict[str, Any]:
        """The protocol's MemberRecord of a member (only the id and status once erased)."""
        row = self.conn.execute(
            f"SELECT m.member_id, m.status, m.created_at, {PERSON} AS person, "
            "p.language, p.consent_marketing, p.consent_version, p.consent_at "
            "FROM members m LEFT JOIN people p ON p.member_id = m.member_id "
            "WHERE m.member_id = ?",
            (member_id,),
        ).fetchone()
        record: dict[str, Any] = {
            "member_id": member_id,
            "status": row["status"],
            "created_at": row["created_at"],
            "updated_at": _microseconds(updated_at),
        }
        if row["status"] == "erased" or row["person"] is None:
            record["status"] = "erased"
            return record
        cards = sorted(
            self.conn.execute(
                f"SELECT {CARD_UID} AS uid, uid_index, status FROM cards c WHERE member_id = ?",
                (member_id,),
            ).fetchall(),
            key=lambda card: str(card["uid"]),
        )
        # A card a cashier approved in place of a code (kiosk/core/verification.py): the
        # hub takes it with the approval, and flags it for the owner.
        approved = SyncState(self.conn).get(APPROVALS, {}).get(member_id, {})
        verification = [
            {"card": card["uid"], **approved[card["uid_index"]]}
            for card in cards
            if card["uid_index"] in approved
        ]
        if ENROLL_APPROVAL in approved:  # an enrollment a cashier approved (no card named)
            verification.append({"purpose": "enroll", **approved[ENROLL_APPROVAL]})
        if verification:
            record["verification"] = verification
        phone, name, birthday = person_fields(row["person"])
        record.update(
            phone=phone,
            name=name,
            birthday=birthday,
            language=row["language"],
            consent_marketing=bool(row["consent_marketing"]),
            consent_version=row["consent_version"],
            consent_at=row["consent_at"],
            cards=[{"uid": card["uid"], "status": card["status"]} for card in cards],
        )
        # A referrer named at enrollment (kiosk/core/referral.py): the hub pays referrals.
        referral = self.conn.execute(
            "SELECT referrer_id FROM referrals WHERE member_id = ?", (member_id,)
        ).fetchone()
        if referral is not None:
            record["referrer_id"] = str(referral[0])
        return record

    def acknowledge(
        self,
        batch: Batch,
        high_water: int,
        rejected: list[dict[str, Any]],
        state: Mapping[str, Any] | None = None,
    ) -> tuple[int, int]:
        """Apply the CRM's answer: (entries acknowledged, entries flagged as rejected).

        `state`: sync-state values written in the same transaction (one commit per batch).
        """
        mine = {int(entry["seq"]): str(entry["entry_id"]) for entry in batch.entries}
        flags = [
            (str(r.get("code", "rejected")), seq, mine[seq])
            for r in rejected
            if type(seq := r.get("seq")) is int  # not a JSON true
            and seq in mine
            and mine[seq] == r.get("entry_id")
        ]
        with redoable_transaction(self.conn):
            flagged = 0
            for code, seq, entry_id in flags:
                flagged += self.conn.execute(
                    "UPDATE outbox SET state = 'rejected', error = ? "
                    "WHERE device_id = ? AND seq = ? AND entry_id = ? AND state = 'pending'",
                    (code, self.device_id, seq, entry_id),
                ).rowcount
            acknowledged = self.conn.execute(
                "DELETE FROM outbox WHERE device_id = ? AND seq <= ? AND state = 'pending'",
                (self.device_id, high_water),
            ).rowcount
            # The members went with this batch and the CRM answered: they are known there.
            # Each stays, with version 0, until the feed brings back a record as new (an
            # older one pulled meanwhile must not undo it); an erasure is final at once.
            erased = {str(m["member_id"]) for m in batch.members if m["status"] == "erased"}
            for member_id, version in batch.member_versions:
                self.conn.execute(
                    "DELETE FROM member_outbox WHERE member_id = ? AND version = ?"
                    if member_id in erased
                    else "UPDATE member_outbox SET version = 0 WHERE member_id = ? AND version = ?",
                    (member_id, version),
                )
            if state:
                SyncState(self.conn).write(state)
        return acknowledged, flagged

    def depth(self) -> tuple[int, int]:
        """(entries waiting to be sent, entries the CRM rejected)."""
        row = self.conn.execute(
            "SELECT COUNT(*) FILTER (WHERE state = 'pending'), "
            "COUNT(*) FILTER (WHERE state = 'rejected') FROM outbox WHERE device_id = ?",
            (self.device_id,),
        ).fetchone()
        return int(row[0]), int(row[1])

    def oldest_pending_at(self) -> str | None:
        """When the oldest entry not yet acknowledged was made."""
        row = self.conn.execute(
            "SELECT e.created_at FROM outbox o JOIN entries e ON e.entry_id = o.entry_id "
            "WHERE o.device_id = ? AND o.state = 'pending' ORDER BY o.seq LIMIT 1",
            (self.device_id,),
        ).fetchone()
        return str(row[0]) if row else None

    def rejected(self) -> list[dict[str, Any]]:
        """The entries the CRM refused, with its reason: for the technician."""
        rows = self.conn.execute(
            "SELECT entry_id, seq, error FROM outbox "
            "WHERE device_id = ? AND state = 'rejected' ORDER BY seq",
            (self.device_id,),
        ).fetchall()
        return [{"entry_id": r[0], "seq": r[1], "code": r[2]} for r in rows]


# sync_state's key of the cashiers' approvals of cards: member id -> the card's blind index
# -> {"approved_by", "reason"} (never the card's id in clear).
APPROVALS = "verification_approvals"
# Its key of an enrollment's approval made without a card (a blind index is never this).
ENROLL_APPROVAL = "enroll"


class SyncState:
    """Small JSON values the sync worker keeps across restarts (cursor, next attempt, ...)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def get(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set(self, **values: Any) -> None:
        """Store several values in one transaction."""
        with write_transaction(self.conn):
            self.write(values)

    def write(self, values: Mapping[str, Any]) -> None:
        """Store values inside the caller's transaction."""
        self.conn.executemany(
            "INSERT INTO sync_state (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [(key, json.dumps(value)) for key, value in values.items()],
        )

    def all(self) -> dict[str, Any]:
        return {
            row[0]: json.loads(row[1])
            for row in self.conn.execute("SELECT key, value FROM sync_state ORDER BY key")
        }


class RemoteBalances:
    """The CRM's balance of each member and how many of this device's entries it counts."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def put(self, member_id: str, balance: int, acknowledged_seq: int) -> None:
        """Store the CRM's balance (inside the caller's transaction)."""
        self.conn.execute(
            "INSERT INTO remote_balances (member_id, balance, acknowledged_seq) VALUES (?, ?, ?) "
            "ON CONFLICT(member_id) DO UPDATE SET balance = excluded.balance, "
            "acknowledged_seq = excluded.acknowledged_seq",
            (member_id, balance, acknowledged_seq),
        )

    def spendable(self, member_id: str, device_id: str) -> int | None:
        """The CRM's balance plus this device's entries it has not counted; None without one.

        Entries of a member id the CRM merged into this one (kiosk/core/store/merged.py)
        count too: the CRM counts them in this balance.
        """
        row = self.conn.execute(
            "SELECT rb.balance + COALESCE((SELECT SUM(e.points) FROM entries e "
            "  WHERE e.member_id = rb.member_id AND e.device_id = ? "
            "  AND e.seq > rb.acknowledged_seq), 0) "
            "+ COALESCE((SELECT SUM(e.points) FROM merged_members a "
            "  JOIN entries e ON e.member_id = a.member_id "
            "  WHERE a.into_id = rb.member_id AND e.device_id = ? "
            "  AND e.seq > rb.acknowledged_seq), 0) "
            "FROM remote_balances rb WHERE rb.member_id = ?",
            (device_id, device_id, member_id),
        ).fetchone()
        return int(row[0]) if row else None


def _microseconds(moment: str) -> str:
    """A trigger's millisecond time (`...:05.123Z`) in the protocol's form (`...:05.123000Z`).

    The CRM keeps the newest record by comparing `updated_at` as text, so every kiosk must
    write it with the same number of digits.
    """
    if len(moment) == 24 and moment[19] == "." and moment.endswith("Z"):
        return moment[:-1] + "000Z"
    return moment


def _size(item: Any) -> int:
    """The bytes `item` takes in a push body, with its comma (as sync/client.py encodes it)."""
    return len(json.dumps(item, separators=(",", ":"))) + 1


def _list_size(items: list[dict[str, Any]]) -> int:
    """The bytes a list takes in a push body."""
    return len(json.dumps(items, separators=(",", ":"))) if items else 2


def _cut(batch: Batch, max_bytes: int) -> Batch:
    """The longest run of `batch`'s entries that fits in `max_bytes` with their members.

    The members the kept entries name come first; other changed members fill what room is
    left. At least one entry is kept, so that a queue never stalls silently (a single
    entry and member far beyond the limit would be the CRM's 413 to report).
    """
    by_id = {str(record["member_id"]): record for record in batch.members}
    version = dict(batch.member_versions)
    room = max_bytes - _ENVELOPE_BYTES
    entries: list[dict[str, Any]] = []
    members: dict[str, dict[str, Any]] = {}
    for entry in batch.entries:
        member_id = str(entry["member_id"])
        needs = by_id.get(member_id) if member_id not in members else None
        cost = _size(entry) + (_size(needs) if needs is not None else 0)
        if cost > room and entries:
            break
        room -= cost
        entries.append(entry)
        if needs is not None:
            members[member_id] = needs
    if len(entries) == len(batch.entries):  # every entry fits: fill with the other members
        for member_id, record in by_id.items():
            if member_id not in members and (cost := _size(record)) <= room:
                room -= cost
                members[member_id] = record
    return Batch(entries, list(members.values()), [(m, version[m]) for m in members])
