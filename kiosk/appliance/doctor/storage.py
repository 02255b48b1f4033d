"""The storage checks: the database (readable, intact, the ledger's rules, writable) and the
free space on the data directory's disk."""

from __future__ import annotations

from pathlib import Path

from kiosk.appliance.doctor.context import (
    MB,
    CheckResult,
    DatabaseUnreadable,
    DoctorContext,
    _count,
    _size,
)
from kiosk.core.store.db import integrity_problems
from kiosk.core.store.settings import storage_writable
from kiosk.core.store.verify import verify_ledger

DISK_FAIL_BELOW = 100 * MB
DISK_WARN_BELOW = 500 * MB
HINT_RESTORE = (
    "stop the kiosk, keep the damaged file for the vendor, and restore the newest copy from "
    "backups/ in the data directory (`kiosk backup` makes them)"
)


# -- 3. the database -------------------------------------------------------------------------


def check_database(ctx: DoctorContext) -> CheckResult:
    """Opens, passes SQLite's integrity check and the ledger's invariants, takes a write."""
    path = ctx.database_file
    try:
        conn = ctx.database()
    except DatabaseUnreadable as exc:
        return CheckResult(
            "database",
            "fail",
            f"{path} cannot be read: {exc}",
            HINT_RESTORE,
        )
    if conn is None:
        return CheckResult(
            "database",
            "warn",
            f"no database in {ctx.data_dir}: the kiosk has not started yet",
            "start the kiosk (`sudo systemctl start loyalty-kiosk`), or check --data-dir",
        )
    integrity = integrity_problems(conn, 5)
    if integrity:
        return CheckResult(
            "database",
            "fail",
            f"{path} is damaged: {integrity[0]}",
            HINT_RESTORE,
        )
    report = verify_ledger(conn, limit=5)
    if not report.ok:
        problems = report.problems
        return CheckResult(
            "database",
            "fail",
            f"the ledger breaks its rules ({len(problems)} problems; first: {problems[0]})",
            "run `kiosk ledger verify` for the list and keep the file for the vendor",
        )
    if not storage_writable(conn):
        return CheckResult(
            "database",
            "fail",
            f"{path} cannot be written",
            "check the disk check, and that the data directory belongs to the service user "
            "(`ls -l` on it); a read-only file system needs a reboot or a new SD card",
        )
    return CheckResult(
        "database",
        "pass",
        f"{path}: {_size(_database_bytes(path))}, integrity ok, ledger ok "
        f"({_count(report.entries, 'entry', 'entries')}, "
        f"{_count(report.members, 'member', 'members')}), writable",
    )


def _database_bytes(path: Path) -> int:
    files = (path, path.with_name(path.name + "-wal"))
    return sum(p.stat().st_size for p in files if p.exists())


# -- 4. disk ----------------------------------------------------------------------------------


def check_disk(ctx: DoctorContext) -> CheckResult:
    """Free space on the data directory's file system."""
    where = ctx.data_dir.absolute()
    while not where.exists() and where != where.parent:
        where = where.parent
    usage = ctx.disk_usage(where)
    summary = f"{_size(usage.free)} free of {_size(usage.total)} ({where})"
    hint = (
        "free some space: the kiosk stops recording sales when the disk is full "
        "(old logs: `sudo journalctl --vacuum-size=50M`)"
    )
    if usage.free < DISK_FAIL_BELOW:
        return CheckResult("disk", "fail", summary, hint)
    if usage.free < DISK_WARN_BELOW:
        return CheckResult("disk", "warn", summary, hint)
    return CheckResult("disk", "pass", summary)
