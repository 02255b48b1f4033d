"""The CRM restored to an earlier point: the kiosk owes it again what it lost, once.

The SQLite side (kiosk/core/store/requeue.py) on a real kiosk database, and the worker
(sync/rewind.py) against the simulated CRM over loopback: one restored from a copy of its
database, and one that answers a high-water mark of 0 to everything (`amnesia`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.outbox import Outbox
from kiosk.core.store.requeue import acknowledged_here, requeue_after
from kiosk.core.store.staff import CLI
from kiosk.core.store.verify import verify_ledger
from sim.crm import CrmServer
from sim.crm_faults import Faults
from sim.crm_store import CrmStore
from sync.client import CrmClient
from sync.rewind import REWIND_SPACING_SECONDS
from sync.worker import SyncWorker
from tests.conftest import Seconds, make_config


@pytest.fixture
def kiosk(tmp_path: Path, clock: ManualClock) -> Iterator[LoyaltyService]:
    config = make_config(
        "crm.backoff_base_seconds=1", "crm.backoff_cap_seconds=4", "crm.batch_size=3"
    )
    service = LoyaltyService.open(tmp_path / "data", config, clock=clock)
    yield service
    service.close()


def shopper(service: LoyaltyService, clock: ManualClock, n: int, sales: int) -> str:
    member_id = service.enroll(
        f"0912{2000000 + n:07d}", client_txn_id=f"enroll-{n}", card=f"{0x2B000000 + n:08X}"
    ).member_id
    for i in range(sales):
        clock.advance(hours=5)  # the program's pause between purchases
        service.earn(member_id, 1_000_000, cashier=CLI, client_txn_id=f"sale-{n}-{i}")
    return member_id


def pending(service: LoyaltyService) -> list[int]:
    rows = service.conn.execute("SELECT seq FROM outbox WHERE state = 'pending' ORDER BY seq")
    return [int(row[0]) for row in rows]


def owed_members(service: LoyaltyService) -> dict[str, int]:
    rows = service.conn.execute("SELECT member_id, version FROM member_outbox")
    return {str(row[0]): int(row[1]) for row in rows}


def acknowledge_all(service: LoyaltyService, rejected_seq: int | None = None) -> None:
    """As a CRM's answers would: every entry held, one of them rejected."""
    outbox = Outbox(service.conn, service.device_id)
    while not (batch := outbox.next_batch(100)).empty:
        refused = [
            {"entry_id": e["entry_id"], "seq": e["seq"], "code": "outside_program"}
            for e in batch.entries
            if e["seq"] == rejected_seq
        ]
        outbox.acknowledge(batch, batch.last_seq, refused)


# -- the SQLite side ---------------------------------------------------------------------


def test_rejected_entries_count_as_acknowledged_and_pending_ones_do_not(kiosk, clock):
    shopper(kiosk, clock, 1, sales=3)  # seq 1 (enrollment bonus) .. 4
    assert acknowledged_here(kiosk.conn, kiosk.device_id) == 0

    acknowledge_all(kiosk, rejected_seq=4)
    shopper(kiosk, clock, 2, sales=1)

    assert acknowledged_here(kiosk.conn, kiosk.device_id) == 4


def test_requeue_owes_the_entries_after_the_mark_and_the_members_enrolled_here(kiosk, clock):
    first = shopper(kiosk, clock, 1, sales=2)  # seq 1..3
    second = shopper(kiosk, clock, 2, sales=2)  # seq 4..6
    acknowledge_all(kiosk, rejected_seq=5)
    kiosk.conn.execute("DELETE FROM member_outbox")  # the CRM's echo came back
    assert pending(kiosk) == [] and owed_members(kiosk) == {}

    requeued = requeue_after(kiosk.conn, kiosk.device_id, 3, 6, "2026-12-06T10:00:00.000Z")

    assert (requeued.entries, requeued.first_seq, requeued.last_seq) == (3, 4, 6)
    assert pending(kiosk) == [4, 5, 6]  # the rejected one too: the CRM lost its rejection
    code = kiosk.conn.execute("SELECT error FROM outbox WHERE seq = 5").fetchone()[0]
    assert code == "outside_program"  # kept until the CRM answers again
    assert owed_members(kiosk) == {second: 1}  # the first's entries are still held there
    batch = Outbox(kiosk.conn, kiosk.device_id).next_batch(100)
    assert [e["seq"] for e in batch.entries] == [4, 5, 6]
    assert [m["member_id"] for m in batch.members] == [second]
    assert first not in owed_members(kiosk)


def test_requeue_below_what_was_acknowledged_only_is_a_no_op(kiosk, clock):
    shopper(kiosk, clock, 1, sales=2)
    acknowledge_all(kiosk)

    requeued = requeue_after(kiosk.conn, kiosk.device_id, 3, 3, "2026-12-06T10:00:00.000Z")

    assert requeued.entries == 0 and pending(kiosk) == []


def test_an_erased_member_goes_again_as_the_erasure_never_as_the_person(kiosk, clock):
    member_id = shopper(kiosk, clock, 1, sales=1)
    acknowledge_all(kiosk)
    kiosk.erase(member_id, actor=CLI)
    acknowledge_all(kiosk)  # the erasure was pushed and acknowledged too
    assert owed_members(kiosk) == {}

    last = acknowledged_here(kiosk.conn, kiosk.device_id)
    requeue_after(kiosk.conn, kiosk.device_id, 0, last, "2026-12-06T10:00:00.000Z")

    batch = Outbox(kiosk.conn, kiosk.device_id).next_batch(100)
    (record,) = batch.members
    assert record["member_id"] == member_id and record["status"] == "erased"
    assert set(record) == {"member_id", "status", "created_at", "updated_at"}


def test_a_member_the_crm_merged_into_another_is_not_sent_again_as_an_erasure(kiosk, clock):
    from kiosk.core.store.db import write_transaction
    from kiosk.core.store.merged import MergedMembers

    alias = shopper(kiosk, clock, 1, sales=1)
    survivor = shopper(kiosk, clock, 2, sales=1)
    acknowledge_all(kiosk)
    with write_transaction(kiosk.conn):
        MergedMembers(kiosk.conn).merge(alias, survivor, now="2026-03-01T20:00:00Z", tier="bronze")
    kiosk.conn.execute("DELETE FROM member_outbox")
    last = acknowledged_here(kiosk.conn, kiosk.device_id)

    requeue_after(kiosk.conn, kiosk.device_id, 0, last, "2026-12-06T10:00:00.000Z")

    assert owed_members(kiosk) == {survivor: 1}
    batch = Outbox(kiosk.conn, kiosk.device_id).next_batch(100)
    assert {m["member_id"]: m["status"] for m in batch.members} == {survivor: "active"}


# -- the worker against the simulated CRM ------------------------------------------------


def enrolled(server: CrmServer, service: LoyaltyService) -> CrmClient:
    client = CrmClient(server.url, service.device_id)
    client.enroll(server.store.new_code())
    return client


def snapshot(store_path: Path, copy: Path) -> None:
    """A copy of the simulated CRM's database, as a nightly dump would be."""
    with sqlite3.connect(store_path) as source, sqlite3.connect(copy) as target:
        source.backup(target)


def test_the_sim_crm_restored_from_a_copy_gets_everything_back_at_the_next_cycle(
    kiosk, clock, tmp_path, caplog
):
    seconds = Seconds()
    live, dump = tmp_path / "crm.sqlite", tmp_path / "crm-dump.sqlite"
    with CrmServer(CrmStore(live)) as before:
        client = enrolled(before, kiosk)
        shopper(kiosk, clock, 1, sales=2)
        assert SyncWorker(kiosk, client, kiosk.config.crm, clock=seconds).drain().stopped == "empty"
        snapshot(live, dump)
        late = shopper(kiosk, clock, 2, sales=3)
        worker = SyncWorker(kiosk, client, kiosk.config.crm, clock=seconds)
        assert worker.drain().stopped == "empty"
        client.close()

    with CrmServer(CrmStore(dump)) as restored:
        client = CrmClient(restored.url, kiosk.device_id, client.secret)
        worker = SyncWorker(kiosk, client, kiosk.config.crm, clock=seconds)
        with caplog.at_level(logging.WARNING, logger="sync.rewind"):
            assert worker.heartbeat() is True
            result = worker.drain()
        view = restored.store.view()

    assert worker.rewound is not None and worker.rewound.entries == 4
    assert result.stopped == "empty" and pending(kiosk) == []
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "sync.rewind"]
    assert "went back to seq 3" in warning and "sending 4 entries" in warning
    assert "0912" not in warning and late not in warning  # nothing of a person
    assert view["devices"][kiosk.device_id]["high_water"] == 7
    assert view["members"][late]["status"] == "active"
    assert view["balances"][late] == kiosk.member(late).balance
    shown = worker.status().last_rewind
    assert shown is not None and shown["at"].startswith("2026-")
    assert shown | {"at": None} == {"at": None, "to": 3, "from": 7, "entries": 4, "members": 1}
    assert verify_ledger(kiosk.conn).ok
    assert view["devices"][kiosk.device_id]["gaps"] == []


def test_a_crm_saying_high_water_0_again_and_again_gets_one_resend_and_no_loop(
    kiosk, clock, tmp_path, caplog
):
    seconds = Seconds()
    store = CrmStore(tmp_path / "crm.sqlite")
    with CrmServer(store) as honest:
        client = enrolled(honest, kiosk)
        shopper(kiosk, clock, 1, sales=5)  # 6 entries: two batches of 3
        assert SyncWorker(kiosk, client, kiosk.config.crm, clock=seconds).drain().stopped == "empty"
        client.close()

    with CrmServer(store, faults=Faults(amnesia=True)) as liar:
        client = CrmClient(liar.url, kiosk.device_id, client.secret)
        worker = SyncWorker(kiosk, client, kiosk.config.crm, clock=seconds, jitter=lambda: 1.0)
        with caplog.at_level(logging.WARNING, logger="sync.rewind"):
            heartbeats = [worker.heartbeat() for _ in range(5)]
            first = worker.drain()
            again = [worker.drain() for _ in range(5)]  # the backoff has not passed
            beats_later = [worker.heartbeat() for _ in range(3)]
            seconds.now += 2  # past the first backoff (base 1 s, full jitter of 1.0)
            later = worker.drain()

    assert heartbeats == [True] * 5 and beats_later == [True] * 3
    rewinds = [r for r in caplog.records if r.name == "sync.rewind"]
    assert len(rewinds) == 1  # once: the entries are pending, a mark of 0 is no news
    assert pending(kiosk) == [1, 2, 3, 4, 5, 6]  # kept, never lost, never acknowledged
    # One batch, no progress, then the backoff: no loop, no flood.
    assert (first.batches, first.stopped) == (1, "backoff")
    assert all(result.batches == 0 and result.stopped == "backoff" for result in again)
    assert (later.batches, later.stopped) == (1, "backoff")


def test_a_crm_that_acknowledges_then_goes_back_is_believed_once_an_hour(kiosk, clock, tmp_path):
    seconds = Seconds()
    store = CrmStore(tmp_path / "crm.sqlite")
    with CrmServer(store) as honest:
        client = enrolled(honest, kiosk)
        shopper(kiosk, clock, 1, sales=2)
        worker = SyncWorker(kiosk, client, kiosk.config.crm, clock=seconds)
        assert worker.drain().stopped == "empty"
        with CrmServer(store, faults=Faults(amnesia=True)) as liar:
            lying = CrmClient(liar.url, kiosk.device_id, client.secret)
            SyncWorker(kiosk, lying, kiosk.config.crm, clock=seconds).heartbeat()
            assert pending(kiosk) == [1, 2, 3]
            assert worker.drain().stopped == "empty"  # the honest one holds them all

            SyncWorker(kiosk, lying, kiosk.config.crm, clock=seconds).heartbeat()
            assert pending(kiosk) == []  # not again within the hour

            seconds.now += REWIND_SPACING_SECONDS
            SyncWorker(kiosk, lying, kiosk.config.crm, clock=seconds).heartbeat()
            assert pending(kiosk) == [1, 2, 3]
            lying.close()
        client.close()


def test_a_push_acknowledged_while_a_heartbeat_was_answered_is_no_going_back(
    kiosk, clock, tmp_path, caplog
):
    seconds = Seconds()
    with CrmServer(CrmStore()) as crm:
        secret = enrolled(crm, kiosk).secret
        shopper(kiosk, clock, 1, sales=2)  # 3 entries, not pushed yet
        pusher = SyncWorker(kiosk, CrmClient(crm.url, kiosk.device_id, secret), kiosk.config.crm)

        class AnsweredBeforeThePush(CrmClient):
            """The sync service's push lands between the CRM's answer and its reading here."""

            def heartbeat(self, status: dict[str, object]) -> dict[str, object]:
                answer = super().heartbeat(status)  # the CRM's mark: 0
                assert pusher.drain().stopped == "empty"  # acknowledged up to 3 meanwhile
                return answer

        beating = AnsweredBeforeThePush(crm.url, kiosk.device_id, secret)
        worker = SyncWorker(kiosk, beating, kiosk.config.crm, clock=seconds)
        with caplog.at_level(logging.WARNING, logger="sync.rewind"):
            assert worker.heartbeat() is True

    assert worker.rewound is None and pending(kiosk) == []
    assert [r for r in caplog.records if r.name == "sync.rewind"] == []


def test_an_older_crm_without_high_water_in_its_heartbeat_changes_nothing(kiosk, clock):
    from sync.rewind import high_water_of

    assert high_water_of({"server_time": "2026-12-06T10:00:00.000000Z"}) is None
    assert high_water_of({"high_water": True}) is None
    assert high_water_of({"high_water": -1}) is None
    assert high_water_of({"high_water": "12"}) is None
    assert high_water_of({"high_water": 12}) == 12


def test_kiosk_sync_once_sends_again_at_once_what_a_restored_crm_lost(
    tmp_path, monkeypatch, capsys
):
    from kiosk.cli import main

    data, config = tmp_path / "data", tmp_path / "kiosk.toml"
    live, dump = tmp_path / "crm.sqlite", tmp_path / "crm-dump.sqlite"
    monkeypatch.setenv("KIOSK_CONFIG", str(config))

    def point_at(server: CrmServer) -> None:
        config.write_text(f'[device]\nid = "kiosk-cli"\n[crm]\nurl = "{server.url}"\n')

    def cli(*args: str) -> int:
        return main([*args, "--data-dir", str(data)])

    with CrmServer(CrmStore(live)) as before:
        point_at(before)
        assert cli("member", "enroll", "--phone", "09121234567") == 0
        assert cli("sync", "enroll", before.store.new_code()) == 0
        assert cli("sync", "--once") == 0
        snapshot(live, dump)
        assert cli("member", "enroll", "--phone", "09121234568") == 0
        assert cli("sync", "--once") == 0
        assert before.store.view()["devices"]["kiosk-cli"]["high_water"] == 2

    with CrmServer(CrmStore(dump)) as restored:
        point_at(restored)
        assert restored.store.view()["devices"]["kiosk-cli"]["high_water"] == 1
        assert cli("sync", "--once") == 0
        capsys.readouterr()
        assert cli("sync", "status", "--json") == 0
        status = json.loads(capsys.readouterr().out)
        view = restored.store.view()

    assert view["devices"]["kiosk-cli"]["high_water"] == 2
    assert len(view["members"]) == 2
    assert status["queue_depth"] == 0
    assert status["last_rewind"]["to"] == 1 and status["last_rewind"]["entries"] == 1
