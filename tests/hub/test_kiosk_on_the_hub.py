"""A real kiosk on a real hub: enrolled with a code from `hub device add`, syncing over HTTP.

The kiosk side is the product's own: `kiosk.bootstrap.Appliance` provisions it, and its
`SyncWorker` pushes, pulls and sends heartbeats with `sync.client.CrmClient`. The hub is
`hub serve` (gunicorn, two worker processes) on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.bootstrap import Appliance
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from kiosk.errors import ProvisioningFailed
from sync.signing import sign
from sync.worker import load_secret
from tests.conftest import make_config
from tests.hub.conftest import Hub, HubServer


class Kiosk:
    """A kiosk's appliance and service on its own data directory, pointed at a hub."""

    def __init__(self, folder: Path, url: str, clock: ManualClock, device_id: str) -> None:
        config = make_config(f'crm.url="{url}"', f'device.id="{device_id}"')
        self.appliance = Appliance(config, folder, clock=clock)
        self.service: LoyaltyService = self.appliance.open_service()
        self.url = url
        self.clock = clock

    def provision(self, code: str) -> None:
        self.appliance.provision(self.service, crm_url=self.url, code=code)

    def sync(self) -> tuple[Any, Any, bool]:
        """One push, one pull, one heartbeat, as `kiosk sync --once` does them."""
        with self.appliance.sync_session() as worker:
            return worker.drain(ignore_backoff=True), worker.pull(), worker.heartbeat()

    def sale(self, phone: str, card: str, amounts: list[int]) -> str:
        member_id = self.service.enroll(phone, client_txn_id=f"enroll-{phone}", card=card).member_id
        for i, amount in enumerate(amounts):
            self.clock.advance(hours=5)  # the program's pause between purchases
            self.service.earn(member_id, amount, cashier=CLI, client_txn_id=f"sale-{phone}-{i}")
        return member_id

    def secret(self) -> bytes:
        secret = load_secret(
            self.service.config.crm, self.appliance.data_dir, self.appliance.key_source()
        )
        assert secret is not None
        return secret


@pytest.fixture
def kiosks(tmp_path: Path, clock: ManualClock) -> Iterator[Any]:
    opened: list[Kiosk] = []

    def open_kiosk(url: str, name: str = "kiosk-valiasr-1") -> Kiosk:
        kiosk = Kiosk(tmp_path / name, url, clock, name)
        opened.append(kiosk)
        return kiosk

    yield open_kiosk
    for kiosk in opened:
        kiosk.appliance.forget_client()
        kiosk.service.close()


def test_a_kiosk_enrolled_with_a_code_from_the_hub_pushes_its_sales_there(
    hub: Hub, hub_server: HubServer, kiosks
):
    added = hub.new_device("Valiasr")
    kiosk = kiosks(hub_server.url)
    kiosk.provision(added["code"])

    member_id = kiosk.sale("09121234567", "A1B2C3D4", [1_500_000, 2_000_000])
    pushed, pulled, heard = kiosk.sync()

    local = [e.entry_id for e in kiosk.service.ledger.entries()]
    assert pushed.stopped == "empty" and pushed.acknowledged == len(local) == 3
    assert pulled.stopped == "done" and pulled.applied.get("balance", 0) >= 1
    assert heard is True
    chain = hub.json("export")
    assert [e["entry"]["entry_id"] for e in chain["entries"]] == local
    assert {e["status"] for e in chain["entries"]} == {"stored"}
    (member,) = chain["members"]
    assert member["member_id"] == member_id and member["phone"] == "+989121234567"
    assert member["cards"] == [{"uid": "A1B2C3D4", "status": "active"}]
    assert member["balance"] == kiosk.service.member(member_id).balance > 0
    (device,) = hub.json("device", "list", "--json")
    assert device | {"last_seen_at": None, "enrolled_at": None} == {
        "device": added["device"],
        "branch": "Valiasr",
        "device_id": "kiosk-valiasr-1",
        "state": "enrolled",
        "high_water": 3,
        "enrolled_at": None,
        "revoked_at": None,
        "last_seen_at": None,
    }


def test_a_code_works_once(hub: Hub, hub_server: HubServer, kiosks):
    code = hub.new_device()["code"]
    kiosks(hub_server.url, "kiosk-first").provision(code)

    with pytest.raises(ProvisioningFailed) as refused:
        kiosks(hub_server.url, "kiosk-second").provision(code)

    assert refused.value.reason == "used_code"


def test_an_expired_code_is_refused(hub: Hub, hub_server: HubServer, kiosks):
    code = hub.new_device()["code"]
    hub.sql("UPDATE hub_enrollment_code SET expires_at = now() - interval '1 second'")

    with pytest.raises(ProvisioningFailed) as refused:
        kiosks(hub_server.url).provision(code.lower())

    assert refused.value.reason == "expired_code"


def test_a_revoked_device_is_refused_and_keeps_its_entries(hub: Hub, hub_server: HubServer, kiosks):
    added = hub.new_device()
    kiosk = kiosks(hub_server.url)
    kiosk.provision(added["code"])
    kiosk.sale("09120000001", "0A0B0C0D", [500_000])

    revoked = hub.run("device", "revoke", str(added["device"]))
    pushed, _pulled, _heard = kiosk.sync()

    assert "revoked" in revoked.stdout
    assert pushed.stopped == "credentials" and pushed.acknowledged == 0
    assert kiosk.service.ledger.entries()  # nothing deleted because the hub said no
    with kiosk.appliance.sync_session() as worker:
        assert worker.status().last_error_code == "device_revoked"
    assert hub.json("export")["entries"] == []
    again = hub.run("device", "code", str(added["device"]), check=False)
    assert again.returncode == 1 and "revoked" in again.stderr


def test_the_owner_lifts_a_revocation_and_the_stolen_secret_stays_refused(
    hub: Hub, hub_server: HubServer, kiosks
):
    added = hub.new_device()
    kiosk = kiosks(hub_server.url)
    kiosk.provision(added["code"])
    stolen = kiosk.secret()
    hub.run("device", "revoke", str(added["device"]))
    kiosk.sale("09120000001", "0A0B0C0D", [500_000])  # the counter goes on meanwhile

    lifted = hub.json("device", "reinstate", str(added["device"]), "--json")
    kiosk.provision(lifted["code"])
    pushed, _pulled, _heard = kiosk.sync()
    with_old = requests.post(
        hub_server.url + "/v2/heartbeat",
        data=b"{}",
        headers=sign("kiosk-valiasr-1", stolen, "POST", "/v2/heartbeat", b"{}"),
        timeout=10,
    )

    assert lifted["device"] == added["device"] and lifted["code"] != added["code"]
    assert pushed.stopped == "empty" and pushed.acknowledged == len(
        list(kiosk.service.ledger.entries())
    )
    assert kiosk.secret() != stolen
    assert with_old.status_code == 401 and with_old.json()["error"]["code"] == "bad_signature"
    state = {d["device"]: d["state"] for d in hub.json("device", "list", "--json")}
    assert state[added["device"]] == "enrolled"
    not_revoked = hub.run("device", "reinstate", str(added["device"]), check=False)
    assert not_revoked.returncode == 1 and "not revoked" in not_revoked.stderr


def test_a_revoked_kiosk_cannot_come_back_with_a_code_made_for_another_device(
    hub: Hub, hub_server: HubServer, kiosks
):
    first = hub.new_device()
    kiosk = kiosks(hub_server.url)
    kiosk.provision(first["code"])
    hub.run("device", "revoke", "kiosk-valiasr-1")
    other = hub.new_device()

    with pytest.raises(ProvisioningFailed):
        kiosk.provision(other["code"])

    devices = {d["device"]: d for d in hub.json("device", "list", "--json")}
    assert devices[first["device"]]["state"] == "revoked"
    assert devices[other["device"]]["state"] == "waiting"  # its code is not spent either


def test_a_replayed_request_is_refused_after_the_hub_restarts(
    hub: Hub, hub_server: HubServer, kiosks
):
    kiosk = kiosks(hub_server.url)
    kiosk.provision(hub.new_device()["code"])
    body = json.dumps(
        {
            "version": "0.1.0",
            "queue_depth": 0,
            "oldest_unsynced_at": None,
            "readers": [],
            "disk_free_bytes": 1,
            "clock_offset_ms": None,
        }
    ).encode()
    headers = sign("kiosk-valiasr-1", kiosk.secret(), "POST", "/v2/heartbeat", body)
    headers["Content-Type"] = "application/json"
    first = requests.post(hub_server.url + "/v2/heartbeat", data=body, headers=headers, timeout=10)

    hub_server.stop()
    restarted = HubServer(hub).start()
    try:
        replayed = requests.post(
            restarted.url + "/v2/heartbeat", data=body, headers=headers, timeout=10
        )
    finally:
        restarted.stop()

    assert first.status_code == 200
    assert replayed.status_code == 401
    assert replayed.json()["error"]["code"] == "replayed"


def test_the_same_kiosk_re_enrolls_with_a_new_code_of_its_own_record(
    hub: Hub, hub_server: HubServer, kiosks
):
    added = hub.new_device()
    kiosk = kiosks(hub_server.url)
    kiosk.provision(added["code"])
    old_secret = kiosk.secret()
    kiosk.sale("09120000002", "0E0E0E0E", [700_000])

    renewed = hub.json("device", "code", "kiosk-valiasr-1", "--json")
    kiosk.provision(renewed["code"])
    pushed, _pulled, _heard = kiosk.sync()

    assert renewed["device"] == added["device"]
    assert kiosk.secret() != old_secret
    assert pushed.stopped == "empty" and pushed.acknowledged == 2
    assert [d["device"] for d in hub.json("device", "list", "--json")] == [added["device"]]
