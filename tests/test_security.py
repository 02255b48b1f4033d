"""Security checks of the campaign that are not elsewhere: the secret file's mode, SQL
injection strings stored literally, staff-card misuse, PIN brute force audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.bootstrap import Appliance
from kiosk.cli import main
from kiosk.core.service import LoyaltyService
from kiosk.core.store import audit
from kiosk.core.store.members import PERSON
from kiosk.core.store.staff import CLI
from kiosk.core.store.verify import verify_ledger
from kiosk.errors import (
    CardInUse,
    KioskError,
    LockedOut,
    NotAllowed,
    SecretExposed,
    StaffDisabled,
    UnknownStaff,
    WrongPin,
)
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.client import CrmClient
from sync.worker import load_secret, save_secret
from tests.conftest import make_config

INJECTIONS = [
    "Robert'); DROP TABLE members;--",
    "' OR '1'='1",
    '"; DELETE FROM entries; --',
    "x' UNION SELECT pin_hash FROM staff --",
    "١'; ATTACH DATABASE '/tmp/x' AS x;--",
]


# -- the secret file ---------------------------------------------------------------------


def test_a_secret_readable_by_others_is_refused(tmp_path: Path):
    config = make_config()
    save_secret(config.crm, tmp_path, b"s" * 32)
    (tmp_path / "crm-secret").chmod(0o644)

    with pytest.raises(SecretExposed) as exposed:
        load_secret(config.crm, tmp_path)

    assert "chmod 600" in str(exposed.value) and "644" in str(exposed.value)
    (tmp_path / "crm-secret").chmod(0o600)
    assert load_secret(config.crm, tmp_path) == b"s" * 32


def test_kiosk_sync_and_doctor_refuse_an_exposed_secret(tmp_path: Path, capsys, monkeypatch):
    data = tmp_path / "data"
    with CrmServer(CrmStore()) as crm:
        config_file = tmp_path / "kiosk.toml"
        config_file.write_text(f'[device]\nid = "kiosk-sec"\n[crm]\nurl = "{crm.url}"\n')
        monkeypatch.setenv("KIOSK_CONFIG", str(config_file))
        config = make_config('device.id="kiosk-sec"')
        Appliance(config, data).open_service().close()
        secret = CrmClient(crm.url, "kiosk-sec").enroll(crm.store.new_code())
        save_secret(config.crm, data, secret)
        (data / "crm-secret").chmod(0o640)

        synced = main(["sync", "--once", "--data-dir", str(data), "--json"])
        sync_error = json.loads(capsys.readouterr().err)
        checked = main(["doctor", "--data-dir", str(data), "--json"])
        checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
        pushed = crm.requests

    assert synced != 0 and sync_error["error"] == "error.secret_exposed"
    assert checked == 1 and checks["crm"]["status"] == "fail"
    assert (
        "readable by others" in checks["crm"]["summary"]
        or "read by others" in (checks["crm"]["summary"])
    )
    assert pushed == 1  # the enrollment only: nothing was sent with the exposed secret


# -- SQL injection strings are data ------------------------------------------------------


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_strings_are_stored_literally_in_every_text_field(
    service: LoyaltyService, text: str
):
    member = service.enroll("09121234567", client_txn_id=f"e-{text}", name=text).member_id
    earned = service.earn(member, 1_000_000, cashier=CLI, client_txn_id=text)
    service.void(earned.entry_id, reason=text, cashier=CLI, client_txn_id=f"v-{text}")
    service.adjust(member, 5, reason=text, actor=CLI, client_txn_id=f"a-{text}")
    staff = service.staff.add(name=text, role="cashier", pin="4826", actor=CLI)

    person = service.conn.execute(
        f"SELECT json_extract({PERSON}, '$.name') FROM people p WHERE member_id = ?", (member,)
    ).fetchone()
    reasons = [
        row[0]
        for row in service.conn.execute(
            "SELECT reason FROM entries WHERE member_id = ? AND kind IN ('reversal', 'adjust') "
            "ORDER BY seq",
            (member,),
        )
    ]
    assert person[0] == text.strip() or person[0] == text
    assert reasons == [text, text]
    assert {s.name for s in service.staff.list()} == {staff.name} and staff.name == text
    tables = {r[0] for r in service.conn.execute("SELECT name FROM sqlite_master")}
    assert {"members", "entries", "staff", "people"} <= tables
    assert verify_ledger(service.conn).ok


def test_injection_strings_as_search_keys_find_nothing_and_change_nothing(
    service: LoyaltyService,
):
    service.enroll("09121234567", client_txn_id="e-1")
    before = service.conn.execute("SELECT COUNT(*) FROM members").fetchone()[0]

    for text in INJECTIONS:
        with pytest.raises(KioskError):
            service.identify_phone(text)
        with pytest.raises(KioskError):
            service.identify_card(text)

    assert service.conn.execute("SELECT COUNT(*) FROM members").fetchone()[0] == before


# -- staff cards and PINs -----------------------------------------------------------------


def test_a_staff_card_cannot_be_a_member_card_nor_the_reverse(service: LoyaltyService):
    cashier = service.staff.add(name="Sara", role="cashier", pin="4826", actor=CLI)
    service.link_staff_card(cashier.staff_id, "1A2B3C4D", actor=CLI)
    service.enroll("09121234567", client_txn_id="e-1", card="5A6B7C8D")

    with pytest.raises(CardInUse):
        service.enroll("09127654321", client_txn_id="e-2", card="1A2B3C4D")
    with pytest.raises(KioskError):
        service.staff.login_with_card("5A6B7C8D")
    with pytest.raises(CardInUse):
        service.link_staff_card(cashier.staff_id, "5A6B7C8D", actor=CLI)


def test_a_disabled_cashiers_card_and_pin_open_nothing(service: LoyaltyService):
    cashier = service.staff.add(name="Sara", role="cashier", pin="4826", actor=CLI)
    service.link_staff_card(cashier.staff_id, "1A2B3C4D", actor=CLI)
    service.staff.disable(cashier.staff_id, actor=CLI)

    with pytest.raises((StaffDisabled, UnknownStaff)):
        service.staff.login_with_card("1A2B3C4D")
    with pytest.raises(StaffDisabled):
        service.staff.login_with_pin("4826", cashier.staff_id)


def test_a_cashier_cannot_do_what_needs_a_manager(service: LoyaltyService):
    sara = service.staff.add(name="Sara", role="cashier", pin="4826", actor=CLI)
    actor = service.staff.login_with_pin("4826", sara.staff_id)
    assert actor.role == "cashier"
    member = service.enroll("09121234567", client_txn_id="e-1").member_id

    with pytest.raises(NotAllowed):
        service.adjust(member, 1000, reason="free points", actor=actor, client_txn_id="a-1")
    with pytest.raises(NotAllowed):
        service.staff.add(name="Eve", role="manager", pin="1357", actor=actor)


def test_pin_brute_force_locks_out_longer_each_time_and_is_audited(service: LoyaltyService, clock):
    sara = service.staff.add(name="Sara", role="cashier", pin="4826", actor=CLI)
    delays = []
    for _round in range(3):
        while True:
            try:
                service.staff.login_with_pin("0000", sara.staff_id)
            except LockedOut as locked:
                delays.append(int(locked.params["seconds"]))
                clock.advance(seconds=delays[-1])
                break
            except WrongPin:
                continue

    failures = [e for e in audit.recent(service.conn, limit=500) if "login" in e.action]
    assert delays == sorted(delays) and delays[0] < delays[-1]
    assert failures and all("0000" not in json.dumps(e.details) for e in failures)
