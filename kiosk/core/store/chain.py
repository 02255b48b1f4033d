"""The hash chains of the ledger and the audit log: the canonical bytes each link hashes.

Each ledger entry's `hash` is SHA-256 (lowercase hex) of

    b"loyalty-kiosk ledger v1\\n" + PREV + b"\\n" + canonical_json(ENTRY)

where PREV is the `hash` of the same device's entry with the previous `seq` (64 zeros for
seq 1, in ASCII) and ENTRY the entry's 16 protocol fields (`LEDGER_FIELDS`, as pushed to
the CRM, so that the CRM can recompute the chain from what it holds; a field added to
the protocol later is not in v1's bytes). Each audit record's `hash` is SHA-256 of

    b"loyalty-kiosk audit v1\\n" + PREV + b"\\n" + canonical_json(RECORD)

with PREV the hash of the record with the previous `id` and RECORD its columns
(`AUDIT_FIELDS`, `details` as the stored JSON text). canonical_json: keys sorted, no
spaces, ASCII only (`json.dumps(..., sort_keys=True, separators=(",", ":"))`), UTF-8.

The chain does not stop someone with the file from rewriting history and recomputing every
hash after it; it makes a rewrite that was not recomputed visible to `kiosk ledger verify`
and `kiosk doctor`, and a recomputed one visible to the CRM, which keeps the head each push
names and recomputes it from the entries it holds (docs/sync-protocol.md, `chain_head`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
LEDGER_FIELDS = (
    "entry_id",
    "device_id",
    "seq",
    "kind",
    "member_id",
    "points",
    "amount",
    "currency",
    "cashier_id",
    "created_at",
    "client_txn_id",
    "reverses",
    "reward_id",
    "coupon_code",
    "reason",
    "expires_at",
)
AUDIT_FIELDS = ("id", "at", "actor", "action", "target", "outcome", "details")
_LEDGER_TAG = b"loyalty-kiosk ledger v1\n"
_AUDIT_TAG = b"loyalty-kiosk audit v1\n"
_LEDGER_SORTED = tuple(sorted(LEDGER_FIELDS))
_AUDIT_SORTED = tuple(sorted(AUDIT_FIELDS))
_PAGE = 10_000  # rows read at a time by the migration


# canonical_json: the names given in sorted order, so the encoder need not sort (the same
# bytes as json.dumps(..., sort_keys=True, separators=(",", ":")), a quarter faster).
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def _link(tag: bytes, prev: str, fields: Mapping[str, Any], names: Iterable[str]) -> str:
    body = _ENCODER.encode({name: fields.get(name) for name in names})
    return hashlib.sha256(tag + prev.encode("ascii") + b"\n" + body.encode("utf-8")).hexdigest()


def ledger_hash(prev: str, entry: Mapping[str, Any]) -> str:
    """The chain hash of a ledger entry (its protocol fields) after `prev`."""
    return _link(_LEDGER_TAG, prev, entry, _LEDGER_SORTED)


def audit_hash(prev: str, record: Mapping[str, Any]) -> str:
    """The chain hash of an audit record (its columns) after `prev`."""
    return _link(_AUDIT_TAG, prev, record, _AUDIT_SORTED)


@dataclass(frozen=True)
class Head:
    """The last link of a chain: the position (seq or id) and its hash."""

    at: int
    hash: str

    def as_dict(self, position: str) -> dict[str, Any]:
        """The head as the push body's `chain_head` names it."""
        return {position: self.at, "hash": self.hash}


def ledger_head(conn: sqlite3.Connection, device_id: str) -> Head:
    """This device's last entry and its chain hash (seq 0 and the genesis when empty)."""
    row = conn.execute(
        "SELECT seq, hash FROM entries WHERE device_id = ? ORDER BY seq DESC LIMIT 1",
        (device_id,),
    ).fetchone()
    return Head(int(row[0]), str(row[1])) if row else Head(0, GENESIS)


def audit_head(conn: sqlite3.Connection) -> Head:
    """The last audit record and its chain hash (id 0 and the genesis when empty)."""
    row = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return Head(int(row[0]), str(row[1])) if row else Head(0, GENESIS)


def seal(conn: sqlite3.Connection, name: str, at: int, link: str, prev: Head) -> None:
    """Seal a chain's new head with the data key (inside the transaction that wrote it).

    The hashes alone can be recomputed by anyone with the file; the seal cannot without
    the key (kiosk/core/store/vault.py), so a history rewritten and recomputed to its end
    no longer ends where the kiosk sealed it (`kiosk ledger verify`). The seal moves on
    only from a genuine seal of the link before (`prev`): a history rewritten under it, or
    a seal deleted or made up, leaves it where it was, and the next sale does not hide it.
    """
    if prev.at == 0:  # the chain's first link
        conn.execute(
            "INSERT INTO chain_seals (chain, at, hash, mac) "
            "VALUES (?1, ?2, ?3, chain_mac(?1, ?2, ?3)) ON CONFLICT(chain) DO NOTHING",
            (name, at, link),
        )
        return
    conn.execute(
        "UPDATE chain_seals SET at = ?2, hash = ?3, mac = chain_mac(?1, ?2, ?3) "
        "WHERE chain = ?1 AND at = ?4 AND hash = ?5 AND mac = chain_mac(?1, ?4, ?5)",
        (name, at, link, prev.at, prev.hash),
    )


def ledger_chain(device_id: str) -> str:
    """The name of a device's ledger chain among the seals."""
    return f"ledger:{device_id}"


AUDIT_CHAIN = "audit"


def seal_heads(conn: sqlite3.Connection) -> None:
    """Seal the heads of every chain as they are (the migration that adds the seals)."""
    devices = [str(r[0]) for r in conn.execute("SELECT DISTINCT device_id FROM entries")]
    heads = [(ledger_chain(device), ledger_head(conn, device)) for device in devices]
    if (audit := audit_head(conn)).at:
        heads.append((AUDIT_CHAIN, audit))
    for name, head in heads:
        seal(conn, name, head.at, head.hash, Head(0, GENESIS))


def chain_existing(conn: sqlite3.Connection) -> None:
    """Hash every row already written, in order (the migration that adds the chains).

    The append-only triggers are dropped for the UPDATE and put back as they were.
    """
    triggers = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('entries', 'audit') "
        "AND name LIKE '%append_only_update'"
    ).fetchall()
    for table in ("entries", "audit"):
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_update")
    # In pages by key, so that a ledger of millions of entries upgrades in bounded memory.
    device, seq, link = "", 0, GENESIS
    while True:
        rows = conn.execute(
            f"SELECT {', '.join(LEDGER_FIELDS)} FROM entries WHERE (device_id, seq) > (?, ?) "
            "ORDER BY device_id, seq LIMIT ?",
            (device, seq, _PAGE),
        ).fetchall()
        if not rows:
            break
        for row in rows:
            entry = dict(zip(LEDGER_FIELDS, row, strict=True))
            if entry["device_id"] != device:
                device, link = entry["device_id"], GENESIS
            link = ledger_hash(link, entry)
            seq = entry["seq"]
            conn.execute(
                "UPDATE entries SET hash = ? WHERE device_id = ? AND seq = ?", (link, device, seq)
            )
    last_id, link = 0, GENESIS
    while True:
        rows = conn.execute(
            f"SELECT {', '.join(AUDIT_FIELDS)} FROM audit WHERE id > ? ORDER BY id LIMIT ?",
            (last_id, _PAGE),
        ).fetchall()
        if not rows:
            break
        for row in rows:
            link = audit_hash(link, dict(zip(AUDIT_FIELDS, row, strict=True)))
            last_id = row[0]
            conn.execute("UPDATE audit SET hash = ? WHERE id = ?", (link, last_id))
    for (sql,) in triggers:
        conn.execute(sql)
