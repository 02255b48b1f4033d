"""The hub's tests run on a real PostgreSQL and real HTTP, as the hub runs in production.

A session starts a throw-away cluster in a temporary folder (`hub/local_postgres.sh`, as
the `postgres` user when run as root), or uses the server of `HUB_TEST_DATABASE_URL` (a
role that may create databases; `.ci/run` gives `make hub-db`'s). The schema is migrated
once into a template; each test gets a database copied from it. The hub runs as a user
runs it: `python -m hub ...` in a subprocess, and `hub serve` (gunicorn) on a free
loopback port. Where PostgreSQL cannot be installed or started the tests skip and say
why, except under CI, where that is a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from hub.environment import create_secret_key
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from tests.hub.wire import Server

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "hub" / "local_postgres.sh"
WAIT = 60.0  # a safety limit, never a pace
_names = itertools.count(1)
_TEMPLATE_OWNER_KEYS: dict[str, bytes] = {}  # template database -> its owner-key file


def _unavailable(reason: str) -> None:
    # CI installs PostgreSQL (.ci/run): there, a hub test that cannot run is a failure.
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is needed for the hub's tests: {reason}")
    pytest.skip(f"PostgreSQL is needed for the hub's tests: {reason}")


@dataclass
class Postgres:
    """A PostgreSQL server the tests may create databases on."""

    admin_url: str
    created: list[str] = field(default_factory=list)
    # The folder of a cluster these tests started (hub/local_postgres.sh); None for
    # HUB_TEST_DATABASE_URL's server, shared with others: that one is never restarted.
    folder: Path | None = None
    fast: bool = True  # started with hub/local_postgres.sh --fast (not durable)

    def url(self, database: str) -> str:
        """The admin URL with another database name."""
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path=f"/{database}"))

    def execute(
        self, sql: str, params: tuple[Any, ...] = (), database: str | None = None
    ) -> list[Any]:
        """Run one statement (autocommit); its rows, if any."""
        url = self.url(database) if database else self.admin_url
        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, template: str | None = None) -> str:
        """A new database (a copy of `template` if given); dropped at the end of the session."""
        name = f"hub_test_{os.getpid()}_{next(_names)}"
        suffix = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{suffix}')
        self.created.append(name)
        return name

    def restart(self, *, crash: bool = False) -> None:
        """Stop the cluster (`crash`: at once, as a power cut would, recovered from WAL at
        the start) and start it again; every open connection is cut."""
        if self.folder is None:
            raise RuntimeError("only a cluster the tests started can be restarted")
        stop = [str(SCRIPT), "stop", str(self.folder), *(["--immediate"] if crash else [])]
        subprocess.run(stop, capture_output=True, check=True, timeout=120)
        subprocess.run(
            [str(SCRIPT), "start", str(self.folder), *_cluster_options(self.fast)],
            capture_output=True,
            check=True,
            timeout=120,
        )

    def drop_all(self) -> None:
        for name in reversed(self.created):
            self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    given = os.environ.get("HUB_TEST_DATABASE_URL")
    if given:
        server = Postgres(given)
        try:
            server.execute("SELECT 1")
        except psycopg.Error as exc:
            _unavailable(f"HUB_TEST_DATABASE_URL cannot be reached: {exc}")
        yield server
        server.drop_all()
        return
    yield from _own_cluster(fast=True)


def _cluster_options(fast: bool) -> list[str]:
    return ["--no-tcp", *(["--fast"] if fast else []), "--db", "hub_admin"]


def _own_cluster(*, fast: bool) -> Iterator[Postgres]:
    """A throw-away cluster in a temporary folder, stopped and removed afterwards.

    `fast` turns durability off (fsync, synchronous_commit): fine for tests that never
    crash it, but a crash then loses commits the hub has already acknowledged.
    """
    # Under /tmp, not pytest's 0700 folder: the `postgres` user must reach it.
    folder = Path(tempfile.mkdtemp(prefix="hub-test-pg-"))
    folder.chmod(0o755)
    started = subprocess.run(
        [str(SCRIPT), "start", str(folder), *_cluster_options(fast)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        if started.returncode != 0:
            _unavailable(started.stderr.strip() or "hub/local_postgres.sh failed")
        server = Postgres(started.stdout.strip(), folder=folder, fast=fast)
        yield server
        server.drop_all()
    finally:
        subprocess.run([str(SCRIPT), "stop", str(folder)], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    """A durable cluster of this test's own, which it may crash and restart (the shared one
    it may not)."""
    yield from _own_cluster(fast=False)


def hub_env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "KIOSK_", "DJANGO"))}
    env |= {
        "HUB_DATABASE_URL": database_url,
        "HUB_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(ROOT),
    }
    return env


def run_hub(
    env: dict[str, str], *args: str, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m hub ARGS` in a subprocess; fails the test with its stderr if `check`."""
    done = subprocess.run(
        [sys.executable, "-m", "hub", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and done.returncode != 0:
        pytest.fail(f"hub {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done


@pytest.fixture(scope="session")
def hub_template(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated once, that every test's database is copied from."""
    return make_template(postgres, tmp_path_factory.mktemp("hub-template"))


def make_template(postgres: Postgres, data_dir: Path) -> str:
    """A database on `postgres` migrated by `hub migrate`, to copy hubs' databases from."""
    name = postgres.create_database()
    run_hub(hub_env(postgres.url(name), data_dir), "migrate")
    # The owner's key made by that first set-up goes with every copy of the database.
    _TEMPLATE_OWNER_KEYS[name] = (data_dir / "owner-key").read_bytes()
    return name


@dataclass
class Hub:
    """A hub's database and data directory, and its command."""

    postgres: Postgres
    database: str
    data_dir: Path

    @property
    def env(self) -> dict[str, str]:
        return hub_env(self.postgres.url(self.database), self.data_dir)

    def run(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The `hub` command (`stdin`: what it reads, e.g. a PIN)."""
        return run_hub(self.env, *args, check=check, stdin=stdin)

    def json(self, *args: str) -> Any:
        """The JSON a `hub` command prints."""
        return json.loads(self.run(*args).stdout)

    def sql(self, statement: str, *params: Any) -> list[Any]:
        """One statement on the hub's database (to arrange what no command does)."""
        return self.postgres.execute(statement, params, database=self.database)

    def new_devices(self, count: int, branch: str = "Valiasr") -> list[dict[str, Any]]:
        """`hub device add --branch BRANCH --count N --json` (the branch added if need be)."""
        if not self.sql("SELECT 1 FROM hub_branch WHERE name = %s", branch):
            self.run("branch", "add", branch)
        added = self.run("device", "add", "--branch", branch, "--count", str(count), "--json")
        return [json.loads(line) for line in added.stdout.splitlines()]

    def new_device(self, branch: str = "Valiasr") -> dict[str, Any]:
        """One new device at a branch: its number, branch and one-time code."""
        return self.new_devices(1, branch)[0]


def make_hub(postgres: Postgres, template: str, data_dir: Path) -> Hub:
    data_dir.mkdir(parents=True, exist_ok=True)
    create_secret_key(data_dir / "secret-key")
    owner_key = data_dir / "owner-key"
    owner_key.write_bytes(_TEMPLATE_OWNER_KEYS[template])
    owner_key.chmod(0o600)
    return Hub(postgres, postgres.create_database(template), data_dir)


@pytest.fixture
def hub(postgres: Postgres, hub_template: str, tmp_path: Path) -> Hub:
    return make_hub(postgres, hub_template, tmp_path / "hub")


class HubServer:
    """`hub serve` (gunicorn) on a free loopback port, in a subprocess of its own."""

    # Two workers, as `hub serve` runs by default (one was measured slower, not faster:
    # 48.6 s against 45.0 s for eight tests of test_member_ops). The racing tests say
    # `workers=2` themselves: the race must cross processes whatever this default is.
    def __init__(self, hub: Hub, workers: int = 2, bind: str = "127.0.0.1:0") -> None:
        self.hub = hub
        self.workers = workers
        self.bind = bind  # a fixed port lets a hub started again keep its kiosks' URL
        self.url = ""
        self.log: list[str] = []
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> HubServer:
        """Start, and return once it listens (gunicorn says where)."""
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub",
                "serve",
                "--bind",
                self.bind,
                "--workers",
                str(self.workers),
            ],
            env=self.hub.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: kill() reaches every worker
        )
        listening: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._drain, args=(listening,), daemon=True).start()
        try:
            self.url = listening.get(timeout=WAIT)
        except queue.Empty:
            self.stop()
            pytest.fail("hub serve did not listen:\n" + "\n".join(self.log[-20:]))
        if not self.url:
            pytest.fail("hub serve ended:\n" + "\n".join(self.log[-20:]))
        return self

    def _drain(self, listening: queue.Queue[str]) -> None:
        assert self._process is not None and self._process.stderr is not None
        for line in self._process.stderr:
            self.log.append(line.rstrip())
            if "Listening at: " in line:
                listening.put(line.split("Listening at: ")[1].split()[0])
        listening.put("")  # ended

    def kill(self) -> None:
        """SIGKILL to the master and every worker at once, as a crash or the OOM killer."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=WAIT)

    def stop(self, *, graceful: bool = True) -> None:
        """SIGTERM, as systemd stops it (idle keep-alive connections get their 2 s), or
        SIGINT (at once); then wait for it."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM if graceful else signal.SIGINT)
            try:
                self._process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


@pytest.fixture
def hub_server(hub: Hub) -> Iterator[HubServer]:
    server = HubServer(hub).start()
    yield server
    server.stop(graceful=False)


# -- the protocol's servers: the simulated CRM and a hub, each shared by a test module ---


@pytest.fixture(scope="module")
def sim_server() -> Iterator[Server]:
    with CrmServer(CrmStore()) as crm:
        yield Server("sim", crm.url, sim=crm)


@pytest.fixture(scope="module")
def hub_server_shared(
    postgres: Postgres, hub_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    hub = make_hub(postgres, hub_template, tmp_path_factory.mktemp("hub"))
    server = HubServer(hub).start()
    yield Server("hub", server.url, hub=hub)
    server.stop(graceful=False)


@pytest.fixture(params=["sim", "hub"])
def server(request: pytest.FixtureRequest) -> Server:
    name = "sim_server" if request.param == "sim" else "hub_server_shared"
    found: Server = request.getfixturevalue(name)
    return found
