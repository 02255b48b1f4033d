"""Visit ratings through the sync worker: after their visit, never in the ledger's way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from sim import crm as sim_crm
from sim import crm_feedback
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.client import CrmClient
from sync.feedback import push_feedback, visit_feedback
from sync.worker import SyncWorker
from tests.conftest import make_config

PHONE = "09121234567"


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


@pytest.fixture
def kiosk(tmp_path: Path, clock: ManualClock) -> Iterator[LoyaltyService]:
    service = LoyaltyService.open(tmp_path / "data", make_config(), clock=clock)
    yield service
    service.close()


def rated(service: LoyaltyService, rating: int) -> str:
    member = service.enroll(PHONE, client_txn_id="enroll").member_id
    visit = service.earn(member, 2_000_000, cashier=CLI, client_txn_id="sale").entry_id
    ratings = visit_feedback(service)
    ratings.ask(member)
    ratings.rate(visit, rating)
    ratings.toggle_reason(visit, "quality")
    return visit


def worker(crm: CrmServer, service: LoyaltyService) -> SyncWorker:
    client = CrmClient(crm.url, service.device_id)
    client.enroll(crm.store.new_code())
    return SyncWorker(service, client, service.config.crm)


def test_the_simulated_crm_takes_a_rating_after_its_visit(
    crm: CrmServer, kiosk: LoyaltyService
) -> None:
    visit = rated(kiosk, 4)

    drained = worker(crm, kiosk).drain(ignore_backoff=True)

    assert drained.stopped == "empty"
    assert crm_feedback.ratings(crm.store) == [
        {
            "device_id": kiosk.device_id,
            "entry_id": visit,
            "rating": 4,
            "reasons": ["quality"],
            "version": 2,
        }
    ]
    assert visit_feedback(kiosk).waiting() == 0


def test_a_crm_without_feedback_leaves_the_ratings_waiting_and_the_ledger_pushed(
    crm: CrmServer, kiosk: LoyaltyService, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> None:
    # An older CRM: it knows no POST /v2/feedback and answers 404 as for any unknown path.
    monkeypatch.setattr(sim_crm, "_OPERATIONS", sim_crm._OPERATIONS - {("POST", "/v2/feedback")})
    rated(kiosk, 2)
    sync = worker(crm, kiosk)

    drained = sync.drain(ignore_backoff=True)
    assert sync.client is not None
    soon = push_feedback(sync.client, kiosk)
    monkeypatch.undo()  # the CRM is upgraded
    clock.advance(hours=1)
    still_later = push_feedback(sync.client, kiosk)
    clock.advance(hours=6)
    upgraded = push_feedback(sync.client, kiosk)

    assert drained.stopped == "empty" and drained.acknowledged == 2
    assert crm.store.entry_ids(kiosk.device_id)  # the ledger went all the same
    assert "asked again later" in soon.problem and "asked again later" in still_later.problem
    assert (upgraded.sent, upgraded.problem) == (1, "")
    assert visit_feedback(kiosk).waiting() == 0
