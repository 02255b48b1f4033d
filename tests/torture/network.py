"""Network chaos: hours of shop time against a CRM that fails in every way it can.

Two parts:

1. Compressed time. A kiosk sells (enrollments, earns, redemptions, voids) for `hours`
   of simulated time, a minute per step, while its sync worker (with an injected clock)
   pushes and pulls against the simulated CRM answering with every fault it has: 5xx,
   429, timeouts, connection resets, partial acknowledgements, answers that trickle a byte
   at a time (slowloris, backwards), 20 MiB answers, and garbage. Then the faults stop
   and the queue drains. The CRM's ledger must equal the kiosk's, entry for entry.
2. The counter never waits for the network. The touch app's sync machinery
   (`BackgroundSync`, its own thread and connection) pushes to a CRM that holds the
   request without answering, and while it hangs the counter records purchases (each
   poking the worker, as the app does): the slowest purchase is compared with the
   slowest one with no sync running (the reference).
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from pathlib import Path
from typing import Any

from kiosk.bootstrap import Appliance
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from kiosk.core.store.verify import verify_ledger
from sim.crm import CrmServer
from sim.crm_faults import Faults
from sim.crm_store import CrmStore
from sync.client import CrmClient
from sync.worker import SyncWorker, save_secret
from tests.conftest import START, Seconds, make_config
from tests.torture.common import Report, Scale

SEED = 20261123
FAULTS = (
    "5xx=0.08,429=0.05,timeout=0.04,reset=0.05,partial=0.05,slow=0.05,huge=0.02,"
    "garbage=0.04,hang=0.3,drip=0.05"
)
OVERRIDES = (
    "program.limits.min_minutes_between_earns=0",
    "program.limits.max_earns_per_day=0",
    "crm.batch_size=25",
)


def run(scale: Scale, work: Path) -> Report:
    report = Report("network")
    started = time.perf_counter()
    hours = 2 if scale == "short" else 24
    _compressed(report, work / "compressed", hours)
    _counter(report, work / "counter", purchases=60 if scale == "short" else 300)
    report.seconds = time.perf_counter() - started
    return report


# -- 1. compressed time ------------------------------------------------------------------


def _compressed(report: Report, folder: Path, hours: int) -> None:
    rng = random.Random(SEED)
    clock = ManualClock(START)
    service = Appliance(make_config(*OVERRIDES), folder / "data", clock=clock).open_service()
    seconds = Seconds(START.timestamp())
    faults = Faults.parse(f"{FAULTS},seed={SEED}")
    with CrmServer(CrmStore(folder / "crm.db"), faults=Faults()) as crm:
        client = CrmClient(crm.url, service.device_id, timeout=(0.5, 0.5))
        client.enroll(crm.store.new_code())
        crm.faults = faults
        crm.random = random.Random(SEED)
        worker = SyncWorker(service, client, service.config.crm, clock=seconds)
        members: list[str] = []
        earns: list[str] = []
        sales = drains = pulls = 0
        for step in range(hours * 60):
            clock.advance(minutes=1)
            seconds.now += 60
            sales += _sell(service, rng, members, earns, step)
            if worker.due():
                worker.drain(max_batches=4)
                drains += 1
            if step % 5 == 0:
                worker.pull(max_pages=2)
                pulls += 1
        injected = dict(crm.injected)
        crm.faults = Faults()
        for _ in range(1000):  # the outage is over: drain what is left
            seconds.now += 3600
            if worker.drain().stopped == "empty":
                break
        held = crm.store.entries(service.device_id)
        requests = crm.requests
    local = [entry.as_dict() for entry in service.ledger.entries()]
    held_ids = [entry["entry_id"] for entry in held]
    lost = len({e["entry_id"] for e in local} - set(held_ids))
    duplicated = len(held_ids) - len(set(held_ids))
    pending, rejected = worker.outbox.depth()
    report.figures.update(
        {
            "chaos_hours_simulated": hours,
            "chaos_sales": sales,
            "chaos_entries": len(local),
            "chaos_requests": requests,
            "chaos_drains": drains,
            "chaos_pulls": pulls,
            "chaos_faults_injected": sum(injected.values()),
            **{f"chaos_faults_{kind}": count for kind, count in sorted(injected.items())},
            "chaos_entries_lost": lost,
            "chaos_entries_duplicated": duplicated,
            "chaos_left_in_queue": pending + rejected,
        }
    )
    if held != local:
        report.fail(f"the CRM's ledger differs from the kiosk's ({lost} lost, {duplicated} twice)")
    if pending or rejected:
        report.fail(f"{pending} entries pending and {rejected} rejected after the drain")
    if not verify_ledger(service.conn).ok:
        report.fail("the kiosk's ledger does not verify after the chaos")
    missing = {"5xx", "429", "timeout", "reset", "partial", "slow", "huge", "garbage"} - set(
        injected
    )
    if missing and hours >= 12:
        report.fail(f"faults never injected: {sorted(missing)}")
    service.close()


def _sell(
    service: LoyaltyService, rng: random.Random, members: list[str], earns: list[str], step: int
) -> int:
    """One simulated minute at the counter: maybe a sale of some kind."""
    roll = rng.random()
    txn = f"chaos-{step}"
    if roll < 0.05 or not members:
        phone = f"0912{len(members) + 1000000:07d}"
        members.append(service.enroll(phone, client_txn_id=txn).member_id)
        return 1
    if roll < 0.55:
        member = rng.choice(members)
        amount = rng.randint(10, 500) * 100_000
        earns.append(service.earn(member, amount, cashier=CLI, client_txn_id=txn).entry_id)
        return 1
    if roll < 0.6:
        member = rng.choice(members)
        if service.effective_balance(member) >= 200:
            service.redeem(member, "coffee", cashier=CLI, client_txn_id=txn)
            return 1
    elif roll < 0.63 and earns:
        service.void(
            earns.pop(rng.randrange(len(earns))), reason="chaos", cashier=CLI, client_txn_id=txn
        )
        return 1
    return 0


# -- 2. the counter does not wait ---------------------------------------------------------


def _counter(report: Report, folder: Path, purchases: int) -> None:
    config = make_config(*OVERRIDES, "crm.push_interval_seconds=1", "crm.timeout_seconds=2")
    alone = _purchase_latencies(folder / "alone", config, purchases, crm=None)
    with CrmServer(CrmStore(folder / "crm.db")) as crm:
        config = dataclasses.replace(config, crm=dataclasses.replace(config.crm, url=crm.url))
        with_sync = _purchase_latencies(folder / "chaos", config, purchases, crm=crm)
    worst_alone, worst_chaos = max(alone), max(with_sync)
    report.figures.update(
        {
            "counter_purchases_while_a_push_hangs": purchases,
            "counter_slowest_purchase_ms": round(worst_chaos * 1000, 2),
            "counter_slowest_purchase_without_sync_ms": round(worst_alone * 1000, 2),
        }
    )
    # "Never blocks": no purchase waits for the hung request (it hangs until they are done).
    if worst_chaos > 1.0:
        report.fail(f"a purchase took {worst_chaos:.2f} s while the CRM hung")


def _purchase_latencies(
    folder: Path, config: Any, purchases: int, crm: CrmServer | None
) -> list[float]:
    """Each purchase's time; with `crm`, while the sync worker's push hangs there."""
    service = Appliance(config, folder).open_service()
    member = service.enroll("09121234567", client_txn_id="counter-enroll").member_id
    background = None
    gate, stuck = threading.Event(), threading.Event()
    if crm is not None:
        code = crm.store.new_code()
        save_secret(config.crm, folder, CrmClient(crm.url, service.device_id).enroll(code))

        def hang(path: str) -> None:
            if path == "/v2/push" and not gate.is_set():
                stuck.set()
                gate.wait(60)  # the CRM does not answer until the purchases are done

        crm.on_request = hang
        appliance = Appliance(config, folder)
        background = appliance.background_sync()
        assert background is not None
        background.start()
        if not stuck.wait(60):
            raise RuntimeError("the sync worker never pushed")
    latencies = []
    try:
        for i in range(purchases):
            start = time.perf_counter()
            service.earn(member, 1_000_000, cashier=CLI, client_txn_id=f"counter-{i}")
            if background is not None:
                background.push_now()  # as the app does after each sale
            latencies.append(time.perf_counter() - start)
    finally:
        gate.set()
        if background is not None:
            background.stop()
        service.close()
    return latencies
