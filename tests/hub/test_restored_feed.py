"""The hub restored from a dump numbers its change feed again: a kiosk skips nothing.

A real kiosk (`kiosk.bootstrap.Appliance`) on a real hub (`hub serve` on PostgreSQL). The
kiosk reads the feed past the head of last night's dump; the hub is started on a database
made from that dump (CREATE DATABASE ... TEMPLATE: another database OID, as `pg_restore`
into a new database gives), and the owner erases a member there: the erasure takes a
cursor the kiosk has passed. The kiosk hears another `epoch`, reads the feed again from 0,
and holds what a kiosk new to the restored hub holds. `hub feed reset-epoch` starts a
reading again without any restore.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.bootstrap import Appliance
from kiosk.core import pulled
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.members import MemberStore
from kiosk.core.store.outbox import SyncState
from sync.feed_epoch import FEED_EPOCH
from tests.conftest import make_config
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_restored_hub import copy_of, kiosk_at, sync


def alive(service: LoyaltyService, ids: set[str]) -> dict[str, str]:
    """The members of `ids` the kiosk holds and has not erased, with their status."""
    found = {i: MemberStore(service.conn).get(i) for i in ids}
    return {i: m.status for i, m in found.items() if m is not None and m.status != "erased"}


def test_a_member_erased_at_the_restored_hub_reaches_a_kiosk_whose_cursor_was_ahead(
    hub: Hub, clock: ManualClock, tmp_path: Path
):
    server = HubServer(hub).start()
    address = server.url.removeprefix("http://")
    kiosk = kiosk_at(server.url, tmp_path / "kiosk", clock)
    service = kiosk.open_service()
    fresh: Appliance | None = None
    fresh_service: LoyaltyService | None = None
    try:
        kiosk.provision(service, crm_url=server.url, code=hub.new_device()["code"])
        first = service.enroll("09121240001", client_txn_id="enroll-1").member_id
        second = service.enroll("09121240002", client_txn_id="enroll-2").member_id
        sync(kiosk)
        server.stop()
        dump = copy_of(hub, hub.database)  # last night's dump
        server = HubServer(hub, bind=address).start()

        for n in range(3, 6):  # the day goes on: the kiosk reads past the dump's head
            service.enroll(f"0912124000{n}", client_txn_id=f"enroll-{n}")
        sync(kiosk)
        ahead = pulled.cursor(service.conn)
        server.stop()

        restored = copy_of(dump, dump.database)
        restored.run("member", "erase", first, "--yes")
        (head,) = restored.sql("SELECT max(cursor) FROM hub_change")[0]
        assert head <= ahead  # the erasure's cursor is one the kiosk has passed
        server = HubServer(restored, bind=address).start()

        sync(kiosk)
        assert MemberStore(service.conn).get(first).status == "erased"  # type: ignore[union-attr]
        with kiosk.sync_session() as worker:
            shown = worker.status().last_feed_reset
        assert shown is not None and shown["from"] == ahead

        config = make_config(f'crm.url="{server.url}"', 'device.id="kiosk-valiasr-2"')
        fresh = Appliance(config, tmp_path / "fresh", clock=clock)
        fresh_service = fresh.open_service()
        fresh.provision(fresh_service, crm_url=server.url, code=restored.new_device()["code"])
        sync(fresh)
        known = {first, second}
        assert alive(service, known) == alive(fresh_service, known) == {second: "active"}

        # A restore the hub cannot see by itself: the owner names a new epoch.
        kept = SyncState(service.conn).get(FEED_EPOCH)
        restored.run("feed", "reset-epoch")
        clock.advance(hours=2)  # past the kiosk's spacing of readings again
        sync(fresh)
        assert SyncState(fresh_service.conn).get(FEED_EPOCH) not in (None, kept)
        assert alive(fresh_service, known) == {second: "active"}
    finally:
        server.stop(graceful=False)
        kiosk.forget_client()
        service.close()
        if fresh is not None and fresh_service is not None:
            fresh.forget_client()
            fresh_service.close()
