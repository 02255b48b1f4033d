"""The hub benchmark: pushed entries ingested with 200 kiosks at once, and what that costs.

The hub runs as docs/hub.md says to run it ("Two lanes"; bench/hub_setup.py): pushes
and pulls on one `hub serve` (gunicorn, 2 workers of 4 threads, a pool of 4 PostgreSQL
connections each) at a lower CPU priority, holds on another (1 worker), on a durable
PostgreSQL. 201 devices are added with `hub device add` and enrolled with the kiosk's own
client (`sync.client.CrmClient`). The last one is the reference kiosk: alone, before the
load, it pushes batches one after another and asks for holds, which gives the unloaded
latencies. Then 200 kiosk clients (`--smoke`: 5), threads in 4 forked processes (so that
the clients' Python is not one interpreter's GIL; at a lower priority still: they stand
for Pis of their own), push their backlogs in batches of 500 as fast as the hub answers
(each its own members in its first batch, then earns for them), while 4 threads of this
process ask for holds at the counters' pace (`POST /v2/holds`, 1 point of the reference
kiosk's members) and another samples the resident memory of every gunicorn worker.

- `hub_ingest_entries_per_s`: entries of the load over the time from its start until the
  last push was answered; reference: the same rows (exported from the hub's table after
  the run) written with psycopg `COPY ... FROM STDIN (FORMAT binary)` into the same table
  of a copy of the database, emptied, in one transaction (no checks, no balances, no
  feed: the floor of what storing them costs). Aim: ratio >= 0.5.
- `hub_push_p99_under_load` (ms): a push's round trip at the kiosk; reference: the
  reference kiosk's pushes alone.
- `hub_hold_p99_under_load` (ms): a hold's round trip; reference: holds alone. Aim: under
  50 ms.
- `hub_worker_peak_rss` (MiB): the largest worker's resident memory during the load;
  reference: at its start.
- `hub_worker_rss_growth_10_to_100_percent` (MiB): the largest growth of a worker from
  10% of the load's time to its end; reference: its RSS at 10%. Aim: flat (< 5 MiB).

Every entry must be stored (none rejected, none lost): a shortfall is written into the
ingest figure's note. Without PostgreSQL the benchmark says so on stderr and prints nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import psycopg

from bench.common import Scale, percentile, progress, report
from bench.hub_setup import Hub, Postgres, Unavailable, copy_rows, rss_mib
from sync.client import CrmClient, CrmError

LOAD_PREFIX = "bench-kiosk-"
REFERENCE_DEVICE = "bench-reference"
SAMPLE_SECONDS = 0.25  # the memory sampler's period (a pace of measurement, not a wait)
TIMEOUT = (10.0, 300.0)
BULK_NICE = 10  # docs/hub.md, "Load": the bulk lane yields the processor to holds
CLIENT_NICE = 15
HOLDS_PER_SECOND = 20.0


@dataclass(frozen=True)
class Size:
    kiosks: int
    batches: int  # per kiosk
    per_batch: int
    members: int  # per kiosk
    processes: int
    reference_batches: int
    reference_holds: int
    hold_threads: int


# Each kiosk pushes a backlog as a kiosk does after an outage: batches of crm.batch_size
# (500, kiosk/config/defaults.toml), its members' records with the first.
FULL = Size(200, 4, 500, 5, 4, 20, 200, 4)
QUICK = Size(200, 2, 250, 5, 4, 10, 100, 4)
SMOKE = Size(5, 2, 5, 2, 2, 3, 5, 1)
Batch = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def main(scale: Scale) -> int:
    """Run the benchmark at `scale`; print its figures."""
    size = {"full": FULL, "quick": QUICK, "smoke": SMOKE}[scale]
    try:
        postgres = Postgres.start()
    except Unavailable as exc:
        progress(f"hub: skipped: {exc}")
        return 0
    folder = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    hub: Hub | None = None
    try:
        hub = Hub(postgres, folder / "hub")
        _run(hub, size)
    finally:
        if hub is not None:
            hub.stop()
        postgres.close()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def _run(hub: Hub, size: Size) -> None:
    codes = hub.new_codes(size.kiosks + 1)
    # The lanes of docs/hub.md, "Load": pushes and pulls on one `hub serve` at a lower CPU
    # priority, holds and lookups (a shopper waiting at a counter) on another.
    hub.serve(workers=2, threads=4, nice=BULK_NICE)
    interactive = hub.serve(workers=1, threads=4)
    progress(f"hub: serving at {hub.url} (holds: {interactive}); enrolling {size.kiosks + 1}")
    names = [f"{LOAD_PREFIX}{i:03d}" for i in range(size.kiosks)] + [REFERENCE_DEVICE]
    secrets = [
        CrmClient(hub.url, name).enroll(code) for name, code in zip(names, codes, strict=True)
    ]
    devices = list(zip(names, secrets, strict=True))

    reference = CrmClient(hub.url, REFERENCE_DEVICE, secrets[-1], timeout=TIMEOUT)
    batches = _batches(size.kiosks, REFERENCE_DEVICE, size.reference_batches, size)
    alone_push = [_timed(reference.push, *batch) for batch in batches]
    holders = [m["member_id"] for m in batches[0][0]]
    counter = CrmClient(interactive, REFERENCE_DEVICE, secrets[-1], timeout=TIMEOUT)
    alone_hold = [_hold(counter, holders, i)[0] for i in range(size.reference_holds)]
    progress(f"hub: alone: {len(alone_push)} pushes, {len(alone_hold)} holds")

    load = [_batches(i, name, size.batches, size) for i, (name, _) in enumerate(devices[:-1])]
    run = _load(hub, interactive, size, devices, load, holders)
    total = size.kiosks * size.batches * size.per_batch
    elapsed = run["end"] - run["start"]
    progress(f"hub: {total} entries pushed in {elapsed:.1f} s; the COPY reference next")
    hub.stop()  # its connections would keep the database from being a template
    copied = _copy_reference(hub)
    stored = _stored(hub)
    shortfall = [] if stored == (total, 0) else [f"FAILED: stored, rejected = {stored}"]
    pushes, holds = run["push"], run["hold"]
    report(
        "hub_ingest_entries_per_s",
        total / elapsed,
        "entries/s",
        copied,
        aim="ratio >= 0.5",
        note="; ".join(
            [
                *shortfall,
                f"{size.kiosks} kiosks x {size.batches} batches x {size.per_batch} entries in "
                f"{elapsed:.1f} s ({len(pushes)} pushes, {run['errors']} retried)",
                f"COPY: {total} rows of hub_entry in one transaction",
                "hub serve: 2 workers x 4 threads, pool 4",
            ]
        ),
    )
    report(
        "hub_push_p99_under_load",
        percentile(pushes, 99) * 1000,
        "ms",
        percentile(alone_push, 99) * 1000,
        note=f"p50 {statistics.median(pushes) * 1000:.1f} ms under load, "
        f"{statistics.median(alone_push) * 1000:.1f} ms alone; {size.per_batch} entries each",
    )
    report(
        "hub_hold_p99_under_load",
        percentile(holds, 99) * 1000,
        "ms",
        percentile(alone_hold, 99) * 1000,
        aim="value < 50 ms",
        note=f"{len(holds)} holds under load ({run['refused']} refused for want of points), "
        f"p50 {statistics.median(holds) * 1000:.1f} ms; alone p50 "
        f"{statistics.median(alone_hold) * 1000:.1f} ms",
    )
    _memory_figures(run["rss"], run["start"], run["end"])


def _batches(index: int, device_id: str, count: int, size: Size) -> list[Batch]:
    """A kiosk's batches: its members' records with the first, then earns for them."""
    members = [_member(index, m) for m in range(size.members)]
    ids = [m["member_id"] for m in members]
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out: list[Batch] = []
    for b in range(count):
        first = b * size.per_batch + 1
        entries = [
            _earn(device_id, seq, ids[seq % len(ids)], created)
            for seq in range(first, first + size.per_batch)
        ]
        out.append((members if b == 0 else [], entries))
    return out


def _member(index: int, m: int) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "member_id": f"bench-m-{index:03d}-{m}",
        "status": "active",
        "created_at": stamp,
        "updated_at": stamp,
        "phone": f"+98912{index:03d}{m:04d}",
        "name": None,
        "birthday": None,
        "language": "fa",
        "consent_marketing": False,
        "consent_version": None,
        "consent_at": None,
        "cards": [{"uid": f"{index:04X}{m:04X}", "status": "active"}],
    }


def _earn(device_id: str, seq: int, member_id: str, created: str) -> dict[str, Any]:
    return {
        "entry_id": str(uuid.uuid4()),
        "device_id": device_id,
        "seq": seq,
        "kind": "earn",
        "member_id": member_id,
        "points": 10,
        "amount": 1_000_000,
        "currency": "IRR",
        "cashier_id": "cashier-1",
        "created_at": created,
        "reverses": None,
        "reward_id": None,
        "coupon_code": None,
        "reason": None,
        "expires_at": None,
        "client_txn_id": f"sale-{seq}",
    }


def _timed(push: Any, members: list[dict[str, Any]], entries: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    push(members, entries)
    return time.perf_counter() - start


def _hold(client: CrmClient, members: list[str], i: int) -> tuple[float, bool]:
    """One hold of 1 point: its round trip, and whether the hub refused it (409)."""
    txn = f"hold-{uuid.uuid4().hex}"
    start = time.perf_counter()
    try:
        client.hold(txn, members[i % len(members)], 1, None)
    except CrmError as exc:
        if exc.status != 409:
            raise
        return time.perf_counter() - start, True
    return time.perf_counter() - start, False


def _load(
    hub: Hub,
    interactive: str,
    size: Size,
    devices: list[tuple[str, bytes]],
    load: list[list[Batch]],
    holders: list[str],
) -> dict[str, Any]:
    """The kiosks' pushes (in forked processes), holds and memory samples, all at once.

    `devices` are the load's kiosks and, last, the reference kiosk (which holds).
    """
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    slices = [list(range(p, size.kiosks, size.processes)) for p in range(size.processes)]
    processes = [
        context.Process(
            target=_clients,
            args=(hub.url, [devices[i] for i in part], [load[i] for i in part], start, results),
        )
        for part in slices
        if part
    ]
    for process in processes:
        process.start()
    done = threading.Event()
    holds: list[float] = []
    refused = [0]
    rss: dict[int, list[tuple[float, float]]] = {pid: [] for pid in hub.workers()}
    secret = devices[-1][1]
    threads = [
        threading.Thread(
            target=_holder,
            args=(CrmClient(interactive, REFERENCE_DEVICE, secret, timeout=TIMEOUT), holders),
            kwargs={
                "start": start,
                "done": done,
                "took": holds,
                "refused": refused,
                "threads": size.hold_threads,
            },
        )
        for _ in range(size.hold_threads)
    ] + [threading.Thread(target=_sampler, args=(rss, start, done))]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    start.set()
    answers = [results.get(timeout=3600) for _ in processes]
    done.set()
    for process in processes:
        process.join()
    for thread in threads:
        thread.join()
    return {
        "start": began,
        "end": max(a["end"] for a in answers),
        "push": [t for a in answers for t in a["push"]],
        "errors": sum(a["errors"] for a in answers),
        "hold": holds,
        "refused": refused[0],
        "rss": rss,
    }


def _clients(
    url: str,
    devices: list[tuple[str, bytes]],
    load: list[list[Batch]],
    start: EventType,
    results: Any,
) -> None:
    """A forked process: a thread per kiosk, each pushing its batches one after another.

    At a lower CPU priority: these kiosks stand for Raspberry Pis of their own, and their
    JSON, gzip and signing must not take the hub's processor (they still get what it
    leaves, and on two cores that is much of it).
    """
    os.nice(CLIENT_NICE)
    pushes: list[float] = []
    errors = [0]
    ends: list[float] = []
    lock = threading.Lock()

    def kiosk(device_id: str, secret: bytes, batches: list[Batch]) -> None:
        client = CrmClient(url, device_id, secret, timeout=TIMEOUT)
        start.wait()
        mine = []
        for members, entries in batches:
            while True:  # as the kiosk does, the same batch again until it is answered
                try:
                    mine.append(_timed(client.push, members, entries))
                    break
                except CrmError as exc:
                    if not exc.retryable:
                        raise
                    with lock:
                        errors[0] += 1
        with lock:
            pushes.extend(mine)
            ends.append(time.monotonic())

    threads = [
        threading.Thread(target=kiosk, args=(name, secret, batches))
        for (name, secret), batches in zip(devices, load, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put({"push": pushes, "errors": errors[0], "end": max(ends)})


def _holder(
    client: CrmClient,
    members: list[str],
    *,
    start: EventType,
    done: threading.Event,
    took: list[float],
    refused: list[int],
    threads: int,
) -> None:
    """Holds at the counters' pace while the load runs (at least one).

    HOLDS_PER_SECOND among all holder threads: a rush hour in which every one of the 200
    kiosks redeems about once every ten seconds (a pace of the load, not a wait).
    """
    start.wait()
    interval = threads / HOLDS_PER_SECOND
    i = 0
    while i == 0 or not done.is_set():
        elapsed, no = _hold(client, members, i)
        took.append(elapsed)
        refused[0] += no
        i += 1
        if done.wait(max(0.0, interval - elapsed)):
            return


def _sampler(
    rss: dict[int, list[tuple[float, float]]], start: EventType, done: threading.Event
) -> None:
    """Each worker's resident memory, every SAMPLE_SECONDS while the load runs."""
    start.wait()
    while True:
        now = time.monotonic()
        for pid, samples in rss.items():
            value = rss_mib(pid)
            if value is not None:
                samples.append((now, value))
        if done.wait(SAMPLE_SECONDS):
            return


def _copy_reference(hub: Hub) -> float:
    """Rows per second of COPY of the load's hub_entry rows into an emptied copy."""
    where = f"device_id IN (SELECT id FROM hub_device WHERE device_id LIKE '{LOAD_PREFIX}%')"
    columns, data, rows = copy_rows(hub.postgres.url(hub.database), "hub_entry", where)
    copy_db = hub.postgres.create_database(template=hub.database)
    with psycopg.connect(hub.postgres.url(copy_db)) as conn:
        # With what refers to the entries (visit ratings): the copy is the benchmark's own.
        conn.execute("TRUNCATE hub_entry CASCADE")
        conn.commit()
        start = time.perf_counter()
        with conn.cursor() as cursor:
            listed = ", ".join(columns)
            with cursor.copy(f"COPY hub_entry ({listed}) FROM STDIN (FORMAT binary)") as copy:
                copy.write(data)
        conn.commit()
        elapsed = time.perf_counter() - start
    return rows / elapsed


def _stored(hub: Hub) -> tuple[int, int]:
    """The load's entries at the hub: (stored, rejected)."""
    with psycopg.connect(hub.postgres.url(hub.database)) as conn:
        row: Any = conn.execute(
            "SELECT count(*) FILTER (WHERE e.status = 'stored'), "
            "count(*) FILTER (WHERE e.status <> 'stored') "
            "FROM hub_entry e JOIN hub_device d ON d.id = e.device_id "
            "WHERE d.device_id LIKE %s",
            (f"{LOAD_PREFIX}%",),
        ).fetchone()
    return int(row[0]), int(row[1])


def _memory_figures(rss: dict[int, list[tuple[float, float]]], start: float, end: float) -> None:
    tenth = start + (end - start) / 10
    series = {pid: s for pid, s in rss.items() if s}
    if not series:
        raise RuntimeError("no gunicorn worker was found to sample")
    first = {pid: s[0][1] for pid, s in series.items()}
    peak = {pid: max(v for _, v in s) for pid, s in series.items()}
    at_tenth = {pid: min(s, key=lambda p: abs(p[0] - tenth))[1] for pid, s in series.items()}
    growth = {pid: s[-1][1] - at_tenth[pid] for pid, s in series.items()}
    worst = max(growth, key=lambda pid: growth[pid])
    biggest = max(peak, key=lambda pid: peak[pid])
    trace = "; ".join(
        f"worker {i + 1}: {first[pid]:.1f} -> {peak[pid]:.1f} peak -> {s[-1][1]:.1f} MiB "
        f"({len(s)} samples)"
        for i, (pid, s) in enumerate(sorted(series.items()))
    )
    report("hub_worker_peak_rss", peak[biggest], "MiB", first[biggest], note=trace)
    report(
        "hub_worker_rss_growth_10_to_100_percent",
        growth[worst],
        "MiB",
        at_tenth[worst],
        aim="value < 5 MiB (flat)",
        note=trace,
    )
