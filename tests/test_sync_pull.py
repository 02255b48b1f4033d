"""Two kiosks and one CRM over loopback: what one branch does, the other sees and honours."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kiosk.core.clock import ManualClock
from kiosk.core.pin import hash_pin
from kiosk.core.pulled import Here, apply_page
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from kiosk.core.store.verify import verify_ledger
from kiosk.core.summary import member_summary
from kiosk.errors import LimitReached, UnknownCard, UnknownMember
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.client import CrmClient
from sync.worker import SyncWorker
from tests.conftest import START, make_config

PHONE = "09121234567"
CARD = "A1B2C3D4"


class Seconds:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock

    def __call__(self) -> float:
        return self.clock().timestamp()


class Branch:
    """One kiosk: its database, its clock, its worker."""

    def __init__(self, crm: CrmServer, data: Path, device: str, *overrides: str) -> None:
        self.clock = ManualClock(START)
        client = CrmClient(crm.url, device)
        client.enroll(crm.store.new_code())
        owner = client.owner_key  # given with the secret, as provisioning keeps it
        assert owner is not None
        config = make_config(
            f'device.id="{device}"',
            f'crm.url="{crm.url}"',
            f'crm.owner_key="{owner.text}"',
            f'crm.chain_id="{owner.chain_id}"',
            *overrides,
        )
        self.service = LoyaltyService.open(data, config, clock=self.clock)
        self.worker = SyncWorker(self.service, client, config.crm, clock=Seconds(self.clock))

    def sync(self) -> None:
        assert self.worker.drain().stopped == "empty"
        assert self.worker.pull().stopped == "done"

    def balance(self, member_id: str) -> int:
        return self.service.effective_balance(member_id)


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


@pytest.fixture
def branches(crm: CrmServer, tmp_path: Path) -> Iterator[tuple[Branch, Branch]]:
    a = Branch(crm, tmp_path / "a", "kiosk-a")
    b = Branch(crm, tmp_path / "b", "kiosk-b")
    yield a, b
    a.service.close()
    b.service.close()


def test_enroll_and_earn_at_a_then_redeem_at_b_and_every_balance_agrees(branches, crm):
    a, b = branches
    member_id = a.service.enroll(PHONE, client_txn_id="e1", card=CARD).member_id  # +50
    a.service.earn(member_id, 25_000_000, cashier=CLI, client_txn_id="buy")  # +250
    a.sync()
    b.sync()

    assert b.service.identify_phone(PHONE).member_id == member_id
    assert b.service.identify_card(CARD).member_id == member_id
    assert b.balance(member_id) == 300
    assert member_summary(b.service, member_id).balance == 300

    b.service.redeem(member_id, "coffee", cashier=CLI, client_txn_id="coffee")
    assert b.balance(member_id) == 100
    b.sync()
    a.sync()

    assert a.balance(member_id) == b.balance(member_id) == 100
    assert crm.store.view()["balances"][member_id] == 100
    assert verify_ledger(a.service.conn).ok and verify_ledger(b.service.conn).ok


def test_points_spent_at_b_are_not_spent_again_at_a(branches):
    a, b = branches
    member_id = a.service.enroll(PHONE, client_txn_id="e1").member_id
    a.service.earn(member_id, 15_000_000, cashier=CLI, client_txn_id="buy")  # 200 in all
    a.sync()
    b.sync()
    b.service.redeem(member_id, "coffee", cashier=CLI, client_txn_id="coffee")
    b.sync()
    a.sync()

    with pytest.raises(Exception, match="Not enough points"):
        a.service.redeem(member_id, "coffee", cashier=CLI, client_txn_id="again")


def test_applying_the_same_page_twice_changes_nothing(branches, crm):
    a, b = branches
    member_id = a.service.enroll(PHONE, client_txn_id="e1", card=CARD, name="Sara").member_id
    a.service.earn(member_id, 5_000_000, cashier=CLI, client_txn_id="buy")
    a.sync()
    assert b.worker.client is not None
    page = b.worker.client.changes(0)
    here = Here("kiosk-b", "bronze")

    apply_page(b.service.conn, here, page.changes, page.next_cursor)
    first = dump(b.service)
    apply_page(b.service.conn, here, page.changes, page.next_cursor)

    assert dump(b.service) == first
    assert first["people"] and first["remote_balances"]


def dump(service: LoyaltyService) -> dict[str, list[tuple[object, ...]]]:
    tables = ("members", "people", "cards", "remote_balances", "member_outbox", "entries")
    return {
        table: [tuple(row) for row in service.conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
        for table in tables
    }


def test_a_member_pulled_here_is_not_pushed_back(branches):
    a, b = branches
    a.service.enroll(PHONE, client_txn_id="e1")
    a.sync()

    b.sync()

    assert b.service.conn.execute("SELECT COUNT(*) FROM member_outbox").fetchone()[0] == 0


def test_an_erasure_at_the_crm_reaches_every_branch_and_keeps_the_ledger(branches, crm):
    a, b = branches
    member_id = a.service.enroll(PHONE, client_txn_id="e1", card=CARD).member_id
    a.service.earn(member_id, 5_000_000, cashier=CLI, client_txn_id="buy")
    a.sync()
    b.sync()
    entries_before = len(list(a.service.ledger.entries()))

    requests.post(
        crm.url + "/sim/publish",
        json={"type": "erasure", "data": {"member_id": member_id}},
        timeout=10,
    )
    a.sync()
    b.sync()

    for branch in (a, b):
        with pytest.raises(UnknownMember):
            branch.service.identify_phone(PHONE)
        with pytest.raises(UnknownCard):
            branch.service.identify_card(CARD)
        assert branch.service.member(member_id).status == "erased"
    assert len(list(a.service.ledger.entries())) == entries_before
    assert verify_ledger(a.service.conn).ok


def test_an_erasure_here_reaches_the_other_branch(branches):
    a, b = branches
    member_id = a.service.enroll(PHONE, client_txn_id="e1").member_id
    a.sync()
    b.sync()

    a.service.erase(member_id, actor=CLI)
    a.sync()
    b.sync()

    with pytest.raises(UnknownMember):
        b.service.identify_phone(PHONE)


def test_a_program_update_from_the_crm_brings_new_rewards(branches, crm):
    _a, b = branches
    program = {
        "version": 2,
        "tiers": [
            {
                "id": "bronze",
                "name_fa": "برنزی",
                "name_en": "Bronze",
                "threshold": 0,
                "multiplier": "1",
            }
        ],
        "rewards": [
            {
                "id": "tea",
                "name_fa": "چای",
                "name_en": "Tea",
                "cost": 30,
                "kind": "free_item",
                "value": 0,
            }
        ],
    }
    requests.post(crm.url + "/sim/publish", json={"type": "program", "data": program}, timeout=10)

    b.sync()

    assert [r.id for r in b.service.program.rewards] == ["tea"]
    member_id = b.service.enroll(PHONE, client_txn_id="e1").member_id  # 50 points
    assert [r.reward_id for r in member_summary(b.service, member_id).rewards] == ["tea"]
    reopened = LoyaltyService.open(
        Path(b.service.conn.execute("PRAGMA database_list").fetchone()[2]).parent,
        b.service.config,
        clock=b.clock,
    )
    assert [r.id for r in reopened.program.rewards] == ["tea"]
    reopened.close()


def test_staff_pins_from_the_crm_work_here(branches, crm):
    _a, b = branches
    staff = {
        "staff_id": "s-crm-1",
        "name": "Reza",
        "role": "cashier",
        "pin_hash": hash_pin("4321", n=1024),
        "cards": ["5A5A5A5A"],
        "disabled": False,
    }
    requests.post(crm.url + "/sim/publish", json={"type": "staff", "data": staff}, timeout=10)

    b.sync()

    assert b.service.staff.login_with_pin("4321", "s-crm-1").actor_id == "s-crm-1"
    assert b.service.staff.login_with_card("5A5A5A5A").actor_id == "s-crm-1"


def test_offline_redemptions_are_bounded_by_the_allowance(crm, tmp_path):
    branch = Branch(crm, tmp_path / "b", "kiosk-b", "program.offline_redemption_allowance=450")
    service = branch.service
    member_id = service.enroll(PHONE, client_txn_id="e1").member_id
    service.adjust(member_id, 950, reason="test", actor=CLI, client_txn_id="adj")  # 1000
    branch.sync()
    branch.clock.advance(minutes=31)  # nothing heard from the CRM since

    service.redeem(member_id, "coffee", cashier=CLI, client_txn_id="r1")  # 200
    service.redeem(member_id, "coffee", cashier=CLI, client_txn_id="r2")  # 400
    with pytest.raises(LimitReached) as refused:
        service.redeem(member_id, "coffee", cashier=CLI, client_txn_id="r3")  # 600 > 450

    assert refused.value.key == "error.limit.offline"
    branch.sync()  # the CRM is heard from again
    service.redeem(member_id, "coffee", cashier=CLI, client_txn_id="r4")
    assert branch.balance(member_id) == 400


def test_the_heartbeat_tells_the_crm_how_the_kiosk_is(branches, crm):
    a, _b = branches
    a.service.enroll(PHONE, client_txn_id="e1")

    assert a.worker.heartbeat([{"name": "sim", "state": "connected"}])

    row = crm.store.conn.execute(
        "SELECT last_heartbeat FROM devices WHERE device_id = 'kiosk-a'"
    ).fetchone()
    beat = json.loads(row[0])
    assert beat["queue_depth"] == 1 and beat["readers"] == [{"name": "sim", "state": "connected"}]
    assert beat["oldest_unsynced_at"] and beat["disk_free_bytes"] > 0
    assert isinstance(beat["clock_offset_ms"], int)
