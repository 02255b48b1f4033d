"""Nightly backups of the kiosk database with SQLite's online backup API, rotated.

The backup is taken from a live database (the touch app and the sync worker may be
writing): SQLite copies a consistent snapshot. It is written to a temporary name,
checked (`PRAGMA quick_check`), synced and renamed, so a power cut leaves either the
whole backup or none. The newest `keep` backups are kept.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kiosk.core.store.db import copy_database, database_path
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
    data_dir: Path, target: Path | None = None, *, keep: int = 14, now: datetime | None = None
) -> BackupResult:
    """Copy the database into `target` (default: data_dir/backups) and rotate."""
    if keep < 1:
        raise InvalidInput("Keep at least one backup (--keep 1 or more).")
    source = database_path(data_dir)
    if not source.exists():
        raise StorageUnavailable(reason=f"there is no kiosk database in {data_dir}")
    folder = target or data_dir / "backups"
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
