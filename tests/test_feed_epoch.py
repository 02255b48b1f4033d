"""The CRM's change feed numbered again (restored to an earlier point): the kiosk reads it
again from 0, once, and skips nothing (sync/feed_epoch.py).

Real kiosks (provisioned with the owner key) against the simulated CRM over loopback: one
restored from a copy of its database (the copy is another file: another epoch), and one
that names a new epoch at every page (`restless`), as a compromised server could.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core import pulled
from kiosk.core.pulled import PROGRAM_KEY
from kiosk.core.service import LoyaltyService
from kiosk.core.store import audit
from kiosk.core.store.members import MemberStore
from kiosk.core.store.outbox import SyncState
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.client import CrmClient
from sync.feed_epoch import FEED_EPOCH, LAST_FEED_RESET, RESET_SPACING_SECONDS, reset_if_renumbered
from tests.conftest import Seconds
from tests.test_signed_changes import CASHIER, PROMOTED, Shop, program, publish


def snapshot(store_path: Path, copy: Path) -> None:
    """A copy of the simulated CRM's database, as a nightly dump would be."""
    with sqlite3.connect(store_path) as source, sqlite3.connect(copy) as target:
        source.backup(target)


def alive(service: LoyaltyService, ids: set[str]) -> dict[str, str]:
    """The members of `ids` this kiosk holds and has not erased, with their status."""
    found = {i: MemberStore(service.conn).get(i) for i in ids}
    return {i: m.status for i, m in found.items() if m is not None and m.status != "erased"}


def staff(service: LoyaltyService) -> dict[str, tuple[str, bool]]:
    rows = service.conn.execute(
        "SELECT staff_id, role, disabled_at IS NOT NULL FROM staff WHERE staff_id LIKE 's-crm-%'"
    )
    return {str(r[0]): (str(r[1]), bool(r[2])) for r in rows}


def program_version(service: LoyaltyService) -> Any:
    kept = SyncState(service.conn).get(PROGRAM_KEY)
    return kept.get("version") if isinstance(kept, dict) else None


def refused(service: LoyaltyService) -> int:
    return sum(1 for r in audit.recent(service.conn, 1000) if r.outcome == "refused")


def cursor_of(shop: Shop) -> int:
    return pulled.cursor(shop.service.conn)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[CrmServer]:
    with CrmServer(CrmStore(tmp_path / "crm.sqlite")) as server:
        yield server


def test_a_kiosk_ahead_of_a_restored_feed_reads_it_again_and_gets_the_erasure_made_after(
    live, tmp_path, caplog
):
    seconds = Seconds()
    shop = Shop(live, tmp_path / "kiosk")
    restored: CrmServer | None = None
    fresh: Shop | None = None
    try:
        shop.worker.clock = seconds
        publish(live, "staff", CASHIER)
        publish(live, "program", program(2, "tea"))
        first = shop.service.enroll("09121110001", client_txn_id="e1").member_id
        second = shop.service.enroll("09121110002", client_txn_id="e2").member_id
        assert shop.worker.drain().stopped == "empty"
        shop.pull()
        snapshot(tmp_path / "crm.sqlite", tmp_path / "dump.sqlite")  # last night's dump

        # The day goes on at the CRM: a promotion, a new program, a member from here.
        publish(live, "staff", PROMOTED)
        publish(live, "program", program(3, "cake"))
        shop.service.enroll("09121110003", client_txn_id="e3")
        assert shop.worker.drain().stopped == "empty"
        shop.pull()
        ahead = cursor_of(shop)
        assert staff(shop.service)["s-crm-1"] == ("manager", False)
        live.stop()

        restored = CrmServer(CrmStore(tmp_path / "dump.sqlite")).start()
        # The owner erases a member at the restored CRM: its cursor is one the kiosk passed.
        restored.store.publish("erasure", {"member_id": first})
        head = restored.store.changes(0, 1000)[1]
        assert head <= ahead  # the kiosk's cursor is past the restored feed's head
        shop.worker.client = CrmClient(restored.url, shop.service.device_id, live_secret(shop))
        with caplog.at_level(logging.WARNING, logger="sync.feed_epoch"):
            result = shop.pull()

        assert MemberStore(shop.service.conn).get(first).status == "erased"  # type: ignore[union-attr]
        assert result.applied.get("erasure", 0) >= 1
        warned = [r.getMessage() for r in caplog.records if r.name == "sync.feed_epoch"]
        assert len(warned) == 1 and f"the cursor was {ahead}" in warned[0]
        assert first not in warned[0] and "0912" not in warned[0]
        shown = shop.worker.status().last_feed_reset
        assert shown is not None and shown["from"] == ahead
        assert cursor_of(shop) == head

        # Read once: the next pull reads on by its cursor.
        again = shop.pull()
        assert again.applied == {} and shop.worker.status().last_feed_reset == shown

        # What a kiosk new to the restored CRM sees (enrolled as the same device: last), but
        # for the program: a newer one in force is not undone by an older one read again
        # (refused not_newer).
        fresh = Shop(restored, tmp_path / "fresh")
        fresh.pull()
        known = {first, second}
        assert alive(shop.service, known) == alive(fresh.service, known) == {second: "active"}
        assert staff(shop.service) == staff(fresh.service) == {"s-crm-1": ("cashier", False)}
        assert program_version(fresh.service) == 2 and program_version(shop.service) == 3

    finally:
        shop.stop()
        if fresh is not None:
            fresh.stop()
        if restored is not None:
            restored.stop()


def live_secret(shop: Shop) -> bytes | None:
    client = shop.worker.client
    assert client is not None
    return client.secret


def test_a_server_naming_a_new_epoch_at_every_page_gets_one_reading_an_hour_and_undoes_nothing(
    live, tmp_path
):
    seconds = Seconds()
    shop = Shop(live, tmp_path / "kiosk")
    try:
        shop.worker.clock = seconds
        publish(live, "staff", CASHIER)
        publish(live, "program", program(2, "tea"))
        publish(live, "program", program(3, "cake"))
        forged = CASHIER | {"staff_id": "s-crm-9", "role": "manager"}
        publish(live, "staff", forged, signature=None)  # no owner key: refused
        shop.pull()
        assert program_version(shop.service) == 3 and "s-crm-9" not in staff(shop.service)
        refusals = refused(shop.service)
        end = cursor_of(shop)

        live.faults.restless = True
        # Pages of two: each names another epoch; only the first starts a reading again.
        result = shop.worker.pull(limit=2)
        assert result.stopped == "done" and result.pages > 1
        assert cursor_of(shop) == end
        reset = SyncState(shop.service.conn).get(LAST_FEED_RESET)
        assert reset["at_epoch"] == seconds.now and reset["from"] == end
        # The signed state stands: v2 and the forged account refused again, v3 in force.
        assert program_version(shop.service) == 3 and "s-crm-9" not in staff(shop.service)
        assert refused(shop.service) == refusals + 3  # v2, v3 (not newer), the forgery
        assert staff(shop.service) == {"s-crm-1": ("cashier", False)}

        for _ in range(3):  # the same hour: read on by the cursor, nothing again
            seconds.now += 60
            assert shop.worker.pull(limit=2).applied == {}
            assert SyncState(shop.service.conn).get(LAST_FEED_RESET) == reset

        seconds.now = reset["at_epoch"] + RESET_SPACING_SECONDS
        shop.worker.pull(limit=2)
        later = SyncState(shop.service.conn).get(LAST_FEED_RESET)
        assert later["at_epoch"] == seconds.now and program_version(shop.service) == 3
    finally:
        shop.stop()


def test_the_epoch_first_heard_is_kept_and_an_older_crm_without_one_changes_nothing(live, tmp_path):
    shop = Shop(live, tmp_path / "kiosk")
    try:
        state = SyncState(shop.service.conn)
        state.set(cursor=40)
        clock = Seconds()
        assert reset_if_renumbered(state, None, clock) is False  # an older CRM
        assert not state.get(FEED_EPOCH)
        assert reset_if_renumbered(state, "a", clock) is False  # the first one heard
        assert reset_if_renumbered(state, "a", clock) is False
        assert state.get(FEED_EPOCH) == "a" and state.get("cursor") == 40
        assert reset_if_renumbered(state, "b", clock) is True
        assert state.get(FEED_EPOCH) == "b" and state.get("cursor") == 0
        # At cursor 0 nothing was passed by (a kiosk moved to another CRM): kept, no reading.
        clock.now += RESET_SPACING_SECONDS
        assert reset_if_renumbered(state, "c", clock) is False
        assert state.get(FEED_EPOCH) == "c" and state.get(LAST_FEED_RESET)["from"] == 40
        # A restart of the simulated CRM on the same file names the same epoch.
        assert live.store.epoch() == CrmStore(Path(tmp_path / "crm.sqlite")).epoch()
        before = live.store.epoch()
        assert live.store.reset_epoch() != before
    finally:
        shop.stop()
