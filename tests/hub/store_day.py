"""A store day on a real hub: kiosks selling, redeeming and syncing at once.

Each kiosk is the product's own: `kiosk.bootstrap.Appliance` provisions it with a code
from `hub device add`, its `LoyaltyService` sells on SQLite, and a `SyncWorker` pushes and
pulls with `sync.client.CrmClient` over HTTP. Every kiosk lives on a thread of its own
(SQLite connections belong to the thread that opened them), with a clock of its own: a
`ManualClock` for the shop (hours pass between purchases) and a sync clock that jumps past
any backoff when the test says time passes, so nothing ever sleeps.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from kiosk.bootstrap import Appliance
from kiosk.core.authorize import Authorization, Authorizer, HoldRequest, Unreachable
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from kiosk.core.sync_status import StopReason
from kiosk.errors import InsufficientPoints, LimitReached
from sync.worker import SyncWorker
from tests.conftest import make_config
from tests.hub.conftest import Hub

T = TypeVar("T")
REWARD, REWARD_COST = "coffee", 200  # kiosk/config/defaults.toml
DEADLINE = 120.0  # a safety limit for waits on a condition, never a pace


class SyncClock:
    """The sync worker's clock: real time, plus whatever the test let pass."""

    def __init__(self) -> None:
        self.passed = 0.0

    def __call__(self) -> float:
        return time.time() + self.passed

    def pass_time(self, seconds: float = 3600.0) -> None:
        """An hour (by default) goes by: every backoff and Retry-After has run out."""
        self.passed += seconds


@dataclass(frozen=True)
class Row:
    """An entry as both sides must hold it."""

    entry_id: str
    seq: int
    member_id: str
    kind: str
    points: int


@dataclass
class Tally:
    """What a kiosk did during the day, and how its syncs went."""

    sales: int = 0
    redeemed: int = 0
    refused: int = 0  # redemptions a cashier had to refuse (too few points, offline cap)
    sync_failures: int = 0
    members: list[str] = field(default_factory=list)
    # Members one of whose redemptions went ahead on the offline allowance: the hub did not
    # answer the hold in time (a busy machine), so their balance may go below zero there.
    unheld: set[str] = field(default_factory=set)
    holds: int = 0  # redemptions the hub was asked to hold, and answered


class Witness:
    """The kiosk's own authorizer, noting which holds the hub answered and which not."""

    def __init__(self, inner: Authorizer, tally: Tally) -> None:
        self.inner, self.tally = inner, tally

    def hold(self, request: HoldRequest) -> Authorization:
        answer = self.inner.hold(request)
        if isinstance(answer, Unreachable):
            self.tally.unheld.add(request.member_id)
        else:
            self.tally.holds += 1
        return answer

    def release(self, client_txn_id: str) -> None:
        self.inner.release(client_txn_id)


class DayKiosk:
    """One kiosk: its appliance, service and sync worker, all used on its own thread."""

    def __init__(
        self, folder: Path, url: str, number: int, start: datetime, *overrides: str
    ) -> None:
        self.name = f"kiosk-day-{number:03d}"
        self.number = number
        self.url = url
        self.clock = ManualClock(start)
        self.sync_clock = SyncClock()
        self.tally = Tally()
        config = make_config(f'crm.url="{url}"', f'device.id="{self.name}"', *overrides)
        self.appliance = Appliance(config, folder, clock=self.clock)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=self.name)
        self._service: LoyaltyService | None = None
        self._worker: SyncWorker | None = None

    # -- on the kiosk's own thread -------------------------------------------------------

    def submit(self, work: Callable[[DayKiosk], T]) -> Future[T]:
        """Run `work(self)` on this kiosk's thread."""
        return self._thread.submit(work, self)

    @property
    def service(self) -> LoyaltyService:
        if self._service is None:
            self._service = self.appliance.open_service()
            if self._service.authorizer is not None:
                self._service.authorizer = Witness(self._service.authorizer, self.tally)
        return self._service

    @property
    def worker(self) -> SyncWorker:
        if self._worker is None:
            # A connection of its own, as `kiosk sync` has beside the touch app's.
            service = self.appliance.open_service()
            client = self.appliance.crm_client(service.device_id)
            self._worker = SyncWorker(
                service, client, self.appliance.config.crm, clock=self.sync_clock
            )
        return self._worker

    def provision(self, code: str) -> None:
        self.appliance.provision(self.service, crm_url=self.url, code=code)

    def enroll(self) -> str:
        n = len(self.tally.members)
        phone = f"0912{self.number:03d}{n:04d}"
        card = f"{self.number:04X}{n:04X}"
        member_id = self.service.enroll(phone, client_txn_id=f"enroll-{phone}", card=card).member_id
        self.tally.members.append(member_id)
        return member_id

    def sell(self, member_id: str, amount: int) -> None:
        self.clock.advance(hours=3)  # the program's limits: a pause, five a day at most
        txn = f"sale-{self.name}-{self.tally.sales}"
        self.service.earn(member_id, amount, cashier=CLI, client_txn_id=txn)
        self.tally.sales += 1

    def redeem(self, member_id: str) -> bool:
        """A coffee if the member has the points (and the offline cap allows): True if given."""
        if self.service.effective_balance(member_id) < REWARD_COST:
            return False
        txn = f"redeem-{self.name}-{self.tally.redeemed + self.tally.refused}"
        try:
            self.service.redeem(member_id, REWARD, cashier=CLI, client_txn_id=txn)
        except (InsufficientPoints, LimitReached):
            self.tally.refused += 1  # the cashier says no; nothing is written
            return False
        self.tally.redeemed += 1
        return True

    def sync_once(self) -> bool:
        """One push of everything waiting and one pull, as the background sync does; True
        if both went through. A failure is kept by the worker, which backs off."""
        drained = self.worker.drain()
        pulled = self.worker.pull()
        done = drained.stopped == StopReason.EMPTY and pulled.stopped == StopReason.DONE
        if not done:
            self.tally.sync_failures += 1
            self.sync_clock.pass_time()  # the next attempt is due at the next round
        return done

    def push_until_acknowledged(self, deadline: float) -> None:
        """Push until the hub holds every entry of this kiosk (the hub may be recovering)."""
        while self.worker.drain().stopped != StopReason.EMPTY:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: the hub never took its entries")
            self.sync_clock.pass_time()

    def pull_until_done(self, deadline: float) -> None:
        while self.worker.pull().stopped != StopReason.DONE:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: the pull never went through")
            self.sync_clock.pass_time()

    def ledger(self) -> list[Row]:
        """This kiosk's own entries, in sequence order."""
        return [
            Row(e.entry_id, e.seq, e.member_id, e.kind, e.points)
            for e in self.service.ledger.entries()
            if e.device_id == self.name
        ]

    def balances(self, member_ids: list[str]) -> dict[str, int]:
        return {m: self.service.effective_balance(m) for m in member_ids}

    def close(self) -> None:
        def shut(kiosk: DayKiosk) -> None:
            if kiosk._worker is not None:
                kiosk._worker.service.close()
            if kiosk._service is not None:
                kiosk._service.close()
            kiosk.appliance.forget_client()

        self.submit(shut).result(timeout=DEADLINE)
        self._thread.shutdown()


def open_kiosks(
    hub: Hub, url: str, folder: Path, count: int, start: datetime, *overrides: str
) -> list[DayKiosk]:
    """`count` kiosks, each enrolled with a code from `hub device add` (in parallel)."""
    codes = [str(d["code"]) for d in hub.new_devices(count)]
    kiosks = [DayKiosk(folder / f"kiosk-{i}", url, i, start, *overrides) for i in range(count)]
    all_of([k.submit(_provision(code)) for k, code in zip(kiosks, codes, strict=True)])
    return kiosks


def _provision(code: str) -> Callable[[DayKiosk], None]:
    return lambda kiosk: kiosk.provision(code)


def round_of_sales(kiosk: DayKiosk, rounds: int, new_member_every: int = 3) -> None:
    """`rounds` times: now and then a new member, a sale, a coffee when earned, a sync."""
    for i in range(rounds):
        if not kiosk.tally.members or i % new_member_every == 0:
            kiosk.enroll()
        member_id = kiosk.tally.members[i % len(kiosk.tally.members)]
        kiosk.sell(member_id, 3_000_000 + 1_000_000 * (i % 5))
        kiosk.redeem(member_id)
        kiosk.sync_once()


def all_of(futures: list[Future[Any]]) -> list[Any]:
    """Each future's result (the first failure raised), within the deadline."""
    return [f.result(timeout=DEADLINE) for f in futures]


def wait_until(what: str, condition: Callable[[], bool]) -> None:
    """Wait for `condition`, polled as fast as it answers, up to the deadline."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")


def hub_ledger(hub: Hub, device_id: str) -> list[Row]:
    """The hub's entries of one device, in sequence order; every one must be stored."""
    rows = hub.sql(
        "SELECT e.entry_id, e.seq, e.member_id, e.kind, e.points, e.status, e.code "
        "FROM hub_entry e JOIN hub_device d ON d.id = e.device_id "
        "WHERE d.device_id = %s ORDER BY e.seq",
        device_id,
    )
    refused = [(r[1], r[6]) for r in rows if r[5] != "stored"]
    assert refused == [], f"{device_id}: the hub rejected {refused}"
    return [Row(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def hub_balances(hub: Hub) -> dict[str, int]:
    return {m: b for m, b in hub.sql("SELECT member_id, balance FROM hub_balance")}


@contextlib.contextmanager
def push_held_at_the_hub(hub: Hub, device_id: str) -> Iterator[Callable[[], bool]]:
    """Hold the device's high-water row, so that its next push waits inside its transaction.

    Yields a condition: whether a hub connection is waiting on that lock now. The lock
    goes when the block ends (or with the connection, when PostgreSQL goes down).
    """
    holder = psycopg.connect(hub.postgres.url(hub.database))
    try:
        holder.execute(
            "SELECT 1 FROM hub_high_water WHERE device_id = "
            "(SELECT id FROM hub_device WHERE device_id = %s) FOR UPDATE",
            (device_id,),
        )
        pid = holder.info.backend_pid

        def waiting() -> bool:
            found = hub.sql(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND %s = ANY(pg_blocking_pids(pid))",
                pid,
            )
            return bool(found[0][0])

        yield waiting
    finally:
        with contextlib.suppress(psycopg.Error):
            holder.rollback()
        holder.close()
