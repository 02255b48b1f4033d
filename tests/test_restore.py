"""`kiosk restore FILE`: a backup brought back without bringing back the people erased since.

Real files throughout: the kiosk's database in a temporary data directory, backups taken by
`kiosk backup`, the command line run as `kiosk.cli.main([...])`, the simulated CRM on
loopback for the entries it acknowledged, and a real process cut off in the middle of a
restore for the power cut.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.appliance.erasure_journal import journal_path
from kiosk.appliance.restore import restore
from kiosk.bootstrap import Appliance
from kiosk.cli import main
from kiosk.core.clock import ManualClock
from kiosk.core.store.db import database_path
from kiosk.core.store.staff import CLI
from kiosk.core.store.vault import KEY_FILENAME
from kiosk.errors import InvalidInput
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from tests.conftest import make_config
from tests.test_erasure import BIRTHDAY, CARD, NAME, PHONE, names_in, traces

OTHER_PHONE = "09351112233"
OTHER_NAME = "Reza Karimi"
ROOT = Path(__file__).resolve().parent.parent


def kiosk(args: list[str], data: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run one `kiosk` command on `data` with --json; its exit status and its output."""
    status = main([*args, "--data-dir", str(data), "--json"])
    out = capsys.readouterr()
    return status, out.out + out.err


def enroll(data: Path, phone: str, name: str, capsys: pytest.CaptureFixture[str]) -> str:
    extra = ["--card", CARD, "--birthday", BIRTHDAY.isoformat()] if phone == PHONE else []
    status, out = kiosk(
        ["member", "enroll", "--phone", phone, "--name", name, *extra], data, capsys
    )
    assert status == 0, out
    return str(json.loads(out)["member_id"])


def earn(data: Path, phone: str, capsys: pytest.CaptureFixture[str]) -> None:
    again = "program.limits.min_minutes_between_earns=0"  # one shopper, several sales
    status, out = kiosk(["earn", "--phone", phone, "--amount", "100000", "-o", again], data, capsys)
    assert status == 0, out


def offsite_backup(data: Path, folder: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A backup copied off the kiosk's folder (a USB stick): no erasure reaches it later."""
    status, out = kiosk(["backup", "--to", str(folder)], data, capsys)
    assert status == 0, out
    return Path(json.loads(out)["path"])


def on_card(data: Path) -> bytes:
    """The live database and its WAL as they are on the SD card."""
    db = database_path(data)
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def fingerprint(data: Path) -> str:
    return hashlib.sha256(on_card(data)).hexdigest()


def people(data: Path) -> list[str]:
    """The names of the live database, opened with the kiosk's key."""
    return names_in(database_path(data), data)


def ledger_size(data: Path) -> int:
    conn = sqlite3.connect(database_path(data))
    try:
        return int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
    finally:
        conn.close()


def test_a_restore_does_not_bring_back_a_member_erased_after_the_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    data = tmp_path / "data"
    erased = enroll(data, PHONE, NAME, capsys)
    enroll(data, OTHER_PHONE, OTHER_NAME, capsys)
    earn(data, OTHER_PHONE, capsys)
    taken = offsite_backup(data, tmp_path / "usb", capsys)
    assert kiosk(["member", "erase", "--phone", PHONE, "--yes"], data, capsys)[0] == 0
    assert names_in(taken, data) == [NAME, OTHER_NAME]  # the stick still holds her

    status, out = kiosk(["restore", str(taken), "--yes"], data, capsys)

    assert status == 0, out
    done = json.loads(out)
    assert done["erasures_reapplied"] == 1 and done["live_read"] is True
    assert people(data) == [OTHER_NAME]
    assert traces(on_card(data)) == []
    assert kiosk(["member", "show", "--phone", PHONE], data, capsys)[0] != 0
    status, out = kiosk(["member", "show", "--id", erased], data, capsys)
    assert json.loads(out)["status"] == "erased"
    status, out = kiosk(["member", "show", "--phone", OTHER_PHONE], data, capsys)
    assert status == 0 and json.loads(out)["balance"] > 0
    kept = Path(done["kept"])
    assert kept.name.startswith("kiosk.db.before-restore-")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    conn = sqlite3.connect(database_path(data))
    actions = [r[0] for r in conn.execute("SELECT action FROM audit ORDER BY id")]
    conn.close()
    assert "backup.restore" in actions
    assert kiosk(["ledger", "verify"], data, capsys)[0] == 0
    assert not list(data.glob("*.restoring*"))


def test_the_journal_erases_again_when_the_live_database_is_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    data = tmp_path / "data"
    enroll(data, PHONE, NAME, capsys)
    enroll(data, OTHER_PHONE, OTHER_NAME, capsys)
    taken = offsite_backup(data, tmp_path / "usb", capsys)
    assert kiosk(["member", "erase", "--phone", PHONE, "--yes"], data, capsys)[0] == 0
    database_path(data).write_bytes(b"\0" * 8192)  # the SD card's sectors gone bad

    status, out = kiosk(["restore", str(taken), "--yes"], data, capsys)

    assert status == 0, out
    assert json.loads(out)["live_read"] is False
    assert people(data) == [OTHER_NAME]
    assert traces(on_card(data)) == []


def test_journal_lines_hold_only_member_ids_and_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clock: ManualClock
):
    data = tmp_path / "data"
    first = enroll(data, PHONE, NAME, capsys)
    assert kiosk(["member", "erase", "--id", first, "--yes"], data, capsys)[0] == 0
    with CrmServer(CrmStore()) as crm:  # an erasure asked for at another branch
        config = make_config(f'crm.url="{crm.url}"', 'device.id="kiosk-journal"')
        appliance = Appliance(config, tmp_path / "crm-data", clock=clock)
        service = appliance.open_service()
        try:
            appliance.provision(service, crm_url=crm.url, code=crm.store.new_code())
            second = service.enroll(OTHER_PHONE, name=OTHER_NAME, client_txn_id="e-1").member_id
            with appliance.sync_session() as worker:
                worker.drain(ignore_backoff=True)
            crm.store.publish("erasure", {"member_id": second})
            with appliance.sync_session() as worker:
                assert worker.pull().stopped == "done"
        finally:
            appliance.forget_client()
            service.close()

    for folder, member in ((data, first), (tmp_path / "crm-data", second)):
        journal = journal_path(folder)
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600
        lines = [json.loads(line) for line in journal.read_text().splitlines()]
        assert [line["member_id"] for line in lines] == [member]
        assert all(set(line) == {"member_id", "erased_at"} for line in lines)
        text = journal.read_bytes()
        assert traces(text) == [] and OTHER_NAME.encode() not in text
        assert b"9351112233" not in text


def test_a_backup_of_another_kiosk_or_key_is_refused_and_nothing_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    data, other, same_key = tmp_path / "data", tmp_path / "other", tmp_path / "same-key"
    enroll(data, PHONE, NAME, capsys)
    enroll(other, OTHER_PHONE, OTHER_NAME, capsys)
    same_key.mkdir(mode=0o700)
    (same_key / KEY_FILENAME).write_bytes((data / KEY_FILENAME).read_bytes())
    (same_key / KEY_FILENAME).chmod(0o600)
    enroll(same_key, OTHER_PHONE, OTHER_NAME, capsys)  # another kiosk, this one's key
    foreign = offsite_backup(other, tmp_path / "usb-other", capsys)
    twin = offsite_backup(same_key, tmp_path / "usb-twin", capsys)
    junk = tmp_path / "notes.db"
    junk.write_text("not a database")
    before = fingerprint(data)

    refusals = {
        "key": kiosk(["restore", str(foreign), "--yes"], data, capsys),
        "device": kiosk(["restore", str(twin), "--yes"], data, capsys),
        "junk": kiosk(["restore", str(junk), "--yes"], data, capsys),
        "missing": kiosk(["restore", str(tmp_path / "gone.db"), "--yes"], data, capsys),
    }

    assert all(status == 1 for status, _ in refusals.values()), refusals
    assert "does not open with this kiosk's key" in refusals["key"][1]
    assert "another kiosk" in refusals["device"][1]
    assert "not a kiosk backup" in refusals["junk"][1]
    assert "Nothing was changed" in refusals["missing"][1]
    assert fingerprint(data) == before
    assert not list(data.glob("kiosk.db.restoring*"))
    assert not list(data.glob("kiosk.db.before-restore-*"))
    assert people(data) == [NAME]
    # The live database lost: the configured device id says which kiosk this is.
    database_path(data).rename(tmp_path / "lost.db")
    status, out = kiosk(
        ["restore", str(twin), "--yes", "-o", 'device.id="kiosk-here"'], data, capsys
    )
    assert status == 1 and "another kiosk" in out
    assert not database_path(data).exists()
    (tmp_path / "lost.db").rename(database_path(data))
    # A new SD card without this kiosk's key file: refused, and no key file made for it.
    status, out = kiosk(["restore", str(foreign), "--yes"], tmp_path / "new-card", capsys)
    assert status == 1 and "no key file" in out
    assert not (tmp_path / "new-card" / KEY_FILENAME).exists()
    assert not database_path(tmp_path / "new-card").exists()


def test_newer_entries_are_refused_unless_discarded_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    data = tmp_path / "data"
    enroll(data, OTHER_PHONE, OTHER_NAME, capsys)
    taken = offsite_backup(data, tmp_path / "usb", capsys)
    earn(data, OTHER_PHONE, capsys)
    earn(data, OTHER_PHONE, capsys)
    before, entries = fingerprint(data), ledger_size(data)

    status, out = kiosk(["restore", str(taken), "--yes"], data, capsys)

    assert status == 1
    assert "2 ledger entries newer than the backup" in out
    assert "2 of them never acknowledged" in out
    assert fingerprint(data) == before and ledger_size(data) == entries

    status, out = kiosk(["restore", str(taken), "--yes", "--discard-newer"], data, capsys)

    assert status == 0, out
    assert json.loads(out)["newer_entries"] == 2
    assert ledger_size(data) == entries - 2


def test_entries_the_crm_acknowledged_after_the_backup_refuse_the_restore(
    tmp_path: Path, clock: ManualClock, capsys: pytest.CaptureFixture[str]
):
    with CrmServer(CrmStore()) as crm:
        config = make_config(f'crm.url="{crm.url}"', 'device.id="kiosk-restore"')
        data = tmp_path / "data"
        appliance = Appliance(config, data, clock=clock)
        service = appliance.open_service()
        try:
            appliance.provision(service, crm_url=crm.url, code=crm.store.new_code())
            member = service.enroll(OTHER_PHONE, name=OTHER_NAME, client_txn_id="e-1").member_id
            service.earn(member, 100_000, cashier=CLI, client_txn_id="t-1")
            taken = data / "usb" / "kiosk-before.db"
            taken.parent.mkdir()
            service.conn.execute("VACUUM INTO ?", (str(taken),))
            clock.advance(minutes=10)
            service.earn(member, 200_000, cashier=CLI, client_txn_id="t-2")
            with appliance.sync_session() as worker:
                worker.drain(ignore_backoff=True)
        finally:
            appliance.forget_client()
            service.close()
        before = fingerprint(data)

        with pytest.raises(InvalidInput, match=r"CRM already holds 1 ledger entries"):
            restore(data, taken, keys=appliance.key_source(), discard_newer=True)
        assert fingerprint(data) == before

        # The live database lost: the CRM itself says how far it holds this kiosk's ledger
        # (asked with an empty push; crm.url is in the data directory's provisioned.toml).
        database_path(data).unlink()
        status = main(["restore", str(taken), "--yes", "--discard-newer", "--data-dir", str(data)])
        assert status == 1
        assert (
            "holds this kiosk's ledger up to seq 3, the backup only to 2" in capsys.readouterr().err
        )
        assert not database_path(data).exists()


def test_a_restore_is_refused_while_the_kiosk_has_the_database_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    data = tmp_path / "data"
    enroll(data, OTHER_PHONE, OTHER_NAME, capsys)
    taken = offsite_backup(data, tmp_path / "usb", capsys)
    running = Appliance.load(data_dir=str(data)).open_service()  # the touch app, say
    try:
        status, out = kiosk(["restore", str(taken), "--yes"], data, capsys)
    finally:
        running.close()

    assert status == 1 and "in use" in out


CUT_AT_RENAME = """
import os, sys
from pathlib import Path
real = Path.replace
def cut(self, target):
    if Path(target).name == "kiosk.db":
        os._exit(9)  # the power goes: no cleanup, no finally
    return real(self, target)
Path.replace = cut
from kiosk.cli import main
main(["restore", sys.argv[1], "--yes", "--discard-newer", "--data-dir", sys.argv[2]])
"""


def test_a_power_cut_before_the_rename_leaves_the_old_database_usable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    data = tmp_path / "data"
    enroll(data, PHONE, NAME, capsys)
    enroll(data, OTHER_PHONE, OTHER_NAME, capsys)
    taken = offsite_backup(data, tmp_path / "usb", capsys)
    assert kiosk(["member", "erase", "--phone", PHONE, "--yes"], data, capsys)[0] == 0
    earn(data, OTHER_PHONE, capsys)
    entries = ledger_size(data)

    cut = subprocess.run(
        [sys.executable, "-c", CUT_AT_RENAME, str(taken), str(data)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        check=False,
    )

    assert cut.returncode == 9, cut.stderr.decode()
    assert list(data.glob("kiosk.db.restoring"))  # the half-done copy is still there
    status, out = kiosk(["member", "show", "--phone", OTHER_PHONE], data, capsys)
    assert status == 0 and json.loads(out)["balance"] > 0
    assert ledger_size(data) == entries
    assert people(data) == [OTHER_NAME]
    earn(data, OTHER_PHONE, capsys)  # and it takes sales again
    # The next restore clears the copy left behind, and is done.
    status, out = kiosk(["restore", str(taken), "--yes", "--discard-newer"], data, capsys)
    assert status == 0, out
    assert not list(data.glob("kiosk.db.restoring*"))
    assert people(data) == [OTHER_NAME] and ledger_size(data) == entries - 1


def test_an_erasure_that_cannot_be_journaled_is_not_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    data = tmp_path / "data"
    member = enroll(data, PHONE, NAME, capsys)
    journal_path(data).mkdir()  # where the journal should go, something it cannot write

    status, out = kiosk(["member", "erase", "--id", member, "--yes"], data, capsys)

    assert status == 3 and "erasure journal" in out
    assert people(data) == [NAME]  # not erased without its line: a restore would miss it
    journal_path(data).rmdir()
    assert kiosk(["member", "erase", "--id", member, "--yes"], data, capsys)[0] == 0
    assert [
        json.loads(line)["member_id"] for line in journal_path(data).read_text().splitlines()
    ] == [member]
