"""Two real kiosks on a real hub, racing for the same points online: one coupon.

Issue 15: "Two online kiosks redeemed the same 1,000 points twice (the CRM balance went to
-1,000)". Here each kiosk is the product's own (`kiosk.bootstrap.Appliance`, enrolled
with a code from `hub device add`), redeeming through `LoyaltyService.redeem`, which asks
`hub serve` (gunicorn, two worker processes, PostgreSQL) to hold the points first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.bootstrap import Appliance
from kiosk.core.clock import ManualClock
from kiosk.core.store.staff import CLI
from kiosk.errors import InsufficientPoints, KioskError, LimitReached
from tests.conftest import make_config
from tests.hub.conftest import Hub, HubServer


class Kiosk:
    """A kiosk's appliance on its own data directory, enrolled at the hub."""

    def __init__(self, folder: Path, hub: Hub, url: str, clock: ManualClock, name: str) -> None:
        config = make_config(f'crm.url="{url}"', f'device.id="{name}"')
        self.appliance = Appliance(config, folder, clock=clock)
        service = self.appliance.open_service()
        try:
            self.appliance.provision(service, crm_url=url, code=hub.new_device()["code"])
        finally:
            service.close()

    def sync(self) -> None:
        with self.appliance.sync_session() as worker:
            worker.drain(ignore_backoff=True)
            worker.pull()

    def redeem(self, member_id: str, reward: str, txn: str) -> Any:
        """A redemption at the counter, on a connection of this thread's own."""
        service = self.appliance.open_service()
        try:
            return service.redeem(member_id, reward, cashier=CLI, client_txn_id=txn)
        finally:
            service.close()


@pytest.fixture
def kiosks(hub: Hub, tmp_path: Path, clock: ManualClock) -> Iterator[Any]:
    opened: list[Kiosk] = []

    def open_kiosk(url: str, name: str) -> Kiosk:
        kiosk = Kiosk(tmp_path / name, hub, url, clock, name)
        opened.append(kiosk)
        return kiosk

    yield open_kiosk
    for kiosk in opened:
        kiosk.appliance.forget_client()


@pytest.fixture
def hub_server(hub: Hub) -> Iterator[HubServer]:
    """`hub serve` with two worker processes: the race crosses processes, not only threads."""
    server = HubServer(hub, workers=2).start()
    yield server
    server.stop(graceful=False)


def shopper_with_1000_points(kiosk: Kiosk) -> str:
    service = kiosk.appliance.open_service()
    try:
        member_id = service.enroll("09121234567", client_txn_id="enroll-1").member_id
        service.adjust(member_id, 1000, reason="opening", actor=CLI, client_txn_id="open-1")
        return member_id
    finally:
        service.close()


def test_two_online_kiosks_racing_for_the_same_1000_points_give_one_coupon(
    hub: Hub, hub_server: HubServer, kiosks
):
    first, second = kiosks(hub_server.url, "kiosk-a"), kiosks(hub_server.url, "kiosk-b")
    shopper = shopper_with_1000_points(first)  # and the enrollment bonus: 1,050
    first.sync()
    second.sync()  # both counters see the shopper's 1,050 points
    start = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def counter(kiosk: Kiosk, txn: str) -> None:
        start.wait()
        try:
            outcomes[txn] = kiosk.redeem(shopper, "percent-10", txn)
        except KioskError as refused:
            outcomes[txn] = refused

    threads = [
        threading.Thread(target=counter, args=(first, "redeem-a")),
        threading.Thread(target=counter, args=(second, "redeem-b")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.sync()
    second.sync()

    coupons = [o for o in outcomes.values() if not isinstance(o, KioskError)]
    refusals = [o for o in outcomes.values() if isinstance(o, KioskError)]
    assert len(coupons) == 1 and coupons[0].coupon_code
    assert len(refusals) == 1 and isinstance(refusals[0], InsufficientPoints)
    assert refusals[0].params == {"balance": 50, "needed": 1000}
    assert hub.sql("SELECT balance FROM hub_balance WHERE member_id = %s", shopper) == [(50,)]
    assert hub.sql("SELECT state FROM hub_hold") == [("confirmed",)]
    assert hub.sql("SELECT count(*) FROM hub_entry WHERE status = 'rejected'") == [(0,)]


def test_a_kiosk_whose_hub_is_out_of_reach_redeems_within_the_offline_allowance(
    hub: Hub, hub_server: HubServer, kiosks
):
    kiosk = kiosks(hub_server.url, "kiosk-a")
    shopper = shopper_with_1000_points(kiosk)
    kiosk.sync()  # heard from the hub a moment ago
    hub_server.stop(graceful=False)

    with pytest.raises(LimitReached) as limited:
        kiosk.redeem(shopper, "percent-10", "redeem-1")
    coffee = kiosk.redeem(shopper, "coffee", "redeem-2")

    assert limited.value.params["allowance"] == 500
    assert coffee.coupon_code
