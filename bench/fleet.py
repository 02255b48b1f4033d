"""The fleet benchmark: does jitter spread the retry storm of 200 kiosks after a CRM outage?

200 kiosks (`--quick`: 40; `--smoke`: 5), each with its own small kiosk database (3
members and 5 queued entries, written with raw SQL through the real schema) and its own
`SyncWorker` and `CrmClient`, enrolled with its own device id at ONE simulated CRM
(`sim/crm.py`) on loopback, with `crm.backoff_base_seconds=2` and
`crm.backoff_cap_seconds=300`. Time is simulated: every worker's clock returns the same
simulated time, which moves on one second per step; each step, every kiosk whose
`worker.due()` holds calls `drain()`, all in this one process, one after the other (no
threads). The CRM's `requests` counter, read before and after each step, gives the
requests that reached it in that simulated second.

The scenario: at t = 0 the CRM goes down (every signed request answers 503 `unavailable`
with `Retry-After: 1`, the simulator's `5xx` fault at rate 1) while every kiosk has its
entries queued, so every kiosk's first attempt fails in the first second, as when a CRM
falls over under a busy fleet. During the hour the shops sell on (each kiosk a sale every
10 minutes on average, at random moments; the entries queue up) and the kiosks retry as
their backoff allows. At t = 3600 s the CRM is back (the fault's rate set to 0); no more
sales; the steps go on until every kiosk's outbox is empty, and the CRM is then checked
to hold every entry of every kiosk.

The scenario runs twice on identical data: with jitter (the worker's `jitter` is
`random.Random(seed).random`, the full jitter the kiosk uses) and without (`jitter` always
1.0: every delay is its ceiling). The run without jitter is the reference of the run with
jitter in each figure (`ratio` < 1: jitter lowers it):

- `fleet_peak_retry_rate_during_outage` (requests per simulated second): the busiest
  second of the outage after its first (the first holds every kiosk's first attempt,
  which no jitter can spread: nothing has failed yet; its count is in the note, with the
  busiest second from the 5th minute on and the outage's total requests).
- `fleet_peak_request_rate_after_recovery`: the busiest second from the CRM's return
  until the last kiosk has drained.
- `fleet_drain_time_after_recovery` (simulated s): from the CRM's return to the second in
  which the last kiosk's outbox became empty.

"""

from __future__ import annotations

import logging
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.common import Scale, progress, report
from bench.sync import make_config, start_crm, stop_crm
from kiosk.bootstrap import Appliance
from kiosk.config import KioskConfig
from kiosk.core.service import LoyaltyService
from kiosk.core.store.db import write_transaction
from kiosk.core.store.vault import KEY_FILENAME
from kiosk.core.sync_status import StopReason
from sim.crm import CrmServer
from sync.client import CrmClient
from sync.worker import SyncWorker

START = 1_772_355_600.0  # 2026-03-01T09:00:00Z, simulated seconds since the epoch
OUTAGE_SECONDS = 3600
AFTER_LIMIT_SECONDS = 3600  # a safety limit after the recovery, never reached
LATE_FROM_SECONDS = 300  # "from the 5th minute on" in the notes
BACKOFF = ("crm.backoff_base_seconds=2", "crm.backoff_cap_seconds=300")
MEMBERS = 3  # per kiosk
QUEUED = 5  # entries per kiosk queued when the outage starts
SALE_GAP_SECONDS = 600.0  # mean time between sales at one kiosk during the outage
DATA_SEED = 2026
JITTER_SEED = 7


@dataclass(frozen=True)
class Size:
    kiosks: int


FULL = Size(kiosks=200)
QUICK = Size(kiosks=40)
SMOKE = Size(kiosks=5)
SIZES: dict[Scale, Size] = {"full": FULL, "quick": QUICK, "smoke": SMOKE}


class SimClock:
    """The simulated time (epoch seconds) every worker reads."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@dataclass
class Kiosk:
    service: LoyaltyService
    client: CrmClient
    worker: SyncWorker
    members: list[str]
    sales: list[float]  # simulated seconds after the outage began, ascending
    made: int = 0  # entries written so far
    drained_at: int | None = None  # the step in which its outbox became empty
    problems: list[str] = field(default_factory=list)

    @property
    def device_id(self) -> str:
        return self.service.device_id


def _iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(moment))


def add_entry(kiosk: Kiosk, rng: random.Random, moment: float) -> None:
    """One purchase written as the ledger writes it: the entry and its outbox row."""
    kiosk.made += 1
    conn = kiosk.service.conn
    entry_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    points = rng.randint(1, 100)
    with write_transaction(conn):
        conn.execute(
            "INSERT INTO entries (entry_id, device_id, seq, kind, member_id, points, amount, "
            "currency, cashier_id, created_at, client_txn_id, expires_at) "
            "VALUES (?, ?, ?, 'earn', ?, ?, ?, 'IRR', 'bench-cashier', ?, ?, ?)",
            (
                entry_id,
                kiosk.device_id,
                kiosk.made,
                rng.choice(kiosk.members),
                points,
                points * 100_000,
                _iso(moment),
                f"{kiosk.device_id}-{kiosk.made}",
                _iso(moment + 365 * 86400),
            ),
        )
        conn.execute(
            "INSERT INTO outbox (entry_id, device_id, seq) VALUES (?, ?, ?)",
            (entry_id, kiosk.device_id, kiosk.made),
        )


def open_kiosk(
    number: int,
    template: Path,
    folder: Path,
    config: KioskConfig,
    crm: CrmServer,
    clock: SimClock,
    jitter: Callable[[], float],
    rng: random.Random,
) -> Kiosk:
    """A kiosk data dir (a copy of the migrated template's), its members and queued entries."""
    data = folder / f"kiosk-{number:03d}"
    data.mkdir()
    shutil.copyfile(template / "kiosk.db", data / "kiosk.db")
    # The data key in the database is wrapped by the template's key file: it goes along.
    shutil.copy2(template / KEY_FILENAME, data / KEY_FILENAME)
    device = f"fleet-{number:03d}"
    config = replace(config, device=replace(config.device, id=device))
    service = Appliance(config, data).open_service(create=False)
    members = [f"{number:08x}-0000-4000-8000-{j:012x}" for j in range(1, MEMBERS + 1)]
    with write_transaction(service.conn):
        for j, member_id in enumerate(members, start=1):
            service.members.create(  # sealed as the kiosk seals; fires member_outbox's trigger
                phone=f"+98935{number:04d}{j:03d}",
                name=None,
                birthday=None,
                language="fa",
                tier=config.program.tiers[0].id,
                device_id=device,
                now=_iso(START - 86400),
                member_id=member_id,
            )
    client = CrmClient(crm.url, device)
    client.enroll(crm.store.new_code())
    worker = SyncWorker(service, client, config.crm, clock=clock, jitter=jitter)
    sales: list[float] = []
    moment = rng.expovariate(1 / SALE_GAP_SECONDS)
    while moment < OUTAGE_SECONDS:
        sales.append(moment)
        moment += rng.expovariate(1 / SALE_GAP_SECONDS)
    kiosk = Kiosk(service, client, worker, members, sales)
    for i in range(QUEUED):
        add_entry(kiosk, rng, START - 600 + 60 * i)
    return kiosk


@dataclass(frozen=True)
class Outcome:
    per_second: list[int]  # requests reaching the CRM in each simulated second from t = 0
    drain_time: int | None  # seconds after the recovery, None if some kiosk never drained
    entries: int
    problems: list[str]
    real_seconds: float

    @property
    def first_second(self) -> int:
        return self.per_second[0]

    @property
    def outage_peak(self) -> int:
        return max(self.per_second[1:OUTAGE_SECONDS])

    @property
    def outage_late_peak(self) -> int:
        return max(self.per_second[LATE_FROM_SECONDS:OUTAGE_SECONDS])

    @property
    def outage_requests(self) -> int:
        return sum(self.per_second[:OUTAGE_SECONDS])

    @property
    def recovery_peak(self) -> int:
        return max(self.per_second[OUTAGE_SECONDS:], default=0)

    @property
    def recovery_requests(self) -> int:
        return sum(self.per_second[OUTAGE_SECONDS:])


def scenario(size: Size, jitter: Callable[[], float], what: str) -> Outcome:
    """The outage and the recovery for a fresh fleet and a fresh CRM."""
    started = time.perf_counter()
    rng = random.Random(DATA_SEED)  # the same kiosks, sales and entries in every run
    clock = SimClock()
    config = make_config(*BACKOFF)
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        folder = Path(tmp)
        template = folder / "template"
        Appliance(config, template).open_service().close()  # the migrated, empty schema
        crm = start_crm(folder / "crm.db")
        fleet: list[Kiosk] = []
        try:
            progress(f"fleet ({what}): {size.kiosks} kiosks, enrolling")
            fleet = [
                open_kiosk(n, template, folder, config, crm, clock, jitter, rng)
                for n in range(1, size.kiosks + 1)
            ]
            progress(f"fleet ({what}): the CRM is down for {OUTAGE_SECONDS} simulated s")
            per_second, last = run_steps(fleet, crm, clock, rng)
            problems = check(fleet, crm)
        finally:
            for kiosk in fleet:
                kiosk.client.close()
                kiosk.service.close()
            stop_crm(crm)
    return Outcome(
        per_second=per_second,
        drain_time=None if last is None else last - OUTAGE_SECONDS,
        entries=sum(kiosk.made for kiosk in fleet),
        problems=problems,
        real_seconds=time.perf_counter() - started,
    )


def run_steps(
    fleet: list[Kiosk], crm: CrmServer, clock: SimClock, rng: random.Random
) -> tuple[list[int], int | None]:
    """Step the simulated seconds; requests per second and the step the last kiosk drained."""
    per_second: list[int] = []
    crm.faults.rates["5xx"] = 1.0
    active = list(fleet)
    step = 0
    while active and step <= OUTAGE_SECONDS + AFTER_LIMIT_SECONDS:
        clock.now = START + step
        if step == OUTAGE_SECONDS:
            crm.faults.rates["5xx"] = 0.0
            progress("fleet: the CRM is back")
        if step < OUTAGE_SECONDS:
            for kiosk in fleet:
                while kiosk.sales and kiosk.sales[0] <= step:
                    add_entry(kiosk, rng, START + kiosk.sales.pop(0))
        before = crm.requests
        for kiosk in active:
            if kiosk.worker.due():
                result = kiosk.worker.drain()
                if result.stopped == StopReason.EMPTY:
                    kiosk.drained_at = step
        per_second.append(crm.requests - before)
        if step >= OUTAGE_SECONDS:
            active = [kiosk for kiosk in active if kiosk.drained_at is None]
        step += 1
    if active:
        return per_second, None
    return per_second, max(kiosk.drained_at or 0 for kiosk in fleet)


def check(fleet: list[Kiosk], crm: CrmServer) -> list[str]:
    """Every kiosk's outbox empty and every entry held by the CRM."""
    devices: dict[str, Any] = crm.store.view()["devices"]
    short = []
    for kiosk in fleet:
        pending, rejected = kiosk.worker.outbox.depth()
        held = devices.get(kiosk.device_id, {}).get("entries", 0)
        if pending or rejected or held != kiosk.made:
            short.append(f"{kiosk.device_id}: {held}/{kiosk.made} held, {pending} pending")
    if short:
        return [f"{len(short)} kiosks not drained ({'; '.join(short[:3])})"]
    return []


def main(scale: Scale) -> int:
    size = SIZES[scale]
    # Each failed push logs a warning: thousands of lines on stderr. Errors still show.
    worker_log = logging.getLogger("sync.worker")
    level = worker_log.level
    worker_log.setLevel(logging.ERROR)
    try:
        jittered = scenario(size, random.Random(JITTER_SEED).random, "with jitter")
        fixed = scenario(size, lambda: 1.0, "without jitter")
    finally:
        worker_log.setLevel(level)
    problems = [f"with jitter: {p}" for p in jittered.problems] + [
        f"without jitter: {p}" for p in fixed.problems
    ]
    failed = f"FAILED: {'; '.join(problems)}. " if problems else ""
    setting = (
        f"{size.kiosks} kiosks, {jittered.entries:,} entries, backoff base 2 s cap 300 s, "
        f"{OUTAGE_SECONDS} s outage in 1 s steps; reference: the same run without jitter"
    )
    report(
        "fleet_peak_retry_rate_during_outage",
        jittered.outage_peak,
        "req/s simulated",
        fixed.outage_peak,
        aim="ratio < 1",
        note=(
            f"{failed}{setting}; from the 2nd second (the 1st holds every kiosk's first "
            f"attempt: {jittered.first_second} vs {fixed.first_second}); from the 5th minute "
            f"on: {jittered.outage_late_peak} vs {fixed.outage_late_peak}; requests during "
            f"the outage: {jittered.outage_requests:,} vs {fixed.outage_requests:,}"
        ),
    )
    report(
        "fleet_peak_request_rate_after_recovery",
        jittered.recovery_peak,
        "req/s simulated",
        fixed.recovery_peak,
        aim="ratio < 1",
        note=(
            f"{failed}{setting}; requests from the recovery until all drained: "
            f"{jittered.recovery_requests:,} vs {fixed.recovery_requests:,}"
        ),
    )
    report(
        "fleet_drain_time_after_recovery",
        -1 if jittered.drain_time is None else jittered.drain_time,
        "s simulated",
        -1 if fixed.drain_time is None else fixed.drain_time,
        note=(
            f"{failed}{setting}; from the CRM's return to the second the last outbox "
            f"emptied (-1: not within {AFTER_LIMIT_SECONDS} s); real time of the runs "
            f"{jittered.real_seconds:.0f} s and {fixed.real_seconds:.0f} s"
        ),
    )
    return 0
