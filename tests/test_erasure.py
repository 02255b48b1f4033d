"""Erasure that erases: after `erase`, the thief with the SD card finds nothing of the person.

Each test reads the raw bytes of the database file and its WAL, as `strings kiosk.db` would,
and looks for the person in every form it can compute: the phone as typed and as stored,
the name, the card id, the birthday, and the SHA-256 of the enrollment request that the
kiosk used to keep as its idempotency fingerprint (brute-forced back to the phone number at
94,000 guesses a second).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlite_utils import Database

from kiosk.appliance.backup import backup, erase_from_backups
from kiosk.bootstrap import Appliance
from kiosk.cli import main
from kiosk.core.clock import ManualClock
from kiosk.core.pulled import Here, apply_page
from kiosk.core.service import LoyaltyService
from kiosk.core.store.db import connect
from kiosk.core.store.members import PERSON
from kiosk.core.store.schema import MIGRATIONS
from kiosk.core.store.staff import CLI
from kiosk.core.store.vault import default_key_source, install
from kiosk.errors import IdempotencyConflict, MemberErased
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from tests.conftest import make_config

PHONE = "09121234567"
STORED_PHONE = "+989121234567"
NAME = "Sara Tehrani"
CARD = "1A2B3C4D"
BIRTHDAY = date(1990, 5, 17)


def old_fingerprint(operation: str, request: dict[str, object]) -> str:
    """The unkeyed fingerprint the kiosk stored before: SHA-256 of the request's JSON."""
    return hashlib.sha256(json.dumps([operation, request], sort_keys=True).encode()).hexdigest()


ENROLL_REQUEST: dict[str, object] = {
    "phone": STORED_PHONE,
    "name": NAME,
    "birthday": BIRTHDAY.isoformat(),
    "card": CARD,
    "consent": False,
    "consent_version": None,
}


def traces(data: bytes) -> list[str]:
    """Which forms of the person the bytes hold."""
    digest = old_fingerprint("enroll", ENROLL_REQUEST)
    forms = {
        "phone as typed": PHONE.encode(),
        "phone as stored": STORED_PHONE.encode(),
        "phone digits": b"9121234567",
        "name": NAME.encode(),
        "card id": CARD.encode(),
        "card id (lower case)": CARD.lower().encode(),
        "birthday": BIRTHDAY.isoformat().encode(),
        "request SHA-256 (hex)": digest.encode(),
        "request SHA-256 (raw)": bytes.fromhex(digest),
    }
    return [what for what, form in forms.items() if form in data]


def names_in(backup_file: Path, data_dir: Path) -> list[str]:
    """The names a backup holds, opened with the kiosk's key (they are sealed at rest)."""
    copy = sqlite3.connect(backup_file)
    install(copy, default_key_source(data_dir))
    try:
        return [
            json.loads(row[0])["name"]
            for row in copy.execute(f"SELECT {PERSON} FROM people p ORDER BY rowid")
        ]
    finally:
        copy.close()


def database_bytes(service: LoyaltyService) -> bytes:
    """The database file and its WAL as they are on the card now."""
    path = Path(service.conn.execute("PRAGMA database_list").fetchone()[2])
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def enroll_among_others(service: LoyaltyService) -> str:
    """The person enrolled between 150 others, with purchases: pages split and move."""
    for n in range(75):
        service.enroll(f"0935{n:07d}", name=f"Other {n}", client_txn_id=f"before-{n}")
    member = service.enroll(
        PHONE, name=NAME, card=CARD, birthday=BIRTHDAY, client_txn_id="enroll-sara"
    ).member_id
    service.earn(member, 2_500_000, cashier=CLI, client_txn_id="earn-sara")
    for n in range(75):
        service.enroll(f"0936{n:07d}", name=f"Later {n}", client_txn_id=f"after-{n}")
    return member


def test_after_erasure_the_database_file_and_its_wal_hold_nothing_of_the_person(
    service: LoyaltyService,
):
    member = enroll_among_others(service)
    service.identify_phone(PHONE)  # read, as the counter does
    # Sealed at rest (tests/test_at_rest.py), but the row is there before erasure.
    index, sealed = service.conn.execute(
        "SELECT phone_index, sealed FROM people WHERE member_id = ?", (member,)
    ).fetchone()
    assert index.encode() in database_bytes(service)
    assert sealed in database_bytes(service)

    service.erase(member, actor=CLI)

    assert traces(database_bytes(service)) == []
    assert index.encode() not in database_bytes(service)
    assert sealed not in database_bytes(service)
    # What erasure keeps: the anonymous member and its ledger.
    assert service.member(member).status == "erased"
    assert [e.kind for e in service.ledger.entries() if e.member_id == member] == [
        "bonus",
        "earn",
    ]


def test_an_erasure_pulled_from_the_crm_leaves_nothing_of_the_person_either(
    service: LoyaltyService,
):
    member = enroll_among_others(service)
    here = Here(service.device_id, service.program.tiers[0].id)

    erasure = {"cursor": 1, "type": "erasure", "data": {"member_id": member}}
    applied = apply_page(service.conn, here, [erasure], 1)

    assert applied["erasure"] == 1
    assert traces(database_bytes(service)) == []


def test_no_unkeyed_fingerprint_of_a_living_members_enrollment_is_stored(
    service: LoyaltyService,
):
    service.enroll(PHONE, name=NAME, card=CARD, birthday=BIRTHDAY, client_txn_id="enroll-sara")

    stored = [row[0] for row in service.conn.execute("SELECT fingerprint FROM client_txns")]

    assert old_fingerprint("enroll", ENROLL_REQUEST) not in stored
    assert all(len(fingerprint) == 64 for fingerprint in stored)


def test_the_same_enrollment_at_two_kiosks_has_fingerprints_that_do_not_match(
    tmp_path: Path,
):
    """Each database keys its own: a fingerprint cannot be matched against another kiosk's."""
    found = []
    for kiosk in ("one", "two"):
        conn = connect(tmp_path / kiosk / "kiosk.db")
        found.append(LoyaltyService(conn, make_config()).txns.fingerprint("0" * 64))
        conn.close()
    assert found[0] != found[1]


def test_a_retried_enrollment_is_answered_the_same_and_after_erasure_is_refused(
    service: LoyaltyService,
):
    first = service.enroll(PHONE, name=NAME, client_txn_id="enroll-sara")
    again = service.enroll(PHONE, name=NAME, client_txn_id="enroll-sara")
    assert again.member_id == first.member_id and again.replayed
    with pytest.raises(IdempotencyConflict):
        service.enroll("09127654321", client_txn_id="enroll-sara")

    service.erase(first.member_id, actor=CLI)

    # The id is still taken (nothing is enrolled twice) but it matches nothing any more.
    with pytest.raises(MemberErased):
        service.enroll(PHONE, name=NAME, client_txn_id="enroll-sara")
    assert service.enroll(PHONE, name=NAME, client_txn_id="enroll-sara-2").member_id != (
        first.member_id
    )


def test_an_upgraded_kiosk_answers_a_repeated_transaction_id_as_before(tmp_path: Path):
    """Migration m008 re-keys the old fingerprints: nothing is written twice, none kept unkeyed."""
    path = tmp_path / "data" / "kiosk.db"
    path.parent.mkdir()
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("PRAGMA journal_mode=WAL")
    MIGRATIONS.apply(Database(old), stop_before="m008_keyed_fingerprints")
    answer = {"member_id": "m-1", "bonus_points": 0, "balance": 0, "bonus_entry_id": None}
    old.execute(
        "INSERT INTO client_txns (txn_id, operation, fingerprint, result, created_at) "
        "VALUES ('enroll-sara', 'enroll', ?, ?, '2026-11-01T09:00:00.000000Z')",
        (old_fingerprint("enroll", ENROLL_REQUEST), json.dumps(answer)),
    )
    # Someone erased before the upgrade: their enrollment's fingerprint must go too.
    gone: dict[str, object] = {"phone": "+989351112233", "name": "Gone", "birthday": None}
    gone |= {"card": None, "consent": False, "consent_version": None}
    old.execute(
        "INSERT INTO members (member_id, created_at, enrolled_on_device, status, tier, "
        "erased_at) VALUES ('m-2', '2026-11-01T09:00:00Z', 'kiosk-test', 'erased', 'bronze', "
        "'2026-11-02T09:00:00Z')"
    )
    old.execute(
        "INSERT INTO client_txns (txn_id, operation, fingerprint, result, created_at) "
        "VALUES ('enroll-gone', 'enroll', ?, ?, '2026-11-01T09:00:00.000000Z')",
        (old_fingerprint("enroll", gone), json.dumps(answer | {"member_id": "m-2"})),
    )
    old.close()

    service = LoyaltyService(connect(path), make_config())
    try:
        again = service.enroll(
            PHONE, name=NAME, card=CARD, birthday=BIRTHDAY, client_txn_id="enroll-sara"
        )
        assert again.member_id == "m-1" and again.replayed
        with pytest.raises(IdempotencyConflict):
            service.enroll(PHONE, name="Someone Else", client_txn_id="enroll-sara")
        assert traces(database_bytes(service)) == []
        assert old_fingerprint("enroll", gone).encode() not in database_bytes(service)
        with pytest.raises(MemberErased):
            service.enroll("09351112233", name="Gone", client_txn_id="enroll-gone")
    finally:
        service.close()


def test_a_backup_taken_before_an_erasure_no_longer_holds_the_person(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """`kiosk member erase` erases the person in the backups already taken, too."""
    data = tmp_path / "data"

    def kiosk(*args: str) -> int:
        return main([*args, "--data-dir", str(data)])

    kiosk("member", "enroll", "--phone", PHONE, "--name", NAME, "--card", CARD)
    kiosk("member", "enroll", "--phone", "09127654321", "--name", "Reza Karimi")
    assert kiosk("backup") == 0 and kiosk("backup", "--to", str(tmp_path / "usb")) == 0
    taken = [*(data / "backups").iterdir(), *(tmp_path / "usb").iterdir()]
    assert all(NAME in names_in(path, data) for path in taken)  # sealed, but there
    assert all(traces(path.read_bytes()) == [] for path in taken)

    assert kiosk("member", "erase", "--phone", PHONE, "--yes") == 0
    assert "and in 1 backups" in capsys.readouterr().out
    kiosk("backup", "--to", str(tmp_path / "usb"))  # elsewhere: at its next backup

    for path in taken:
        assert traces(path.read_bytes()) == [], path.name
        copy = sqlite3.connect(path)
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        copy.close()
        # The rest of the backup is as it was: the other member, the ledger.
        assert names_in(path, data) == ["Reza Karimi"]


def test_an_erasure_pulled_from_the_crm_reaches_the_backups_with_that_sync(
    tmp_path: Path, clock: ManualClock
):
    with CrmServer(CrmStore()) as crm:
        config = make_config(f'crm.url="{crm.url}"', 'device.id="kiosk-erasure"')
        appliance = Appliance(config, tmp_path / "data", clock=clock)
        service = appliance.open_service()
        try:
            appliance.provision(service, crm_url=crm.url, code=crm.store.new_code())
            member = service.enroll(PHONE, name=NAME, card=CARD, client_txn_id="e-1").member_id
            with appliance.sync_session() as worker:
                worker.drain(ignore_backoff=True)
            taken = Path(backup(tmp_path / "data").path)
            assert names_in(taken, tmp_path / "data") == [NAME]

            crm.store.publish("erasure", {"member_id": member})  # asked at another branch
            with appliance.sync_session() as worker:
                assert worker.pull().stopped == "done"

            assert service.member(member).status == "erased"
            assert names_in(taken, tmp_path / "data") == []
            assert traces(taken.read_bytes()) == []
            assert traces(database_bytes(service)) == []
        finally:
            appliance.forget_client()
            service.close()


def test_a_backup_taken_by_an_older_version_is_brought_up_to_date_and_erased(
    service: LoyaltyService,
):
    member = service.enroll(PHONE, name=NAME, card=CARD, client_txn_id="e-1").member_id
    data = Path(service.conn.execute("PRAGMA database_list").fetchone()[2]).parent
    taken = Path(backup(data).path)
    older = sqlite3.connect(taken, isolation_level=None)  # as m010's predecessors left it
    older.execute("DROP INDEX client_txns_by_enrolled")
    older.execute("ALTER TABLE client_txns DROP COLUMN enrolled")
    older.execute("DELETE FROM _sqlite_migrations WHERE name = 'm010_enrolled_member'")
    older.close()

    service.erase(member, actor=CLI)

    assert erase_from_backups(data) == [str(taken)]
    assert traces(taken.read_bytes()) == []


def test_a_backup_that_cannot_be_rewritten_is_said_and_the_erasure_stands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    data = tmp_path / "data"
    main(["member", "enroll", "--phone", PHONE, "--name", NAME, "--data-dir", str(data)])
    (data / "backups").mkdir()
    (data / "backups" / "kiosk-20261101T033000Z.db").write_bytes(b"not a database")
    capsys.readouterr()

    status = main(["member", "erase", "--phone", PHONE, "--yes", "--data-dir", str(data)])

    said = capsys.readouterr().err
    assert status == 1 and "not yet in the backups" in said and PHONE not in said
    assert main(["member", "show", "--phone", PHONE, "--data-dir", str(data)]) != 0  # erased
