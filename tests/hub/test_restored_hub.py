"""The hub restored from last night's dump: each kiosk sends again what the hub lost.

A real kiosk (`kiosk.bootstrap.Appliance`, its scheduled `BackgroundSync`) on a real hub
(`hub serve` on PostgreSQL). The hub's database is copied while it is stopped (the dump),
the kiosk goes on selling and syncing, then the hub is started on a database made from
that copy at the same address (the restore). The kiosk's next regular cycle, with no new
sale, gives the hub back every entry and the member enrolled since.
"""

from __future__ import annotations

import threading
from pathlib import Path

from kiosk.bootstrap import Appliance
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from kiosk.core.store.verify import verify_ledger
from kiosk.core.sync_status import SyncStatus
from tests.conftest import make_config
from tests.hub.conftest import Hub, HubServer

WAIT = 120.0  # a safety limit, never a pace


def kiosk_at(url: str, folder: Path, clock: ManualClock) -> Appliance:
    # A heartbeat every second: the regular cycle that hears the hub's mark comes soon.
    config = make_config(
        f'crm.url="{url}"', 'device.id="kiosk-valiasr-1"', "crm.heartbeat_interval_seconds=1"
    )
    return Appliance(config, folder, clock=clock)


def sync(appliance: Appliance) -> None:
    with appliance.sync_session() as worker:
        assert worker.drain(ignore_backoff=True).stopped == "empty"
        assert worker.pull().stopped == "done"


def sales(service: LoyaltyService, clock: ManualClock, phone: str, count: int) -> str:
    member_id = service.enroll(phone, client_txn_id=f"enroll-{phone}").member_id
    for i in range(count):
        clock.advance(hours=5)  # the program's pause between purchases
        service.earn(member_id, 6_000_000, cashier=CLI, client_txn_id=f"sale-{phone}-{i}")
    return member_id


def copy_of(hub: Hub, database: str) -> Hub:
    """A hub on a copy of `database` (CREATE DATABASE ... TEMPLATE), same data directory."""
    return Hub(hub.postgres, hub.postgres.create_database(database), hub.data_dir)


def test_after_a_restore_the_next_regular_cycle_brings_the_hub_back_to_the_kiosk_ledger(
    hub: Hub, clock: ManualClock, tmp_path: Path
):
    server = HubServer(hub).start()
    address = server.url.removeprefix("http://")
    kiosk = kiosk_at(server.url, tmp_path / "kiosk", clock)
    service = kiosk.open_service()
    try:
        kiosk.provision(service, crm_url=server.url, code=hub.new_device()["code"])
        first = sales(service, clock, "09121230001", 3)
        sync(kiosk)
        server.stop()
        dump = copy_of(hub, hub.database)  # last night's dump
        server = HubServer(hub, bind=address).start()

        second = sales(service, clock, "09121230002", 3)
        clock.advance(hours=5)
        service.redeem(first, "coffee", cashier=CLI, client_txn_id="redeem-first")
        sync(kiosk)
        held_before = {e["entry"]["seq"] for e in hub.json("export")["entries"]}
        server.stop()

        restored = copy_of(dump, dump.database)
        server = HubServer(restored, bind=address).start()
        lost = {e["entry"]["seq"] for e in restored.json("export")["entries"]}
        assert lost < held_before  # the restore did lose the day

        done = threading.Event()
        statuses: list[SyncStatus] = []

        def reported(status: SyncStatus) -> None:
            statuses.append(status)
            if status.last_rewind is not None and status.queue_depth == 0 and status.online:
                done.set()

        background = kiosk.background_sync(on_status=reported)
        assert background is not None
        background.start()
        try:
            assert done.wait(WAIT), statuses[-3:]
        finally:
            background.stop()

        chain = restored.json("export")
        local = {e.entry_id for e in service.ledger.entries()}
        assert {e["entry"]["entry_id"] for e in chain["entries"]} == local
        assert {e["status"] for e in chain["entries"]} == {"stored"}
        members = {m["member_id"]: m for m in chain["members"]}
        assert members[second]["phone"] == "+989121230002"
        for member_id in (first, second):
            assert members[member_id]["balance"] == service.member(member_id).balance
        (device,) = restored.json("device", "list", "--json")
        assert device["high_water"] == max(e["entry"]["seq"] for e in chain["entries"])
        flags = restored.json("flag", "list", "--json")
        assert [f for f in flags if f["code"] == "chain_broken"] == []
        assert verify_ledger(service.conn).ok
        rewind = statuses[-1].last_rewind
        assert rewind is not None and rewind["to"] == max(lost)
        assert rewind["entries"] == len(held_before) - len(lost)
    finally:
        server.stop(graceful=False)
        kiosk.forget_client()
        service.close()
