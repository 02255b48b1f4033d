"""What every doctor check takes and gives: the context, the result, and shared wording.

Each check is a function taking a `DoctorContext` and returning a `CheckResult`. Every outside
thing a check looks at (sysfs, /run, /dev, commands, the disk, the clock, the CRM) comes from
the context, so tests point it at fakes. The helpers at the end word the findings alike in
every check family: sizes, counts, ages, several findings as one result.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

from kiosk.appliance.keys import resolve
from kiosk.appliance.logs import redact
from kiosk.config import KioskConfig
from kiosk.core.clock import system_clock
from kiosk.core.store.db import database_path, open_existing
from kiosk.core.store.settings import DeviceIdentity
from kiosk.core.store.vault import KeySource
from kiosk.errors import KioskError

Status = Literal["pass", "warn", "fail"]
_RANK: dict[Status, int] = {"pass": 0, "warn": 1, "fail": 2}

MB = 1024 * 1024

COMMAND_TIMEOUT_SECONDS = 5.0

INSTALL = "run `sudo systemd/install.sh`"


@dataclass(frozen=True)
class CheckResult:
    """What one check found: its status, a summary, and for warn/fail what to do."""

    name: str
    status: Status
    summary: str
    hint: str | None = None


class DiskSpace(Protocol):
    """What the disk check reads of `shutil.disk_usage`."""

    @property
    def total(self) -> int: ...

    @property
    def free(self) -> int: ...


class DiskUsage(NamedTuple):
    """A `shutil.disk_usage` answer, for tests."""

    total: int
    used: int
    free: int


class CommandOutput(NamedTuple):
    returncode: int
    stdout: str


CrmOutcome = Literal[
    "ok", "unreachable", "credentials", "not_enrolled", "clock", "refused", "bad_secret"
]


@dataclass(frozen=True)
class CrmAnswer:
    """How a signed request to the CRM went (from the command line's `crm_probe`)."""

    outcome: CrmOutcome
    detail: str = ""
    clock_offset: float | None = None  # the CRM's clock minus ours, seconds


# A command's output, or None when the program is not installed.
Runner = Callable[[Sequence[str]], CommandOutput | None]
# (device id, pull cursor) -> how a signed request to the configured CRM went.
CrmProbe = Callable[[str, int], CrmAnswer]


def run_command(argv: Sequence[str]) -> CommandOutput | None:
    """Run a command with a short timeout; None when it is not installed."""
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
            env={**os.environ, "LC_ALL": "C", "SYSTEMD_PAGER": ""},
        )
    except FileNotFoundError:
        return None
    except subprocess.TimeoutExpired:
        return CommandOutput(124, "")
    return CommandOutput(done.returncode, done.stdout)


class DatabaseUnreadable(Exception):
    """The database file exists but SQLite cannot read it."""


@dataclass
class DoctorContext:
    """What the checks look at; every outside thing can be replaced by a test."""

    config: KioskConfig
    data_dir: Path
    sysfs: Path = Path("/sys")
    run_dir: Path = Path("/run")
    dev: Path = Path("/dev")
    run: Runner = run_command
    disk_usage: Callable[[Path], DiskSpace] = shutil.disk_usage
    now: Callable[[], datetime] = system_clock
    access: Callable[[Path, int], bool] = os.access
    crm_probe: CrmProbe | None = None
    _conn: sqlite3.Connection | None = field(default=None, init=False, repr=False)

    @property
    def database_file(self) -> Path:
        return database_path(self.data_dir)

    def database(self) -> sqlite3.Connection | None:
        """The kiosk database, read-write but never created; None when there is none.

        Raises DatabaseUnreadable when the file is not a database SQLite can read.
        """
        if self._conn is not None:
            return self._conn
        path = self.database_file
        if not path.exists():
            return None
        try:
            conn = open_existing(path, keys=self.key_source())
        except sqlite3.Error as exc:
            raise DatabaseUnreadable(_describe(exc)) from exc
        self._conn = conn
        return conn

    def key_source(self) -> KeySource | None:
        """The key source that opens the data (the chains' seals need it); None for the hub,
        which the doctor does not ask (the seals are then not checked)."""
        try:
            found = resolve(self.config.security.key_source, self.data_dir)
        except KioskError:
            return None
        return None if isinstance(found, str) else found

    def device_id(self) -> str | None:
        """The configured device id, else the one the database keeps."""
        if self.config.device.id:
            return self.config.device.id
        conn = self.database()
        if conn is None:
            return None
        return DeviceIdentity(conn).stored()

    def reader_urls(self) -> list[str]:
        """The configured readers; `sim:` in simulator mode when none are."""
        return self.config.reader_urls()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


Check = Callable[[DoctorContext], CheckResult]


# -- what the checks share ----------------------------------------------------------------

# Personal data never reaches the output, whatever an exception or a CRM says.
scrub = redact


def _combine(name: str, parts: Sequence[tuple[str, Status, str | None]]) -> CheckResult:
    """One result of several findings: the worst status, every summary, every hint."""
    status: Status = max((p[1] for p in parts), key=lambda s: _RANK[s])
    hints = [hint for _text, part_status, hint in parts if hint and part_status != "pass"]
    return CheckResult(
        name, status, "; ".join(text for text, _s, _h in parts), "; ".join(hints) or None
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return 0


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _size(count: int) -> str:
    if count >= 1024 * MB:
        return f"{count / (1024 * MB):.1f} GB"
    return f"{count / MB:.1f} MB"


def _age(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    if hours >= 48:
        return f"{hours / 24:.0f} days"
    if hours >= 1:
        return f"{hours:.0f} hours"
    return f"{max(0.0, age.total_seconds()) / 60:.0f} minutes"


def _describe(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__).splitlines()[0][:200]
