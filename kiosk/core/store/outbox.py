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

from kiosk.core.store.db import redoable_transaction, write_transaction
from kiosk.core.store.ledger import Entry

_ENTRY_COLUMNS = tuple(Entry.__dataclass_fields__)  # the protocol's Entry, in order
_BATCH_SQL = (
    f"SELECT {', '.join(f'e.{name}' for name in _ENTRY_COLUMNS)} "
    "FROM outbox o JOIN entries e ON e.device_id = o.device_id AND e.seq = o.seq "
    "WHERE o.device_id = ? AND o.state = 'pending' ORDER BY o.seq LIMIT ?"
)


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


class Outbox:
    """The device's unacknowledged entries and changed members."""

    def __init__(self, conn: sqlite3.Connection, device_id: str) -> None:
        self.conn = conn
        self.device_id = device_id

    def member_change_pending(self, member_id: str) -> bool:
        """Whether a change of this member made here waits to be pushed."""
        row = self.conn.execute(
            "SELECT 1 FROM member_outbox WHERE member_id = ?", (member_id,)
        ).fetchone()
        return row is not None

    def forget_member_change(self, member_id: str) -> None:
        """Nothing of this member is owed (the CRM's own record was written, or erased)."""
        self.conn.execute("DELETE FROM member_outbox WHERE member_id = ?", (member_id,))

    def next_batch(self, size: int) -> Batch:
        """The oldest `size` pending entries, with every changed member (at most `size`)."""
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples: the batch is built in a hot loop
        rows = cursor.execute(_BATCH_SQL, (self.device_id, size)).fetchall()
        entries = [dict(zip(_ENTRY_COLUMNS, row, strict=True)) for row in rows]
        changed = self.conn.execute(
            "SELECT member_id, version, changed_at FROM member_outbox "
            "ORDER BY changed_at, member_id LIMIT ?",
            (size,),
        ).fetchall()
        members = [self.member_record(row["member_id"], row["changed_at"]) for row in changed]
        versions = [(str(row["member_id"]), int(row["version"])) for row in changed]
        return Batch(entries, members, versions)

    def member_record(self, member_id: str, updated_at: str) -> dict[str, Any]:
        """The protocol's MemberRecord of a member (only the id and status once erased)."""
        row = self.conn.execute(
            "SELECT m.member_id, m.status, m.created_at, p.phone, p.name, p.birthday, "
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
        if row["status"] == "erased" or row["phone"] is None:
            record["status"] = "erased"
            return record
        cards = self.conn.execute(
            "SELECT uid, status FROM cards WHERE member_id = ? ORDER BY uid", (member_id,)
        ).fetchall()
        record.update(
            phone=row["phone"],
            name=row["name"],
            birthday=row["birthday"],
            language=row["language"],
            consent_marketing=bool(row["consent_marketing"]),
            consent_version=row["consent_version"],
            consent_at=row["consent_at"],
            cards=[{"uid": card["uid"], "status": card["status"]} for card in cards],
        )
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
            for member_id, version in batch.member_versions:
                self.conn.execute(
                    "DELETE FROM member_outbox WHERE member_id = ? AND version = ?",
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
        """The CRM's balance plus this device's entries it has not counted; None without one."""
        row = self.conn.execute(
            "SELECT rb.balance + COALESCE((SELECT SUM(e.points) FROM entries e "
            "  WHERE e.member_id = rb.member_id AND e.device_id = ? "
            "  AND e.seq > rb.acknowledged_seq), 0) "
            "FROM remote_balances rb WHERE rb.member_id = ?",
            (device_id, member_id),
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
