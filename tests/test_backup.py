"""`kiosk backup`: a consistent copy of the live database, checked, rotated."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.appliance.backup import backup
from kiosk.cli import main
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from kiosk.errors import StorageUnavailable


def test_a_backup_holds_every_entry_and_only_the_newest_are_kept(
    service: LoyaltyService, tmp_path: Path
):
    data = Path(service.conn.execute("PRAGMA database_list").fetchone()[2]).parent
    member = service.enroll("09121234567", client_txn_id="e-1").member_id
    service.earn(member, 1_000_000, cashier=CLI, client_txn_id="t-1")
    start = datetime(2026, 11, 1, 3, 30, tzinfo=UTC)

    results = [backup(data, keep=3, now=start + timedelta(days=day)) for day in range(5)]

    kept = sorted(p.name for p in (data / "backups").iterdir())
    assert kept == [Path(r.path).name for r in results[-3:]]
    assert len(results[-1].removed) == 1 and not Path(results[1].path).exists()
    copy = sqlite3.connect(results[-1].path)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == len(
        list(service.ledger.entries())
    )
    assert stat.S_IMODE(Path(results[-1].path).stat().st_mode) == 0o600
    copy.close()
    # The live database was written while it was open: the copy is self-contained.
    assert not Path(results[-1].path + "-wal").exists()


def test_a_backup_that_cannot_be_written_leaves_nothing_half_written(
    service: LoyaltyService, tmp_path: Path
):
    data = Path(service.conn.execute("PRAGMA database_list").fetchone()[2]).parent
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the backups should go")

    with pytest.raises(StorageUnavailable):
        backup(data, blocked)

    assert blocked.read_text() == "a file where the backups should go"


def test_kiosk_backup_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    data = tmp_path / "data"
    assert main(["member", "enroll", "--phone", "09121234567", "--data-dir", str(data)]) == 0

    assert main(["backup", "--keep", "2", "--data-dir", str(data)]) == 0

    assert "backup " in capsys.readouterr().out
    assert len(list((data / "backups").glob("kiosk-*.db"))) == 1
