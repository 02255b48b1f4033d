"""The sync benchmark: how fast a full outbox drains to the CRM, and in how much memory.

A kiosk database with 100,000 queued entries (`--quick`: 10,000; `--smoke`: 1,000) for 300
members, and one with 1,000,000 (`--quick`: 100,000; `--smoke`: 5,000), are written once
with raw SQL through the real schema (members, people, entries with their gapless `seq`,
outbox; `member_outbox` by its triggers) and cached under `bench/.cache/` (or
`$BENCH_CACHE`), keyed by a generator version and the schema's migrations. Each run
copies them. The simulated CRM (`sim/crm.py`) runs in this, the parent, process on
loopback, on a fresh store file for every drain; the kiosk side runs in a child process of
its own, so that the two do not share an interpreter (as on a kiosk and a server) and the
child's memory is the kiosk side's alone.

- `sync_drain_throughput` (entries/s): `SyncWorker.drain()` of the 100,000 entries, from
  the first batch read to the last acknowledgement written; the worker and its client are
  the ones `kiosk sync` gets from the composition root (`kiosk.bootstrap.Appliance`).
  Reference: the same requests, posted bare. The exact bodies a drain sends (JSON,
  gzipped, member records in the first batch) are recorded beforehand by a real drain
  whose HTTP transport answers locally; then each is signed with `sync.signing.sign` and
  posted with a plain `requests.Session` (`trust_env` off, like the client's), in
  sequence, to a fresh CRM. The two alternate, 3 rounds each (`--smoke`: 1); the medians
  are reported. Aim: ratio >= 0.7. Both must leave the CRM holding every entry (its
  high-water mark and entry count are checked; a shortfall is written into the figure's
  note).
- `sync_peak_rss_draining_<N>_entries` (MiB): in a child that drains the 1,000,000-entry
  database, `VmRSS` sampled right after each batch's answer (the batch and its answer are
  still alive then), through a `CrmClient` subclass. Reference: the same child's RSS right
  before the drain (service open, client enrolled, after `gc.collect()`). Aim: < 100 MB.
- `sync_rss_growth_10_to_100_percent` (MiB): RSS after the batch that reached 100% minus
  after the one that reached 10% of the entries. Reference: the RSS at 10%, so the ratio
  is the relative growth. Aim: flat, growth < 5 MiB.

The simulated CRM answers with `TCP_NODELAY` (without it each answer's body waited about
40 ms for the client's delayed ACK) and recounts a member's balance after a push through an
index on `entries(member_id, status, points)` (without it each recount scanned every entry
it held: a 1,000,000-entry drain took hours). Both were found by this benchmark and fixed
in `sim/`.

Entry `i` belongs to member `1 + (i - 1) * 300 // N`: each member's
entries are one run of `seq`, so a batch touches one or two members and the CRM does one
or two recounts per push rather than 300.
"""

from __future__ import annotations

import base64
import gc
import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPResponse

from bench.common import CACHE, Scale, progress, report
from kiosk.bootstrap import Appliance
from kiosk.config import KioskConfig, load_config
from kiosk.core.store import vault
from kiosk.core.sync_status import StopReason
from sim.crm import CrmServer
from sim.crm_faults import Faults
from sim.crm_store import CrmStore
from sync.client import DEFAULT_TIMEOUT, CrmClient, PushAnswer
from sync.signing import PROTOCOL, PROTOCOL_VERSION, SIGNED_HEADERS, sign
from sync.worker import DrainResult, SyncWorker, save_secret

GENERATOR_VERSION = 1  # bump when the generated data changes
DEVICE = "bench-sync"
MEMBERS = 300
MIX = 2654435761  # an odd multiplier: a bijection on 32 bits, for member ids
EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z: entry i was made 30 s after entry i - 1
NO_SYSTEM_CONFIG = Path("/nonexistent/loyalty-kiosk/kiosk.toml")
PUSH_PATH = "/v2/push"
RSS_AIM_MB = 100.0
GROWTH_AIM_MB = 5.0


@dataclass(frozen=True)
class Size:
    entries: int  # the throughput database
    memory_entries: int  # the memory database
    rounds: int  # drains of each kind (ours, bare), alternately


FULL = Size(entries=100_000, memory_entries=1_000_000, rounds=3)
QUICK = Size(entries=10_000, memory_entries=100_000, rounds=3)
SMOKE = Size(entries=1_000, memory_entries=5_000, rounds=1)
SIZES: dict[Scale, Size] = {"full": FULL, "quick": QUICK, "smoke": SMOKE}


def make_config(*overrides: str) -> KioskConfig:
    """The shipped defaults, cheap PIN hashing, the benchmark's device id, no machine config."""
    return load_config(
        None,
        [f'device.id="{DEVICE}"', "security.pin_scrypt_n=1024", *overrides],
        environ={},
        system_file=NO_SYSTEM_CONFIG,
    )


def start_crm(path: Path | str, faults: Faults | None = None) -> CrmServer:
    """The simulated CRM on a loopback port, storing in `path`."""
    return CrmServer(CrmStore(path), faults=faults).start()


def stop_crm(crm: CrmServer) -> None:
    crm.stop()
    crm.store.conn.close()


def status_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


# --- the data set -----------------------------------------------------------------------


def schema_tag() -> str:
    """A short hash of the schema's migration names: a new migration means new data."""
    from sqlite_utils import Database

    from kiosk.core.store.schema import MIGRATIONS

    conn = sqlite3.connect(":memory:")
    try:
        names = [migration.name for migration in MIGRATIONS.pending(Database(conn))]
    finally:
        conn.close()
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:8]


def label(entries: int) -> str:
    return f"sync-v{GENERATOR_VERSION}-{entries}e-{MEMBERS}m-{schema_tag()}"


_MEMBER_ID_SQL = f"printf('%08x-0000-4000-8000-%012x', (m * {MIX}) % 4294967296, m)"


def generate(entries: int, target: Path) -> None:
    """Write `entries` queued entries of MEMBERS members into `target/kiosk.db`."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    config = make_config()
    appliance = Appliance(config, partial)
    appliance.open_service().close()  # the schema, the device id and the data key
    conn = sqlite3.connect(partial / "kiosk.db", isolation_level=None)
    # Phones are sealed as the kiosk seals them (its key source: the data dir's `data-key`
    # file here, copied with the database), so the drain opens them as on a device.
    vault.install(conn, appliance.key_source())
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    counter = "WITH RECURSIVE n(m) AS (SELECT 1 UNION ALL SELECT m + 1 FROM n WHERE m < :count)"
    conn.execute("BEGIN")
    # The members' inserts fire the member_outbox trigger: each goes with the first push.
    conn.execute(
        f"{counter} INSERT INTO members (member_id, created_at, enrolled_on_device, tier) "
        f"SELECT {_MEMBER_ID_SQL}, '2025-12-01T08:00:00.000000Z', :dev, :tier FROM n",
        {"count": MEMBERS, "dev": DEVICE, "tier": config.program.tiers[0].id},
    )
    conn.execute(
        f"{counter}, p(id, m, phone) AS (SELECT {_MEMBER_ID_SQL}, m, printf('+98912%07d', m) "
        "FROM n) "
        "INSERT INTO people (member_id, phone_index, sealed, language, consent_marketing, "
        "consent_version, consent_at) "
        "SELECT id, blind('phone', phone), "
        "seal(json_object('phone', phone, 'name', NULL, 'birthday', NULL), 'person:' || id), "
        "'fa', m % 2, CASE WHEN m % 2 THEN 'v1' END, "
        "CASE WHEN m % 2 THEN '2025-12-01T08:00:00.000000Z' END FROM p",
        {"count": MEMBERS},
    )
    # Entry i: a purchase of member 1 + (i - 1) * MEMBERS // count (runs of seq, see the
    # module's docstring), a random version-4 UUID made unique by its last 12 digits.
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count), "
        "e(i, m, points, at) AS (SELECT i, 1 + (i - 1) * :members / :count, "
        "1 + (i * 37) % 100, :epoch + 30 * i FROM n) "
        "INSERT INTO entries (entry_id, device_id, seq, kind, member_id, points, amount, "
        "currency, cashier_id, created_at, client_txn_id, expires_at) "
        "SELECT printf('%08x-%04x-4%03x-%04x-%012x', abs(random()) % 4294967296, "
        "abs(random()) % 65536, abs(random()) % 4096, 32768 + abs(random()) % 16384, i), "
        f":dev, i, 'earn', {_MEMBER_ID_SQL}, points, points * 100000, 'IRR', "
        "'bench-cashier', strftime('%Y-%m-%dT%H:%M:%S.000000Z', at, 'unixepoch'), "
        "printf('bench-sync-%d', i), "
        "strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 365 * 86400, 'unixepoch') FROM e",
        {"count": entries, "members": MEMBERS, "epoch": EPOCH, "dev": DEVICE},
    )
    conn.execute(
        "INSERT INTO outbox (entry_id, device_id, seq) "
        "SELECT entry_id, device_id, seq FROM entries ORDER BY seq"
    )
    conn.execute(
        "UPDATE members SET balance = sums.total FROM "
        "(SELECT member_id, SUM(points) AS total FROM entries GROUP BY member_id) AS sums "
        "WHERE sums.member_id = members.member_id"
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def dataset(entries: int) -> Path:
    """The cached data directory with `entries` queued, generated (in a child) when missing."""
    target = CACHE / label(entries)
    if (target / "kiosk.db").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob(f"sync-v*-{entries}e-*"):  # older generators or schemas
        shutil.rmtree(stale, ignore_errors=True)
    progress(f"sync: generating a kiosk database with {entries:,} queued entries (cached)")
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bench.sync", "generate", str(entries), str(target)], check=True
    )
    progress(f"sync: generated {entries:,} entries in {time.perf_counter() - start:.1f} s")
    return target


# --- children: our drain -------------------------------------------------------------------


class SampledClient(CrmClient):
    """The real client, calling `after_push(entries in the batch)` once each answer is in."""

    def __init__(self, *args: Any, after_push: Callable[[int], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.after_push = after_push

    def push(
        self,
        members: list[dict[str, Any]],
        entries: list[dict[str, Any]],
        *,
        chain_head: dict[str, Any] | None = None,
    ) -> PushAnswer:
        answer = super().push(members, entries, chain_head=chain_head)
        self.after_push(len(entries))
        return answer


def _problem(result: DrainResult) -> str:
    """Nothing when the drain emptied the outbox, else why it stopped."""
    return "" if result.stopped == StopReason.EMPTY else f"{result.stopped}: {result.error}"


def measure_drain(data: Path, url: str, code: str) -> dict[str, Any]:
    """Time one `SyncWorker.drain()` of the whole outbox, as `kiosk sync` builds the worker."""
    appliance = Appliance(make_config(f'crm.url="{url}"'), data)
    service = appliance.open_service(create=False)
    enrolling = appliance.enrollment_client(url, service.device_id, None)
    save_secret(appliance.config.crm, data, enrolling.enroll(code), appliance.key_source())
    enrolling.close()
    worker = appliance.sync_worker(service)
    pending, _ = worker.outbox.depth()
    gc.collect()
    cpu, start = time.process_time(), time.perf_counter()
    result = worker.drain()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    appliance.forget_client()
    service.close()
    return {
        "entries": pending,
        "seconds": seconds,
        "cpu": cpu,
        "batches": result.batches,
        "acknowledged": result.acknowledged,
        "problem": _problem(result),
    }


def measure_memory(data: Path, url: str, code: str) -> dict[str, Any]:
    """Drain the whole outbox, sampling VmRSS after every batch's answer."""
    samples: list[float] = []
    sent = 0
    marks: dict[str, float] = {}
    appliance = Appliance(make_config(f'crm.url="{url}"'), data)
    service = appliance.open_service(create=False)
    crm = appliance.config.crm
    total, _ = SyncWorker(service, None, crm).outbox.depth()

    def after_push(entries: int) -> None:
        nonlocal sent
        sent += entries
        samples.append(status_mib("VmRSS"))
        if "rss_10" not in marks and sent * 10 >= total:
            marks["rss_10"] = samples[-1]

    # The worker the composition root builds, but on a client that samples after each answer.
    client = SampledClient(url, service.device_id, after_push=after_push)
    client.enroll(code)
    worker = SyncWorker(service, client, crm)
    gc.collect()
    before = status_mib("VmRSS")
    start = time.perf_counter()
    result = worker.drain()
    seconds = time.perf_counter() - start
    after = status_mib("VmRSS")
    client.close()
    service.close()
    return {
        "entries": total,
        "seconds": seconds,
        "acknowledged": result.acknowledged,
        "problem": _problem(result),
        "before": before,
        "samples": len(samples),
        "peak": max(samples, default=before),
        "hwm": status_mib("VmHWM"),
        "rss_10": marks.get("rss_10", before),
        "rss_100": samples[-1] if samples else before,
        "after": after,
    }


# --- children: the bare reference ----------------------------------------------------------


def pushed_entries(body: bytes, headers: Mapping[str, str]) -> list[dict[str, Any]]:
    """The entries in a push's body as sent (gzipped or not)."""
    raw = gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body
    entries: list[dict[str, Any]] = json.loads(raw)["entries"]
    return entries


class _LocalAnswers(BaseAdapter):
    """An HTTP transport that keeps each push's body and headers and acknowledges it all."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[bytes, dict[str, str]]] = []

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        body = request.body if isinstance(request.body, bytes) else b""
        headers = {k: v for k, v in request.headers.items() if k not in SIGNED_HEADERS}
        self.sent.append((body, headers))
        entries = pushed_entries(body, headers)
        answer: dict[str, Any] = {
            "high_water": entries[-1]["seq"] if entries else 0,
            "stored": len(entries),
            "duplicates": 0,
            "rejected": [],
        }
        response = requests.Response()
        response.status_code = 200
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        # What HTTPAdapter puts here: a urllib3 response (the client reads it with
        # read1(amt, decode_content=True)), not a bare BytesIO.
        response.raw = HTTPResponse(
            body=io.BytesIO(json.dumps(answer).encode()),
            headers=response.headers,
            status=200,
            preload_content=False,
        )
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def record_bodies(data: Path) -> list[tuple[bytes, dict[str, str]]]:
    """The requests a drain of `data` sends, byte for byte (the drain runs on this copy)."""
    appliance = Appliance(make_config(), data)
    service = appliance.open_service(create=False)
    transport = _LocalAnswers()
    client = CrmClient("http://crm.invalid", service.device_id, b"\0" * 32)
    client.session.mount("http://", transport)
    result = SyncWorker(service, client, appliance.config.crm).drain()
    service.close()
    if result.stopped != StopReason.EMPTY:
        raise RuntimeError(f"recording the bodies stopped early: {result}")
    return transport.sent


def measure_bare(data: Path, url: str, code: str) -> dict[str, Any]:
    """Post the recorded bodies, each signed as it goes, with a plain requests.Session."""
    sent = record_bodies(data)
    entries = sum(len(pushed_entries(body, headers)) for body, headers in sent)
    enrolled = requests.post(
        f"{url}/v2/enroll",
        json={"code": code, "device_id": DEVICE},
        headers={PROTOCOL: PROTOCOL_VERSION},
        timeout=DEFAULT_TIMEOUT,
    )
    enrolled.raise_for_status()
    secret = base64.urlsafe_b64decode(enrolled.json()["secret"])
    session = requests.Session()
    session.trust_env = False
    problem = ""
    high_water = 0
    gc.collect()
    cpu, start = time.process_time(), time.perf_counter()
    for body, headers in sent:
        signed = headers | sign(DEVICE, secret, "POST", PUSH_PATH, body)
        response = session.post(url + PUSH_PATH, data=body, headers=signed, timeout=DEFAULT_TIMEOUT)
        if response.status_code != 200:
            problem = f"HTTP {response.status_code}: {response.text[:200]}"
            break
        high_water = int(response.json()["high_water"])
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    session.close()
    if not problem and high_water != entries:
        problem = f"the CRM's high-water mark is {high_water}, not {entries}"
    return {
        "entries": entries,
        "seconds": seconds,
        "cpu": cpu,
        "batches": len(sent),
        "acknowledged": high_water,
        "problem": problem,
    }


# --- the parent ----------------------------------------------------------------------------


def _child(*args: str) -> dict[str, Any]:
    """Run one measuring child; its figures are the last line of its stdout."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.sync", *args], stdout=subprocess.PIPE, text=True, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        return {"problem": f"the {args[0]} child failed with status {proc.returncode}"}
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


def drain_once(kind: str, source: Path, run: Path) -> dict[str, Any]:
    """One child (`drain`, `bare` or `memory`) against a fresh CRM on a fresh database copy."""
    data = run / f"{kind}-kiosk"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(source, data)
    crm_db = run / f"{kind}-crm.db"
    crm = start_crm(crm_db)
    try:
        cpu = time.process_time()  # this process: the CRM's threads
        figures = _child(kind, str(data), crm.url, crm.store.new_code())
        figures["crm_cpu"] = time.process_time() - cpu
        figures["requests"] = crm.requests
    finally:
        stop_crm(crm)
    held = CrmStore(crm_db)
    device = held.view()["devices"].get(DEVICE, {"entries": 0, "high_water": 0})
    held.conn.close()
    expected = figures.get("entries", 0)
    figures["held"] = device["entries"]
    if not figures.get("problem") and device["entries"] != expected:
        figures["problem"] = f"the CRM holds {device['entries']:,} of {expected:,} entries"
    elif not figures.get("problem") and device["high_water"] != expected:
        figures["problem"] = f"the CRM's high-water mark is {device['high_water']:,}"
    shutil.rmtree(data, ignore_errors=True)
    for path in run.glob(f"{kind}-crm.db*"):
        path.unlink()
    return figures


def _problems(rounds: list[dict[str, Any]], who: str) -> list[str]:
    return [f"{who} round {i + 1}: {r['problem']}" for i, r in enumerate(rounds) if r["problem"]]


def _throughput(size: Size, run: Path) -> None:
    source = dataset(size.entries)
    ours: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    for i in range(size.rounds):
        progress(f"sync: drain round {i + 1}/{size.rounds}, bare requests then SyncWorker")
        bare.append(drain_once("bare", source, run))
        ours.append(drain_once("drain", source, run))

    def rate(r: dict[str, Any]) -> float:
        return r.get("acknowledged", 0) / r["seconds"] if r.get("seconds") else 0.0

    def per_batch_ms(rounds: list[dict[str, Any]], key: str) -> float:
        values = [float(r.get(key, 0.0)) / max(1, int(r.get("batches", 0))) for r in rounds]
        return statistics.median(values) * 1000

    problems = _problems(ours, "ours") + _problems(bare, "bare")
    batches = ours[0].get("batches", 0)
    note = (
        f"{size.entries:,} entries, {MEMBERS} members, {batches} batches; reference: the same "
        "gzipped bodies, recorded beforehand, signed and posted in sequence with a bare "
        f"requests.Session; median of {size.rounds} rounds each "
        f"(ours {', '.join(f'{rate(r):,.0f}' for r in ours)}; "
        f"bare {', '.join(f'{rate(r):,.0f}' for r in bare)} entries/s); per batch: "
        f"wall {per_batch_ms(ours, 'seconds'):.1f} vs {per_batch_ms(bare, 'seconds'):.1f} ms, "
        f"client CPU {per_batch_ms(ours, 'cpu'):.1f} vs {per_batch_ms(bare, 'cpu'):.1f} ms, "
        f"CRM CPU {per_batch_ms(ours, 'crm_cpu'):.1f} vs {per_batch_ms(bare, 'crm_cpu'):.1f} "
        "ms"
    )
    if problems:
        note = "FAILED: " + "; ".join(problems) + ". " + note
    report(
        "sync_drain_throughput",
        statistics.median(rate(r) for r in ours),
        "entries/s",
        statistics.median(rate(r) for r in bare),
        aim="ratio >= 0.7",
        note=note,
    )


def _memory(size: Size, run: Path) -> None:
    source = dataset(size.memory_entries)
    progress(f"sync: memory while draining {size.memory_entries:,} entries (one child)")
    m = drain_once("memory", source, run)
    failed = f"FAILED: {m['problem']}. " if m.get("problem") else ""
    if "peak" not in m:
        report(f"sync_peak_rss_draining_{size.memory_entries}_entries", 0, "MiB", 0, note=failed)
        return
    speed = m["acknowledged"] / m["seconds"] if m["seconds"] else 0.0
    report(
        f"sync_peak_rss_draining_{size.memory_entries}_entries",
        m["peak"],
        "MiB",
        m["before"],
        aim=f"value < {RSS_AIM_MB:.0f} and flat",
        note=(
            f"{failed}VmRSS of the kiosk-side child after each of {m['samples']:,} batches; "
            f"reference: the same child right before the drain; VmHWM {m['hwm']:.1f} MiB, "
            f"{m['after']:.1f} MiB after the drain; drained in {m['seconds']:.0f} s "
            f"({speed:,.0f} entries/s)"
        ),
    )
    report(
        "sync_rss_growth_10_to_100_percent",
        m["rss_100"] - m["rss_10"],
        "MiB",
        m["rss_10"],
        aim=f"value < {GROWTH_AIM_MB:.0f} (flat)",
        note=(
            f"{failed}VmRSS {m['rss_10']:.1f} MiB after 10% of {m['entries']:,} entries, "
            f"{m['rss_100']:.1f} MiB after 100%; reference: the RSS at 10% (ratio: the "
            "relative growth)"
        ),
    )


def main(scale: Scale) -> int:
    size = SIZES[scale]
    run = CACHE / f"run-sync-{os.getpid()}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    try:
        _throughput(size, run)
        _memory(size, run)
    finally:
        shutil.rmtree(run, ignore_errors=True)
    return 0


def _child_main(argv: list[str]) -> int:
    command, args = argv[0], argv[1:]
    if command == "generate":
        generate(int(args[0]), Path(args[1]))
        return 0
    measures: dict[str, Callable[[Path, str, str], dict[str, Any]]] = {
        "drain": measure_drain,
        "bare": measure_bare,
        "memory": measure_memory,
    }
    if command not in measures:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(measures[command](Path(args[0]), args[1], args[2])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
