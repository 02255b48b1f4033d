"""The panel benchmark: each dashboard and report query on a chain of a million members.

A database of the hub's schema (`python -m hub migrate`) is filled in SQL
(generate_series, foreign-key triggers off while loading): 20 branches with two devices
each, 1,000,000 members (a few merged, one in 200 erased, one in ten using a second
branch) and 10,000,000 entries over three years (earns mostly, redemptions, bonuses,
adjustments, voids, expiries; a few members buy much more than the rest). `--quick`:
20,000 members and 200,000 entries; `--smoke`: 2,000 and 20,000.

It is kept for the next run (the full size takes minutes to make): as a database named
by its size and generator version on the server of `HUB_TEST_DATABASE_URL` (make hub-db's),
or in a cluster of the benchmark's own in `BENCH_CACHE/panel-pg` otherwise;
`BENCH_PANEL_FRESH=1` makes it again. The smoke size is made afresh and dropped.

Each figure is one of hub/insights' functions, run in this process through Django as the
panel's views run it, against the bare SQL behind it: the very statements and parameters
that call sent (recorded with Django's `execute_wrapper`), replayed with psycopg alone on
a connection of its own, no Django, no Python around them. The two alternate call by call,
30 pairs, or fewer (5 at least) once a figure has taken two minutes.

- `panel_dashboard_p95` (ms): `dashboard()` of the whole chain; aim under 300 ms and
  within 2x of the bare SQL.
- `panel_dashboard_branch_p95`: a branch manager's dashboard (one branch).
- `panel_by_day_p95`, `panel_rewards_p95`: the last 30 days' visits and purchases by day
  and branch, and rewards redeemed.
- `panel_tiers_p95`, `panel_rfm_p95`: tier distribution (a year's earnings), RFM segments.
- `panel_inactive_p95`: the first page of members with no visit in 90 days.
- `panel_birthdays_p95`: the first page of birthdays in the next 7 days.
- `panel_member_search_by_phone_p99`: hub/members/search.py's `find()` of a phone number
  as typed (Persian digits, a leading 0), against the statements it sends, bare.

Without PostgreSQL the benchmark says so on stderr and prints nothing.
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench.common import CACHE, Scale, percentile, progress, report

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "hub" / "local_postgres.sh"
GENERATOR = 2  # the data set's version: a change to the generator makes a new one
WAIT = 600.0  # a safety limit for `hub migrate` and the cluster's start, never a pace
AIM = "p95 < 300 ms and ratio <= 2"
# A figure's pairs of calls stop after this many seconds (a report that takes seconds
# would hold the run for an hour); its note says how many were timed.
BUDGET = 120.0
MIN_RUNS = 5


@dataclass(frozen=True)
class Size:
    name: str
    members: int
    entries: int
    branches: int
    days: int
    runs: int  # timed calls of each query (and as many of its bare SQL)


FULL = Size("full", 1_000_000, 10_000_000, 20, 1095, 30)
QUICK = Size("quick", 20_000, 200_000, 20, 1095, 30)
SMOKE = Size("smoke", 2_000, 20_000, 20, 1095, 3)
SIZES: dict[Scale, Size] = {"full": FULL, "quick": QUICK, "smoke": SMOKE}


def main(scale: Scale) -> int:
    """Make (or reuse) the data set, then time each query against its bare SQL."""
    size = SIZES[scale]
    try:
        server = _Server.start(keep=scale != "smoke")
    except _Unavailable as exc:
        progress(f"panel: skipped: {exc}")
        return 0
    try:
        url = server.data_set(size)
        _measure(url, size)
    finally:
        server.close()
    return 0


class _Unavailable(Exception):
    """No PostgreSQL here."""


@dataclass
class _Server:
    admin_url: str
    folder: Path | None  # our own cluster's
    keep: bool  # keep the data set for the next run
    made: list[str]

    @classmethod
    def start(cls, *, keep: bool) -> _Server:
        given = os.environ.get("HUB_TEST_DATABASE_URL")
        if given:
            try:
                psycopg.connect(given, autocommit=True).close()
            except psycopg.Error as exc:
                raise _Unavailable(f"HUB_TEST_DATABASE_URL cannot be reached: {exc}") from exc
            return cls(given, None, keep, [])
        # The cluster's folder is kept with the cache; the smoke size's is thrown away.
        folder = CACHE / "panel-pg" if keep else Path(tempfile.mkdtemp(prefix="bench-panel-pg-"))
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)  # the `postgres` user (the cluster's owner under root) reads it
        started = subprocess.run(
            [str(SCRIPT), "start", str(folder), "--no-tcp", "--fast", "--db", "bench_admin"],
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        if started.returncode != 0:
            why = started.stderr.strip() or "hub/local_postgres.sh failed"
            raise _Unavailable(f"{why} (make hub-packages installs it)")
        return cls(started.stdout.strip(), folder, keep, [])

    def url(self, database: str) -> str:
        return urlunsplit(urlsplit(self.admin_url)._replace(path=f"/{database}"))

    def data_set(self, size: Size) -> str:
        """The URL of the data set of this size, made now unless a complete one is kept."""
        name = f"bench_panel_{size.name}_v{GENERATOR}"
        if not self.keep:
            name += f"_{os.getpid()}"
        fresh = os.environ.get("BENCH_PANEL_FRESH") == "1" or not self.keep
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists and not fresh and _complete(self.url(name)):
                progress(f"panel: reusing the data set {name} (migrated to this schema)")
                _migrate(self.url(name), again=True)  # an index added since is made now, once
                return self.url(name)
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        if not self.keep:
            self.made.append(name)
        _make(self.url(name), size)
        return self.url(name)

    def close(self) -> None:
        if self.made:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                for name in self.made:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if self.folder is not None:
            stop = [str(SCRIPT), "stop", str(self.folder)]
            subprocess.run(stop, capture_output=True, check=False, timeout=WAIT)
            if not self.keep:
                shutil.rmtree(self.folder, ignore_errors=True)


def _complete(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass('bench_panel_ready') IS NOT NULL").fetchone()
        return bool(found and found[0])


def _hub_env(url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DJANGO"))}
    return env | {
        "HUB_DATABASE_URL": url,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_DB_POOL_MAX": "0",
        "PYTHONPATH": str(ROOT),
    }


# What the generator writes (psycopg's named parameters: the size).
_BRANCHES = """
INSERT INTO hub_branch (name, created_at)
SELECT 'Branch ' || lpad(i::text, 2, '0'), now() - interval '4 years'
FROM generate_series(1, %(branches)s) i
"""
# Two devices a branch; one in five not heard from for two hours (needing attention).
_DEVICES = """
INSERT INTO hub_device (branch_id, device_id, secret, created_at, enrolled_at, last_seen_at,
                        last_heartbeat)
SELECT b.id, 'bench-' || b.id || '-' || k, '\\x00'::bytea, now(), now(),
       now() - CASE WHEN (b.id * 2 + k) %% 5 = 0 THEN interval '2 hours'
                    ELSE interval '1 minute' END,
       jsonb_build_object('version', '0.1.0', 'queue_depth', (b.id * 7 + k) %% 40,
                          'oldest_unsynced_at', NULL, 'disk_free_bytes', 8589934592,
                          'clock_offset_ms', -40,
                          'readers', jsonb_build_array(jsonb_build_object('name', 'sim',
                                                                           'state', 'connected')))
FROM hub_branch b CROSS JOIN generate_series(0, 1) k
ORDER BY b.id, k
"""
_MEMBERS = """
INSERT INTO hub_member (member_id, status, created_at, updated_at, received_at, phone, name,
                        birthday, language, consent_marketing)
SELECT 'm' || lpad(i::text, 8, '0'),
       CASE WHEN i %% 200 = 0 THEN 'erased' ELSE 'active' END,
       at, at, at,
       CASE WHEN i %% 200 = 0 THEN NULL ELSE '+98912' || lpad(i::text, 7, '0') END,
       CASE WHEN i %% 200 = 0 THEN NULL ELSE 'Member ' || i END,
       CASE WHEN i %% 200 = 0 THEN NULL ELSE date '1960-01-01' + (random() * 16000)::int END,
       CASE WHEN i %% 200 = 0 THEN NULL WHEN i %% 5 = 0 THEN 'en' ELSE 'fa' END,
       i %% 3 = 0
FROM (SELECT i, now() - random() * %(days)s * interval '1 day' AS at
      FROM generate_series(1, %(members)s) i) s
"""
# One enrollment in a thousand made again elsewhere and merged into the first.
_ALIASES = """
INSERT INTO hub_member (member_id, status, created_at, updated_at, received_at,
                        consent_marketing, merged_into)
SELECT 'a' || lpad(i::text, 8, '0'), 'active', now(), now(), now(), false,
       'm' || lpad(i::text, 8, '0')
FROM generate_series(1000, %(members)s, 1000) i
"""
_BRANCH_MEMBERS = """
INSERT INTO hub_branch_member (branch_id, member_id, since)
SELECT %(first_branch)s + (i %% %(branches)s), 'm' || lpad(i::text, 8, '0'), now()
FROM generate_series(1, %(members)s) i
UNION ALL
SELECT %(first_branch)s + ((i + 1) %% %(branches)s), 'm' || lpad(i::text, 8, '0'), now()
FROM generate_series(10, %(members)s, 10) i
UNION ALL
SELECT %(first_branch)s + (i %% %(branches)s), 'a' || lpad(i::text, 8, '0'), now()
FROM generate_series(1000, %(members)s, 1000) i
"""
# Members drawn as random()^2: the low ids buy far more often than the rest. Each entry at
# a device of the member's first branch (an alias's entries: one in a thousand). Written in
# the order of their time, as a ledger fills: the table is as clustered by time as the
# hub's own (devices push within minutes of a sale).
_ENTRIES = """
INSERT INTO hub_entry (device_id, entry_id, seq, status, member_id, kind, points, amount,
                       currency, created_at, reverses, reward_id, as_pushed, received_at)
SELECT %(first_device)s + ((mem %% %(branches)s) * 2) + (g %% 2),
       md5(g::text), g, 'stored',
       CASE WHEN mem %% 1000 = 0 AND g %% 3 = 0 THEN 'a' ELSE 'm' END || lpad(mem::text, 8, '0'),
       kind,
       CASE kind WHEN 'earn' THEN pts WHEN 'redeem' THEN -200 WHEN 'bonus' THEN 50
                 WHEN 'adjust' THEN 10 WHEN 'reversal' THEN -pts ELSE -5 END,
       CASE WHEN kind IN ('earn', 'reversal') THEN pts * 100000 + (g %% 99991) END,
       CASE WHEN kind IN ('earn', 'reversal') THEN 'IRR' END,
       at,
       CASE WHEN kind = 'reversal' THEN md5((g - 1)::text) END,
       CASE WHEN kind = 'redeem'
            THEN (ARRAY['coffee', 'discount-100k', 'percent-10'])[1 + g %% 3] END,
       '{}', at
FROM (
    SELECT g, mem, at, 1 + (g %% 50) AS pts,
           CASE WHEN r < 0.80 THEN 'earn' WHEN r < 0.88 THEN 'redeem' WHEN r < 0.93 THEN 'bonus'
                WHEN r < 0.96 THEN 'adjust' WHEN r < 0.98 THEN 'reversal' ELSE 'expire' END AS kind
    FROM (SELECT row_number() OVER (ORDER BY at) AS g, mem, r, at
          FROM (SELECT 1 + floor(%(members)s * power(random(), 2))::int AS mem, random() AS r,
                       now() - random() * %(days)s * interval '1 day' AS at
                FROM generate_series(1, %(entries)s)) drawn) raw
) x
ORDER BY g
"""
_BALANCES = """
INSERT INTO hub_balance (member_id, balance, updated_at)
SELECT COALESCE(m.merged_into, m.member_id), sum(e.points), now()
FROM hub_entry e JOIN hub_member m ON m.member_id = e.member_id
GROUP BY 1
"""


def _make(url: str, size: Size) -> None:
    """Migrate a new database and fill it (progress on stderr: it takes minutes at full)."""
    started = time.perf_counter()
    _migrate(url)
    params: dict[str, Any] = {
        "branches": size.branches,
        "members": size.members,
        "entries": size.entries,
        "days": size.days,
    }
    with psycopg.connect(url) as conn:
        conn.execute("SELECT setseed(0.18)")
        # Foreign-key triggers off while loading (the rows are made consistent): the
        # checks would cost a look-up per entry. A superuser's setting, for this session.
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '256MB'")
        for label, statement in (
            ("branches", _BRANCHES),
            ("devices", _DEVICES),
            ("members", _MEMBERS),
            ("merged members", _ALIASES),
            ("members' branches", _BRANCH_MEMBERS),
            ("entries", _ENTRIES),
            ("balances", _BALANCES),
        ):
            if label == "members' branches":
                params["first_branch"] = _one(conn, "SELECT min(id) FROM hub_branch")
            if label == "entries":
                params["first_device"] = _one(conn, "SELECT min(id) FROM hub_device")
            progress(f"panel: making {label} ({time.perf_counter() - started:.0f} s)")
            conn.execute(statement, params)
        conn.execute("CREATE TABLE bench_panel_ready (generator int)")
        conn.execute("INSERT INTO bench_panel_ready VALUES (%s)", (GENERATOR,))
    with psycopg.connect(url, autocommit=True) as conn:
        progress(f"panel: vacuum analyze ({time.perf_counter() - started:.0f} s)")
        conn.execute("VACUUM (ANALYZE)")
    progress(f"panel: data set made in {time.perf_counter() - started:.0f} s")


def _migrate(url: str, *, again: bool = False) -> None:
    """`python -m hub migrate` on a new database; `again`: Django's own `migrate` on a kept
    one (`hub migrate` would ask for the owner's key its first run made, long gone)."""
    from hub.environment import create_secret_key

    command = ["django", "migrate", "--noinput"] if again else ["hub", "migrate"]
    with tempfile.TemporaryDirectory(prefix="bench-panel-hub-") as data_dir:
        create_secret_key(Path(data_dir) / "secret-key")
        env = _hub_env(url, Path(data_dir)) | {"DJANGO_SETTINGS_MODULE": "hub.settings"}
        done = subprocess.run(
            [sys.executable, "-m", *command],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=WAIT * 6,  # a new index on ten million entries
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"hub migrate failed: {done.stderr.strip()}")


def _one(conn: psycopg.Connection[Any], sql: str) -> int:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def _django(url: str, data_dir: Path) -> None:
    """Django in this process, on the data set (as a `hub serve` worker has it)."""
    import django
    from django.apps import apps
    from django.db import connections

    from hub.environment import create_secret_key, database_settings

    create_secret_key(data_dir / "secret-key")
    if not apps.ready:
        os.environ.update(
            {k: v for k, v in _hub_env(url, data_dir).items() if k.startswith("HUB_")}
        )
        os.environ["DJANGO_SETTINGS_MODULE"] = "hub.settings"
        django.setup()
    connection = connections["default"]
    connection.close()
    connection.settings_dict.update(database_settings(url, 0))


@dataclass(frozen=True)
class _Viewer:
    branch_ids: frozenset[int] | None = None
    sees_personal: bool = True


def _measure(url: str, size: Size) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-panel-django-") as data_dir:
        _django(url, Path(data_dir))
        _rollups(url)
        _measure_queries(url, size)
        _measure_upkeep(url, size)


def _rollups(url: str) -> None:
    """The panel's rollups (hub/insights/rollup.py), made once for a data set: it was
    loaded with the triggers off. Then anything noted since is worked out, as the worker
    would have, so that no page below works out a day while it is timed."""
    from hub.insights import rollup, upkeep

    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass('bench_panel_rollups') IS NOT NULL").fetchone()
        built = bool(found and found[0])
    if not built:
        started = time.perf_counter()
        progress("panel: making the rollups (once for a data set)")
        upkeep.rebuild()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_panel_rollups (made timestamptz)")
            conn.execute("INSERT INTO bench_panel_rollups VALUES (now())")
        progress(f"panel: rollups made in {time.perf_counter() - started:.0f} s")
    rollup.refresh_days()
    rollup.refresh_liability()


# A worker's round after a push: this many entries written across the last 30 days (with
# their members' balances), as kiosks coming back online would push them.
ROUND_ENTRIES = 1000


def _measure_upkeep(url: str, size: Size) -> None:
    """What the rollups cost to keep: a worker's round after ROUND_ENTRIES new entries
    against one chain's dashboard worked out live (what each page cost before them); and
    the nightly reports of the chain (tiers and RFM) against their bare SQL."""
    from django.utils import timezone

    from hub.insights import dashboard as board
    from hub.insights import reports, rollup, upkeep
    from hub.insights.scope import Scope

    chain = Scope()

    def push(number: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(_ROUND_PUSH, {"n": ROUND_ENTRIES, "round": number})

    # A worker that has made tonight's reports and folded the points held just now: its
    # round works out the days the push touched (the points held are folded hourly).
    worker = upkeep.Worker(last_night=chain.today(), last_folded=timezone.now())

    def round_after_push(number: int) -> float:
        push(number)
        start = time.perf_counter()
        worker.round()
        return time.perf_counter() - start

    rounds: list[float] = []
    lives: list[float] = []
    try:
        for number in range(MIN_RUNS):
            rounds.append(round_after_push(number))
            start = time.perf_counter()
            board.dashboard(chain, live=True)
            lives.append(time.perf_counter() - start)
    finally:
        with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
            conn.execute(
                "UPDATE hub_balance b SET balance = b.balance - x.n"
                " FROM (SELECT member_id, count(*) AS n FROM hub_entry"
                "       WHERE entry_id LIKE 'bench-round-%' GROUP BY 1) x"
                " WHERE b.member_id = x.member_id"
            )
            conn.execute("DELETE FROM hub_entry WHERE entry_id LIKE 'bench-round-%'")
        rollup.refresh_days()
        rollup.refresh_liability()
    report(
        "panel_rollup_round_ms",
        percentile(rounds, 95) * 1000,
        "ms",
        percentile(lives, 95) * 1000,
        note=f"{ROUND_ENTRIES} entries pushed, then one round; reference: one dashboard "
        f"worked out live; {len(rounds)} runs, {timezone.now():%Y-%m-%d}",
    )

    def nightly() -> None:  # the worker's nightly part, for the chain alone
        rollup.remake("tiers", chain, lambda: upkeep.tiers_report(chain), version=version)
        rollup.remake("rfm", chain, lambda: upkeep.rfm_report(chain))

    version = reports.program_version()

    statements = _statements(nightly)
    bare = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor)
    bare.execute("SET TIME ZONE 'UTC'")
    try:
        start = time.perf_counter()
        nightly()
        took = time.perf_counter() - start
        start = time.perf_counter()
        _replay(bare, statements)
        reference = time.perf_counter() - start
    finally:
        bare.close()
    report(
        "panel_nightly_reports_s",
        took,
        "s",
        reference,
        note=f"the chain's tiers and RFM worked out and kept (each branch's too, nightly), "
        f"against their bare SQL; {size.name}, {timezone.now():%Y-%m-%d}",
    )


# ROUND_ENTRIES earns at the busiest device, spread over the last 30 days, and a point
# more on as many members' balances (the triggers note the days and the points held).
_ROUND_PUSH = """
WITH device AS (SELECT min(id) AS id FROM hub_device),
     made AS (
        INSERT INTO hub_entry (entry_id, seq, status, kind, points, amount, currency,
                               created_at, as_pushed, received_at, device_id, member_id)
        SELECT 'bench-round-' || gen_random_uuid(),
               -1000000 * (%(round)s + 1) - row_number() OVER (),
               'stored', 'earn', 10, 100000, 'IRR',
               now() - random() * interval '30 days', '{}', now(), device.id, m.member_id
        FROM device,
             (SELECT member_id FROM hub_member TABLESAMPLE SYSTEM (1)
              WHERE merged_into IS NULL LIMIT %(n)s) m
        RETURNING member_id)
UPDATE hub_balance b SET balance = b.balance + 1
WHERE b.member_id IN (SELECT member_id FROM made)
"""


def _measure_queries(url: str, size: Size) -> None:
    from django.utils import timezone

    from hub.insights.dashboard import dashboard
    from hub.insights.people import birthdays_page, inactive_members
    from hub.insights.reports import by_day, kept_tiers, rewards_redeemed
    from hub.insights.rfm import kept_rfm
    from hub.insights.scope import Scope

    everyone = Scope()
    with psycopg.connect(url, autocommit=True) as conn:
        branch = _one(conn, "SELECT min(id) FROM hub_branch")
    one_branch = Scope(frozenset({branch}))
    today = everyone.today()
    first = today - timedelta(days=29)
    queries: list[tuple[str, Callable[[], object]]] = [
        ("panel_dashboard_p95", lambda: dashboard(everyone)),
        ("panel_dashboard_branch_p95", lambda: dashboard(one_branch)),
        ("panel_by_day_p95", lambda: by_day(everyone, first, today)),
        ("panel_rewards_p95", lambda: rewards_redeemed(everyone, first, today)),
        ("panel_tiers_p95", lambda: kept_tiers(everyone)),
        ("panel_rfm_p95", lambda: kept_rfm(everyone)),
        ("panel_inactive_p95", lambda: inactive_members(everyone, 90)),
        ("panel_birthdays_p95", lambda: birthdays_page(everyone, 7)),
    ]
    bare = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor)
    bare.execute("SET TIME ZONE 'UTC'")  # as Django's connection has it
    try:
        for name, work in queries:
            statements = _statements(work)
            replay = functools.partial(_replay, bare, statements)
            times, references = _alternate(work, replay, size.runs)
            value, reference = percentile(times, 95), percentile(references, 95)
            report(
                name,
                value * 1000,
                "ms",
                reference * 1000,
                aim=AIM,
                note=f"{len(statements)} statements, {len(times)} runs, {timezone.now():%Y-%m-%d}",
            )
        _measure_search(bare, size)
    finally:
        bare.close()


def _measure_search(bare: psycopg.Connection[Any], size: Size) -> None:
    """The member search by phone as typed, against the bare SQL it sends (its look-ups:
    the phone, a card of those digits, a member id), replayed with psycopg alone."""
    from hub.members.search import find

    persian = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    picks = [random.Random(i).randrange(1, size.members) for i in range(max(size.runs, 200))]
    picks = [p for p in picks if p % 200]  # erased members have no phone
    times, references = [], []
    for pick in picks:
        typed = ("0912" + str(pick).zfill(7)).translate(persian)
        start = time.perf_counter()
        hits = find(typed, _Viewer())
        times.append(time.perf_counter() - start)
        statements = _statements(functools.partial(find, typed, _Viewer()))
        start = time.perf_counter()
        _replay(bare, statements)
        references.append(time.perf_counter() - start)
        assert hits, f"member {pick} not found by {typed}"
    report(
        "panel_member_search_by_phone_p99",
        percentile(times, 99) * 1000,
        "ms",
        percentile(references, 99) * 1000,
        aim="ratio <= 2",
        note=f"hub.members.search.find, as the panel's search box calls it; {len(times)} runs",
    )


def _statements(work: Callable[[], object]) -> list[tuple[str, Any]]:
    """The SQL statements (and parameters) one call sends, as Django sends them."""
    from django.db import connection

    sent: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        work()
    return sent


def _replay(conn: psycopg.Connection[Any], statements: list[tuple[str, Any]]) -> None:
    # In a transaction, as Django runs them: a report's SET LOCAL work_mem holds in it.
    with conn.transaction():
        for sql, params in statements:
            cursor = conn.execute(sql, params)
            if cursor.description is not None:
                cursor.fetchall()


def _alternate(
    work: Callable[[], object], reference: Callable[[], object], runs: int
) -> tuple[list[float], list[float]]:
    """Seconds of each call of `work` and of `reference`, one after the other (a warm-up of
    each first, not counted): `runs` pairs, or fewer (5 at least) once BUDGET is spent."""
    work()
    reference()
    clock = time.perf_counter
    times: list[float] = []
    references: list[float] = []
    began = clock()
    for _ in range(runs):
        if len(times) >= MIN_RUNS and clock() - began > BUDGET:
            break
        start = clock()
        work()
        times.append(clock() - start)
        start = clock()
        reference()
        references.append(clock() - start)
    return times, references
