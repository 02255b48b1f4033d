"""The simulated CRM's storage: devices, enrollment codes, entries, members, the change feed.

SQLite, one connection behind a lock (the HTTP server is threaded). It follows
docs/sync-protocol.md: entries deduplicated for ever on (device, entry id), a high-water
mark per device that stops below a gap, members kept newest by `updated_at`, and every
change anyone should pull appended to one feed with an increasing cursor. It is also the
chain's owner: a key pair made with the store (and kept in it) signs every staff and
program change it publishes, and its public half goes out with each enrollment.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim import crm_chain, crm_feed, crm_holds, crm_visits
from sim.crm_checks import entry_problem, is_int64
from sync.owner_key import SIGNED_KINDS, OwnerSigner

_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    secret BLOB NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    high_water INTEGER NOT NULL DEFAULT 0,
    enrolled_at REAL NOT NULL,
    last_heartbeat TEXT
);
CREATE TABLE IF NOT EXISTS codes (
    code TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    used_by TEXT
);
CREATE TABLE IF NOT EXISTS entries (
    device_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    member_id TEXT,
    points INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('stored', 'rejected')),
    code TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (device_id, entry_id),
    UNIQUE (device_id, seq)
);
-- A member's balance is recounted after each push that touches them: by index, not by scan.
CREATE INDEX IF NOT EXISTS entries_by_member ON entries (member_id, status, points);
CREATE TABLE IF NOT EXISTS members (
    member_id TEXT PRIMARY KEY,
    updated_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS balances (
    member_id TEXT PRIMARY KEY,
    balance INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS owner (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    chain_id TEXT NOT NULL,
    seed BLOB NOT NULL
);
"""
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LIFETIME = 24 * 3600
MAX_BATCH = 1000
# Why an enrollment code was refused, for the technician (the `reason` beside the code).
CODE_REFUSED = {
    "unknown": "No such enrollment code: check it, or ask for a new one.",
    "used": "This enrollment code was already used: ask for a new one.",
    "expired": "This enrollment code has expired: ask for a new one.",
}


@dataclass
class PushResult:
    """The CRM's answer to one push."""

    high_water: int
    stored: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


class CrmStore:
    """Everything the simulated CRM knows, in one SQLite file (or in memory).

    `owner`: the chain's owner key pair to sign with (tests give one to show a signature
    of one chain refused by another); by default the one kept in the file, else a new one.
    """

    def __init__(self, path: Path | str = ":memory:", *, owner: OwnerSigner | None = None) -> None:
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(_SCHEMA)
        self.conn.executescript(crm_holds.SCHEMA)
        self.conn.executescript(crm_chain.SCHEMA)
        self.conn.executescript(crm_feed.SCHEMA)
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(changes)")}
        if "signature" not in columns:  # a file from before signed changes
            self.conn.execute("ALTER TABLE changes ADD COLUMN signature TEXT")
        self._lock = threading.RLock()
        self.owner = self._owner(owner)
        # The file itself names the feed's numbering: a copy put back (the restore) is
        # another file, a restart opens the same one (docs/sync-protocol.md, "Pull").
        kept = Path(path) if str(path) != ":memory:" else None
        found = kept.stat() if kept is not None else None
        self._file = f"{found.st_dev}:{found.st_ino}" if found is not None else secrets.token_hex(8)

    def _owner(self, given: OwnerSigner | None) -> OwnerSigner:
        with self._transaction() as conn:
            row = conn.execute("SELECT chain_id, seed FROM owner").fetchone()
            if given is None and row is not None:
                return OwnerSigner.from_seed(bytes(row["seed"]), row["chain_id"])
            owner = given or OwnerSigner.generate(f"sim-{secrets.token_hex(4)}")
            conn.execute(
                "INSERT INTO owner (only, chain_id, seed) VALUES (1, ?, ?) ON CONFLICT(only) "
                "DO UPDATE SET chain_id = excluded.chain_id, seed = excluded.seed",
                (owner.chain_id, owner.seed),
            )
        return owner

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    # -- devices -------------------------------------------------------------------------

    def new_code(self, now: float | None = None) -> str:
        """A one-time enrollment code, valid for 24 hours."""
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        code = f"{raw[:4]}-{raw[4:]}"
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO codes (code, expires_at) VALUES (?, ?)",
                (code, (now or time.time()) + CODE_LIFETIME),
            )
        return code

    def enroll(self, code: str, device_id: str, now: float | None = None) -> bytes | None:
        """The new secret of `device_id`, or None for an unknown, used or expired code."""
        secret = self.try_enroll(code, device_id, now)
        return secret if isinstance(secret, bytes) else None

    def try_enroll(self, code: str, device_id: str, now: float | None = None) -> bytes | str:
        """The new secret of `device_id`, or why not: "unknown", "used" or "expired"."""
        moment = now or time.time()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT expires_at, used_by FROM codes WHERE code = ?", (code.upper(),)
            ).fetchone()
            if row is None:
                return "unknown"
            if row["used_by"] is not None:
                return "used"
            if row["expires_at"] < moment:
                return "expired"
            secret = secrets.token_bytes(32)
            conn.execute("UPDATE codes SET used_by = ? WHERE code = ?", (device_id, code.upper()))
            conn.execute(
                "INSERT INTO devices (device_id, secret, enrolled_at) VALUES (?, ?, ?) "
                "ON CONFLICT(device_id) DO UPDATE SET secret = excluded.secret, revoked = 0",
                (device_id, secret, moment),
            )
        return secret

    def secret_of(self, device_id: str) -> bytes | None:
        """The device's secret, or None if it never enrolled."""
        with self._lock:
            row = self.conn.execute(
                "SELECT secret FROM devices WHERE device_id = ?", (device_id,)
            ).fetchone()
        return bytes(row[0]) if row else None

    def revoked(self, device_id: str) -> bool:
        """Whether the device's credentials were revoked."""
        with self._lock:
            row = self.conn.execute(
                "SELECT revoked FROM devices WHERE device_id = ?", (device_id,)
            ).fetchone()
        return bool(row and row[0])

    def revoke(self, device_id: str) -> None:
        """Revoke a device (its requests get 403 device_revoked)."""
        with self._transaction() as conn:
            conn.execute("UPDATE devices SET revoked = 1 WHERE device_id = ?", (device_id,))

    def heartbeat(self, device_id: str, data: dict[str, Any]) -> int:
        """Keep the device's latest heartbeat; the chain's members not erased (its answer)."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE devices SET last_heartbeat = ? WHERE device_id = ?",
                (json.dumps(data), device_id),
            )
            erased = "SELECT count(*) FROM members WHERE json_extract(data, '$.status') = 'erased'"
            everyone = conn.execute("SELECT count(*) FROM members").fetchone()[0]
            return int(everyone - conn.execute(erased).fetchone()[0])

    def high_water(self, device_id: str) -> int:
        """The device's high-water mark (the heartbeat's answer carries it)."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT high_water FROM devices WHERE device_id = ?", (device_id,)
            ).fetchone()
        return int(row[0]) if row else 0

    # -- push ------------------------------------------------------------------------------

    def push(
        self,
        device_id: str,
        members: list[dict[str, Any]],
        entries: list[dict[str, Any]],
        chain_head: object = None,
    ) -> PushResult:
        """Store a batch: members newest-wins, entries once each; the new high-water mark.

        `chain_head` (the push body's, optional) is compared with the last one kept
        (sim/crm_chain.py): a broken chain is recorded, never a reason to refuse.
        """
        with self._transaction() as conn:
            for record in members:
                self._upsert_member(conn, record)
            result = PushResult(high_water=0)
            touched: set[str] = set()
            for entry in entries:
                outcome = self._store_entry(conn, device_id, entry)
                if outcome.startswith("duplicate"):
                    result.duplicates += 1
                    if outcome != "duplicate":
                        result.rejected.append(_rejection(entry, outcome.partition(":")[2]))
                elif outcome == "stored":
                    result.stored += 1
                    touched.add(str(entry["member_id"]))
                    crm_holds.confirm(conn, device_id, entry)
                else:
                    result.rejected.append(_rejection(entry, outcome))
            result.high_water = self._advance_high_water(conn, device_id)
            crm_chain.check(conn, device_id, chain_head, result.high_water)
            for member_id in sorted(touched):
                self._balance_changed(conn, member_id)
        return result

    def _upsert_member(self, conn: sqlite3.Connection, record: dict[str, Any]) -> None:
        member_id = str(record["member_id"])
        updated = str(record["updated_at"])
        row = conn.execute(
            "SELECT updated_at, data FROM members WHERE member_id = ?", (member_id,)
        ).fetchone()
        if row is not None and row["updated_at"] >= updated:
            return
        conn.execute(
            "INSERT INTO members (member_id, updated_at, data) VALUES (?, ?, ?) "
            "ON CONFLICT(member_id) DO UPDATE SET updated_at = excluded.updated_at, "
            "data = excluded.data",
            (member_id, updated, json.dumps(record, sort_keys=True)),
        )
        was_erased = row is not None and json.loads(row["data"]).get("status") == "erased"
        if record.get("status") == "erased" and not was_erased:
            crm_feed.append(conn, "erasure", {"member_id": member_id})
        elif record.get("status") != "erased":
            crm_feed.append(conn, "member", record)

    def _store_entry(self, conn: sqlite3.Connection, device_id: str, entry: object) -> str:
        if not isinstance(entry, dict):
            return "invalid_entry"
        entry_id, seq = _entry_key(entry)
        if entry_id is None or seq is None:
            return "invalid_entry"  # nothing to keep it under: not stored
        held = conn.execute(
            "SELECT entry_id, code FROM entries WHERE device_id = ? AND (entry_id = ? OR seq = ?)",
            (device_id, entry_id, seq),
        ).fetchall()
        for row in held:
            if row["entry_id"] == entry_id:
                # Rejected the first time: say so again, the kiosk may have missed the answer.
                return "duplicate" if row["code"] is None else f"duplicate:{row['code']}"
        if held:
            return "seq_conflict"
        problem = entry_problem(entry, device_id)
        member_id = entry["member_id"] if problem is None else None
        status, code = "stored", None
        if problem is not None:
            status, code = "rejected", "invalid_entry"
        elif conn.execute("SELECT 1 FROM members WHERE member_id = ?", (member_id,)).fetchone():
            pass
        else:
            status, code = "rejected", "unknown_member"
        conn.execute(
            "INSERT INTO entries (device_id, entry_id, seq, member_id, points, status, code, "
            "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                device_id,
                entry_id,
                seq,
                member_id,
                entry["points"] if problem is None else 0,
                status,
                code,
                json.dumps(entry, sort_keys=True),
            ),
        )
        return "stored" if status == "stored" else str(code)

    def _balance_changed(self, conn: sqlite3.Connection, member_id: str) -> None:
        balance = conn.execute(
            "SELECT COALESCE(SUM(points), 0) FROM entries "
            "WHERE member_id = ? AND status = 'stored'",
            (member_id,),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO balances (member_id, balance) VALUES (?, ?) "
            "ON CONFLICT(member_id) DO UPDATE SET balance = excluded.balance",
            (member_id, balance),
        )
        acknowledged = {
            row["device_id"]: row["high_water"]
            for row in conn.execute(
                "SELECT d.device_id, d.high_water FROM devices d WHERE EXISTS "
                "(SELECT 1 FROM entries e WHERE e.device_id = d.device_id AND e.member_id = ?)",
                (member_id,),
            )
        }
        crm_feed.append(
            conn,
            "balance",
            {
                "member_id": member_id,
                "balance": balance,
                "acknowledged": acknowledged,
                **crm_visits.extras(conn, member_id),  # visits (badges), a settled referral
            },
        )

    def _advance_high_water(self, conn: sqlite3.Connection, device_id: str) -> int:
        mark = conn.execute(
            "SELECT high_water FROM devices WHERE device_id = ?", (device_id,)
        ).fetchone()[0]
        while conn.execute(
            "SELECT 1 FROM entries WHERE device_id = ? AND seq = ?", (device_id, mark + 1)
        ).fetchone():
            mark += 1
        conn.execute("UPDATE devices SET high_water = ? WHERE device_id = ?", (mark, device_id))
        return int(mark)

    # -- the feed --------------------------------------------------------------------------

    def publish(
        self, kind: str, data: dict[str, Any], *, signature: str | None = None, sign: bool = True
    ) -> None:
        """Add a change made at the CRM itself (a program update, a staff change, an erasure).

        Staff and program changes are signed with the owner key, unless `sign` is false:
        then they go out with `signature` as given (none, or a forgery), as an attacker who
        can write to the feed but has no owner key would send them.
        """
        if sign and kind in SIGNED_KINDS:
            signature = self.owner.sign(kind, data)
        with self._transaction() as conn:
            if kind == "erasure":
                conn.execute(
                    "UPDATE members SET data = json_object('member_id', member_id, "
                    "'status', 'erased') WHERE member_id = ?",
                    (data["member_id"],),
                )
            crm_feed.append(conn, kind, data, signature)

    def changes(self, cursor: int, limit: int) -> tuple[list[dict[str, Any]], int, bool]:
        """The changes after `cursor`: (page, next cursor, whether more follow)."""
        with self._lock:
            return crm_feed.page(self.conn, cursor, limit)

    def epoch(self) -> str:
        """The feed's epoch: which numbering the cursors belong to (changes on a restore)."""
        with self._lock:
            return crm_feed.epoch(self.conn, self._file)

    def reset_epoch(self) -> str:
        """A new epoch, as `hub feed reset-epoch` makes one: kiosks read the feed again."""
        with self._transaction() as conn:
            crm_feed.reset_epoch(conn)
        return self.epoch()

    # -- the read-only view ----------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        """Members, balances, each device's high-water mark and entry counts."""
        with self._lock:
            devices = {
                row["device_id"]: {
                    "high_water": row["high_water"],
                    "revoked": bool(row["revoked"]),
                    "entries": row["n"],
                    "gaps": self._gaps(row["device_id"]),
                }
                for row in self.conn.execute(
                    "SELECT d.device_id, d.high_water, d.revoked, "
                    "(SELECT COUNT(*) FROM entries e WHERE e.device_id = d.device_id) AS n "
                    "FROM devices d"
                )
            }
            members = {
                row["member_id"]: json.loads(row["data"])
                for row in self.conn.execute("SELECT member_id, data FROM members")
            }
            balances = {
                row["member_id"]: row["balance"]
                for row in self.conn.execute("SELECT member_id, balance FROM balances")
            }
        return {"devices": devices, "members": members, "balances": balances}

    def _gaps(self, device_id: str) -> list[int]:
        """Sequence numbers missing below the device's highest one (at most 100 shown)."""
        rows = self.conn.execute(
            "WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n "
            "WHERE seq < (SELECT MAX(seq) FROM entries WHERE device_id = :d)) "
            "SELECT seq FROM n WHERE seq NOT IN (SELECT seq FROM entries WHERE device_id = :d) "
            "LIMIT 100",
            {"d": device_id},
        ).fetchall()
        return [int(row[0]) for row in rows]

    def entries(self, device_id: str) -> list[dict[str, Any]]:
        """The entries held for a device as pushed, in sequence order (for checks)."""
        with self._lock:
            return [
                json.loads(row[0])
                for row in self.conn.execute(
                    "SELECT data FROM entries WHERE device_id = ? ORDER BY seq", (device_id,)
                )
            ]

    def chain_flags(self, device_id: str) -> list[dict[str, Any]]:
        """The `chain_broken` flags recorded for a device: a history rewritten after a push."""
        with self._lock:
            return crm_chain.flags(self.conn, device_id)

    def entry_ids(self, device_id: str) -> list[str]:
        """The entry ids held for a device, in sequence order (for tests and checks)."""
        with self._lock:
            return [
                row[0]
                for row in self.conn.execute(
                    "SELECT entry_id FROM entries WHERE device_id = ? ORDER BY seq", (device_id,)
                )
            ]


_REJECTIONS = {
    "invalid_entry": "The entry is missing a field or has one of the wrong type.",
    "unknown_member": "No member with this id was pushed before the entry.",
    "seq_conflict": "Another entry of this device already has this sequence number.",
}


def _entry_key(entry: dict[str, Any]) -> tuple[str | None, int | None]:
    """The entry's own id and sequence number, each None when it has none the CRM can keep."""
    entry_id, seq = entry.get("entry_id"), entry.get("seq")
    return (
        entry_id if isinstance(entry_id, str) else None,
        seq if is_int64(seq, minimum=1) else None,
    )


def _rejection(entry: object, code: str) -> dict[str, Any]:
    """A Rejection naming the entry by its own id and seq (null where it had none)."""
    entry_id, seq = _entry_key(entry) if isinstance(entry, dict) else (None, None)
    return {"entry_id": entry_id, "seq": seq, "code": code, "message": _REJECTIONS[code]}
