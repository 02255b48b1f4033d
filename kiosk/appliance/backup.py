"""Nightly backups of the kiosk database with SQLite's online backup API, rotated.

The backup is taken from a live database (the touch app and the sync worker may be
writing): SQLite copies a consistent snapshot. It is written to a temporary name,
checked (`PRAGMA quick_check`), synced and renamed, so a power cut leaves either the
whole backup or none. The newest `keep` backups are kept.

A backup is sealed as the database is (kiosk/core/store/vault.py): its personal data opens
only with the data key, which opens only with the appliance's key source. A backup must
still not keep a person the kiosk has erased since (the key that opens it is alive), so
each erasure is carried into the older backups: `erase_from_backups` erases, in
every backup of a folder, the members erased in the live database, overwriting their rows
(secure_delete) and compacting the file (VACUUM). `kiosk member erase` runs it at once,
the composition root after a sync session that pulled an erasure (kiosk/bootstrap.py), and
`backup` on its folder before each new backup (a `--to` folder is reached only then).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kiosk.core.store.db import copy_database, database_path, open_existing
from kiosk.core.store.erasure import erase_in_copy, erased_members, migrate_copy
from kiosk.core.store.vault import KeySource, default_key_source, install
from kiosk.errors import InvalidInput, StorageUnavailable

PREFIX = "kiosk-"
SUFFIX = ".db"


@dataclass(frozen=True)
class BackupResult:
    """One backup taken, and the old ones removed by rotation."""

    path: str
    bytes: int
    removed: list[str]


def backup(
    data_dir: Path,
    target: Path | None = None,
    *,
    keep: int = 14,
    now: datetime | None = None,
    keys: KeySource | None = None,
) -> BackupResult:
    """Copy the database into `target` (default: data_dir/backups) and rotate.

    The copy is sealed as the database is (its personal data opens only with the data key,
    itself wrapped by `keys`: the appliance's key source, default the local key file).
    """
    if keep < 1:
        raise InvalidInput("Keep at least one backup (--keep 1 or more).")
    source = database_path(data_dir)
    if not source.exists():
        raise StorageUnavailable(reason=f"there is no kiosk database in {data_dir}")
    folder = target or data_dir / "backups"
    erase_from_backups(data_dir, folder, keys=keys)
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    final = folder / f"{PREFIX}{moment}{SUFFIX}"
    partial = final.with_name(final.name + ".partial")
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
        check = copy_database(source, partial)
        if check != "ok":
            raise StorageUnavailable(reason=f"the backup does not check out: {check}")
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        partial.replace(final)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise StorageUnavailable(reason=f"the backup could not be written: {exc}") from exc
    backups = sorted(folder.glob(f"{PREFIX}*{SUFFIX}"))
    removed = backups[:-keep]
    for old in removed:
        old.unlink(missing_ok=True)
    return BackupResult(str(final), final.stat().st_size, [str(p) for p in removed])


def erase_from_backups(
    data_dir: Path, folder: Path | None = None, *, keys: KeySource | None = None
) -> list[str]:
    """Erase, in every backup in `folder` (default data_dir/backups), the members erased in
    the live database; the backups that were rewritten."""
    folder = folder or data_dir / "backups"
    backups = sorted(folder.glob(f"{PREFIX}*{SUFFIX}")) if folder.is_dir() else []
    if not backups:
        return []
    try:
        live = open_existing(database_path(data_dir))
        try:
            erased = erased_members(live)
        finally:
            live.close()
        source = keys or default_key_source(data_dir)
        return [str(path) for path in backups if erased and _erase_in(path, erased, source)]
    except (OSError, sqlite3.Error) as exc:
        raise StorageUnavailable(reason=f"the backups could not be rewritten: {exc}") from exc


def _erase_in(path: Path, erased: dict[str, str], keys: KeySource) -> bool:
    """Erase the members in one backup file; whether any was still there."""
    conn = sqlite3.connect(path, isolation_level=None)
    install(conn, keys)  # an older copy's migration seals what it holds in clear (m011)
    try:
        conn.execute("PRAGMA secure_delete=ON")
        migrate_copy(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            count = erase_in_copy(conn, erased)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if count:
            conn.execute("VACUUM")  # rewrites every page: nothing of them in free space
        return count > 0
    finally:
        conn.close()
