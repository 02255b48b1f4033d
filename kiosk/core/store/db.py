"""The kiosk database: one SQLite file, opened durably, migrated, written in short transactions."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlite_utils import Database

from kiosk.core.store.schema import MIGRATIONS
from kiosk.core.store.vault import KeySource, VaultConnection, default_key_source, install
from kiosk.errors import DataKeyUnavailable, StorageUnavailable, StorageUncertain

DB_FILENAME = "kiosk.db"

# WAL lets the touch app read while the sync worker writes; synchronous=FULL makes a
# committed transaction survive a power cut in WAL mode too (NORMAL may lose the last
# commits: https://www.sqlite.org/pragma.html#pragma_synchronous).
_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA trusted_schema=OFF",
    # Deleted rows are overwritten with zeros, not left in free space: an erased person's
    # phone number and name must not stay readable in the file (docs/security.md).
    "PRAGMA secure_delete=ON",
)


# Migrations that rewrote personal data in place, after which the file is vacuumed.
_REWROTE_PEOPLE = {"m011_sealed_personal_data"}


def database_path(data_dir: Path) -> Path:
    """Where the kiosk database lives inside a data directory."""
    return data_dir / DB_FILENAME


def connect(
    path: Path, *, migrate: bool = True, keys: KeySource | None = None
) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path` with the durable pragmas, migrated.

    Personal data is sealed with the database's data key, wrapped by `keys` (default: the
    local key file beside the data folder, kiosk/core/store/vault.py); the key is made
    here on a new database, in a transaction of its own.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            # Personal data lives here: readable by the service user only. SQLite gives
            # the -wal and -shm files the same mode as the database file.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(path, isolation_level=None, timeout=5.0, factory=VaultConnection)
    except (OSError, sqlite3.Error) as exc:
        raise StorageUnavailable(reason=_describe(exc)) from exc
    holder = install(conn, keys or default_key_source(path.parent))
    try:
        for pragma in _PRAGMAS:
            conn.execute(pragma)
        if migrate:
            with _migration_lock(path):
                database = Database(conn)
                pending = {m.name for m in MIGRATIONS.pending(database)}
                try:
                    MIGRATIONS.apply(database)
                except sqlite3.Error:
                    if holder.error is not None:  # raised inside seal() by a migration
                        raise holder.error from None
                    raise
                conn.execute("BEGIN IMMEDIATE")  # the data key: made once, committed
                try:
                    holder()
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            if pending:  # the WAL may hold what a migration replaced (unkeyed fingerprints)
                checkpoint(conn)
            if pending & _REWROTE_PEOPLE and conn.execute("SELECT 1 FROM people").fetchone():
                # Free pages may hold the people in clear: rewrite the file once (minutes
                # on a big ledger, at the first start after that upgrade only).
                conn.execute("VACUUM")
                checkpoint(conn)
        # Where the file cannot be opened for writing (a read-only medium after a crash),
        # SQLite falls back to read-only without a word, and that connection would stay
        # unwritable after the medium came back. Refuse it now: a restart opens it later.
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("INSERT INTO write_probe (data) VALUES (NULL)")
        finally:
            conn.execute("ROLLBACK")
    except DataKeyUnavailable:
        conn.close()
        raise
    except (sqlite3.Error, OSError) as exc:
        conn.close()
        raise StorageUnavailable(reason=_describe(exc)) from exc
    except BaseException:
        conn.close()
        raise
    conn.row_factory = sqlite3.Row
    return conn


@contextlib.contextmanager
def _migration_lock(path: Path) -> Iterator[None]:
    """One process at a time migrates: sqlite-utils decides what is pending outside any
    transaction, so the touch app and `kiosk sync` starting together on a new (or just
    upgraded) database would both run the same migrations, and one would fail."""
    lock = path.with_name(path.name + ".migrate.lock")
    descriptor = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


class NestedTransaction(RuntimeError):
    """A write transaction was begun inside another: a bug in the caller, not a storage fault."""


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block in one IMMEDIATE transaction: all of it is committed or none of it.

    SQLite errors that mean the disk cannot take the write (full, read-only, I/O) become
    `StorageUnavailable`, so callers show "out of service" instead of a traceback. Any
    other failure to begin (a transaction already open) is a programming error and is
    raised as one: showing "out of service" for it would send a technician to the disk.
    """
    _refuse_nesting(conn)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _is_storage_fault(exc):
            raise StorageUnavailable(reason=_describe(exc)) from exc
        raise
    try:
        yield conn
    except BaseException as exc:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.OperationalError) and _is_storage_fault(exc):
            raise StorageUnavailable(reason=_describe(exc)) from exc
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        # The commit record may already be in the WAL: after a power cut SQLite may keep
        # the transaction. Say so, rather than "nothing was recorded".
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        if _is_storage_fault(exc):
            raise StorageUncertain(reason=_describe(exc)) from exc
        raise


def _refuse_nesting(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        raise NestedTransaction("a write transaction is already open on this connection")


@contextlib.contextmanager
def redoable_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction committed without waiting for the disk (synchronous=NORMAL).

    Only for writes that a power cut may take back without harm because they are redone:
    a CRM acknowledgement lost this way means the batch is sent again and the CRM counts
    it as duplicates. WAL keeps the order of commits, so the next durable commit (a sale)
    makes this one durable too. It saves an fsync per batch (and SD-card wear).
    """
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        with write_transaction(conn):
            yield conn
    finally:
        conn.execute("PRAGMA synchronous=FULL")


def checkpoint(conn: sqlite3.Connection) -> bool:
    """Copy the WAL into the database file and truncate it to nothing; whether all of it was.

    After an erasure: the WAL keeps the pages as they were before it (with the person in
    them) until they are overwritten. Not inside a transaction. A reader holding an older
    snapshot (the busy timeout is waited) leaves it partial: False.
    """
    busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy


def open_existing(path: Path, *, keys: KeySource | None = None) -> sqlite3.Connection:
    """Open a database that must already exist, read-write, without creating or migrating it
    (the doctor looks at the file as it is); sqlite3.Error when it cannot be read. With
    `keys`, its vault is installed (unlocked when first used)."""
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=rw",
        uri=True,
        isolation_level=None,
        timeout=5.0,
        factory=VaultConnection,
    )
    if keys is not None:
        install(conn, keys)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def integrity_problems(conn: sqlite3.Connection, limit: int = 5) -> list[str]:
    """SQLite's integrity check: [] when the file is sound, else up to `limit` problems."""
    found = [str(row[0]) for row in conn.execute(f"PRAGMA integrity_check({int(limit)})")]
    return [] if found == ["ok"] else found


def copy_database(source: Path, target: Path) -> str:
    """A consistent copy of a live database (SQLite's backup API) as one self-contained
    file; returns the copy's `PRAGMA quick_check` ("ok" when sound)."""
    src = sqlite3.connect(source, timeout=30.0)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=1024)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        return str(dst.execute("PRAGMA quick_check").fetchone()[0])
    finally:
        dst.close()
        src.close()


@contextlib.contextmanager
def savepoint(conn: sqlite3.Connection, name: str) -> Iterator[None]:
    """A part of the caller's transaction that is undone alone when the block raises."""
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        # A storage fault may fail these too: the caller's transaction is rolled back then.
        with contextlib.suppress(sqlite3.Error):
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


def database_now(conn: sqlite3.Connection) -> str:
    """SQLite's UTC time to the millisecond (`2026-03-01T09:00:00.123Z`), as triggers write it."""
    return str(conn.execute("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')").fetchone()[0])


def database_folder(conn: sqlite3.Connection) -> Path:
    """The folder of the connection's main database file (the working folder for :memory:)."""
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    return Path(path).parent if path else Path.cwd()


_STORAGE_FAULTS = ("disk", "full", "readonly", "read-only", "locked", "i/o", "unable to open")


def _is_storage_fault(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return any(word in text for word in _STORAGE_FAULTS)


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
