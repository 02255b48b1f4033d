"""Online redemption at the kiosk: the CRM holds the points before the coupon is shown.

docs/sync-protocol.md, "Holds". Real kiosks (kiosk.bootstrap.Appliance, enrolled with a
one-time code) against the real simulated CRM on loopback: the hold, the refusal a cashier
sees in Persian and English, a repeated tap, and each way of not hearing the CRM, after
which the offline allowance decides.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.bootstrap import Appliance
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from kiosk.errors import InsufficientPoints, LimitReached, StorageUnavailable
from kiosk.text.i18n import Texts
from sim.crm import CrmServer
from sim.crm_faults import Faults
from sim.crm_store import CrmStore
from tests.conftest import make_config
from tests.test_sync_worker import dead_url


class Kiosk:
    """One kiosk's appliance and service, enrolled at a CRM."""

    def __init__(self, folder: Path, crm: CrmServer, clock: ManualClock, name: str) -> None:
        config = make_config(f'crm.url="{crm.url}"', f'device.id="{name}"')
        self.appliance = Appliance(config, folder, clock=clock)
        self.service: LoyaltyService = self.appliance.open_service()
        self.appliance.provision(self.service, crm_url=crm.url, code=crm.store.new_code())

    def sync(self) -> None:
        with self.appliance.sync_session() as worker:
            worker.drain(ignore_backoff=True)
            worker.pull()

    def shopper(self, points: int, phone: str = "09121234567") -> str:
        member_id = self.service.enroll(phone, client_txn_id=f"enroll-{phone}").member_id
        self.service.adjust(
            member_id, points, reason="opening balance", actor=CLI, client_txn_id=f"open-{phone}"
        )
        return member_id

    def redeem(self, member_id: str, reward: str, txn: str) -> Any:
        return self.service.redeem(member_id, reward, cashier=CLI, client_txn_id=txn)


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


@pytest.fixture
def kiosks(tmp_path: Path, clock: ManualClock) -> Iterator[Any]:
    opened: list[Kiosk] = []

    def open_kiosk(crm: CrmServer, name: str = "kiosk-a") -> Kiosk:
        kiosk = Kiosk(tmp_path / name, crm, clock, name)
        opened.append(kiosk)
        return kiosk

    yield open_kiosk
    for kiosk in opened:
        kiosk.appliance.forget_client()
        kiosk.service.close()


def holds_at(crm: CrmServer) -> list[tuple[str, int, str]]:
    with crm.store._lock:
        rows = crm.store.conn.execute(
            "SELECT client_txn_id, points, state FROM holds ORDER BY created_at"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def holds_asked(crm: CrmServer) -> list[str]:
    asked: list[str] = []
    crm.on_request = lambda path: asked.append(path) if path.startswith("/v2/holds") else None
    return asked


def test_a_redemption_is_held_at_the_crm_and_its_entry_confirms_the_hold(crm, kiosks):
    kiosk = kiosks(crm)
    shopper = kiosk.shopper(1000)  # earned a moment ago: pushed before the hold

    coupon = kiosk.redeem(shopper, "percent-10", "redeem-1")

    assert coupon.coupon_code and coupon.points == -1000
    assert holds_at(crm) == [("redeem-1", 1000, "active")]
    kiosk.sync()
    assert holds_at(crm) == [("redeem-1", 1000, "confirmed")]
    assert crm.store.view()["balances"][shopper] == kiosk.service.member(shopper).balance == 50


def test_points_spent_at_another_counter_are_refused_in_the_shoppers_language(crm, kiosks):
    first, second = kiosks(crm, "kiosk-a"), kiosks(crm, "kiosk-b")
    shopper = first.shopper(1000)
    first.sync()
    second.sync()  # the second counter sees the 1,000 points too
    first.redeem(shopper, "percent-10", "redeem-a")

    with pytest.raises(InsufficientPoints) as refused:
        second.redeem(shopper, "percent-10", "redeem-b")

    # 1,050 with the enrollment bonus; 50 left after the first counter's coupon.
    assert refused.value.params == {"balance": 50, "needed": 1000}
    assert Texts("en").error(refused.value) == (
        "The club says not enough points: 50 of 1,000 (used at another counter?)."
    )
    assert Texts("fa").error(refused.value).startswith("به گفتهٔ مرکز باشگاه امتیاز کافی نیست")
    assert [e.kind for e in second.service.ledger.entries()] == []  # nothing written there
    assert [h[0] for h in holds_at(crm)] == ["redeem-a"]


def test_a_repeated_redemption_is_answered_from_the_first_and_holds_nothing_twice(crm, kiosks):
    kiosk = kiosks(crm)
    shopper = kiosk.shopper(1000)
    first = kiosk.redeem(shopper, "coffee", "redeem-1")
    asked = holds_asked(crm)

    again = kiosk.redeem(shopper, "coffee", "redeem-1")

    assert again.replayed and again.coupon_code == first.coupon_code
    assert asked == []
    assert holds_at(crm) == [("redeem-1", 200, "active")]


def test_a_redemption_the_kiosk_could_not_write_releases_its_hold(crm, kiosks, monkeypatch):
    kiosk = kiosks(crm)
    shopper = kiosk.shopper(1000)

    def full_disk(**_fields: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(kiosk.service.ledger, "append", full_disk)
    with pytest.raises(StorageUnavailable):
        kiosk.redeem(shopper, "percent-10", "redeem-1")

    assert holds_at(crm) == [("redeem-1", 1000, "released")]


@pytest.mark.parametrize("fault", ["5xx=1", "429=1", "revoked"])
def test_a_crm_that_does_not_answer_a_hold_leaves_the_offline_allowance_to_decide(
    crm, kiosks, fault
):
    kiosk = kiosks(crm)
    shopper = kiosk.shopper(1000)
    kiosk.sync()  # heard from the CRM a moment ago: not offline by the clock
    crm.faults = Faults.parse(fault)

    with pytest.raises(LimitReached) as limited:
        kiosk.redeem(shopper, "percent-10", "redeem-1")  # 1,000: above the 500 allowed
    coffee = kiosk.redeem(shopper, "coffee", "redeem-2")  # 200: within it

    assert limited.value.params["allowance"] == 500
    assert coffee.coupon_code and holds_at(crm) == []


def test_a_crm_that_asked_to_wait_is_not_asked_for_a_hold_meanwhile(crm, kiosks):
    kiosk = kiosks(crm)
    shopper = kiosk.shopper(1000)
    kiosk.sync()
    crm.faults = Faults.parse("429=1")
    kiosk.redeem(shopper, "coffee", "redeem-1")  # 429 with Retry-After: 1
    crm.faults = Faults()
    asked = holds_asked(crm)

    kiosk.redeem(shopper, "coffee", "redeem-2")

    # Retry-After holds the whole device (docs/sync-protocol.md, "Errors"), holds too,
    # unless a second has passed meanwhile on a slow machine.
    assert asked in ([], ["/v2/holds"])


def test_a_kiosk_whose_crm_is_unreachable_falls_back_to_the_offline_allowance(
    tmp_path, clock, crm, kiosks
):
    kiosk = kiosks(crm)
    shopper = kiosk.shopper(1000)
    kiosk.sync()
    moved = Appliance(
        make_config(f'crm.url="{dead_url()}"', 'device.id="kiosk-a"'),
        kiosk.appliance.data_dir,
        clock=clock,
    )
    service = moved.open_service()
    try:
        with pytest.raises(LimitReached):
            service.redeem(shopper, "percent-10", cashier=CLI, client_txn_id="redeem-1")
        coffee = service.redeem(shopper, "coffee", cashier=CLI, client_txn_id="redeem-2")
    finally:
        moved.forget_client()
        service.close()

    assert coffee.coupon_code


def test_a_kiosk_without_a_crm_redeems_as_it_always_did(open_service):
    service = open_service()
    member_id = service.enroll("09121234567", client_txn_id="enroll-1").member_id
    service.adjust(member_id, 1000, reason="opening", actor=CLI, client_txn_id="open-1")

    coupon = service.redeem(member_id, "percent-10", cashier=CLI, client_txn_id="redeem-1")

    assert service.authorizer is None and coupon.points == -1000
