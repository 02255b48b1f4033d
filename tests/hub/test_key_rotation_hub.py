"""`kiosk key rotate --to hub` on a real hub: a kiosk on a board without OTP, sealed with its
local key file, moves its data key to a key the hub keeps for it (docs/security.md, "At
rest"), then opens after a power cut with the key file gone. The hub is `hub serve` on
PostgreSQL; the kiosk's `/run` cache is a temporary folder."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from kiosk.appliance.backup import backup
from kiosk.bootstrap import Appliance
from kiosk.cli import main
from kiosk.core.clock import ManualClock
from kiosk.core.store.db import database_path
from kiosk.core.store.staff import CLI
from kiosk.core.store.vault import KEY_FILENAME, stored_key
from sync.secret import SEALED, load_secret, save_secret
from tests.conftest import make_config
from tests.hub.conftest import Hub, HubServer

PHONE, NAME, CARD = "09121234567", "Shirin Karimi", "A1B2C3D4"
DEVICE_ID = "kiosk-rotate-1"


def source_of(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        found = stored_key(conn)
    finally:
        conn.close()
    assert found is not None
    return found["source"]


def test_a_kiosk_on_its_key_file_moves_to_the_hub_and_opens_after_a_power_cut(
    tmp_path: Path,
    hub: Hub,
    hub_server: HubServer,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    data, cache = tmp_path / "data", tmp_path / "run"

    def appliance(source: str) -> Appliance:
        config = make_config(
            f'crm.url="{hub_server.url}"',
            f'device.id="{DEVICE_ID}"',
            f'security.key_source="{source}"',
            f'security.key_cache_dir="{cache}"',
        )
        return Appliance(config, data, clock=clock)

    on_file = appliance("file")
    client = on_file.enrollment_client(hub_server.url, DEVICE_ID, None)
    try:
        secret = client.enroll(hub.new_device()["code"])
    finally:
        client.close()
    save_secret(on_file.config.crm, data, secret, on_file.key_source())  # sealed by the file
    service = on_file.open_service()
    try:
        member_id = service.enroll(PHONE, name=NAME, card=CARD, client_txn_id="e-1").member_id
        service.earn(member_id, 1_500_000, cashier=CLI, client_txn_id="sale-1")
    finally:
        service.close()
    backup(data, keys=on_file.key_source())
    (old_backup,) = (data / "backups").glob("kiosk-*.db")

    config_file = tmp_path / "kiosk.toml"
    config_file.write_text(
        f'[device]\nid = "{DEVICE_ID}"\n[crm]\nurl = "{hub_server.url}"\n'
        f'[security]\npin_scrypt_n = 1024\nkey_source = "hub"\nkey_cache_dir = "{cache}"\n'
    )
    monkeypatch.setenv("KIOSK_CONFIG", str(config_file))
    status = main(["key", "rotate", "--data-dir", str(data), "--json"])
    out, err = capsys.readouterr()

    assert status == 0, err
    rotated = json.loads(out)
    assert (rotated["previous"], rotated["source"]) == ("file", "hub")
    assert rotated["secret"].startswith("in clear")  # what asks the hub for the key
    assert rotated["backups"] == {old_backup.name: "re-wrapped for 'hub'"}
    assert not (data / "crm-secret").read_text().startswith(SEALED)
    assert source_of(database_path(data)) == source_of(old_backup) == "hub"

    (data / KEY_FILENAME).unlink()
    for cached in cache.iterdir():  # a power cut: /run is empty
        cached.unlink()
    on_hub = appliance("hub")
    assert load_secret(on_hub.config.crm, data, on_hub.key_source()) == secret
    service = on_hub.open_service(create=False)
    try:
        found = service.identify_card(CARD)
        assert found.member_id == member_id
        assert found.person is not None and found.person.name == NAME
        assert service.identify_phone(PHONE).member_id == member_id
    finally:
        service.close()
        on_hub.forget_client()
