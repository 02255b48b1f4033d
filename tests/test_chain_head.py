"""The chain head goes with each push; the simulated CRM flags a history rewritten after one.

The attacker here recomputes every hash after the row they changed, so the kiosk's own
`ledger verify` finds nothing: only the CRM, which kept the head of the last push and
recomputes the chain from the entries it holds, can tell. It records `chain_broken` and
still takes every entry (the kiosk must not lose sales).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store import chain
from kiosk.core.store.staff import CLI, Actor
from kiosk.core.store.verify import verify_ledger
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.client import CrmClient
from sync.worker import SyncWorker
from tests.conftest import Seconds, make_config

PHONE = "09121234567"


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


@pytest.fixture
def kiosk(tmp_path: Path, clock: ManualClock) -> Iterator[LoyaltyService]:
    config = make_config(
        "program.limits.min_minutes_between_earns=0", "program.limits.max_earns_per_day=100"
    )
    service = LoyaltyService.open(tmp_path / "data", config, clock=clock)
    yield service
    service.close()


class Shop:
    """A kiosk selling and pushing to the simulated CRM."""

    def __init__(self, service: LoyaltyService, crm: CrmServer) -> None:
        self.service = service
        client = CrmClient(crm.url, service.device_id)
        client.enroll(crm.store.new_code())
        self.worker = SyncWorker(service, client, service.config.crm, clock=Seconds())
        staff = service.staff.add(name="Cashier", role="cashier", pin="2580", actor=CLI)
        self.cashier = Actor(staff.staff_id, "cashier")
        self.member = service.enroll(PHONE, client_txn_id="enroll").member_id
        self.sold = 0

    def sell(self, count: int) -> None:
        for _ in range(count):
            self.sold += 1
            self.service.earn(
                self.member, 1_000_000, cashier=self.cashier, client_txn_id=f"sale-{self.sold}"
            )

    def push(self) -> None:
        self.worker.drain(ignore_backoff=True)
        assert self.worker.outbox.depth() == (0, 0)

    @property
    def path(self) -> Path:
        return Path(self.service.conn.execute("PRAGMA database_list").fetchone()[2])


def rewrite(path: Path, table: str, where: str, change: str, key: str) -> None:
    """Change a row and recompute every hash after it: the kiosk's own chain stays whole."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%append_only%'"
    ).fetchall()
    conn.execute("BEGIN")
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute(f"UPDATE {table} SET {change} WHERE {where}")
    link = chain.GENESIS
    for row in conn.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall():
        if table == "entries":
            link = chain.ledger_hash(link, dict(row))
        else:
            link = chain.audit_hash(link, dict(row))
        conn.execute(f"UPDATE {table} SET hash = ? WHERE {key} = ?", (link, row[key]))
    if table == "entries":  # the balance and the lots agree with the new points
        conn.execute(
            "UPDATE members SET balance = (SELECT SUM(points) FROM entries e "
            "WHERE e.member_id = members.member_id)"
        )
        conn.execute(
            "UPDATE lots SET remaining = (SELECT points FROM entries WHERE entry_id = lot_id)"
        )
        conn.execute(
            "UPDATE earned_days SET points = (SELECT SUM(points) FROM entries e WHERE "
            "e.kind = 'earn' AND e.member_id = earned_days.member_id "
            "AND substr(e.created_at, 1, 10) = earned_days.day)"
        )
    for _, sql in triggers:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.close()


def test_an_untouched_kiosk_pushing_again_and_again_raises_nothing(
    kiosk: LoyaltyService, crm: CrmServer
) -> None:
    shop = Shop(kiosk, crm)
    for _ in range(3):
        shop.sell(4)
        shop.push()
    shop.push()  # nothing new: the same heads again

    assert crm.store.chain_flags(kiosk.device_id) == []
    assert len(crm.store.entries(kiosk.device_id)) == kiosk.history.size()


def test_a_ledger_rewritten_after_a_push_is_flagged_and_the_next_sales_still_taken(
    kiosk: LoyaltyService, crm: CrmServer
) -> None:
    shop = Shop(kiosk, crm)
    shop.sell(3)
    shop.push()
    pushed = kiosk.conn.execute("SELECT MAX(seq) FROM entries").fetchone()[0]

    rewrite(shop.path, "entries", f"seq = {pushed - 1}", "points = points + 5000", "seq")
    assert not verify_ledger(kiosk.conn).ok  # recomputed, but not sealed (test_tamper_evidence)
    shop.sell(2)
    shop.push()
    assert not verify_ledger(kiosk.conn).ok  # the next sales do not seal the rewrite over

    [flag] = crm.store.chain_flags(kiosk.device_id)
    assert flag == {
        "code": "chain_broken",
        "chain": "ledger",
        "seq": pushed + 2,
        "kept_seq": pushed,
    }
    assert len(crm.store.entries(kiosk.device_id)) == pushed + 2  # every sale taken


def test_an_audit_log_rewritten_between_two_parts_of_a_push_is_flagged(
    kiosk: LoyaltyService, crm: CrmServer
) -> None:
    # The CRM holds no audit records: it sees a rewrite when the head it kept changed
    # at the same id (or went back). A push taken in two parts is such a moment.
    shop = Shop(kiosk, crm)
    shop.sell(4)
    crm.faults.rates["partial"] = 1.0
    shop.worker.drain(max_batches=1, ignore_backoff=True)
    crm.faults.rates["partial"] = 0.0
    audited = kiosk.conn.execute("SELECT MAX(id) FROM audit").fetchone()[0]

    rewrite(shop.path, "audit", "id = 1", "actor = 'nobody'", "id")
    assert not verify_ledger(kiosk.conn).ok  # recomputed, but not sealed (test_tamper_evidence)
    shop.push()

    assert crm.store.chain_flags(kiosk.device_id) == [
        {"code": "chain_broken", "chain": "audit", "id": audited, "kept_id": audited}
    ]
    assert len(crm.store.entries(kiosk.device_id)) == kiosk.history.size()
