"""What the hub benchmark stands on: a PostgreSQL, a migrated hub, `hub serve`, its devices.

PostgreSQL is the server of `HUB_TEST_DATABASE_URL` (a role that may create databases, as
for the tests), or a cluster of the benchmark's own started with `hub/local_postgres.sh`
in a temporary folder (durable: fsync and synchronous commits on, as in production). The
hub runs as a user runs it: `python -m hub migrate`, `python -m hub device add`, and
`python -m hub serve` (gunicorn) on a free loopback port, each a subprocess.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "hub" / "local_postgres.sh"
WAIT = 120.0  # a safety limit, never a pace
_SERVE = (sys.executable, "-m", "hub", "serve", "--bind", "127.0.0.1:0")


class Unavailable(Exception):
    """PostgreSQL cannot be had here: the benchmark skips and says why."""


@dataclass
class Postgres:
    """A server the benchmark may create databases on (its own cluster, or a given one)."""

    admin_url: str
    folder: Path | None = None  # our own cluster's, stopped and removed at the end
    created: list[str] = field(default_factory=list)

    @classmethod
    def start(cls) -> Postgres:
        """HUB_TEST_DATABASE_URL's server, or a cluster of our own; Unavailable if neither."""
        given = os.environ.get("HUB_TEST_DATABASE_URL")
        if given:
            try:
                psycopg.connect(given, autocommit=True).close()
            except psycopg.Error as exc:
                raise Unavailable(f"HUB_TEST_DATABASE_URL cannot be reached: {exc}") from exc
            return cls(given)
        # Under /tmp: the `postgres` user (the cluster's owner when run as root) must reach it.
        folder = Path(tempfile.mkdtemp(prefix="bench-hub-pg-"))
        folder.chmod(0o755)
        started = subprocess.run(
            [str(SCRIPT), "start", str(folder), "--no-tcp", "--db", "bench_admin"],
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        if started.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            why = started.stderr.strip() or "hub/local_postgres.sh failed"
            raise Unavailable(f"{why} (make hub-packages installs it)")
        return cls(started.stdout.strip(), folder)

    def url(self, database: str) -> str:
        return urlunsplit(urlsplit(self.admin_url)._replace(path=f"/{database}"))

    def create_database(self, template: str | None = None) -> str:
        name = f"bench_hub_{os.getpid()}_{len(self.created) + 1}"
        suffix = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        self.created.append(name)
        return name

    def close(self) -> None:
        """Drop what was created; stop and remove our own cluster."""
        if self.folder is not None:
            stop = [str(SCRIPT), "stop", str(self.folder)]
            subprocess.run(stop, capture_output=True, check=False, timeout=WAIT)
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in reversed(self.created):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Hub:
    """A hub's database and data directory, its command, and `hub serve`."""

    def __init__(self, postgres: Postgres, folder: Path) -> None:
        self.postgres = postgres
        self.database = postgres.create_database()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DJANGO"))}
        self.env |= {
            "HUB_DATABASE_URL": postgres.url(self.database),
            "HUB_DATA_DIR": str(folder),
            "PYTHONPATH": str(ROOT),
        }
        self.url = ""  # the first server's
        self._processes: list[subprocess.Popen[str]] = []
        self.command("migrate")

    def command(self, *args: str) -> str:
        """`python -m hub ARGS`; its stdout (a failure raises with its stderr)."""
        done = subprocess.run(
            [sys.executable, "-m", "hub", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"hub {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def new_codes(self, count: int, branch: str = "Bench") -> list[str]:
        self.command("branch", "add", branch)
        added = self.command("device", "add", "--branch", branch, "--count", str(count), "--json")
        return [str(json.loads(line)["code"]) for line in added.splitlines()]

    def serve(self, workers: int, threads: int, nice: int = 0) -> str:
        """Start a `hub serve` on a free loopback port (at this niceness); its URL, once it
        listens. Called twice, two servers of one hub: the lanes of docs/hub.md, "Load"."""
        command = [*_SERVE, "--workers", str(workers), "--threads", str(threads)]
        process = subprocess.Popen(
            ["nice", "-n", str(nice), *command] if nice else command,
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._processes.append(process)
        listening: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_drain, args=(process, listening), daemon=True).start()
        try:
            url = listening.get(timeout=WAIT)
        except queue.Empty:
            url = ""
        if not url:
            self.stop()
            raise RuntimeError("hub serve did not start")
        self.url = self.url or url
        return url

    def workers(self) -> list[int]:
        """The pids of every `hub serve`'s gunicorn workers (the children of its master)."""
        masters = {p.pid for p in self._processes}
        found = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("PPid:") and int(line.split()[1]) in masters:
                    found.append(int(status.parent.name))
        return sorted(found)

    def stop(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=WAIT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._processes.clear()
        self.url = ""


def _drain(process: subprocess.Popen[str], listening: queue.Queue[str]) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        if "Listening at: " in line:
            listening.put(line.split("Listening at: ")[1].split()[0])
    listening.put("")


def rss_mib(pid: int) -> float | None:
    """The resident memory of a process in MiB, None once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def copy_rows(url: str, table: str, where: str) -> tuple[list[str], bytes, int]:
    """The columns, binary COPY data and row count of `table`'s rows matching `where`."""
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = %s ORDER BY ordinal_position",
            (table,),
        )
        columns = [str(row[0]) for row in cursor.fetchall()]
        data = bytearray()
        listed = ", ".join(columns)
        with cursor.copy(
            f"COPY (SELECT {listed} FROM {table} WHERE {where}) TO STDOUT (FORMAT binary)"
        ) as copy:
            for chunk in copy:
                data += chunk
        cursor.execute(f"SELECT count(*) FROM {table} WHERE {where}")
        row: Any = cursor.fetchone()
        return columns, bytes(data), int(row[0])
