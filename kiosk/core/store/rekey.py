"""Key rotation: a new data key for a database, every sealed value and blind index redone.

`rotate` makes a new random data key and, in ONE write transaction, opens every sealed
value with the old key and seals it with the new one (each with its row as associated
data, as the stores write them), recomputes both blind indexes (a phone's, a card's: the
card's associated data is its index, so it changes too), and stores the new key wrapped
by the target key source. The seals of the hash chains' heads (`chain_seals`, a MAC
keyed from the data key) are made again with the new key, each only if the old key made
it: a forged seal stays forged. A power cut leaves the old key and the old values, or the
new key and the new values: never a mix that nothing opens.

A rotation changes nothing anyone knows of a member: the UPDATE triggers on the rewritten
tables (the CRM's member pushes, `member_outbox_on_person` and `..._on_card_change`) are
lifted inside the same transaction and put back as they were, so no push is queued.

Every sealed column is listed in `SEALED` below; a new one must be added there (the test
`test_key_rotation.py::test_every_sealed_value_written_anywhere_is_rotated` reads the
stores' SQL for `seal(` and fails on an associated-data prefix this module does not know).

`rewrap_copy` moves a copy's data key (a backup: its values stay sealed by its own data key)
from one key source to another, so old backups stay restorable after the source changed.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.core.store import audit
from kiosk.core.store.db import database_now, write_transaction
from kiosk.core.store.vault import KeySource, Vault, holder_of, store_key, stored_key, unwrap
from kiosk.errors import DataKeyUnavailable

# Where sealed values live: (table, column, associated data prefix) as the stores seal them.
SEALED = (
    ("people", "sealed", "person:"),
    ("cards", "sealed", "card:"),
    ("staff", "name", "staff:"),
    ("staff", "pin_hash", "pin:"),
    ("meta", "value", "meta:"),
)
# Every SQL function of the vault (kiosk/core/store/vault.py `install`) whose results are
# stored: each is redone below (a test fails on a new one this module does not know).
KEYED_SQL = ("seal", "unseal", "blind", "chain_mac")
_REWRITTEN = ("people", "cards", "staff", "meta", "chain_seals")
_UPDATE_TRIGGER = re.compile(r"\b(BEFORE|AFTER|INSTEAD\s+OF)\s+UPDATE\b", re.IGNORECASE)


@dataclass(frozen=True)
class Rotated:
    """What one rotation rewrote."""

    previous: str  # the key source that wrapped the old data key
    source: str  # the one that wraps the new one
    people: int
    cards: int
    staff: int
    meta: int
    chain_seals: int = 0  # the heads' seals made again (not counted as sealed values)
    pins: int = 0  # the staff PINs' hashes (m015)

    @property
    def sealed(self) -> int:
        """Every sealed value rewritten."""
        return self.people + self.cards + self.staff + self.pins + self.meta


def sealed_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many sealed values the database holds, by kind."""
    return {
        "people": _count(conn, "SELECT COUNT(*) FROM people WHERE sealed IS NOT NULL"),
        "cards": _count(conn, "SELECT COUNT(*) FROM cards WHERE sealed IS NOT NULL"),
        "staff": _count(conn, "SELECT COUNT(*) FROM staff"),
        "pins": _count(conn, "SELECT COUNT(*) FROM staff"),
        "meta": _count(conn, "SELECT COUNT(*) FROM meta WHERE key = 'txn_key'"),
    }


def rotate(conn: sqlite3.Connection, target: KeySource, *, actor: str = "cli") -> Rotated:
    """A new data key for the database, wrapped by `target`; every sealed value resealed.

    The connection must have been opened (`db.connect`) with the key source that wraps the
    current data key; from the commit on it uses the new key (and `target`).
    DataKeyUnavailable, with nothing written, when the old key or `target` cannot be had.
    """
    holder = holder_of(conn)
    if holder is None:
        raise TypeError("the connection was not opened with db.connect (no vault)")
    target_key = target.key()  # before anything is written: a missing key changes nothing
    data_key = secrets.token_bytes(32)
    new = Vault(data_key)
    with write_transaction(conn):
        found = stored_key(conn)
        previous = found["source"] if found else holder.source.name
        old = holder()
        triggers = _lift_update_triggers(conn)
        people = _people(conn, old, new)
        cards = _cards(conn, old, new)
        staff = _staff(conn, old, new)
        meta = _meta(conn, old, new)
        counted = Rotated(previous, target.name, people, cards, staff, meta, pins=staff)
        # Audited with the old key still in use: the audit chain's seal moves on from the
        # genuine one, and is made again with the new key below with the others.
        audit.record(
            conn,
            at=database_now(conn),
            actor=actor,
            action="key.rotate",
            details={"from": previous, "to": target.name, "sealed": counted.sealed},
        )
        seals = _chain_seals(conn, old, new)
        _check(conn, new)
        store_key(conn, _Fixed(target.name, target_key), data_key)
        for sql in triggers:
            conn.execute(sql)
        done = Rotated(previous, target.name, people, cards, staff, meta, seals, pins=staff)
    holder.replace(new)
    holder.source = target
    return done


def rewrap_copy(path: Path, source_named: Callable[[str], KeySource], target: KeySource) -> str:
    """Wrap the data key of a copy of the database (a backup) with `target`; what was done:
    `rewrapped`, `already` (it is wrapped by `target`'s kind) or `no key` (a copy from
    before sealing: in clear, sealed when it is next opened). DataKeyUnavailable when its
    key does not open with the source named in it; sqlite3.Error when the file cannot be
    written. The copy's values stay sealed by its own data key: only the wrapping changes.
    """
    conn = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    try:
        conn.execute("PRAGMA secure_delete=ON")  # the old wrapping overwritten, not freed
        has_meta = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        found = stored_key(conn) if has_meta else None
        if found is None:
            return "no key"
        if found["source"] == target.name:
            return "already"
        data_key = unwrap(source_named(found["source"]).key(), found["wrapped"], found["source"])
        target_key = target.key()
        conn.execute("BEGIN IMMEDIATE")
        try:
            store_key(conn, _Fixed(target.name, target_key), data_key)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return "rewrapped"
    finally:
        conn.close()


def opens(conn: sqlite3.Connection, source: KeySource) -> Vault:
    """The database's vault with `source`, without making a key; DataKeyUnavailable when
    there is no data key, it is wrapped by another source, or it does not open. A sealed
    value is opened too, when there is one (a key that unwraps but is not the one that
    sealed them would be a damaged database)."""
    found = stored_key(conn)
    if found is None:
        raise DataKeyUnavailable(reason="the database has no data key yet")
    if found["source"] != source.name:
        raise DataKeyUnavailable(
            reason=f"the data key is wrapped by '{found['source']}', not '{source.name}'"
        )
    vault = Vault(unwrap(source.key(), found["wrapped"], source.name))
    row = conn.execute(
        "SELECT member_id, sealed FROM people WHERE sealed IS NOT NULL LIMIT 1"
    ).fetchone()
    if row is not None:
        vault.open_bytes(row[1], f"person:{row[0]}")
    return vault


class _Fixed:
    """A key source whose key was already read (so a rotation reads it once)."""

    def __init__(self, name: str, key: bytes) -> None:
        self.name = name
        self._key = key

    def key(self) -> bytes:
        return self._key


def _lift_update_triggers(conn: sqlite3.Connection) -> list[str]:
    """Drop the UPDATE triggers of the rewritten tables; their SQL, to create them again."""
    marks = ",".join("?" for _ in _REWRITTEN)
    rows = conn.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})",
        _REWRITTEN,
    ).fetchall()
    lifted = []
    for name, sql in rows:
        if sql and _UPDATE_TRIGGER.search(sql):
            conn.execute(f'DROP TRIGGER "{name}"')
            lifted.append(str(sql))
    return lifted


def _people(conn: sqlite3.Connection, old: Vault, new: Vault) -> int:
    rows = conn.execute("SELECT member_id, sealed FROM people WHERE sealed IS NOT NULL").fetchall()
    for member_id, sealed in rows:
        aad = f"person:{member_id}"
        text = old.open(sealed, aad)
        conn.execute(
            "UPDATE people SET phone_index = ?, sealed = ? WHERE member_id = ?",
            (new.blind("phone", str(json.loads(text)["phone"])), new.seal(text, aad), member_id),
        )
    return len(rows)


def _cards(conn: sqlite3.Connection, old: Vault, new: Vault) -> int:
    # All read first: a card's key (its index) changes, so it moves in the table.
    rows = conn.execute("SELECT uid_index, sealed FROM cards WHERE sealed IS NOT NULL").fetchall()
    for index, sealed in rows:
        uid = old.open(sealed, f"card:{index}")
        new_index = new.blind("card", uid)
        conn.execute(
            "UPDATE cards SET uid_index = ?, sealed = ? WHERE uid_index = ?",
            (new_index, new.seal(uid, f"card:{new_index}"), index),
        )
    return len(rows)


def _staff(conn: sqlite3.Connection, old: Vault, new: Vault) -> int:
    """Each account's name and PIN hash (one row: `staff` counts accounts, `pins` the same)."""
    rows = conn.execute("SELECT staff_id, name, pin_hash FROM staff").fetchall()
    for staff_id, name, pin_hash in rows:
        named, pinned = f"staff:{staff_id}", f"pin:{staff_id}"
        conn.execute(
            "UPDATE staff SET name = ?, pin_hash = ? WHERE staff_id = ?",
            (
                new.seal(old.open(name, named), named),
                new.seal(old.open(pin_hash, pinned), pinned),
                staff_id,
            ),
        )
    return len(rows)


def _meta(conn: sqlite3.Connection, old: Vault, new: Vault) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'txn_key'").fetchone()
    if row is None:
        return 0
    aad = "meta:txn_key"
    conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'txn_key'",
        (new.seal(old.open_bytes(row[0], aad), aad),),
    )
    return 1


def _chain_seals(conn: sqlite3.Connection, old: Vault, new: Vault) -> int:
    """Each chain head's seal made again with the new key, if the old key made it: a seal
    forged or copied from elsewhere is left as it is, so `ledger verify` still names it."""
    try:
        rows = conn.execute("SELECT chain, at, hash, mac FROM chain_seals").fetchall()
    except sqlite3.OperationalError:  # a schema from before the seals (not migrated)
        return 0
    made = 0
    for name, at, link, mac in rows:
        if old.chain_mac(name, at, link) != mac:
            continue
        conn.execute(
            "UPDATE chain_seals SET mac = ? WHERE chain = ?", (new.chain_mac(name, at, link), name)
        )
        made += 1
    return made


def _check(conn: sqlite3.Connection, new: Vault) -> None:
    """Every value opens with the new key and every index is the new one (before COMMIT:
    a rotation that would leave one value unreadable is rolled back)."""
    for member_id, index, sealed in conn.execute(
        "SELECT member_id, phone_index, sealed FROM people WHERE sealed IS NOT NULL"
    ):
        phone = json.loads(new.open(sealed, f"person:{member_id}"))["phone"]
        if new.blind("phone", str(phone)) != index:
            raise DataKeyUnavailable(reason="a phone's index did not follow the new key")
    for index, sealed in conn.execute(
        "SELECT uid_index, sealed FROM cards WHERE sealed IS NOT NULL"
    ):
        if new.blind("card", new.open(sealed, f"card:{index}")) != index:
            raise DataKeyUnavailable(reason="a card's index did not follow the new key")
    for staff_id, name, pin_hash in conn.execute("SELECT staff_id, name, pin_hash FROM staff"):
        new.open_bytes(name, f"staff:{staff_id}")
        new.open_bytes(pin_hash, f"pin:{staff_id}")


def _count(conn: sqlite3.Connection, sql: str) -> int:
    return int(conn.execute(sql).fetchone()[0])
