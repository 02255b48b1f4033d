"""Sync defects found in the field, each as the behaviour the kiosk must keep from now on.

- A push carries the record of every member its entries name (an import of 600 members
  lost 5 opening balances at the CRM as `unknown_member`).
- A change made here is never undone by an older record the pull brings back (a blocked
  card came back unblocked from the CRM's echo of the member's older record).
- A program change that docs/sync-openapi.yaml calls valid is applied (one without reward
  names was skipped, and its new reward could not be redeemed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.bootstrap import Appliance
from kiosk.core.clock import ManualClock
from kiosk.core.member_io import import_members, read_member_csv
from kiosk.core.service import LoyaltyService
from kiosk.core.store.outbox import Batch, Outbox
from kiosk.core.store.staff import CLI
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.client import CrmClient
from sync.worker import SyncWorker
from tests.conftest import make_config


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


@pytest.fixture
def kiosk(
    tmp_path: Path, clock: ManualClock, crm: CrmServer
) -> Iterator[tuple[LoyaltyService, SyncWorker]]:
    """A kiosk enrolled at the simulated CRM, with the shipped batch size (500)."""
    service = Appliance(make_config(), tmp_path / "data", clock=clock).open_service()
    client = CrmClient(crm.url, service.device_id)
    client.enroll(crm.store.new_code())
    worker = SyncWorker(service, client, service.config.crm, clock=lambda: clock().timestamp())
    yield service, worker
    client.close()
    service.close()


# -- a batch carries every member its entries need ---------------------------------------------


def import_600_members(service: LoyaltyService, folder: Path) -> list[str]:
    """`kiosk member import` of 600 members, each with a card and an opening balance."""
    members_csv = folder / "members.csv"
    lines = ["phone,name,card,consent,consent_version,points"]
    lines += [
        f"0912{3000000 + i:07d},Member {i},{0x2B000000 + i:08X},yes,v1,{100 + i}"
        for i in range(600)
    ]
    members_csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows, problems = read_member_csv(members_csv, service)
    assert not problems
    import_members(service, rows, actor=CLI)
    return [entry.member_id for entry in service.ledger.entries()]  # in import order


def assert_the_crm_holds_everything(
    service: LoyaltyService, worker: SyncWorker, crm: CrmServer
) -> None:
    assert worker.outbox.rejected() == []
    local_members = {r[0] for r in service.conn.execute("SELECT member_id FROM members")}
    assert set(crm.store.view()["members"]) == local_members
    assert crm.store.entry_ids(service.device_id) == [e.entry_id for e in service.ledger.entries()]
    assert sum(crm.store.view()["balances"].values()) == sum(100 + i for i in range(600))


def test_the_first_push_after_importing_600_members_loses_no_opening_balance(
    kiosk: tuple[LoyaltyService, SyncWorker], crm: CrmServer, tmp_path: Path
) -> None:
    service, worker = kiosk
    import_600_members(service, tmp_path)

    result = worker.drain()

    assert (result.stopped, result.batches, result.rejected) == ("empty", 2, 0)
    assert_the_crm_holds_everything(service, worker, crm)


def test_members_changed_again_after_the_import_still_go_with_their_entries(
    kiosk: tuple[LoyaltyService, SyncWorker], crm: CrmServer, tmp_path: Path
) -> None:
    service, worker = kiosk
    imported = import_600_members(service, tmp_path)
    for n, member_id in enumerate(imported[:5]):  # the first five lose their card at once
        service.link_card(member_id, f"{0x3C000000 + n:08X}", actor=CLI)

    result = worker.drain()

    assert (result.stopped, result.rejected) == ("empty", 0)
    assert_the_crm_holds_everything(service, worker, crm)


def push_body(service: LoyaltyService, batch: Batch) -> bytes:
    """The push body of `batch`, as sync/client.py encodes it (before gzip)."""
    body = {"device_id": service.device_id, "members": batch.members, "entries": batch.entries}
    return json.dumps(body, separators=(",", ":")).encode()


def test_a_batch_over_the_body_limit_is_cut_and_no_entry_goes_without_its_member(
    service: LoyaltyService,
) -> None:
    for i in range(40):
        service.enroll(f"0912{4000000 + i:07d}", client_txn_id=f"e{i}", name=f"نام {i}")
    outbox = Outbox(service.conn, service.device_id)
    whole = outbox.next_batch(500)
    limit = len(push_body(service, whole)) // 3

    cut = outbox.next_batch(500, max_bytes=limit)

    assert 0 < len(cut.entries) < len(whole.entries) == 40
    assert cut.entries == whole.entries[: len(cut.entries)]
    assert {e["member_id"] for e in cut.entries} <= {m["member_id"] for m in cut.members}
    assert [m for m, _version in cut.member_versions] == [m["member_id"] for m in cut.members]
    assert len(push_body(service, cut)) <= limit
