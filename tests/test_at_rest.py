"""At rest: a thief with the kiosk's SD card (or a copy of it) reads no one's personal data.

The kiosk here runs as on a Raspberry Pi 4/5 with an OTP key programmed: a real executable
named `rpi-otp-private-key` on PATH prints the board's key, as Raspberry Pi's tool does.
Every test reads the raw bytes of every file on the card (database, WAL, backups, the
device secret), as `strings` and `grep -a` would, and looks for the person in every form.
"""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3
import stat
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlite_utils import Database

from kiosk.appliance import keys
from kiosk.appliance.backup import backup
from kiosk.bootstrap import Appliance
from kiosk.core.clock import ManualClock
from kiosk.core.pin import hash_pin
from kiosk.core.service import LoyaltyService
from kiosk.core.store.db import connect, database_path
from kiosk.core.store.schema import MIGRATIONS
from kiosk.core.store.staff import CLI
from kiosk.core.store.vault import KEY_FILENAME, stored_key
from kiosk.errors import DataKeyUnavailable, UnknownCard
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.secret import load_secret
from tests.conftest import make_config

PHONE = "09121234567"
NAME = "Sara Tehrani"
PERSIAN_NAME = "سارا تهرانی"
BIRTHDAY = date(1990, 5, 17)
CARD = "04A1B2C3D4E5F6"
STAFF_CARD = "1A2B3C4D5E"
STAFF_NAME = "Maryam Cashier"
BOARD = "5f" * 32  # this board's OTP key
OTHER_BOARD = "a7" * 32


def forms(secret: bytes | None = None) -> dict[str, bytes]:
    """Every form of the people's data a thief would grep for."""
    found = {
        "phone as typed": PHONE.encode(),
        "phone as stored": b"+989121234567",
        "phone digits": b"9121234567",
        "name": NAME.encode(),
        "Persian name": PERSIAN_NAME.encode(),
        "birthday": BIRTHDAY.isoformat().encode(),
        "card id": CARD.encode(),
        "card id (lower case)": CARD.lower().encode(),
        "staff card id": STAFF_CARD.encode(),
        "staff name": STAFF_NAME.encode(),
        # A staff PIN's scrypt hash (its parameters and salt): with it, a 4-digit PIN
        # falls to 10,000 tries offline.
        "PIN hash": b"scrypt$",
    }
    if secret is not None:
        found["device secret (raw)"] = secret
        found["device secret (base64url)"] = base64.urlsafe_b64encode(secret).rstrip(b"=")
    return found


def found_on_card(data_dir: Path, secret: bytes | None = None) -> dict[str, list[str]]:
    """Which forms each file under the data folder holds (files that hold none left out)."""
    hits: dict[str, list[str]] = {}
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        what = [name for name, form in forms(secret).items() if form in data]
        if what:
            hits[str(path.relative_to(data_dir))] = what
    return hits


def board(tmp_path: Path, name: str, otp_hex: str) -> Path:
    """A folder with an `rpi-otp-private-key` that prints `otp_hex`, as on that board."""
    folder = tmp_path / name
    folder.mkdir()
    tool = folder / keys.OTP_COMMAND
    tool.write_text(f"#!/bin/sh\necho {otp_hex}\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return folder


@pytest.fixture
def on_board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Move the kiosk to a board with this OTP key (PATH finds that board's tool)."""
    path = os.environ.get("PATH", "")

    def move(otp_hex: str) -> None:
        folder = tmp_path / f"board-{otp_hex[:4]}"
        if not folder.exists():
            folder = board(tmp_path, folder.name, otp_hex)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{path}")
        keys._read_otp.cache_clear()

    move(BOARD)
    yield move
    keys._read_otp.cache_clear()


def a_day_at_the_counter(appliance: Appliance, clock: ManualClock) -> LoyaltyService:
    """Enrolments, a staff card, purchases and a redemption, then a backup."""
    service = appliance.open_service()
    member = service.enroll(
        PHONE, name=NAME, card=CARD, birthday=BIRTHDAY, client_txn_id="enroll-sara"
    ).member_id
    service.enroll("09351112233", name=PERSIAN_NAME, client_txn_id="enroll-sara-fa")
    cashier = service.staff.add(name=STAFF_NAME, role="cashier", pin="4826", actor=CLI)
    service.link_staff_card(cashier.staff_id, STAFF_CARD, actor=CLI)
    for n in range(3):
        service.earn(member, 2_500_000, cashier=CLI, client_txn_id=f"earn-{n}")
        clock.advance(minutes=10)
    service.identify_card(CARD)
    backup(appliance.data_dir, keys=appliance.key_source())
    return service


def test_a_stolen_card_holds_no_phone_name_birthday_card_id_staff_name_or_secret(
    tmp_path: Path, clock: ManualClock, on_board: Callable[[str], None]
):
    with CrmServer(CrmStore()) as crm:
        config = make_config(f'crm.url="{crm.url}"', 'device.id="kiosk-at-rest"')
        appliance = Appliance(config, tmp_path / "data", clock=clock)
        assert appliance.key_source().name == "otp"  # `auto` on a board with an OTP key
        service = appliance.open_service()
        try:
            appliance.provision(service, crm_url=crm.url, code=crm.store.new_code())
        finally:
            service.close()
        secret = crm.store.secret_of("kiosk-at-rest")
        service = a_day_at_the_counter(appliance, clock)
        service.close()
        appliance.forget_client()

    assert (tmp_path / "data" / "backups").is_dir()
    assert not (tmp_path / "data" / KEY_FILENAME).exists()  # nothing of the key on the card
    assert found_on_card(tmp_path / "data", secret) == {}


def test_the_card_in_another_board_opens_nothing_and_changes_nothing(
    tmp_path: Path, clock: ManualClock, on_board: Callable[[str], None]
):
    appliance = Appliance(make_config(), tmp_path / "data", clock=clock)
    a_day_at_the_counter(appliance, clock).close()
    stolen = tmp_path / "stolen"
    shutil.copytree(tmp_path / "data", stolen)
    before = {p.name: p.read_bytes() for p in stolen.iterdir() if p.is_file()}

    on_board(OTHER_BOARD)
    with pytest.raises(DataKeyUnavailable, match="does not open"):
        Appliance(make_config(), stolen, clock=clock).open_service()

    after = {p.name: p.read_bytes() for p in stolen.iterdir() if p.is_file()}
    assert after == before


def test_after_a_power_cut_the_kiosk_opens_offline_and_knows_its_members(
    tmp_path: Path, clock: ManualClock, on_board: Callable[[str], None]
):
    with CrmServer(CrmStore()) as crm:  # there when the kiosk was set up, then gone
        config = make_config(f'crm.url="{crm.url}"', 'device.id="kiosk-power-cut"')
        appliance = Appliance(config, tmp_path / "data", clock=clock)
        service = appliance.open_service()
        appliance.provision(service, crm_url=crm.url, code=crm.store.new_code())
        service.close()
        a_day_at_the_counter(appliance, clock).close()
        appliance.forget_client()

    keys._read_otp.cache_clear()  # a new boot: nothing of the key in memory
    rebooted = Appliance(config, tmp_path / "data", clock=clock)
    service = rebooted.open_service()
    try:
        member = service.identify_card(CARD)
        assert member.person is not None
        assert (member.person.name, member.person.birthday) == (NAME, BIRTHDAY)
        assert service.identify_phone(PHONE).member_id == member.member_id
        assert load_secret(config.crm, tmp_path / "data", rebooted.key_source()) is not None
        service.earn(member.member_id, 1_000_000, cashier=CLI, client_txn_id="after-boot")
    finally:
        service.close()


def test_a_sealed_value_moved_to_another_member_does_not_open(service: LoyaltyService):
    """With the file alone one cannot read, nor give one member another's phone unseen."""
    sara = service.enroll(PHONE, name=NAME, client_txn_id="e-1").member_id
    reza = service.enroll("09127654321", name="Reza Karimi", client_txn_id="e-2").member_id
    sealed = service.conn.execute(
        "SELECT sealed FROM people WHERE member_id = ?", (sara,)
    ).fetchone()[0]
    service.conn.execute("UPDATE people SET sealed = ? WHERE member_id = ?", (sealed, reza))

    with pytest.raises(sqlite3.OperationalError):  # the function refuses: not Sara shown as Reza
        service.member(reza)
    assert service.member(sara).person is not None


def test_a_database_from_before_is_sealed_when_the_new_version_opens_it(tmp_path: Path):
    """An upgraded kiosk: its members, cards, staff and fingerprint key were in clear."""
    path = database_path(tmp_path / "data")
    path.parent.mkdir()
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("PRAGMA journal_mode=WAL")
    MIGRATIONS.apply(Database(old), stop_before="m011_sealed_personal_data")
    now = "2026-03-01T09:00:00.000Z"
    old.execute(
        "INSERT INTO members (member_id, created_at, enrolled_on_device, tier) "
        "VALUES ('m-1', ?, 'kiosk-old', 'bronze')",
        (now,),
    )
    old.execute(
        "INSERT INTO people (member_id, phone, name, birthday, language) "
        "VALUES ('m-1', '+989121234567', ?, ?, 'fa')",
        (NAME, BIRTHDAY.isoformat()),
    )
    old.execute("INSERT INTO cards (uid, member_id, linked_at) VALUES (?, 'm-1', ?)", (CARD, now))
    old.execute(
        "INSERT INTO staff (staff_id, name, role, pin_hash, created_at) "
        "VALUES ('s-1', ?, 'cashier', ?, ?)",
        (STAFF_NAME, hash_pin("4826", n=1024), now),
    )
    old.execute("DELETE FROM member_outbox")  # all pushed before the upgrade
    old.close()
    assert "name" in found_on_card(tmp_path / "data")["kiosk.db"]

    conn = connect(path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM member_outbox").fetchone()[0] == 0
        found = LoyaltyService(conn, make_config()).identify_phone(PHONE)
        assert found.person is not None and found.person.name == NAME
        assert found.person.birthday == BIRTHDAY
        staff = LoyaltyService(conn, make_config()).staff
        assert staff.name_of("s-1") == STAFF_NAME
        assert staff.login_with_pin("4826", "s-1").actor_id == "s-1"  # its hash, sealed
        fingerprint_key = conn.execute("SELECT value FROM meta WHERE key = 'txn_key'")
        assert isinstance(fingerprint_key.fetchone()[0], bytes)  # sealed, not hex text
    finally:
        conn.close()
    assert found_on_card(tmp_path / "data") == {}  # the file, its WAL: nothing in clear


def test_the_data_key_is_stored_only_wrapped(service: LoyaltyService, tmp_path: Path):
    stored = stored_key(service.conn)
    assert stored is not None and stored["source"] == "file"
    key_file = next(tmp_path.rglob(KEY_FILENAME))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    db = database_path(key_file.parent).read_bytes()
    assert key_file.read_bytes().strip() not in db


def test_an_otp_that_was_never_programmed_is_said_and_auto_falls_back(
    tmp_path: Path, clock: ManualClock, on_board: Callable[[str], None]
):
    on_board("00" * 32)  # a Pi 4 whose OTP key was never written
    assert keys.otp_available() is False
    assert Appliance(make_config(), tmp_path / "a").key_source().name == "file"
    asked = Appliance(make_config('security.key_source="otp"'), tmp_path / "b", clock=clock)
    with pytest.raises(DataKeyUnavailable, match="not programmed"):
        asked.open_service()
    raw = sqlite3.connect(database_path(tmp_path / "b"))
    try:  # no data key was made with a key that is not there
        assert stored_key(raw) is None
    finally:
        raw.close()


def test_an_unknown_card_is_still_unknown(service: LoyaltyService):
    service.enroll(PHONE, name=NAME, card=CARD, client_txn_id="e-1")
    with pytest.raises(UnknownCard):
        service.identify_card("0A0B0C0D")


def test_no_value_has_a_blind_index(service: LoyaltyService):
    """An absent phone or card is not the index of the text 'None' (which one could match)."""
    assert service.conn.execute("SELECT blind('card', NULL)").fetchone()[0] is None
    assert service.conn.execute("SELECT blind('card', 'None')").fetchone()[0] is not None
