"""The `hub` key source: a kiosk on a board without OTP keeps its data key wrapped by a key
the hub holds for it alone, cached in memory-backed /run (docs/security.md, "At rest").

A real hub (`hub serve` on PostgreSQL) and real kiosks (`kiosk.bootstrap.Appliance` with
`security.key_source = "hub"`, its cache in a temporary folder standing for /run): a
restart opens offline from the cache; a power cut (the cache gone) with the hub out of
reach opens nothing and writes nothing; a revoked device, or another device's signature,
gets no key.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from kiosk.bootstrap import Appliance
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from kiosk.errors import DataKeyUnavailable
from sync.signing import PROTOCOL, PROTOCOL_VERSION, sign
from sync.worker import save_secret
from tests.conftest import make_config
from tests.hub.conftest import Hub, HubServer

# Every answer a Wire heard is checked against docs/sync-openapi.yaml, as the protocol tests do.
from tests.hub.test_protocol import answers_are_what_the_openapi_file_declares, spec  # noqa: F401
from tests.hub.wire import Server, Wire, error_code

PHONE, NAME, CARD = "09121234567", "Shirin Karimi", "A1B2C3D4"
DEVICE_ID = "kiosk-hub-key-1"


class Kiosk:
    """One kiosk's data directory and key cache, on a board without OTP: the hub keeps its key."""

    def __init__(self, root: Path, url: str, clock: ManualClock, device_id: str) -> None:
        self.data_dir = root / device_id / "data"
        self.cache = root / device_id / "run"  # /run/loyalty-kiosk: a power cut empties it
        self.url = url
        self.clock = clock
        self.device_id = device_id
        self.opened: list[tuple[Appliance, LoyaltyService]] = []

    def appliance(self, *, configured_id: bool = True) -> Appliance:
        """A new start of the kiosk (the id from the config, or only the database's)."""
        config = make_config(
            f'crm.url="{self.url}"',
            f'device.id="{self.device_id if configured_id else ""}"',
            'security.key_source="hub"',
            f'security.key_cache_dir="{self.cache}"',
        )
        return Appliance(config, self.data_dir, clock=self.clock)

    def enroll(self, code: str) -> None:
        """Trade a code from `hub device add` for the device secret (kept in clear: it is
        what asks the hub for the key)."""
        appliance = self.appliance()
        client = appliance.enrollment_client(self.url, self.device_id, None)
        try:
            secret = client.enroll(code)
        finally:
            client.close()
        save_secret(appliance.config.crm, self.data_dir, secret, appliance.key_source())

    def open(self, *, configured_id: bool = True) -> LoyaltyService:
        appliance = self.appliance(configured_id=configured_id)
        service = appliance.open_service()
        self.opened.append((appliance, service))
        return service

    def serve(self) -> str:
        """Open, enroll a shopper with a card, credit a purchase, close: the member's id."""
        service = self.open()
        member_id = service.enroll(PHONE, client_txn_id="enroll-1", name=NAME, card=CARD).member_id
        service.earn(member_id, 1_500_000, cashier=CLI, client_txn_id="sale-1")
        self.close()
        return member_id

    def cached_key(self) -> bytes:
        text = (self.cache / f"{self.device_id}.key").read_text(encoding="ascii")
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    def power_cut(self) -> None:
        """/run is memory: after a power cut the key cache is empty."""
        for path in self.cache.iterdir():
            path.unlink()

    def files(self) -> dict[str, str]:
        """Every file of the data directory with a digest of its bytes."""
        return {
            str(path.relative_to(self.data_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(self.data_dir.rglob("*"))
            if path.is_file()
        }

    def close(self) -> None:
        for appliance, service in self.opened:
            appliance.forget_client()
            service.close()
        self.opened.clear()


@pytest.fixture
def kiosk(tmp_path: Path, hub: Hub, hub_server: HubServer, clock: ManualClock) -> Any:
    made = Kiosk(tmp_path / "kiosks", hub_server.url, clock, DEVICE_ID)
    made.enroll(hub.new_device()["code"])
    yield made
    made.close()


def stored_key(hub: Hub, device_id: str) -> bytes | None:
    rows = hub.sql(
        "SELECT k.key FROM hub_storage_key k JOIN hub_device d ON d.id = k.device_id "
        "WHERE d.device_id = %s",
        device_id,
    )
    return bytes(rows[0][0]) if rows else None


def name_of(service: LoyaltyService, member_id: str) -> str | None:
    person = service.member(member_id).person
    return person.name if person is not None else None


def restarted(server: HubServer) -> HubServer:
    """The hub started again at the same address (its kiosks keep their crm.url)."""
    address = urlsplit(server.url).netloc
    return HubServer(server.hub, bind=address).start()


def test_a_kiosk_opens_and_serves_with_the_key_the_hub_keeps_for_it(kiosk: Kiosk, hub: Hub):
    member_id = kiosk.serve()

    service = kiosk.open()
    member = service.member(member_id)
    assert member.person is not None and member.balance > 0
    assert (member.person.phone, member.person.name) == ("+989121234567", NAME)
    assert service.identify_phone(PHONE).member_id == member_id
    key = kiosk.cached_key()
    assert stored_key(hub, DEVICE_ID) == key and len(key) == 32
    assert (
        kiosk.cache.stat().st_mode & 0o777,
        (kiosk.cache / f"{DEVICE_ID}.key").stat().st_mode & 0o777,
    ) == (
        0o700,
        0o600,
    )
    # The key is nowhere on the card: not as a key file, not in any file of the data folder.
    text = base64.urlsafe_b64encode(key)
    for path in kiosk.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert key not in data and text not in data and text.rstrip(b"=") not in data, path


def test_the_database_file_holds_no_phone_name_or_card_in_clear(kiosk: Kiosk):
    kiosk.serve()

    files = {path.name: path.read_bytes() for path in kiosk.data_dir.rglob("*") if path.is_file()}

    assert "kiosk.db" in files or any(name.endswith(".db") for name in files)
    for name, data in files.items():
        for clear in (b"9121234567", NAME.encode(), b"Shirin", CARD.encode()):
            assert clear not in data, (name, clear)


def test_after_a_restart_the_kiosk_opens_from_the_cache_with_the_hub_stopped(
    kiosk: Kiosk, hub_server: HubServer
):
    member_id = kiosk.serve()
    hub_server.stop()

    # A new process, and the device id only in the database: the cache is enough.
    service = kiosk.open(configured_id=False)
    kiosk.clock.advance(hours=5)  # the program's pause between purchases
    service.earn(
        service.identify_phone(PHONE).member_id, 2_000_000, cashier=CLI, client_txn_id="sale-2"
    )

    assert service.device_id == DEVICE_ID
    assert name_of(service, member_id) == NAME
    assert len(list(service.ledger.entries())) == 3


def test_after_a_power_cut_with_the_hub_out_of_reach_the_kiosk_refuses_and_writes_nothing(
    kiosk: Kiosk, hub_server: HubServer
):
    member_id = kiosk.serve()
    hub_server.stop()
    kiosk.power_cut()
    before = kiosk.files()

    with pytest.raises(DataKeyUnavailable) as refused:
        kiosk.open(configured_id=False)

    assert "the hub cannot be reached" in str(refused.value)
    assert "call the technician" in str(refused.value)
    assert kiosk.files() == before
    assert list(kiosk.cache.iterdir()) == []

    # The hub back: the same key, the same members.
    server = restarted(hub_server)
    try:
        service = kiosk.open(configured_id=False)
        assert name_of(service, member_id) == NAME
        assert (kiosk.cache / f"{DEVICE_ID}.key").exists()
    finally:
        kiosk.close()
        server.stop(graceful=False)


def test_a_revoked_device_gets_no_key_and_reinstated_and_enrolled_again_opens_its_data(
    kiosk: Kiosk, hub: Hub
):
    member_id = kiosk.serve()
    key = kiosk.cached_key()
    hub.run("device", "revoke", DEVICE_ID)
    kiosk.power_cut()
    before = kiosk.files()

    with pytest.raises(DataKeyUnavailable) as refused:
        kiosk.open()

    assert "this device was revoked" in str(refused.value)
    assert kiosk.files() == before and list(kiosk.cache.iterdir()) == []

    # Lifting the revocation on purpose: a new code, the same key (the data opens again).
    code = hub.json("device", "reinstate", DEVICE_ID, "--json")["code"]
    kiosk.enroll(code)
    assert name_of(kiosk.open(), member_id) == NAME
    assert kiosk.cached_key() == key


def test_a_device_revoked_before_it_asked_gets_no_key_made(hub: Hub, hub_server: HubServer):
    wire = Wire(Server("hub", hub_server.url, hub=hub))
    hub.run("device", "revoke", wire.device_id)

    answer = wire.send("GET", "/v2/storage-key")

    assert error_code(answer) == (403, "device_revoked")
    assert stored_key(hub, wire.device_id) is None


def test_each_device_gets_its_own_key_and_no_signature_fetches_anothers(
    hub: Hub, hub_server: HubServer
):
    server = Server("hub", hub_server.url, hub=hub)
    first, second = Wire(server), Wire(server)
    first_key = first.send("GET", "/v2/storage-key").json()["key"]

    again = first.send("GET", "/v2/storage-key").json()["key"]
    own = second.send("GET", "/v2/storage-key").json()["key"]
    # The second device's secret, signing as the first: the hub checks with the first's.
    posing = requests.get(
        hub_server.url + "/v2/storage-key",
        headers=sign(first.device_id, second.secret, "GET", "/v2/storage-key", b"")
        | {PROTOCOL: PROTOCOL_VERSION},
        timeout=30,
    )
    unsigned = requests.get(
        hub_server.url + "/v2/storage-key", headers={PROTOCOL: PROTOCOL_VERSION}, timeout=30
    )

    assert again == first_key and own != first_key
    assert stored_key(hub, first.device_id) == base64.urlsafe_b64decode(first_key)
    assert error_code(posing) == (401, "bad_signature") and "key" not in posing.json()
    assert error_code(unsigned) == (401, "unknown_device")
    assert hub.sql("SELECT count(*) FROM hub_storage_key") == [(2,)]


def test_a_cache_others_can_read_is_refused(kiosk: Kiosk):
    kiosk.serve()
    cached = kiosk.cache / f"{DEVICE_ID}.key"
    cached.chmod(0o644)

    with pytest.raises(DataKeyUnavailable) as refused:
        kiosk.open()

    assert "can be read by others (mode 644)" in str(refused.value)


def test_a_stale_key_in_the_cache_is_dropped_and_the_hubs_taken_again(kiosk: Kiosk):
    """A cache that holds a key which does not open the data (the hub's database restored
    from an older dump, then put right) is not kept until the next power cut."""
    member_id = kiosk.serve()
    [cached] = list(kiosk.cache.iterdir())
    cached.write_text(base64.urlsafe_b64encode(b"\x01" * 32).decode())  # mode stays 0600

    service = kiosk.open()

    assert name_of(service, member_id) == NAME
    assert cached.read_text() != base64.urlsafe_b64encode(b"\x01" * 32).decode()
