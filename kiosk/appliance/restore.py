"""`kiosk restore FILE`: a backup back in place of the live database, without the erased.

A backup taken before an erasure still holds the person, so a restore erases again
everyone erased since. Who that is comes from two places, both read: the erasure journal
beside the database (kiosk/appliance/erasure_journal.py, written inside every erasure's
transaction, so it survives a damaged or lost database) and the live database's own erased
members when it can still be read.

In order, nothing of the live database being touched before step 6:

1. The file must be a kiosk database (SQLite, with the kiosk's tables, `quick_check` ok)
   whose data key opens with this kiosk's key source (`Appliance.key_source()`): a backup
   from another board, or sealed with another key, is refused. The backup must be of
   this kiosk's device id (the live database's, or the configured `device.id` when the
   live database cannot be read).
2. The live database must not be open (the touch app and the sync worker stopped:
   `systemctl stop loyalty-kiosk loyalty-kiosk-sync`): it is locked exclusively for a
   moment to be sure, and refused when it is in use.
3. Ledger entries of this device newer than the backup's last (a higher seq in the live
   database) would be lost: refused, with how many and how many of them the CRM never
   acknowledged (they exist nowhere else), unless `discard_newer`. When the CRM already
   acknowledged entries beyond the backup's last, the restore is refused even so: the
   restored kiosk would number its next entries with sequence numbers the CRM holds under
   other entry ids (it refuses them as `seq_conflict`, docs/sync-protocol.md), and its
   hash chain would fork from the one the CRM keeps. Continuing from the CRM's high-water
   mark is not done, as the entries in between and the hash they chain to would be
   missing; a newer backup (or the live database itself) is the way then. When the live
   database cannot be read, the CRM is asked for its high-water mark (`crm_high_water`),
   and when it cannot be asked either the restore is refused unless `discard_newer`.
4. The backup is copied to `kiosk.db.restoring` (0600, SQLite's backup API), brought to
   this schema (`migrate_copy`), every erasure known is applied (`erase_in_copy`, with
   secure_delete), a `backup.restore` audit record is appended in the same transaction,
   and the copy is VACUUMed (no erased person in its free pages) and synced.
5. `confirm`, if given, sees the plan and may still say no (the copy is removed).
6. The live database is checkpointed and closed (its WAL emptied), kept as
   `kiosk.db.before-restore-<UTC time>` (a hard link, 0600, with its WAL if it had one that
   could not be checkpointed), its `-wal`/`-shm` removed, and the copy renamed over
   `kiosk.db` (one atomic rename; the folder synced). A power cut before the rename leaves
   the live database as it was (the partial copy is removed by the next restore); after
   it, the restored one.
7. The restored database is opened once (WAL mode, pragmas) and the backups in
   DATA_DIR/backups are rewritten without the erased (`erase_from_backups`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from kiosk.appliance.backup import erase_from_backups
from kiosk.appliance.erasure_journal import read_journal
from kiosk.core.store import audit
from kiosk.core.store.db import (
    checkpoint,
    connect,
    copy_database,
    database_now,
    database_path,
)
from kiosk.core.store.erasure import erase_in_copy, erased_members, migrate_copy
from kiosk.core.store.vault import KeySource, LocalKeyFile, install, stored_key, unlock
from kiosk.errors import DataKeyUnavailable, InvalidInput, StorageUnavailable

log = logging.getLogger(__name__)
STAGING_SUFFIX = ".restoring"
KEPT_INFIX = ".before-restore-"
_SQLITE_HEADER = b"SQLite format 3\x00"
_KIOSK_TABLES = {"meta", "members", "entries", "outbox", "audit"}
_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class RestorePlan:
    """What a restore is about to do (shown before it is confirmed) and then did."""

    backup: str
    database: str
    device_id: str
    backup_seq: int  # this device's last ledger entry in the backup
    erasures_known: int  # journal and live database together
    erasures_reapplied: int  # of them, people the backup still held
    newer_entries: int  # this device's entries in the live database after backup_seq
    newer_unacknowledged: int  # of them, never acknowledged by the CRM
    live_read: bool  # whether the live database could be read (erasures, entries)
    kept: str | None = None  # the old database, kept under this name
    backups_rewritten: int = 0  # backups in DATA_DIR/backups erased again afterwards


@dataclass(frozen=True)
class _Live:
    """What the live database says, when it can be read."""

    device_id: str | None
    erased: dict[str, str]
    conn: sqlite3.Connection


def restore(
    data_dir: Path,
    backup_file: Path,
    *,
    keys: KeySource,
    discard_newer: bool = False,
    confirm: Callable[[RestorePlan], bool] | None = None,
    crm_high_water: Callable[[str], int | None] | None = None,
    actor: str = "cli",
    configured_device: str = "",
    now: datetime | None = None,
) -> RestorePlan:
    """Put `backup_file` in place of the live database, erasing again whoever was erased
    since it was taken (see the module's docstring); the plan as done.

    InvalidInput when refused (nothing changed); StorageUnavailable when a file cannot be
    read or written (the live database left as it was).
    """
    live_path = database_path(data_dir)
    staging = live_path.with_name(live_path.name + STAGING_SUFFIX)
    backup_device = _check_backup(backup_file, keys)
    _remove(staging)  # a copy left by a restore a power cut stopped
    live = _read_live(live_path)
    try:
        # This kiosk's device id: the live database's, else the configured one.
        here = (live.device_id if live else None) or configured_device
        if here and backup_device and here != backup_device:
            raise InvalidInput(
                f"{backup_file.name} is a backup of another kiosk (device {backup_device}); "
                f"this one is {here}. Nothing was changed."
            )
        device_id = here or backup_device or ""
        erased = read_journal(data_dir)
        for member_id, at in (live.erased if live else {}).items():
            erased.setdefault(member_id, at)
        plan = _prepare(backup_file, live_path, keys, device_id, erased, live, actor, discard_newer)
        if live is None:
            _check_crm(plan, crm_high_water, discard_newer)
    except BaseException:
        _remove(staging)
        raise
    finally:
        if live is not None:
            live.conn.close()
    if confirm is not None and not confirm(plan):
        _remove(staging)
        raise InvalidInput("Nothing was restored.")
    try:
        kept = _swap(live_path, staging, now or datetime.now(UTC))
    except BaseException:
        _remove(staging)
        raise
    rewritten = _settle(data_dir, live_path, keys)
    return replace(plan, kept=str(kept) if kept else None, backups_rewritten=rewritten)


def _check_backup(path: Path, keys: KeySource) -> str | None:
    """Refuse what is not a sound kiosk backup that opens with `keys`; its device id."""
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise InvalidInput(
            f"Cannot read {path}: {exc.strerror or exc}. Nothing was changed."
        ) from exc
    if header != _SQLITE_HEADER:
        raise InvalidInput(f"{path.name} is not a kiosk backup (not a SQLite database).")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InvalidInput(f"{path.name} cannot be opened ({exc}). Nothing was changed.") from exc
    try:
        try:
            check = str(conn.execute("PRAGMA quick_check").fetchone()[0])
            tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.Error as exc:
            raise InvalidInput(f"{path.name} is damaged ({exc}). Nothing was changed.") from exc
        if check != "ok":
            raise InvalidInput(f"{path.name} is damaged ({check}). Nothing was changed.")
        if not tables >= _KIOSK_TABLES:
            raise InvalidInput(f"{path.name} is not a kiosk backup. Nothing was changed.")
        if stored_key(conn) is not None:  # a backup from before m011 has none: sealed later
            if isinstance(keys, LocalKeyFile) and not keys.path.exists():
                # Asking it for its key would make a new one (it is made on first use).
                raise InvalidInput(
                    f"{path.name} is sealed, and this kiosk has no key file "
                    f"({keys.path.name}) to open it: it was taken on another board or the "
                    "key file is lost. Nothing was changed."
                )
            try:
                unlock(conn, keys)
            except DataKeyUnavailable as exc:
                raise InvalidInput(
                    f"{path.name} does not open with this kiosk's key "
                    f"({exc.params.get('reason')}): it was taken on another board or "
                    "sealed with another key. Nothing was changed."
                ) from exc
        row = conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
        return str(row[0]) if row else None
    finally:
        conn.close()


def _read_live(path: Path) -> _Live | None:
    """The live database, locked against every other connection; None when it is not there
    or cannot be read (its erasures then come from the journal only)."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=1.0)
    except sqlite3.Error:
        return None
    try:
        # No other connection may have it open: the touch app or the sync worker would go
        # on writing into the file about to be replaced.
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise InvalidInput(
                "The kiosk database is in use: stop the kiosk first (sudo systemctl stop "
                "loyalty-kiosk loyalty-kiosk-sync), then restore. Nothing was changed."
            ) from exc
        return None
    except sqlite3.Error:
        conn.close()
        return None
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
        erased = erased_members(conn)
    except sqlite3.Error:
        conn.close()
        return None
    return _Live(str(row[0]) if row else None, erased, conn)


def _prepare(
    backup_file: Path,
    live_path: Path,
    keys: KeySource,
    device_id: str,
    erased: dict[str, str],
    live: _Live | None,
    actor: str,
    discard_newer: bool,
) -> RestorePlan:
    """The backup copied beside the live database, migrated, erased again, audited and
    vacuumed."""
    staging = live_path.with_name(live_path.name + STAGING_SUFFIX)
    try:
        os.close(os.open(staging, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
        check = copy_database(backup_file, staging)
    except (OSError, sqlite3.Error) as exc:
        raise StorageUnavailable(reason=f"the backup could not be copied: {exc}") from exc
    if check != "ok":
        raise InvalidInput(f"{backup_file.name} does not check out ({check}). Nothing changed.")
    conn = sqlite3.connect(staging, isolation_level=None)
    install(conn, keys)
    try:
        conn.execute("PRAGMA secure_delete=ON")
        migrate_copy(conn)
        backup_seq = _last_seq(conn, device_id)
        newer, unacknowledged = _newer(live, device_id, backup_seq)
        if newer - unacknowledged > 0:
            raise InvalidInput(
                f"The CRM already holds {newer - unacknowledged} ledger entries of this kiosk "
                f"numbered after the backup's last (seq {backup_seq}): a restored kiosk would "
                "number its next entries the same, and the CRM refuses those (seq_conflict). "
                "Restore a newer backup. Nothing was changed."
            )
        if newer and not discard_newer:
            raise InvalidInput(
                f"The live database holds {newer} ledger entries newer than the backup "
                f"(after seq {backup_seq}), {unacknowledged} of them never acknowledged by "
                "the CRM (they exist only here): the restore would lose them. Add "
                "--discard-newer to restore anyway. Nothing was changed."
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            count = erase_in_copy(conn, erased)
            audit.record(
                conn,
                at=database_now(conn),
                actor=actor,
                action="backup.restore",
                target=backup_file.name,
                details={
                    "backup_seq": backup_seq,
                    "erasures_reapplied": count,
                    "newer_entries_discarded": newer,
                    "newer_unacknowledged": unacknowledged,
                    "live_database_read": live is not None,
                },
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        conn.execute("VACUUM")  # every page rewritten: nothing of the erased in free space
        check = str(conn.execute("PRAGMA quick_check").fetchone()[0])
    except sqlite3.Error as exc:
        raise StorageUnavailable(reason=f"the restored copy could not be written: {exc}") from exc
    finally:
        conn.close()
    if check != "ok":
        raise StorageUnavailable(reason=f"the restored copy does not check out: {check}")
    _fsync(staging)
    return RestorePlan(
        backup=str(backup_file),
        database=str(live_path),
        device_id=device_id,
        backup_seq=backup_seq,
        erasures_known=len(erased),
        erasures_reapplied=count,
        newer_entries=newer,
        newer_unacknowledged=unacknowledged,
        live_read=live is not None,
    )


def _last_seq(conn: sqlite3.Connection, device_id: str) -> int:
    row = conn.execute("SELECT MAX(seq) FROM entries WHERE device_id = ?", (device_id,)).fetchone()
    return int(row[0] or 0)


def _newer(live: _Live | None, device_id: str, after: int) -> tuple[int, int]:
    """This device's entries after `after` in the live database, and how many of them are
    still pending in its outbox (never acknowledged by the CRM)."""
    if live is None:
        return 0, 0
    try:
        newer, pending = live.conn.execute(
            "SELECT COUNT(*), COUNT(o.entry_id) FROM entries e LEFT JOIN outbox o "
            "ON o.entry_id = e.entry_id AND o.state = 'pending' "
            "WHERE e.device_id = ? AND e.seq > ?",
            (device_id, after),
        ).fetchone()
    except sqlite3.Error as exc:  # the file is damaged there: it is not taken as "none"
        raise InvalidInput(
            f"The live database's ledger cannot be read ({exc}), so the entries a restore "
            "would lose cannot be counted. Nothing was changed."
        ) from exc
    return int(newer), int(pending)


def _check_crm(
    plan: RestorePlan, high_water: Callable[[str], int | None] | None, discard_newer: bool
) -> None:
    """Without a readable live database, the CRM says what it holds of this device."""
    if high_water is None:
        return  # no CRM: nothing was acknowledged anywhere
    held = high_water(plan.device_id)
    if held is None:
        if discard_newer:
            return
        raise InvalidInput(
            "The live database cannot be read and the CRM cannot be asked which entries of "
            "this kiosk it already holds: a restored kiosk could number its next entries as "
            "ones the CRM holds (it refuses those as seq_conflict). Connect the kiosk and try "
            "again, or add --discard-newer to restore anyway. Nothing was changed."
        )
    if held > plan.backup_seq:
        raise InvalidInput(
            f"The CRM already holds this kiosk's ledger up to seq {held}, the backup only to "
            f"{plan.backup_seq}: a restored kiosk would number its next entries the same, and "
            "the CRM refuses those (seq_conflict). Restore a newer backup. Nothing was changed."
        )


def _swap(live: Path, staging: Path, now: datetime) -> Path | None:
    """Replace the live database by the copy with one rename; where the old one is kept."""
    if not live.exists():
        try:
            staging.replace(live)
            _fsync_folder(live.parent)
        except OSError as exc:
            raise StorageUnavailable(
                reason=f"the database could not be put in place: {exc}"
            ) from exc
        return None
    _release_wal(live)
    kept = live.with_name(f"{live.name}{KEPT_INFIX}{now.strftime('%Y%m%dT%H%M%SZ')}")
    try:
        for side in ("", *_SIDE_FILES):
            old, keep = Path(f"{live}{side}"), Path(f"{kept}{side}")
            if old.exists():
                keep.unlink(missing_ok=True)
                keep.hardlink_to(old)  # the same file under a second name: no copy to fail
                keep.chmod(0o600)
        _fsync_folder(live.parent)
        # The old WAL must not meet the new database: SQLite would replay it into it.
        for side in _SIDE_FILES:
            Path(f"{live}{side}").unlink(missing_ok=True)
        staging.replace(live)  # the one step that switches: atomic
        _fsync_folder(live.parent)
    except OSError as exc:
        raise StorageUnavailable(reason=f"the database could not be replaced: {exc}") from exc
    return kept


def _release_wal(live: Path) -> None:
    """Copy the live WAL into the file and empty it (the last close removes it)."""
    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(live, isolation_level=None, timeout=1.0)
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                checkpoint(conn)
        finally:
            conn.close()


def _settle(data_dir: Path, live: Path, keys: KeySource) -> int:
    """Open the restored database once (WAL, pragmas), then erase the erased from the
    backups too (the backup restored from among them); how many were rewritten."""
    conn = connect(live, keys=keys)
    try:
        checkpoint(conn)
    finally:
        conn.close()
    try:
        return len(erase_from_backups(data_dir, keys=keys))
    except StorageUnavailable as exc:  # the restore stands; the next backup erases them
        log.warning("the backups could not be rewritten after the restore: %s", exc)
        return 0


def _remove(path: Path) -> None:
    for side in ("", *_SIDE_FILES):
        with contextlib.suppress(OSError):
            Path(f"{path}{side}").unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
