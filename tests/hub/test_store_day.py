"""A store day under failure: the hub SIGKILLed in the middle of a push, PostgreSQL crashed
and restarted during another, and at closing time the hub's ledger is every kiosk's,
entry for entry, and every kiosk shows the hub's balances.

Four real kiosks (tests/hub/store_day.py) sell, redeem and sync on their own threads
against `hub serve` on a PostgreSQL cluster of this test's own (the shared one is not
ours to restart; and it is durable, as a production one: with synchronous_commit off a
crash loses commits the hub has acknowledged, and kiosks never send those entries again).
Each failure strikes while a push is inside its transaction at the hub:
the test holds that device's high-water row, waits until the hub's connection waits on
it, then kills.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.conftest import START
from tests.hub.conftest import Hub, HubServer, Postgres, make_hub, make_template
from tests.hub.store_day import (
    DEADLINE,
    DayKiosk,
    all_of,
    hub_balances,
    hub_ledger,
    open_kiosks,
    push_held_at_the_hub,
    round_of_sales,
    wait_until,
)

KIOSKS = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def day_hub(own_postgres: Postgres, tmp_path: Path) -> Hub:
    return make_hub(own_postgres, make_template(own_postgres, tmp_path / "template"), tmp_path)


def test_a_store_day_with_the_hub_killed_and_postgres_restarted_ends_with_one_ledger(
    day_hub: Hub, tmp_path: Path
):
    hub = day_hub
    bind = f"127.0.0.1:{free_port()}"  # the hub started again keeps its kiosks' URL
    server = HubServer(hub, bind=bind).start()
    kiosks = open_kiosks(hub, server.url, tmp_path, KIOSKS, START)
    try:
        all_of([k.submit(lambda k: round_of_sales(k, 2)) for k in kiosks])  # opening

        # Morning: kiosk 0's push waits inside its transaction when every hub process dies.
        with push_held_at_the_hub(hub, kiosks[0].name) as waiting:
            morning = [k.submit(lambda k: round_of_sales(k, 4)) for k in kiosks]
            wait_until("kiosk 0's push inside the hub", waiting)
            server.kill()
        server = HubServer(hub, bind=bind).start()
        all_of(morning)

        # Afternoon: PostgreSQL crashes with kiosk 1's push inside, and is started again.
        with push_held_at_the_hub(hub, kiosks[1].name) as waiting:
            afternoon = [k.submit(lambda k: round_of_sales(k, 4)) for k in kiosks]
            wait_until("kiosk 1's push inside the hub", waiting)
            hub.postgres.restart(crash=True)
        all_of(afternoon)

        all_of([k.submit(lambda k: round_of_sales(k, 3)) for k in kiosks])  # evening

        # Closing: every kiosk pushes what it still holds, then pulls the day's balances.
        deadline = time.monotonic() + DEADLINE
        all_of([k.submit(lambda k: k.push_until_acknowledged(deadline)) for k in kiosks])
        all_of([k.submit(lambda k: k.pull_until_done(deadline)) for k in kiosks])

        at_the_hub = hub_balances(hub)
        for kiosk in kiosks:
            assert kiosk.submit(DayKiosk.ledger).result() == hub_ledger(hub, kiosk.name)
            seen = kiosk.submit(lambda k: k.balances(list(at_the_hub))).result()
            assert seen == at_the_hub, kiosk.name
        assert len(at_the_hub) == sum(len(k.tally.members) for k in kiosks)
        assert sum(k.tally.redeemed for k in kiosks) > 0
        assert kiosks[0].tally.sync_failures > 0 and kiosks[1].tally.sync_failures > 0
    finally:
        for kiosk in kiosks:
            kiosk.close()
        server.stop(graceful=False)
