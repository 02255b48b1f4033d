"""`kiosk key rotate` and `kiosk key status`: a new data key, everything still found and shown.

The kiosk runs on a real data folder; `kiosk` commands run through `kiosk.cli.main`; the
board's OTP key comes from a real executable `rpi-otp-private-key` on PATH, as Raspberry
Pi's tool gives it; the CRM is the simulated one on loopback. A power cut is played by a
real process killed (SIGKILL) at the step named, then the folder opened again.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import kiosk.cli.key as key_cli
from kiosk.appliance import keys
from kiosk.appliance.backup import backup
from kiosk.appliance.doctor import DoctorContext, check_sealing
from kiosk.bootstrap import Appliance
from kiosk.cli import main
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.db import database_path
from kiosk.core.store.rekey import KEYED_SQL, SEALED
from kiosk.core.store.staff import CLI
from kiosk.core.store.vault import KEY_FILENAME, stored_key
from kiosk.errors import DataKeyUnavailable
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.secret import SEALED as SECRET_SEALED
from sync.secret import load_secret
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parent.parent
BOARD = "5f" * 32  # this board's OTP key
OTHER_BOARD = "a7" * 32
PEOPLE = (  # phone, name, birthday, card
    ("09121234567", "Sara Tehrani", date(1990, 5, 17), "04A1B2C3D4E5F6"),
    ("09351112233", "سارا تهرانی", None, None),
    ("09127654321", "Reza Karimi", None, "0A0B0C0D"),
)
STAFF_CARD = "1A2B3C4D5E"
STAFF_NAME = "Maryam Cashier"


def on_otp_board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, otp_hex: str = BOARD) -> Path:
    """Put the kiosk on a board whose OTP key is `otp_hex` (its `rpi-otp-private-key` first on
    PATH); the OTP key read afresh, as after a boot. Undone at the test's end."""
    folder = tmp_path / f"board-{otp_hex[:4]}"
    if not folder.exists():
        folder.mkdir()
        tool = folder / keys.OTP_COMMAND
        tool.write_text(f"#!/bin/sh\necho {otp_hex}\n")
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    # A cache of this test's own: the module's is left as it was for the other tests.
    monkeypatch.setattr(keys, "_read_otp", functools.cache(keys._read_otp.__wrapped__))
    return folder


class Kiosk:
    """A kiosk's data folder, its config file, and `kiosk` commands run on it."""

    def __init__(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], clock: ManualClock
    ) -> None:
        self.data = tmp_path / "data"
        self.config_file = tmp_path / "kiosk.toml"
        self.capsys = capsys
        self.clock = clock
        self.crm_url = ""
        self.configure("auto")

    def configure(self, key_source: str) -> None:
        self.key_source = key_source
        self.config_file.write_text(
            f'[device]\nid = "kiosk-test"\n[security]\npin_scrypt_n = 1024\n'
            f'key_source = "{key_source}"\n'
        )

    def appliance(self) -> Appliance:
        overrides = [f'security.key_source="{self.key_source}"']
        if self.crm_url:
            overrides.append(f'crm.url="{self.crm_url}"')
        return Appliance(make_config(*overrides), self.data, clock=self.clock)

    def __call__(self, *args: str) -> tuple[int, Any, str]:
        status = main([*args, "--data-dir", str(self.data), "--json"])
        out, err = self.capsys.readouterr()
        return status, json.loads(out) if out.strip() else None, err

    def open(self) -> LoyaltyService:
        return self.appliance().open_service(create=False)


@pytest.fixture
def kiosk(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Kiosk:
    monkeypatch.setenv("KIOSK_CONFIG", str(tmp_path / "kiosk.toml"))
    # No board tool from the machine: the tests say which board the kiosk is on.
    monkeypatch.setattr(keys, "_read_otp", functools.cache(keys._read_otp.__wrapped__))
    return Kiosk(tmp_path, capsys, clock)


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


def a_day_at_the_counter(kiosk: Kiosk, *, with_backup: bool = True) -> None:
    """Members with phones, names, a birthday and cards; a cashier with a staff card;
    purchases; a backup."""
    service = kiosk.appliance().open_service()
    try:
        for n, (phone, name, birthday, card) in enumerate(PEOPLE):
            member = service.enroll(
                phone, name=name, card=card, birthday=birthday, client_txn_id=f"enroll-{n}"
            ).member_id
            service.earn(member, 2_500_000, cashier=CLI, client_txn_id=f"earn-{n}")
            kiosk.clock.advance(minutes=10)
        cashier = service.staff.add(name=STAFF_NAME, role="cashier", pin="4826", actor=CLI)
        service.link_staff_card(cashier.staff_id, STAFF_CARD, actor=CLI)
    finally:
        service.close()
    if with_backup:
        backup(kiosk.data, keys=kiosk.appliance().key_source())


def as_shown(service: LoyaltyService) -> dict[str, Any]:
    """Everyone as the counter finds and shows them: by phone, by card, the cashier by card."""
    shown: dict[str, Any] = {}
    for phone, _name, _birthday, card in PEOPLE:
        member = service.identify_phone(phone)
        shown[phone] = (member.member_id, member.person, member.balance)
        if card is not None:
            shown[card] = service.identify_card(card).member_id
    actor = service.staff.login_with_card(STAFF_CARD)
    shown["staff"] = (actor.actor_id, service.staff.name_of(actor.actor_id))
    shown["pin"] = service.staff.login_with_pin("4826", actor.actor_id).actor_id  # its hash
    return shown


def sealed_now(data: Path) -> dict[str, list[bytes]]:
    """The sealed values, blind indexes and wrapped data key in the database now."""
    conn = sqlite3.connect(database_path(data))
    try:
        return {
            "sealed": [
                bytes(row[0])
                for row in conn.execute(
                    "SELECT sealed FROM people UNION ALL SELECT sealed FROM cards "
                    "UNION ALL SELECT name FROM staff UNION ALL SELECT pin_hash FROM staff "
                    "UNION ALL SELECT value FROM meta WHERE key = 'txn_key'"
                )
            ],
            "indexes": [
                str(row[0]).encode()
                for row in conn.execute(
                    "SELECT phone_index FROM people UNION ALL SELECT uid_index FROM cards"
                )
            ],
            "wrapped": [
                str(json.loads(row[0])["wrapped"]).encode()
                for row in conn.execute("SELECT value FROM meta WHERE key = 'data_key'")
            ],
        }
    finally:
        conn.close()


def database_bytes(data: Path) -> bytes:
    """The database file with its WAL and shared-memory index, as a thief would read them."""
    path = database_path(data)
    files = [path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))]
    return b"".join(file.read_bytes() for file in files if file.exists())


def stored_source(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        found = stored_key(conn)
    finally:
        conn.close()
    assert found is not None
    return found["source"]


def member_outbox(data: Path) -> list[tuple[str, int, str]]:
    conn = sqlite3.connect(database_path(data))
    try:
        return [tuple(row) for row in conn.execute("SELECT * FROM member_outbox ORDER BY 1")]
    finally:
        conn.close()


# -- the rotation itself -------------------------------------------------------------------------


def test_after_a_rotation_everyone_is_found_by_phone_and_card_and_shown_the_same(kiosk: Kiosk):
    kiosk.configure("file")
    a_day_at_the_counter(kiosk)
    service = kiosk.open()
    try:
        before = as_shown(service)
    finally:
        service.close()

    status, rotated, err = kiosk("key", "rotate")

    assert status == 0, err
    assert rotated["previous"] == rotated["source"] == "file"
    assert rotated["sealed_by_kind"] == {"people": 3, "cards": 3, "staff": 1, "pins": 1, "meta": 1}
    assert rotated["compacted"] is True
    service = kiosk.open()
    try:
        assert as_shown(service) == before
        # The fingerprint key was re-sealed, not replaced: a retried enrollment is the same.
        phone, name, birthday, card = PEOPLE[0]
        again = service.enroll(
            phone, name=name, card=card, birthday=birthday, client_txn_id="enroll-0"
        )
        assert again.member_id == before[phone][0]
        recorded = service.conn.execute(
            "SELECT actor, details FROM audit WHERE action = 'key.rotate'"
        ).fetchall()
        assert [(r[0], json.loads(r[1])) for r in recorded] == [
            ("cli", {"from": "file", "to": "file", "sealed": 9})
        ]
    finally:
        service.close()
    assert rotated["chain_seals"] == 2  # the ledger's and the audit log's heads
    status, _, err = kiosk("ledger", "verify")
    assert status == 0, err  # the chain seals follow the new key
    status, shown, _ = kiosk("key", "status")
    assert status == 0
    assert (shown["source"], shown["opens"], shown["sealed"]) == ("file", True, 9)
    assert shown["protects_against_theft"] is False


def test_the_old_keys_values_and_indexes_are_gone_from_the_files_bytes(kiosk: Kiosk):
    kiosk.configure("file")
    a_day_at_the_counter(kiosk, with_backup=False)
    old = sealed_now(kiosk.data)
    assert all(value in database_bytes(kiosk.data) for value in old["sealed"] + old["indexes"])

    assert kiosk("key", "rotate")[0] == 0

    new = sealed_now(kiosk.data)
    on_disk = database_bytes(kiosk.data)
    for kind in ("sealed", "indexes", "wrapped"):
        assert len(new[kind]) == len(old[kind])
        assert not set(new[kind]) & set(old[kind])
        left = [value for value in old[kind] if value in on_disk]
        assert left == [], f"old {kind} still in the file"


def test_a_rotation_queues_no_member_push_to_the_crm(kiosk: Kiosk, crm: CrmServer):
    kiosk.configure("file")
    kiosk.crm_url = crm.url
    appliance = kiosk.appliance()
    service = appliance.open_service()
    try:
        appliance.provision(service, crm_url=crm.url, code=crm.store.new_code())
    finally:
        service.close()
        appliance.forget_client()
    a_day_at_the_counter(kiosk)
    assert kiosk("sync", "--once")[0] == 0
    service = kiosk.open()
    try:  # one change the CRM has not heard of yet: it stays queued as it was
        service.enroll("09190001122", name="Nima", client_txn_id="enroll-late")
    finally:
        service.close()
    queued = member_outbox(kiosk.data)
    assert len(queued) == 1
    feed_before, _, _ = crm.store.changes(0, 1000)

    assert kiosk("key", "rotate")[0] == 0

    assert member_outbox(kiosk.data) == queued
    assert kiosk("sync", "--once")[0] == 0
    feed_after, _, _ = crm.store.changes(0, 1000)
    pushed = [c for c in feed_after[len(feed_before) :] if c.get("type") == "member"]
    assert len(pushed) == 1  # the late enrollment, nobody else
    assert member_outbox(kiosk.data) == []


# -- moving to another key source ----------------------------------------------------------------


def test_rotating_from_the_key_file_to_the_boards_otp_key_lets_the_key_file_go(
    kiosk: Kiosk, crm: CrmServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    kiosk.crm_url = crm.url  # `auto` on a board without an OTP key: the local key file
    appliance = kiosk.appliance()
    assert appliance.key_source().name == "file"
    service = appliance.open_service()
    try:
        appliance.provision(service, crm_url=crm.url, code=crm.store.new_code())
    finally:
        service.close()
        appliance.forget_client()
    a_day_at_the_counter(kiosk)
    service = kiosk.open()
    try:
        before = as_shown(service)
    finally:
        service.close()
    secret = crm.store.secret_of("kiosk-test")
    key_file = kiosk.data / KEY_FILENAME

    on_otp_board(tmp_path, monkeypatch)  # the OTP key programmed; `auto` now means otp
    status, rotated, err = kiosk("key", "rotate")

    assert status == 0, err
    assert (rotated["previous"], rotated["source"]) == ("file", "otp")
    assert rotated["secret"] == "re-sealed with 'otp' (was 'file')"
    assert list(rotated["backups"].values()) == ["re-wrapped for 'otp'"]
    assert rotated["key_file"] == str(key_file)
    key_file.unlink()
    keys._read_otp.cache_clear()  # a new boot

    service = kiosk.open()
    try:
        assert as_shown(service) == before
    finally:
        service.close()
    assert load_secret(kiosk.appliance().config.crm, kiosk.data, keys.OtpKey()) == secret
    assert kiosk("sync", "--once")[0] == 0  # signs with the secret it opened
    status, shown, _ = kiosk("key", "status")
    assert (shown["source"], shown["opens"], shown["protects_against_theft"]) == (
        "otp",
        True,
        True,
    )
    assert shown["secret"] == "sealed with 'otp'"
    assert not key_file.exists()  # nothing needed it, nothing made it again


def test_an_old_backup_still_opens_after_rotating_to_another_source(
    kiosk: Kiosk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    a_day_at_the_counter(kiosk)  # backed up under the key file
    service = kiosk.open()
    try:
        before = as_shown(service)
    finally:
        service.close()
    (old_backup,) = (kiosk.data / "backups").glob("kiosk-*.db")

    on_otp_board(tmp_path, monkeypatch)
    assert kiosk("key", "rotate")[0] == 0
    (kiosk.data / KEY_FILENAME).unlink()

    assert stored_source(old_backup) == "otp"
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(old_backup, database_path(restored))
    service = Appliance(make_config(), restored, clock=kiosk.clock).open_service(create=False)
    try:
        assert as_shown(service) == before
    finally:
        service.close()


def test_the_card_in_another_board_opens_nothing_after_a_rotation_to_otp(
    kiosk: Kiosk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    a_day_at_the_counter(kiosk)
    on_otp_board(tmp_path, monkeypatch)
    assert kiosk("key", "rotate")[0] == 0
    (kiosk.data / KEY_FILENAME).unlink()
    files = {p: p.read_bytes() for p in kiosk.data.rglob("*") if p.is_file()}

    on_otp_board(tmp_path, monkeypatch, OTHER_BOARD)
    with pytest.raises(DataKeyUnavailable, match="does not open"):
        kiosk.open()
    status, shown, _ = kiosk("key", "status")
    assert status == 0
    assert shown["opens"] is False and "does not open" in shown["reason"]
    assert kiosk("key", "rotate")[0] != 0  # nor can it be rotated away from the thief's board
    assert {p: p.read_bytes() for p in files} == files


def test_a_rotation_the_configuration_would_not_open_is_refused_with_nothing_changed(
    kiosk: Kiosk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    kiosk.configure("file")
    a_day_at_the_counter(kiosk)
    before = {p: p.read_bytes() for p in kiosk.data.rglob("*") if p.is_file()}
    on_otp_board(tmp_path, monkeypatch)

    status, _, err = kiosk("key", "rotate", "--to", "otp")

    assert status != 0
    assert "set security.key_source to 'otp'" in json.loads(err)["message"]
    assert {p: p.read_bytes() for p in before} == before


def test_a_rotation_while_the_kiosk_runs_is_refused_with_nothing_changed(
    kiosk: Kiosk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The running touch app holds the old key in memory: what it sealed after the rotation
    would open with nothing. systemd runs here (a /run of its own) and says the app is active."""
    kiosk.configure("file")
    a_day_at_the_counter(kiosk)
    before = {p: p.read_bytes() for p in kiosk.data.rglob("*") if p.is_file()}
    run = tmp_path / "run"
    (run / "systemd" / "system").mkdir(parents=True)
    monkeypatch.setattr(key_cli, "RUN_DIR", run)
    tools = tmp_path / "tools"
    tools.mkdir()
    systemctl = tools / "systemctl"
    systemctl.write_text('#!/bin/sh\n[ "$1" = is-active ] && printf "active\\ninactive\\n"\n')
    systemctl.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ.get('PATH', '')}")

    status, _, err = kiosk("key", "rotate")

    assert status != 0
    assert "sudo systemctl stop loyalty-kiosk.service" in json.loads(err)["message"]
    assert {p: p.read_bytes() for p in before} == before


def test_rotating_to_an_otp_key_the_board_does_not_have_changes_nothing(kiosk: Kiosk):
    a_day_at_the_counter(kiosk)
    wrapped = sealed_now(kiosk.data)["wrapped"]
    kiosk.configure("otp")  # set first, as the refusal above asks; but no OTP key here

    status, _, err = kiosk("key", "rotate")

    assert status != 0
    assert "not installed" in json.loads(err)["message"]
    assert sealed_now(kiosk.data)["wrapped"] == wrapped
    assert stored_source(database_path(kiosk.data)) == "file"


# -- a power cut in the middle -------------------------------------------------------------------


def killed_at(kiosk: Kiosk, where: str, board: Path | None = None) -> int:
    """Run `kiosk key rotate` in a process of its own, killed (SIGKILL) as soon as it reaches
    `where`: "commit" (every value re-sealed, inside the transaction, before it commits) or
    "secret" (the database committed, the device secret about to be re-sealed)."""
    code = textwrap.dedent(
        f"""
        import os, signal, sys
        import kiosk.core.store.rekey as rekey
        import sync.secret as secret

        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)

        if {where!r} == "commit":
            rekey.store_key = die  # the last write of the transaction
        else:
            secret.save_secret = die
        from kiosk.cli import main
        sys.exit(main(["key", "rotate", "--data-dir", {str(kiosk.data)!r}]))
        """
    )
    env = {**os.environ, "KIOSK_CONFIG": str(kiosk.config_file)}
    if board is not None:
        env["PATH"] = f"{board}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    return done.returncode


def test_a_rotation_killed_before_its_commit_leaves_the_old_key_and_everything_as_it_was(
    kiosk: Kiosk,
):
    kiosk.configure("file")
    a_day_at_the_counter(kiosk)
    service = kiosk.open()
    try:
        before = as_shown(service)
    finally:
        service.close()
    old = sealed_now(kiosk.data)
    queued = member_outbox(kiosk.data)

    assert killed_at(kiosk, "commit") == -signal.SIGKILL

    assert sealed_now(kiosk.data) == old
    assert member_outbox(kiosk.data) == queued
    service = kiosk.open()
    try:
        assert as_shown(service) == before
    finally:
        service.close()
    assert kiosk("key", "rotate")[0] == 0  # and it can be done again


def test_a_rotation_killed_after_its_commit_is_finished_by_running_it_again(
    kiosk: Kiosk, crm: CrmServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    kiosk.crm_url = crm.url
    appliance = kiosk.appliance()
    service = appliance.open_service()
    try:
        appliance.provision(service, crm_url=crm.url, code=crm.store.new_code())
    finally:
        service.close()
        appliance.forget_client()
    a_day_at_the_counter(kiosk)
    service = kiosk.open()
    try:
        before = as_shown(service)
    finally:
        service.close()
    secret = crm.store.secret_of("kiosk-test")
    board = on_otp_board(tmp_path, monkeypatch)

    assert killed_at(kiosk, "secret", board) == -signal.SIGKILL

    # The database is on the new key; the secret and the backup still on the key file.
    assert stored_source(database_path(kiosk.data)) == "otp"
    service = kiosk.open()
    try:
        assert as_shown(service) == before
    finally:
        service.close()
    status, shown, _ = kiosk("key", "status")
    assert shown["secret"] == "sealed with 'file'"
    assert list(shown["backups"].values()) == ["wrapped by 'file'"]

    status, rotated, err = kiosk("key", "rotate")

    assert status == 0, err
    assert rotated["secret"] == "re-sealed with 'otp' (was 'file')"
    assert list(rotated["backups"].values()) == ["re-wrapped for 'otp'"]
    (kiosk.data / KEY_FILENAME).unlink()
    keys._read_otp.cache_clear()
    assert load_secret(kiosk.appliance().config.crm, kiosk.data, keys.OtpKey()) == secret
    assert (kiosk.data / "crm-secret").read_text().startswith(SECRET_SEALED)
    service = kiosk.open()
    try:
        assert as_shown(service) == before
    finally:
        service.close()


# -- what rotation must not miss ----------------------------------------------------------------


def test_every_sealed_value_written_anywhere_is_rotated():
    """A new sealed column (its associated data's prefix) unknown to kiosk/core/store/rekey.py
    would be left sealed with the old key, and unreadable after a rotation."""
    known = {prefix.rstrip(":") for _table, _column, prefix in SEALED}
    written = set()
    for path in [*ROOT.joinpath("kiosk").rglob("*.py"), *ROOT.joinpath("sync").rglob("*.py")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            written |= set(re.findall(r"\bseal\((?:[^()]|\([^()]*\))*?'([a-z_]+):", line))
    assert written, "the stores' SQL was not found"
    assert written <= known


def test_a_forged_chain_seal_is_not_made_genuine_by_a_rotation(kiosk: Kiosk):
    """Someone with the file rewrote the ledger and made up its seal: after a rotation
    `kiosk ledger verify` still names it (the new key seals only what the old one made)."""
    kiosk.configure("file")
    a_day_at_the_counter(kiosk, with_backup=False)
    conn = sqlite3.connect(database_path(kiosk.data))
    try:
        conn.execute("UPDATE chain_seals SET mac = ? WHERE chain LIKE 'ledger:%'", ("0" * 64,))
        conn.commit()
    finally:
        conn.close()
    assert kiosk("ledger", "verify")[0] != 0

    status, rotated, err = kiosk("key", "rotate")

    assert status == 0, err
    assert rotated["chain_seals"] == 1  # the audit log's, not the forged one
    status, verified, _ = kiosk("ledger", "verify")
    assert status != 0
    assert "not made by this kiosk" in json.dumps(verified)


def test_every_keyed_sql_function_of_the_vault_is_redone_by_a_rotation():
    """A new SQL function of the vault whose results are stored (as `chain_mac` was) would
    be left keyed by the old data key, and broken after a rotation."""
    source = (ROOT / "kiosk" / "core" / "store" / "vault.py").read_text(encoding="utf-8")
    installed = set(re.findall(r'create_function\(\s*"(\w+)"', source))
    assert installed, "vault.install's functions were not found"
    assert installed <= set(KEYED_SQL)


# -- the doctor ----------------------------------------------------------------------------------


def test_the_doctor_warns_when_the_key_is_beside_the_data_and_passes_on_the_board(
    kiosk: Kiosk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    a_day_at_the_counter(kiosk, with_backup=False)
    found = check_sealing(DoctorContext(make_config(), kiosk.data))
    assert found.status == "warn"
    assert "stolen SD card opens it" in found.summary
    assert found.hint is not None and "OTP key" in found.hint and "hub" in found.hint

    on_otp_board(tmp_path, monkeypatch)
    found = check_sealing(DoctorContext(make_config(), kiosk.data))
    assert found.status == "warn"  # the OTP key is there now, but the data key not moved yet
    assert found.hint is not None and "kiosk key rotate --to otp" in found.hint

    assert kiosk("key", "rotate")[0] == 0
    found = check_sealing(DoctorContext(make_config(), kiosk.data))
    assert (found.status, found.hint) == ("pass", None)
    assert "OTP key" in found.summary

    on_otp_board(tmp_path, monkeypatch, OTHER_BOARD)
    found = check_sealing(DoctorContext(make_config(), kiosk.data))
    assert found.status == "fail" and "does not open" in found.summary


def test_the_doctor_passes_the_hub_source_and_warns_a_kiosk_not_started_on_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(keys, "_read_otp", functools.cache(keys._read_otp.__wrapped__))
    config = make_config('security.key_source="hub"', 'crm.url="https://crm.example"')
    hub = check_sealing(DoctorContext(config, tmp_path))
    assert hub.status == "pass" and "hub" in hub.summary
    file = check_sealing(DoctorContext(make_config('security.key_source="file"'), tmp_path))
    assert file.status == "warn"


def test_key_status_changes_nothing_even_when_the_key_file_is_gone(kiosk: Kiosk):
    kiosk.configure("file")
    a_day_at_the_counter(kiosk)
    (kiosk.data / KEY_FILENAME).unlink()  # a technician's mistake, or a copied card
    files = {p: p.read_bytes() for p in kiosk.data.rglob("*") if p.is_file()}

    status, shown, _ = kiosk("key", "status")

    assert status == 0
    assert shown["opens"] is False and "is gone" in shown["reason"]
    assert shown["backups"] == {p.name: "wrapped by 'file'" for p in kiosk.data.glob("backups/*")}
    assert not (kiosk.data / KEY_FILENAME).exists()  # no new key made in its place
    assert {p: p.read_bytes() for p in kiosk.data.rglob("*") if p.is_file()} == files
