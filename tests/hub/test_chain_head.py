"""The hub keeps each kiosk's chain head and flags a history rewritten after a push.

A real kiosk pushes to `hub serve` on PostgreSQL. Someone with its SD card then rewrites an
entry already pushed and recomputes every hash after it, so that the kiosk's own `ledger
verify` passes; the hub, recomputing the chain from the entries it holds, raises
`chain_broken` at the next push, and still takes that push's sales.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.store.verify import verify_ledger
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_kiosk_on_the_hub import Kiosk
from tests.test_chain_head import rewrite


@pytest.fixture
def kiosk(hub: Hub, hub_server: HubServer, tmp_path: Path, clock: ManualClock) -> Iterator[Kiosk]:
    opened = Kiosk(tmp_path / "kiosk", hub_server.url, clock, "kiosk-valiasr-1")
    opened.provision(hub.new_device("Valiasr")["code"])
    yield opened
    opened.appliance.forget_client()
    opened.service.close()


def chain_flags(hub: Hub) -> list[dict[str, Any]]:
    return [f for f in hub.json("flag", "list", "--json") if f["code"] == "chain_broken"]


def database(kiosk: Kiosk) -> Path:
    return Path(kiosk.service.conn.execute("PRAGMA database_list").fetchone()[2])


def test_a_kiosk_pushing_an_untouched_history_raises_no_flag(hub: Hub, kiosk: Kiosk) -> None:
    kiosk.sale("09121234567", "A1B2C3D4", [1_500_000, 2_000_000])
    kiosk.sync()
    kiosk.sale("09127654321", "B1B2C3D4", [3_000_000])
    kiosk.sync()
    kiosk.sync()

    assert chain_flags(hub) == []
    heads = hub.sql("SELECT chain, at FROM hub_chain_head ORDER BY chain")
    assert [tuple(h) for h in heads] == [
        ("audit", kiosk.service.conn.execute("SELECT MAX(id) FROM audit").fetchone()[0]),
        ("ledger", kiosk.service.history.size()),
    ]


def test_the_hub_flags_a_ledger_rewritten_after_a_push_and_keeps_the_sales(
    hub: Hub, kiosk: Kiosk
) -> None:
    kiosk.sale("09121234567", "A1B2C3D4", [1_500_000, 2_000_000])
    kiosk.sync()
    pushed = kiosk.service.history.size()

    rewrite(database(kiosk), "entries", "seq = 2", "points = points + 5000", "seq")
    assert not verify_ledger(kiosk.service.conn).ok  # recomputed, but not sealed by the kiosk
    kiosk.sale("09127654321", "B1B2C3D4", [3_000_000])
    kiosk.sync()

    [flag] = chain_flags(hub)
    assert flag["device"] == "kiosk-valiasr-1"
    assert flag["detail"] == {
        "chain": "ledger",
        "seq": kiosk.service.history.size(),
        "kept_seq": pushed,
    }
    stored = [e for e in hub.json("export")["entries"] if e["status"] == "stored"]
    assert len(stored) == kiosk.service.history.size()  # never refused for it
