"""The ledger benchmark: lookups, a durable earn and the member summary on a large ledger.

A data set of 1,000,000 members and 5,000,000 entries (`--quick`: 100,000 and 500,000;
`--smoke`: 5,000 and 20,000) is generated once into the real schema and cached under
`bench/.cache/` (or `$BENCH_CACHE`). Each run copies it, then measures in a child
process, timing the kiosk's own code (`LoyaltyService`, opened as the composition root
opens it, and `member_summary`) and its reference alternately, call by call, so that the
machine's moods (other processes, the disk's fsync times) fall on both alike.

The kiosk's personal data is sealed (kiosk/core/store/vault.py: always on); the data set
also holds a clear copy of people and cards (`clear_people`, `clear_cards`, as the schema
was before sealing) in the same file. The reference is the same work written directly
against `sqlite3` with the same pragmas and no encryption: one joined query on the clear
copy for a card or phone lookup (the phone's reference first parses the typed number and
checks it is a valid mobile with the same `phonenumbers` calls; neither checks for expired
lots, which the service does), and for the earn the same rows (entry, balance, lot,
outbox, client transaction, audit row) in one `BEGIN IMMEDIATE` transaction.

What encryption costs on its own (`encryption_lookup_by_*`): the reference's raw lookup on
the sealed tables (blind index, `unseal`, the person's JSON parsed) against the same raw
lookup on the clear copy, alternately.

The summary's reference is the same summary on a ledger of 10,000 entries: the aim is that
the size of the ledger does not show in the time. Peak memory is the measuring child's
(which also holds the reference's connection), against a child running only the raw work.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.common import CACHE, Scale, peak_rss_mb, percentile, progress, report, timings
from kiosk.config.schema import BadgesConfig, MilestoneConfig, OfferConfig
from kiosk.core.store import vault

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DEVICE = "bench-kiosk"
# A bijection on 32 bits (odd multiplier): distinct members get distinct card UIDs.
MIX = 2654435761
GENERATOR_VERSION = 3  # bump when the generated data or the schema changes


@dataclass(frozen=True)
class Size:
    members: int
    entries: int
    heavy: int  # entries of one member with a long history (member 1)
    lookups: int
    earns: int
    summaries: int

    @property
    def label(self) -> str:
        return f"v{GENERATOR_VERSION}-{self.members}m-{self.entries}e-{self.heavy}h"


FULL = Size(1_000_000, 5_000_000, 20_000, lookups=20_000, earns=1_000, summaries=2_000)
QUICK = Size(100_000, 500_000, 2_000, lookups=5_000, earns=300, summaries=500)
SMOKE = Size(5_000, 20_000, 200, lookups=200, earns=20, summaries=100)
SIZES: dict[Scale, Size] = {"full": FULL, "quick": QUICK, "smoke": SMOKE}
SMALL = Size(2_000, 10_000, 0, lookups=0, earns=0, summaries=2_000)


def member_id(m: int) -> str:
    return f"{(m * MIX) % 2**32:08x}-0000-4000-8000-{m:012x}"


def card_uid(m: int) -> str:
    return f"{(m * MIX) % 2**32:08X}"


def typed_phone(m: int) -> str:
    return f"0912 {m:07d}"


# --- generation (in a child process) ----------------------------------------------------

# people and cards in clear, as before sealing (kiosk/core/store/schema.py m010): the raw
# reference reads these, the kiosk the sealed tables with the same rows.
CLEAR_TABLES = """
    CREATE TABLE clear_people (
        member_id TEXT PRIMARY KEY REFERENCES members(member_id),
        phone TEXT NOT NULL UNIQUE,
        name TEXT,
        birthday TEXT,
        language TEXT,
        consent_marketing INTEGER NOT NULL DEFAULT 0,
        consent_version TEXT,
        consent_at TEXT
    );
    CREATE TABLE clear_cards (
        uid TEXT PRIMARY KEY,
        member_id TEXT REFERENCES members(member_id),
        staff_id TEXT REFERENCES staff(staff_id),
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
        linked_at TEXT NOT NULL,
        blocked_at TEXT,
        CHECK ((member_id IS NULL) <> (staff_id IS NULL))
    );
    CREATE INDEX clear_cards_by_member ON clear_cards(member_id) WHERE member_id IS NOT NULL;
"""

_MEMBER_ID_SQL = "printf('%08x-0000-4000-8000-%012x', (m * {mix}) % 4294967296, m)"


def generate(size: Size, target: Path) -> None:
    """Write the data set into `target/kiosk.db` through the real schema."""
    from kiosk.bootstrap import Appliance
    from kiosk.config import load_config

    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    config = load_config(
        None,
        [f'device.id="{DEVICE}"', "security.pin_scrypt_n=1024"],
        environ={},
        system_file=Path("/nonexistent"),
    )
    appliance = Appliance(config, partial)
    appliance.open_service().close()  # schema, device id and data key, as on a device
    conn = sqlite3.connect(partial / "kiosk.db", isolation_level=None)
    # The generator seals as the kiosk does: the data dir's key source (its `data-key` file
    # here, copied along with the database) unwraps the data key stored by open_service.
    vault.install(conn, appliance.key_source())
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    now_epoch = int(NOW.timestamp())
    member_sql = _MEMBER_ID_SQL.format(mix=MIX)
    counter = "WITH RECURSIVE n(m) AS (SELECT 1 UNION ALL SELECT m + 1 FROM n WHERE m < :count)"
    # The reference's clear tables: people and cards as they were before sealing (schema
    # m010), in the same file, so that both sides read the same members from the same cache.
    conn.executescript(CLEAR_TABLES)
    conn.execute("BEGIN")
    progress(f"generating {size.members:,} members (sealed, and a clear copy for the reference)")
    conn.execute(
        f"{counter} INSERT INTO members (member_id, created_at, enrolled_on_device, tier) "
        f"SELECT {member_sql}, '2025-01-01T00:00:00.000000Z', :dev, 'bronze' FROM n",
        {"count": size.members, "dev": DEVICE},
    )
    conn.execute(
        f"{counter} INSERT INTO clear_people (member_id, phone, language) "
        f"SELECT {member_sql}, printf('+98912%07d', m), 'fa' FROM n",
        {"count": size.members},
    )
    conn.execute(
        f"{counter} INSERT INTO clear_cards (uid, member_id, linked_at) "
        f"SELECT printf('%08X', (m * {MIX}) % 4294967296), {member_sql}, "
        "'2025-01-01T00:00:00.000000Z' FROM n",
        {"count": size.members},
    )
    conn.execute(
        "INSERT INTO people (member_id, phone_index, sealed, language) "
        "SELECT member_id, blind('phone', phone), "
        "seal(json_object('phone', phone, 'name', name, 'birthday', birthday), "
        "'person:' || member_id), language FROM clear_people ORDER BY member_id"
    )
    conn.execute(
        "INSERT INTO cards (uid_index, sealed, member_id, linked_at) "
        "SELECT blind('card', uid), seal(uid, 'card:' || blind('card', uid)), member_id, "
        "linked_at FROM clear_cards ORDER BY blind('card', uid)"
    )
    progress(f"generating {size.entries:,} entries")
    # Entry i belongs to member 1 while i <= heavy, then to members round-robin; its time
    # falls in the last 360 days, so every lot is still open at NOW.
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count), "
        "e(i, m, points, at) AS (SELECT i, "
        "CASE WHEN i <= :heavy THEN 1 ELSE ((i - 1) % :members) + 1 END, "
        "1 + (i * 37) % 100, :now - 3600 - (i * 7919) % (360 * 86400) FROM n) "
        "INSERT INTO entries (entry_id, device_id, seq, kind, member_id, points, amount, "
        "currency, cashier_id, created_at, client_txn_id, reason, expires_at) "
        "SELECT printf('%08x-%04x-4%03x-8%03x-%012x', abs(random()) % 4294967296, "
        "i % 65536, i % 4096, (i / 4096) % 4096, i), :dev, i, "
        "CASE WHEN i % 5 = 0 THEN 'bonus' ELSE 'earn' END, "
        f"{member_sql}, points, "
        "CASE WHEN i % 5 = 0 THEN NULL ELSE points * 100000 END, "
        "CASE WHEN i % 5 = 0 THEN NULL ELSE 'IRR' END, 'gen', "
        "strftime('%Y-%m-%dT%H:%M:%S.000000Z', at, 'unixepoch'), printf('gen-%d', i), "
        "CASE WHEN i % 5 = 0 THEN 'enrollment' END, "
        "strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 365 * 86400, 'unixepoch') FROM e",
        {
            "count": size.entries,
            "heavy": size.heavy,
            "members": size.members,
            "now": now_epoch,
            "dev": DEVICE,
        },
    )
    progress("opening a lot for every credit and setting balances")
    conn.execute(
        "INSERT INTO lots (lot_id, member_id, expires_at, remaining) "
        "SELECT entry_id, member_id, expires_at, points FROM entries"
    )
    conn.execute(
        "CREATE TEMP TABLE sums AS SELECT member_id, sum(points) AS total "
        "FROM entries GROUP BY member_id"
    )
    conn.execute(
        "UPDATE members SET balance = sums.total FROM sums WHERE sums.member_id = members.member_id"
    )
    conn.execute(
        "INSERT INTO earned_days (member_id, day, points) "
        "SELECT member_id, substr(created_at, 1, 10), SUM(points) FROM entries "
        "WHERE kind = 'earn' GROUP BY 1, 2"
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def dataset(size: Size) -> Path:
    """The cached data directory of `size`, generated (in a child process) when missing."""
    target = CACHE / size.label
    if not (target / "kiosk.db").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "bench.ledger", "generate", json.dumps(size.__dict__), target],
            check=True,
        )
    return target


# --- measurement (in child processes) ---------------------------------------------------


def _sample(size: Size, count: int, seed: int, *, distinct: bool = False) -> list[int]:
    """Random ordinary members (member 1 has the long history)."""
    rng = random.Random(seed)
    if distinct:  # two earns of one member within minutes are refused by the fraud limits
        return rng.sample(range(2, size.members + 1), count)
    return [rng.randint(2, size.members) for _ in range(count)]


def _figures(values: list[float]) -> dict[str, float]:
    return {"p50": percentile(values, 50) * 1e6, "p99": percentile(values, 99) * 1e6}


def paired(
    ours: Callable[[int], object],
    reference: Callable[[int], object],
    our_inputs: list[int],
    reference_inputs: list[int],
) -> tuple[dict[str, float], dict[str, float]]:
    """Time `ours` and `reference` alternately, so that the machine's moods hit both alike."""
    clock = time.perf_counter
    a: list[float] = []
    b: list[float] = []
    for x, y in zip(our_inputs, reference_inputs, strict=True):
        start = clock()
        ours(x)
        a.append(clock() - start)
        start = clock()
        reference(y)
        b.append(clock() - start)
    return _figures(a), _figures(b)


# Two offers running all day (docs/program.md, "Limited-time offers").
TWO_OFFERS = (
    OfferConfig(id="double", name_en="Double points", multiplier=Decimal(2)),
    OfferConfig(id="basket", name_en="Big basket", bonus=10, min_amount=1_000_000),
)


# Streaks and badges on (docs/program.md, "Streaks and badges"): each purchase reads the
# member's visit days and badges from the ledger, and may write a badge's bonus entry.
BADGES = BadgesConfig(
    streak_weeks=(4, 8),
    streak_bonus=30,
    milestones=(MilestoneConfig(10, 50), MilestoneConfig(50, 200)),
    tier_bonus=80,
)


def measure_service(size: Size, data: Path, small: Path) -> dict[str, Any]:
    from kiosk.bootstrap import Appliance
    from kiosk.config import load_config
    from kiosk.core.clock import ManualClock
    from kiosk.core.store.staff import Actor
    from kiosk.core.summary import member_summary

    config = load_config(None, [], environ={}, system_file=Path("/nonexistent"))
    clock = ManualClock(NOW)
    appliance = Appliance(config, data, clock=clock)
    service = appliance.open_service(create=False)
    raw = RawKiosk(data / "kiosk.db", start=NOW + timedelta(days=2))
    sealed = SealedLookups(data / "kiosk.db", appliance.key_source())
    cashier = Actor(actor_id="bench", role="cashier")
    out: dict[str, Any] = {}

    def by_card(m: int) -> None:
        service.identify_card(card_uid(m))

    def by_phone(m: int) -> None:
        service.identify_phone(typed_phone(m))

    timings(by_card, _sample(size, 1_000, 1))  # warm the caches
    timings(raw.by_card, _sample(size, 1_000, 1))
    n = size.lookups
    out["card"], out["raw_card"] = paired(
        by_card, raw.by_card, _sample(size, n, 2), _sample(size, n, 12)
    )
    out["phone"], out["raw_phone"] = paired(
        by_phone, raw.by_phone, _sample(size, n, 3), _sample(size, n, 13)
    )
    # Encryption on its own: the same raw lookup on the sealed tables and on the clear ones.
    timings(sealed.by_card, _sample(size, 1_000, 1))
    out["sealed_card"], out["clear_card"] = paired(
        sealed.by_card, raw.by_card, _sample(size, n, 22), _sample(size, n, 32)
    )
    out["sealed_phone"], out["clear_phone"] = paired(
        sealed.by_phone, raw.by_phone, _sample(size, n, 23), _sample(size, n, 33)
    )
    sealed.close()

    def earn(m: int) -> None:
        clock.advance(seconds=1)
        service.earn(member_id(m), 1_500_000, cashier=cashier, client_txn_id=str(uuid.uuid4()))

    # Distinct members across both, so that no fraud limit refuses a purchase.
    members = _sample(size, 2 * size.earns, 4, distinct=True)
    out["earn"], out["raw_earn"] = paired(
        earn, raw.earn, members[: size.earns], members[size.earns :]
    )
    # The same earn with two offers running (a multiplier and a fixed bonus, as a pulled
    # program would carry them): what choosing and combining offers adds to a purchase.
    service.program = replace(service.program, offers=TWO_OFFERS)
    clock.advance(hours=1)  # past the spacing between one member's purchases
    members = _sample(size, 2 * size.earns, 7, distinct=True)
    out["earn_offers"], out["raw_earn_offers"] = paired(
        earn, raw.earn, members[: size.earns], members[size.earns :]
    )
    # And with the badges on as well: what evaluating streaks and milestones adds.
    service.program = replace(service.program, badges=BADGES)
    # Past the raw reference's purchases too (written from NOW + 2 days): a member it drew
    # before would otherwise have a purchase "in the future" and be refused as too soon.
    clock.advance(days=3)
    members = _sample(size, 2 * size.earns, 8, distinct=True)
    out["earn_badges"], out["raw_earn_badges"] = paired(
        earn, raw.earn, members[: size.earns], members[size.earns :]
    )
    raw.close()

    small_service = Appliance(config, small, clock=ManualClock(NOW)).open_service(create=False)

    def summary(m: int) -> None:
        member_summary(service, member_id(m))

    def small_summary(m: int) -> None:
        member_summary(small_service, member_id(m))

    timings(small_summary, _sample(SMALL, 200, 1))
    count = SMALL.summaries
    out["summary"], out["summary_small"] = paired(
        summary, small_summary, _sample(size, count, 5), _sample(SMALL, count, 15)
    )
    out["summary_heavy"] = _figures(timings(summary, [1] * 50))
    service.close()
    small_service.close()
    out["rss_mb"] = peak_rss_mb()
    return out


def _raw_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=5000",
        "PRAGMA trusted_schema=OFF",
        "PRAGMA secure_delete=ON",  # as the kiosk's (erasure overwrites what it deletes)
    ):
        conn.execute(pragma)
    return conn


_MEMBER = "m.member_id, m.created_at, m.status, m.balance, m.tier, m.tier_since, m.tier_until"
_CONSENT = "p.language, p.consent_marketing, p.consent_version, p.consent_at"
_COLUMNS = f"{_MEMBER}, p.phone, p.name, p.birthday, {_CONSENT}"
_SEALED_COLUMNS = f"{_MEMBER}, unseal(p.sealed, 'person:' || p.member_id), {_CONSENT}"


def _e164(typed: str) -> str:
    """The typed number parsed and checked to be a mobile, as the kiosk does."""
    import phonenumbers

    number = phonenumbers.parse(typed, "IR")
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValueError("not a mobile number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


class RawKiosk:
    """The reference: the same work written straight against sqlite3, on clear data.

    Its lookups read `clear_people` and `clear_cards` (the same rows unsealed, as the
    schema was before m011), so nothing on this side decrypts.
    """

    def __init__(self, path: Path, *, start: datetime) -> None:
        self.conn = _raw_connect(path)
        self.moment = start

    def close(self) -> None:
        self.conn.close()

    def by_card(self, m: int) -> None:
        self.conn.execute(
            f"SELECT c.uid, c.status, {_COLUMNS} FROM clear_cards c "
            "LEFT JOIN members m ON m.member_id = c.member_id "
            "LEFT JOIN clear_people p ON p.member_id = m.member_id WHERE c.uid = ?",
            (card_uid(m).upper(),),
        ).fetchone()

    def by_phone(self, m: int) -> None:
        self.conn.execute(
            f"SELECT {_COLUMNS} FROM clear_people p JOIN members m ON m.member_id = p.member_id "
            "WHERE p.phone = ?",
            (_e164(typed_phone(m)),),
        ).fetchone()

    def earn(self, m: int) -> None:
        conn = self.conn
        self.moment += timedelta(seconds=1)
        at = self.moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        expires = (self.moment + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        mid, entry, txn = member_id(m), str(uuid.uuid4()), str(uuid.uuid4())
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("SELECT balance FROM members WHERE member_id = ?", (mid,)).fetchone()
        seq = conn.execute(
            "SELECT coalesce(max(seq), 0) + 1 FROM entries WHERE device_id = ?", (DEVICE,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO entries (entry_id, device_id, seq, kind, member_id, points, amount, "
            "currency, cashier_id, created_at, client_txn_id, expires_at) "
            "VALUES (?, ?, ?, 'earn', ?, 15, 1500000, 'IRR', 'bench', ?, ?, ?)",
            (entry, DEVICE, seq, mid, at, txn, expires),
        )
        conn.execute("UPDATE members SET balance = balance + 15 WHERE member_id = ?", (mid,))
        conn.execute(
            "INSERT INTO outbox (entry_id, device_id, seq) VALUES (?, ?, ?)", (entry, DEVICE, seq)
        )
        conn.execute(
            "INSERT INTO lots (lot_id, member_id, expires_at, remaining) VALUES (?, ?, ?, 15)",
            (entry, mid, expires),
        )
        conn.execute(
            "INSERT INTO client_txns (txn_id, operation, fingerprint, result, created_at) "
            "VALUES (?, 'earn', '', '{}', ?)",
            (txn, at),
        )
        conn.execute(
            "INSERT INTO audit (at, actor, action, target, outcome, details) "
            "VALUES (?, 'bench', 'earn', ?, 'ok', ?)",
            (at, entry, json.dumps({"member_id": mid, "points": 15})),
        )
        conn.execute("COMMIT")


class SealedLookups:
    """The reference's lookups on the sealed tables: what encryption costs on its own.

    The same raw queries as RawKiosk's, on its own connection with the vault's SQL
    functions: the key is its blind index (one HMAC), the person's phone, name and
    birthday one sealed JSON opened (AES-GCM) and parsed, the card id opened.
    """

    def __init__(self, path: Path, keys: vault.KeySource) -> None:
        self.conn = _raw_connect(path)
        vault.install(self.conn, keys)

    def close(self) -> None:
        self.conn.close()

    def by_card(self, m: int) -> None:
        row = self.conn.execute(
            f"SELECT unseal(c.sealed, 'card:' || c.uid_index), c.status, {_SEALED_COLUMNS} "
            "FROM cards c LEFT JOIN members m ON m.member_id = c.member_id "
            "LEFT JOIN people p ON p.member_id = m.member_id "
            "WHERE c.uid_index = blind('card', ?)",
            (card_uid(m).upper(),),
        ).fetchone()
        json.loads(row[9])

    def by_phone(self, m: int) -> None:
        row = self.conn.execute(
            f"SELECT {_SEALED_COLUMNS} FROM people p JOIN members m ON m.member_id = p.member_id "
            "WHERE p.phone_index = blind('phone', ?)",
            (_e164(typed_phone(m)),),
        ).fetchone()
        json.loads(row[7])


def measure_raw(size: Size, data: Path) -> dict[str, Any]:
    """The raw reference alone in its process, for its peak memory."""
    raw = RawKiosk(data / "kiosk.db", start=NOW + timedelta(days=3))
    timings(raw.by_card, _sample(size, size.lookups, 2))
    timings(raw.by_phone, _sample(size, size.lookups, 3))
    timings(raw.earn, _sample(size, size.earns, 6, distinct=True))
    raw.close()
    return {"rss_mb": peak_rss_mb()}


# --- the parent ------------------------------------------------------------------------


def _child(*args: str) -> tuple[dict[str, Any], float]:
    """Run one measurement child; returns its figures and the peak RSS (MiB) it reported.

    The child reports its own VmHWM: wait4's ru_maxrss would include this parent's memory
    at the fork (both children showed the parent's 39 MiB, and the ratio was always 1).
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.ledger", *args], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, _usage = os.wait4(proc.pid, 0)  # its ru_maxrss: the parent's peak at fork
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {args[0]} failed with status {proc.returncode}")
    figures = json.loads(output)
    return figures, float(figures["rss_mb"])


def main(scale: Scale) -> int:
    size = SIZES[scale]
    source = dataset(size)
    small = dataset(SMALL)
    run = CACHE / f"run-{os.getpid()}"
    shutil.rmtree(run, ignore_errors=True)
    progress(f"copying the {size.entries:,}-entry ledger for this run")
    shutil.copytree(source, run)
    try:
        spec = json.dumps(size.__dict__)
        progress("measuring the kiosk service and raw sqlite3 (alternately)")
        svc, svc_rss = _child("measure-service", spec, str(run), str(small))
        progress("measuring raw sqlite3 alone (memory reference)")
        _, raw_rss = _child("measure-raw", spec, str(run))
    finally:
        shutil.rmtree(run, ignore_errors=True)

    data_set = f"{size.members:,} members, {size.entries:,} entries"
    for op, label, aim in (
        ("card", "lookup_by_card", "ratio <= 2"),
        ("phone", "lookup_by_phone", "ratio <= 2"),
        ("earn", "durable_earn", "ratio <= 1.5"),
        ("earn_offers", "durable_earn_two_offers", "ratio <= 1.5"),
        ("earn_badges", "durable_earn_two_offers_badges", "ratio <= 1.5"),
    ):
        for pct in ("p50", "p99"):
            report(
                f"{label}_{pct}", svc[op][pct], "us", svc[f"raw_{op}"][pct], aim=aim, note=data_set
            )
    for op, label in (("card", "lookup_by_card"), ("phone", "lookup_by_phone")):
        for pct in ("p50", "p99"):
            report(
                f"encryption_{label}_{pct}",
                svc[f"sealed_{op}"][pct],
                "us",
                svc[f"clear_{op}"][pct],
                note="encryption alone: the raw query on the sealed tables (blind index, "
                "unseal, JSON) vs the same raw query on a clear copy; no aim",
            )
    for pct in ("p50", "p99"):
        report(
            f"summary_{size.entries}_vs_10000_entries_{pct}",
            svc["summary"][pct],
            "us",
            svc["summary_small"][pct],
            aim="ratio <= 1.5",
            note="reference: the same summary on a 10,000-entry ledger",
        )
    report(
        f"summary_member_with_{size.heavy}_entries_p50",
        svc["summary_heavy"]["p50"],
        "us",
        svc["summary"]["p50"],
        note="reference: a member with ~5 entries on the same ledger (no aim; shown for scale)",
    )
    report(
        "peak_rss",
        svc_rss,
        "MiB",
        raw_rss,
        aim="value < 200",
        note="the service child (which also ran the raw reference) vs a raw-only child",
    )
    return 0 if svc_rss < 200 else 1


def _child_main(argv: list[str]) -> int:
    command, spec = argv[0], Size(**json.loads(argv[1]))
    if command == "generate":
        generate(spec, Path(argv[2]))
        return 0
    if command == "measure-raw":
        print(json.dumps(measure_raw(spec, Path(argv[2]))))
        return 0
    if command == "measure-service":
        print(json.dumps(measure_service(spec, Path(argv[2]), Path(argv[3]))))
        return 0
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
