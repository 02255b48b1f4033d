"""The club's size the simulated CRM tells a kiosk (kiosk/core/social.py, sim/crm.py).

Real HTTP on loopback: two kiosks on one simulated CRM; the one that heartbeats after
both pushed keeps the chain's count with the time it heard it (the worker's clock), and
shows it while it is recent (a day), its own count after. Only a whole count in the
answer is taken (a hub whose program does not show the size sends none).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.social import CHAIN_MEMBERS, RECENT_SECONDS, ClubSize, chain_count_of, club_size
from kiosk.core.store.outbox import SyncState
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.client import CrmClient
from sync.worker import SyncWorker
from tests.conftest import START, make_config


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


@pytest.fixture
def open_kiosk(tmp_path: Path, clock: ManualClock) -> Iterator[object]:
    opened: list[LoyaltyService] = []

    def opener(name: str) -> LoyaltyService:
        config = make_config(f'device.id="{name}"')
        service = LoyaltyService.open(tmp_path / name, config, clock=clock)
        opened.append(service)
        return service

    yield opener
    for service in opened:
        service.close()


def worker(crm: CrmServer, service: LoyaltyService, now: list[float]) -> SyncWorker:
    client = CrmClient(crm.url, service.device_id)
    client.enroll(crm.store.new_code())
    return SyncWorker(service, client, service.config.crm, clock=lambda: now[0])


def test_a_kiosk_shows_the_chains_count_while_recent_then_its_own(crm, open_kiosk):
    here, there = open_kiosk("kiosk-here"), open_kiosk("kiosk-there")
    now = [START.timestamp()]
    here_sync, there_sync = worker(crm, here, now), worker(crm, there, now)
    here.enroll("09120000001", client_txn_id="h1")
    for n in range(4):
        there.enroll(f"0912000010{n}", client_txn_id=f"t{n}")
    there_sync.drain(ignore_backoff=True)
    here_sync.drain(ignore_backoff=True)

    assert club_size(here.conn, now[0]) == ClubSize(1, chain=False)  # nothing heard yet
    assert here_sync.heartbeat()
    assert SyncState(here.conn).get(CHAIN_MEMBERS) == {"count": 5, "at": now[0]}
    assert club_size(here.conn, now[0] + RECENT_SECONDS) == ClubSize(5, chain=True)
    assert club_size(here.conn, now[0] + RECENT_SECONDS + 1) == ClubSize(1, chain=False)


@pytest.mark.parametrize(
    ("answer", "count"),
    [
        ({"server_time": "x", "members": 12_400}, 12_400),
        ({"server_time": "x", "members": 0}, 0),
        ({"server_time": "x"}, None),  # the program does not show it
        ({"members": -1}, None),
        ({"members": "12400"}, None),
        ({"members": True}, None),
        ({"members": 10**12}, None),
        ([], None),
    ],
)
def test_only_a_whole_count_in_the_answer_is_taken(answer, count):
    assert chain_count_of(answer) == count
