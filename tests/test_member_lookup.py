"""A shopper of another branch at this counter: looked up at the CRM, then served here.

docs/sync-protocol.md, "Looking a member up". A kiosk's feed carries its own branch's
members only (the hub's; tests/hub/test_lookup.py), so a member enrolled elsewhere is
looked up online when they give their phone number or tap their card. Real kiosks
(kiosk.bootstrap.Appliance, enrolled with a one-time code) against the simulated CRM on
loopback; kiosk A never pulls here, so what it knows of B's members is what it looked up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.bootstrap import Appliance
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from kiosk.errors import CardBlocked, UnknownCard, UnknownMember
from sim.crm import CrmServer
from sim.crm_faults import Faults
from sim.crm_store import CrmStore
from sync.directory import CrmDirectory
from tests.conftest import make_config
from tests.test_sync_worker import dead_url

PHONE, CARD = "09121234567", "04A1B2C3"


class Kiosk:
    """One kiosk's appliance and service, enrolled at a CRM (or pointed at `url`)."""

    def __init__(self, folder: Path, crm: CrmServer, clock: ManualClock, name: str) -> None:
        config = make_config(f'crm.url="{crm.url}"', f'device.id="{name}"')
        self.appliance = Appliance(config, folder, clock=clock)
        self.service: LoyaltyService = self.appliance.open_service()
        self.appliance.provision(self.service, crm_url=crm.url, code=crm.store.new_code())

    def push(self) -> None:
        with self.appliance.sync_session() as worker:
            worker.drain(ignore_backoff=True)


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


@pytest.fixture
def kiosks(tmp_path: Path, clock: ManualClock) -> Iterator[Any]:
    opened: list[Kiosk] = []

    def open_kiosk(crm: CrmServer, name: str) -> Kiosk:
        kiosk = Kiosk(tmp_path / name, crm, clock, name)
        opened.append(kiosk)
        return kiosk

    yield open_kiosk
    for kiosk in opened:
        kiosk.appliance.forget_client()
        kiosk.service.close()


def lookups(crm: CrmServer) -> list[str]:
    asked: list[str] = []
    crm.on_request = lambda path: asked.append(path) if path == "/v2/members" else None
    return asked


def shopper_of_b(b: Kiosk, clock: ManualClock, points: int = 300) -> str:
    """A member enrolled at branch B with a card and points, pushed to the CRM."""
    member_id = b.service.enroll(PHONE, client_txn_id="enroll-b", card=CARD).member_id
    b.service.adjust(member_id, points, reason="opening", actor=CLI, client_txn_id="open-b")
    b.push()
    return member_id


def test_a_shopper_of_another_branch_is_found_by_phone_and_earns_here(crm, kiosks, clock):
    b, a = kiosks(crm, "kiosk-b"), kiosks(crm, "kiosk-a")
    member_id = shopper_of_b(b, clock)

    found = a.service.identify_phone(PHONE)

    assert found.member_id == member_id
    assert a.service.effective_balance(member_id) == b.service.effective_balance(member_id)
    clock.advance(hours=5)
    earned = a.service.earn(member_id, 2_000_000, cashier=CLI, client_txn_id="sale-a")
    assert earned.points > 0
    a.push()
    at_crm = crm.store.view()["balances"][member_id]
    assert at_crm == b.service.effective_balance(member_id) + earned.points
    # Known here now: the next visit asks the CRM nothing.
    asked = lookups(crm)
    assert a.service.identify_phone(PHONE).member_id == member_id
    assert asked == []


def test_a_card_of_another_branch_is_found_and_a_card_blocked_there_is_refused(crm, kiosks, clock):
    b, a = kiosks(crm, "kiosk-b"), kiosks(crm, "kiosk-a")
    member_id = shopper_of_b(b, clock)
    b.service.link_card(member_id, "04D4D5D6", actor=CLI)
    b.service.block_card(CARD, actor=CLI)
    b.push()

    with pytest.raises(CardBlocked):
        a.service.identify_card(CARD)
    assert a.service.members.get(member_id) is None  # the finder's kiosk learnt nothing
    assert a.service.identify_card("04:d4:d5:d6").member_id == member_id


def test_someone_the_crm_does_not_know_is_unknown_as_before_and_may_enroll(crm, kiosks):
    a = kiosks(crm, "kiosk-a")
    asked = lookups(crm)

    with pytest.raises(UnknownMember):
        a.service.identify_phone("09120000000")
    with pytest.raises(UnknownCard):
        a.service.identify_card("0BADCAFE")

    assert asked == ["/v2/members", "/v2/members"]
    enrolled = a.service.enroll("09120000000", client_txn_id="enroll-new").member_id
    assert a.service.identify_phone("09120000000").member_id == enrolled


@pytest.mark.parametrize("fault", ["5xx=1", "429=1", "reset=1"])
def test_a_crm_that_cannot_answer_leaves_the_counter_as_it_was(crm, kiosks, clock, fault: str):
    b = kiosks(crm, "kiosk-b")
    shopper_of_b(b, clock)
    with CrmServer(crm.store, faults=Faults.parse(fault)) as faulty:
        a = kiosks(faulty, "kiosk-a")

        with pytest.raises(UnknownMember):
            a.service.identify_phone(PHONE)
        with pytest.raises(UnknownCard):
            a.service.identify_card(CARD)

        enrolled = a.service.enroll(PHONE, client_txn_id="enroll-a").member_id  # as before
    assert a.service.identify_phone(PHONE).member_id == enrolled


def test_a_kiosk_not_enrolled_at_its_crm_says_unknown_and_sends_nothing(tmp_path, clock):
    config = make_config(f'crm.url="{dead_url()}"', 'device.id="kiosk-a"')
    service = Appliance(config, tmp_path / "a", clock=clock).open_service()
    try:
        with pytest.raises(UnknownMember):
            service.identify_phone(PHONE)  # no secret: no request
    finally:
        service.close()


def test_after_the_crm_asks_to_wait_no_lookup_is_sent_until_then(crm, kiosks, clock):
    with CrmServer(crm.store, faults=Faults.parse("429=1")) as limiting:
        a = kiosks(limiting, "kiosk-a")
        directory = a.service.directory
        assert isinstance(directory, CrmDirectory)
        now = [1_000.0]
        directory.link.clock = lambda: now[0]
        asked = lookups(limiting)

        for _ in range(3):
            with pytest.raises(UnknownMember):
                a.service.identify_phone(PHONE)
        assert asked == ["/v2/members"]  # the answer's Retry-After: 1 s
        now[0] += 1
        with pytest.raises(UnknownMember):
            a.service.identify_phone(PHONE)
        assert asked == ["/v2/members", "/v2/members"]
