"""The chain's size reaches every kiosk's attract screen (docs/program.md, "Social proof").

Real kiosks on two branches of a real hub (`hub serve` on PostgreSQL, HTTP on loopback):
each holds only its own branch's members, yet once the program shows the club's size each
one's heartbeat brings the chain's count, which the attract screen's figure then is.
Before that (the program says nothing) the hub tells no kiosk how large the chain is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.social import (
    CHAIN_MEMBERS,
    RECENT_SECONDS,
    ClubSize,
    active_members,
    club_size,
)
from kiosk.core.store.outbox import SyncState
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_kiosk_on_the_hub import Kiosk


@pytest.fixture
def kiosks(tmp_path: Path, clock: ManualClock) -> Iterator[Any]:
    opened: list[Kiosk] = []

    def open_kiosk(url: str, name: str) -> Kiosk:
        kiosk = Kiosk(tmp_path / name, url, clock, name)
        opened.append(kiosk)
        return kiosk

    yield open_kiosk
    for kiosk in opened:
        kiosk.appliance.forget_client()
        kiosk.service.close()


def publish(hub: Hub, tmp_path: Path, shown: bool) -> None:
    program = hub.json("program", "show", "--json")
    program["show_member_count"] = shown
    (tmp_path / "p.json").write_text(json.dumps(program))
    hub.run("program", "publish", str(tmp_path / "p.json"))


def heartbeat_answer(kiosk: Kiosk) -> dict[str, Any]:
    with kiosk.appliance.sync_session() as worker:
        assert worker.client is not None
        return worker.client.heartbeat(
            {
                "version": "0.1.0",
                "queue_depth": 0,
                "oldest_unsynced_at": None,
                "readers": [],
                "disk_free_bytes": 1,
                "clock_offset_ms": None,
            }
        )


def test_every_branch_shows_the_chains_count_once_the_program_shows_it(
    hub: Hub, hub_server: HubServer, kiosks: Any, tmp_path: Path
) -> None:
    valiasr = kiosks(hub_server.url, "kiosk-valiasr-1")
    valiasr.provision(hub.new_device("Valiasr")["code"])
    tajrish = kiosks(hub_server.url, "kiosk-tajrish-1")
    tajrish.provision(hub.new_device("Tajrish")["code"])
    for n in range(3):
        valiasr.service.enroll(f"0912000010{n}", client_txn_id=f"v{n}")
    tajrish.service.enroll("09120000200", client_txn_id="t0")
    for kiosk in (valiasr, tajrish):
        with kiosk.appliance.sync_session() as worker:
            worker.drain(ignore_backoff=True)
            worker.pull()

    assert "members" not in heartbeat_answer(tajrish)  # the program does not show it
    publish(hub, tmp_path, True)
    valiasr.sync()
    tajrish.sync()

    tajrish.service.reload_program()
    assert tajrish.service.program.show_member_count  # the pulled program's, not the config's
    now = time.time()  # the sync worker's clock, the system's (as the app's is)
    assert active_members(tajrish.service.conn) == 1  # Tajrish holds its own member only
    assert club_size(tajrish.service.conn, now).count == 4
    assert club_size(tajrish.service.conn, now).chain
    assert club_size(valiasr.service.conn, now).count == 4
    assert heartbeat_answer(valiasr)["members"] == 4


def test_a_count_not_heard_for_a_day_gives_way_to_the_kiosks_own(
    hub: Hub, hub_server: HubServer, kiosks: Any, tmp_path: Path
) -> None:
    publish(hub, tmp_path, True)
    kiosk = kiosks(hub_server.url, "kiosk-valiasr-1")
    kiosk.provision(hub.new_device("Valiasr")["code"])
    kiosk.service.enroll("09120000100", client_txn_id="v0")
    kiosk.sync()
    state = SyncState(kiosk.service.conn)
    heard = state.get(CHAIN_MEMBERS)
    assert heard["count"] == 1 and abs(heard["at"] - time.time()) < 60  # the worker's clock
    kiosk.service.enroll("09120000101", client_txn_id="v1")  # here only: not pushed yet

    state.set(**{CHAIN_MEMBERS: {"count": 12_400, "at": time.time() - RECENT_SECONDS + 60}})
    assert club_size(kiosk.service.conn, time.time()) == ClubSize(12_400, chain=True)
    state.set(**{CHAIN_MEMBERS: {"count": 12_400, "at": time.time() - RECENT_SECONDS - 60}})
    assert club_size(kiosk.service.conn, time.time()) == ClubSize(2, chain=False)
