"""`kiosk doctor`: a technician's health check, one line per check with what to do about it.

Each check is a function taking a `DoctorContext` and returning a `CheckResult`: pass,
warn (the kiosk works, something needs attention) or fail (something is broken). Every
outside thing a check looks at (sysfs, /run, /dev, commands, the disk, the clock, the CRM)
comes from the context, so tests point it at fakes. Nothing here writes: the database is
opened without creating it, and the write probe is rolled back.

The CRM check needs the network client, which the core does not import: the command line
(`kiosk/cli/doctor.py`) gives the context a `crm_probe`.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

from kiosk.appliance.logs import redact
from kiosk.config import KioskConfig
from kiosk.core.clock import from_iso, system_clock
from kiosk.core.store.db import database_path
from kiosk.core.store.outbox import Outbox, SyncState
from kiosk.core.store.settings import storage_writable
from kiosk.core.store.verify import verify_ledger

Status = Literal["pass", "warn", "fail"]
_RANK: dict[Status, int] = {"pass": 0, "warn": 1, "fail": 2}

MB = 1024 * 1024
DISK_FAIL_BELOW = 100 * MB
DISK_WARN_BELOW = 500 * MB
CLOCK_WARN_SECONDS = 60.0
CLOCK_FAIL_SECONDS = 300.0  # the sync protocol refuses signatures further off than this
CLOCK_OFFSET_FRESH = timedelta(days=1)  # an offset measured longer ago is not trusted
QUEUE_WARN_AGE = timedelta(days=1)
QUEUE_FAIL_AGE = timedelta(days=7)
MANY_RESTARTS = 5
CRM_TIMEOUT_SECONDS = 5.0
COMMAND_TIMEOUT_SECONDS = 5.0

SERVICES = ("loyalty-kiosk.service", "loyalty-kiosk-sync.service")
SYNC_SERVICE = "loyalty-kiosk-sync.service"
# USB NFC readers nfcpy drives, by idVendor:idProduct.
KNOWN_USB_NFC = {
    "072f:2200": "ACS ACR122U",
    "04e6:5591": "SCM SCL3711",
    "04cc:2533": "NXP PN533",
    "054c:06c1": "Sony RC-S380/S",
    "054c:06c3": "Sony RC-S380/P",
}
KERNEL_NFC_MODULES = ("pn533_usb", "pn533", "port100", "nfc")

INSTALL = "run `sudo systemd/install.sh`"
HINT_UDEV = f"{INSTALL} to install the udev rules, then replug the reader"
SERVICE_USER = "loyalty-kiosk"  # the user systemd/loyalty-kiosk.service runs as
HINT_DIALOUT = (
    f"add the service user to the dialout group (`sudo usermod -aG dialout {SERVICE_USER}`) "
    f"or {INSTALL}; this check runs as you: `sudo -u {SERVICE_USER} kiosk doctor` checks the "
    "service user"
)
HINT_INPUT = (
    f"add the service user to the input group (`sudo usermod -aG input {SERVICE_USER}`) or "
    f"{INSTALL} to install the udev rules"
)
HINT_BLACKLIST = (
    "Linux's own NFC driver claims the reader before the kiosk can: install "
    "systemd/modprobe/loyalty-kiosk-nfc-blacklist.conf into /etc/modprobe.d/ "
    f"({INSTALL} does), then `sudo modprobe -r pn533_usb port100 pn533 nfc` and replug the reader"
)
HINT_ENROLL = (
    "get a new enrollment code from the CRM and run "
    "`sudo kiosk provision --crm URL --code CODE`, or use Provision on the technician screen"
)
HINT_RESTORE = (
    "stop the kiosk, keep the damaged file for the vendor, and restore the newest copy from "
    "backups/ in the data directory (`kiosk backup` makes them)"
)
HINT_SYNC = "sync with `kiosk sync --once`; if it fails, the crm check says why"


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
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None, timeout=5.0
            )
        except sqlite3.Error as exc:
            raise DatabaseUnreadable(_describe(exc)) from exc
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            conn.close()
            raise DatabaseUnreadable(_describe(exc)) from exc
        self._conn = conn
        return conn

    def device_id(self) -> str | None:
        """The configured device id, else the one the database keeps."""
        if self.config.device.id:
            return self.config.device.id
        conn = self.database()
        if conn is None:
            return None
        row = conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
        return str(row[0]) if row else None

    def reader_urls(self) -> list[str]:
        """The configured readers; `sim:` in simulator mode when none are (as kiosk/wiring.py)."""
        if self.config.readers.urls:
            return list(self.config.readers.urls)
        return ["sim:"] if self.config.device.simulated else []

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


Check = Callable[[DoctorContext], CheckResult]


# -- 1. readers ----------------------------------------------------------------------------


def check_readers(ctx: DoctorContext) -> CheckResult:
    """Each configured reader: is its device there, and may this user open it?"""
    urls = ctx.reader_urls()
    if not urls:
        return CheckResult(
            "readers",
            "warn",
            "no readers are configured (readers.urls is empty)",
            'set readers.urls in /etc/loyalty-kiosk/kiosk.toml (e.g. ["nfc:usb"]), then '
            "test with `kiosk reader test`",
        )
    parts = []
    for url in urls:
        status, summary, hint = _reader(ctx, url)
        parts.append((f"{url.rstrip(':')}: {summary}", status, hint))
    return _combine("readers", parts)


def _reader(ctx: DoctorContext, url: str) -> tuple[Status, str, str | None]:
    scheme, _, rest = url.partition(":")
    if scheme == "sim":
        return "pass", "simulated", None
    if scheme == "nfc":
        return _nfc_reader(ctx, rest)
    if scheme == "serial":
        port = rest.partition("?")[0]
        if "://" in port:
            return "pass", "a pyserial URL, not probed", None
        return _device_node(ctx, Path(port), os.R_OK | os.W_OK, HINT_DIALOUT)
    if scheme == "evdev":
        return _device_node(ctx, Path(rest.partition("?")[0]), os.R_OK, HINT_INPUT)
    return "fail", "unknown kind of reader", "readers.urls takes nfc:, serial:, evdev: or sim:"


def _device_node(
    ctx: DoctorContext, path: Path, mode: int, hint: str
) -> tuple[Status, str, str | None]:
    if not path.exists():
        return (
            "fail",
            f"{path} does not exist",
            "is the reader plugged in? `ls /dev/serial/by-id /dev/input/by-id` lists the "
            "devices; correct readers.urls if it is elsewhere",
        )
    if not ctx.access(path, mode):
        wanted = "read and write" if mode & os.W_OK else "read"
        return "fail", f"this user may not {wanted} {path}", hint
    return "pass", "found, may be opened", None


def _nfc_reader(ctx: DoctorContext, rest: str) -> tuple[Status, str, str | None]:
    kind, _, where = rest.partition(":")
    if kind == "usb":
        return _usb_nfc(ctx, where)
    if kind == "tty":
        name = where.partition(":")[0]
        if not name:
            return "fail", "no serial port named", "write it as nfc:tty:USB0:pn532"
        return _device_node(ctx, ctx.dev / f"tty{name}", os.R_OK | os.W_OK, HINT_DIALOUT)
    if kind == "udp":
        return "pass", f"a network device at {where or 'localhost'}, not probed", None
    return "warn", "cannot check this kind of NFC device", "nfc:usb and nfc:tty:... are checked"


def _usb_nfc(ctx: DoctorContext, where: str) -> tuple[Status, str, str | None]:
    parts = [p for p in where.split(":") if p]
    devices = list(_usb_devices(ctx.sysfs))
    # As nfcpy reads them: usb:VID[:PID] in 4 hex digits, usb:BUS[:DEV] in 3 decimal ones.
    if 0 < len(parts) <= 2 and all(re.fullmatch(r"[0-9a-fA-F]{4}", p) for p in parts):
        wanted = ":".join(parts).lower()
        matches = [d for d in devices if d[1].startswith(wanted)]
    elif 0 < len(parts) <= 2 and all(re.fullmatch(r"[0-9]{3}", p) for p in parts):
        numbers = [int(p) for p in parts]
        matches = [d for d in devices if d[2][: len(numbers)] == tuple(numbers)]
    else:
        matches = [d for d in devices if d[1] in KNOWN_USB_NFC]
    if not matches:
        return (
            "fail",
            "no USB NFC reader found",
            "is it plugged in? `lsusb` lists USB devices; known readers: "
            + ", ".join(f"{name} ({ids})" for ids, name in KNOWN_USB_NFC.items()),
        )
    _path, ids, (bus, devnum) = matches[0]
    name = KNOWN_USB_NFC.get(ids, "USB device")
    node = ctx.dev / "bus" / "usb" / f"{bus:03d}" / f"{devnum:03d}"
    if bus and devnum and node.exists() and not ctx.access(node, os.R_OK | os.W_OK):
        return "fail", f"{name} ({ids}) found, but this user may not open {node}", HINT_UDEV
    return "pass", f"{name} ({ids}) found", None


def _usb_devices(sysfs: Path) -> list[tuple[Path, str, tuple[int, int]]]:
    """(sysfs path, vendor:product, (bus, device number)) of every USB device."""
    root = sysfs / "bus" / "usb" / "devices"
    if not root.is_dir():
        return []
    found = []
    for device in sorted(root.iterdir()):
        vendor = _read(device / "idVendor")
        product = _read(device / "idProduct")
        if not vendor or not product:
            continue
        numbers = (_int(_read(device / "busnum")), _int(_read(device / "devnum")))
        found.append((device, f"{vendor.lower()}:{product.lower()}", numbers))
    return found


# -- 2. the kernel's NFC driver ----------------------------------------------------------------


def check_kernel_driver(ctx: DoctorContext) -> CheckResult:
    """Linux's pn533 driver claims USB NFC readers before nfcpy can open them."""
    loaded = [m for m in KERNEL_NFC_MODULES if (ctx.sysfs / "module" / m).is_dir()]
    usb_nfc = any(url.startswith("nfc:usb") for url in ctx.reader_urls())
    if not loaded:
        return CheckResult("nfc_driver", "pass", "no kernel NFC driver is loaded")
    names = ", ".join(loaded)
    if not usb_nfc:
        return CheckResult(
            "nfc_driver", "pass", f"kernel NFC modules loaded ({names}); no USB NFC reader is used"
        )
    return CheckResult(
        "nfc_driver", "fail", f"the kernel NFC driver is loaded ({names})", HINT_BLACKLIST
    )


# -- 3. the database -------------------------------------------------------------------------


def check_database(ctx: DoctorContext) -> CheckResult:
    """Opens, passes SQLite's integrity check and the ledger's invariants, takes a write."""
    path = ctx.database_file
    try:
        conn = ctx.database()
    except DatabaseUnreadable as exc:
        return CheckResult(
            "database",
            "fail",
            f"{path} cannot be read: {exc}",
            HINT_RESTORE,
        )
    if conn is None:
        return CheckResult(
            "database",
            "warn",
            f"no database in {ctx.data_dir}: the kiosk has not started yet",
            "start the kiosk (`sudo systemctl start loyalty-kiosk`), or check --data-dir",
        )
    integrity = [str(row[0]) for row in conn.execute("PRAGMA integrity_check(5)")]
    if integrity != ["ok"]:
        return CheckResult(
            "database",
            "fail",
            f"{path} is damaged: {integrity[0]}",
            HINT_RESTORE,
        )
    report = verify_ledger(conn, limit=5)
    if not report.ok:
        problems = report.problems
        return CheckResult(
            "database",
            "fail",
            f"the ledger breaks its rules ({len(problems)} problems; first: {problems[0]})",
            "run `kiosk ledger verify` for the list and keep the file for the vendor",
        )
    if not storage_writable(conn):
        return CheckResult(
            "database",
            "fail",
            f"{path} cannot be written",
            "check the disk check, and that the data directory belongs to the service user "
            "(`ls -l` on it); a read-only file system needs a reboot or a new SD card",
        )
    return CheckResult(
        "database",
        "pass",
        f"{path}: {_size(_database_bytes(path))}, integrity ok, ledger ok "
        f"({_count(report.entries, 'entry', 'entries')}, "
        f"{_count(report.members, 'member', 'members')}), writable",
    )


def _database_bytes(path: Path) -> int:
    files = (path, path.with_name(path.name + "-wal"))
    return sum(p.stat().st_size for p in files if p.exists())


# -- 4. disk ----------------------------------------------------------------------------------


def check_disk(ctx: DoctorContext) -> CheckResult:
    """Free space on the data directory's file system."""
    where = ctx.data_dir.absolute()
    while not where.exists() and where != where.parent:
        where = where.parent
    usage = ctx.disk_usage(where)
    summary = f"{_size(usage.free)} free of {_size(usage.total)} ({where})"
    hint = (
        "free some space: the kiosk stops recording sales when the disk is full "
        "(old logs: `sudo journalctl --vacuum-size=50M`)"
    )
    if usage.free < DISK_FAIL_BELOW:
        return CheckResult("disk", "fail", summary, hint)
    if usage.free < DISK_WARN_BELOW:
        return CheckResult("disk", "warn", summary, hint)
    return CheckResult("disk", "pass", summary)


# -- 5. clock ---------------------------------------------------------------------------------


def check_clock(ctx: DoctorContext) -> CheckResult:
    """Whether NTP synchronised the clock, and how far it was from the CRM's at last contact."""
    parts: list[tuple[str, Status, str | None]] = []
    synced = _ntp_synchronised(ctx)
    fix = "turn NTP on (`sudo timedatectl set-ntp true`) and check the network reaches it"
    if synced is True:
        parts.append(("synchronised (NTP)", "pass", None))
    elif synced is False:
        parts.append(("not synchronised (NTP)", "warn", fix))
    else:
        parts.append(
            ("cannot tell whether it is synchronised", "warn", "check `timedatectl status`")
        )
    offset = _recent_offset(ctx)
    if offset is not None:
        text = f"{abs(offset):.0f} s {'behind' if offset > 0 else 'ahead of'} the CRM"
        if abs(offset) > CLOCK_FAIL_SECONDS:
            parts.append(
                (
                    text,
                    "fail",
                    f"the CRM refuses requests more than {CLOCK_FAIL_SECONDS:.0f} s off: {fix}",
                )
            )
        elif abs(offset) > CLOCK_WARN_SECONDS:
            parts.append((text, "warn", fix))
        else:
            parts.append((text, "pass", None))
    return _combine("clock", parts)


def _ntp_synchronised(ctx: DoctorContext) -> bool | None:
    answer = ctx.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if answer is not None and answer.returncode == 0:
        value = answer.stdout.strip()
        if value in ("yes", "no"):
            return value == "yes"
    if (ctx.run_dir / "systemd" / "timesync" / "synchronized").exists():
        return True
    return None


def _recent_offset(ctx: DoctorContext) -> float | None:
    """The clock offset stored at the last answered push, if that was recent."""
    try:
        conn = ctx.database()
    except DatabaseUnreadable:
        return None
    if conn is None:
        return None
    state = SyncState(conn)
    offset = state.get("clock_offset")
    measured = state.get("last_success_at")
    if not isinstance(offset, int | float) or not isinstance(measured, str):
        return None
    if ctx.now() - from_iso(measured) > CLOCK_OFFSET_FRESH:
        return None
    return float(offset)


# -- 6. CRM -----------------------------------------------------------------------------------


def check_crm(ctx: DoctorContext) -> CheckResult:
    """A signed request to the CRM: reachable, and are this kiosk's credentials accepted?"""
    crm = ctx.config.crm
    if not crm.url:
        return CheckResult(
            "crm",
            "warn" if ctx.config.device.simulated else "fail",
            "not provisioned (crm.url is empty)",
            HINT_ENROLL,
        )
    if ctx.crm_probe is None:
        return CheckResult("crm", "warn", f"{crm.url}: not checked", "run `kiosk doctor`")
    try:
        conn = ctx.database()
        device = ctx.device_id()
    except DatabaseUnreadable:
        conn, device = None, ctx.config.device.id or None
    if device is None:
        return CheckResult(
            "crm",
            "warn",
            f"{crm.url}: not checked: this kiosk has no device id yet",
            "start the kiosk once (it makes its id), or set device.id",
        )
    cursor = int(SyncState(conn).get("cursor", 0)) if conn is not None else 0
    answer = ctx.crm_probe(device, cursor)
    detail = f" ({answer.detail})" if answer.detail else ""
    if answer.outcome == "ok":
        offset = ""
        if answer.clock_offset is not None:
            offset = f", clocks {abs(answer.clock_offset):.0f} s apart"
        if conn is not None and SyncState(conn).get("credentials_refused", False):
            return CheckResult(
                "crm",
                "warn",
                f"{crm.url} answers{offset}, but syncing stopped after an earlier refusal",
                f"syncing resumes after a new enrollment: {HINT_ENROLL}",
            )
        return CheckResult("crm", "pass", f"{crm.url} answers, credentials accepted{offset}")
    if answer.outcome == "unreachable":
        return CheckResult(
            "crm",
            "fail",
            f"{crm.url} is unreachable{detail}",
            "check the network (cable or Wi-Fi, `ping` the CRM's host, DNS) and crm.url; "
            "the kiosk keeps working and syncs when it is back",
        )
    if answer.outcome == "credentials":
        return CheckResult(
            "crm",
            "fail",
            f"{crm.url} refused this kiosk's credentials{detail}",
            f"the device was revoked or enrolled again elsewhere: re-provision it: {HINT_ENROLL}",
        )
    if answer.outcome in ("not_enrolled", "bad_secret"):
        what = "not enrolled" if answer.outcome == "not_enrolled" else "the secret file is damaged"
        return CheckResult("crm", "fail", f"{crm.url}: {what}{detail}", HINT_ENROLL)
    if answer.outcome == "clock":
        return CheckResult(
            "crm",
            "fail",
            f"{crm.url} refused the request's time{detail}",
            "the clock is more than 300 s off: see the clock check, then `kiosk doctor` again",
        )
    return CheckResult(
        "crm",
        "fail",
        f"{crm.url} refused the request{detail}",
        "try again in a while; if it stays, tell the CRM's operator what it answered",
    )


# -- 7. queue ---------------------------------------------------------------------------------


def check_queue(ctx: DoctorContext) -> CheckResult:
    """Entries waiting for the CRM: how many, how old the oldest, and any it rejected."""
    try:
        conn = ctx.database()
    except DatabaseUnreadable:
        return CheckResult(
            "queue", "warn", "not checked: the database cannot be read", "see the database check"
        )
    if conn is None:
        return CheckResult("queue", "pass", "nothing queued (no database yet)")
    device = ctx.device_id() or ""
    outbox = Outbox(conn, device)
    pending, rejected = outbox.depth()
    if not ctx.config.crm.url:
        return CheckResult(
            "queue",
            "pass",
            f"{_count(pending, 'entry', 'entries')} kept here (no CRM is configured)",
        )
    parts: list[tuple[str, Status, str | None]] = []
    oldest = outbox.oldest_pending_at()
    if pending and oldest is not None:
        age = ctx.now() - from_iso(oldest)
        text = f"{_count(pending, 'entry', 'entries')} waiting, the oldest for {_age(age)}"
        if age > QUEUE_FAIL_AGE:
            parts.append((text, "fail", HINT_SYNC))
        elif age > QUEUE_WARN_AGE:
            parts.append((text, "warn", HINT_SYNC))
        else:
            parts.append((text, "pass", None))
    else:
        parts.append(("nothing waiting", "pass", None))
    if rejected:
        parts.append(
            (
                f"{_count(rejected, 'entry', 'entries')} rejected by the CRM",
                "warn",
                "a technician must look at them: `kiosk sync status` (they are kept, never "
                "dropped)",
            )
        )
    return _combine("queue", parts)


# -- 8. services and watchdog ----------------------------------------------------------------


def check_services(ctx: DoctorContext) -> CheckResult:
    """The kiosk's systemd services: running, restarting, watched by the watchdog?"""
    if not (ctx.run_dir / "systemd" / "system").is_dir():  # sd_booted(3)
        return CheckResult(
            "services",
            "warn",
            "systemd is not running here (a container or a laptop?)",
            f"on the kiosk the services run under systemd: {INSTALL}",
        )
    properties = "Id,LoadState,ActiveState,SubState,WatchdogUSec,NRestarts"
    answer = ctx.run(["systemctl", "show", *SERVICES, "-p", properties])
    if answer is None:
        return CheckResult(
            "services",
            "warn",
            "systemd runs, but systemctl is not installed",
            "install systemd's tools (`sudo apt install systemd`)",
        )
    if answer.returncode != 0:
        return CheckResult(
            "services",
            "warn",
            f"`systemctl show` failed (exit {answer.returncode})",
            "run `systemctl status loyalty-kiosk` to see why",
        )
    units = _parse_show(answer.stdout)
    parts = [_service(ctx, name, units.get(name, {})) for name in SERVICES]
    return _combine("services", parts)


def _parse_show(text: str) -> dict[str, dict[str, str]]:
    units: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        values = dict(line.partition("=")[::2] for line in block.splitlines() if "=" in line)
        if values.get("Id"):
            units[values["Id"]] = values
    return units


def _service(ctx: DoctorContext, name: str, unit: dict[str, str]) -> tuple[str, Status, str | None]:
    short = name.removesuffix(".service")
    if not unit or unit.get("LoadState") == "not-found":
        return f"{short}: not installed as a service", "warn", f"{INSTALL} to install it"
    if unit.get("LoadState") == "masked":
        return f"{short}: masked", "fail", f"`sudo systemctl unmask --now {short}`"
    active, sub = unit.get("ActiveState", "?"), unit.get("SubState", "?")
    restarts = _int(unit.get("NRestarts", "0"))
    watchdog = unit.get("WatchdogUSec", "0")
    text = f"{short}: {active} ({sub})"
    if watchdog not in ("0", "", "infinity"):
        text += f", watchdog {watchdog}"
    if restarts:
        text += f", {_count(restarts, 'restart', 'restarts')}"
    logs = f"`journalctl -u {short} -b` shows why"
    if active in ("inactive", "failed"):
        if name == SYNC_SERVICE and not ctx.config.crm.url:
            return (
                text + " (no CRM is configured)",
                "warn",
                "it is needed once the kiosk is provisioned (`kiosk provision`)",
            )
        return text, "fail", f"start it: `sudo systemctl restart {short}`; {logs}"
    if active != "active":
        return text, "warn", f"it is {sub}; {logs}"
    if restarts > MANY_RESTARTS:
        return text, "warn", f"it keeps restarting: {logs}"
    return text, "pass", None


# -- running them -----------------------------------------------------------------------------

CHECKS: tuple[tuple[str, Check], ...] = (
    ("readers", check_readers),
    ("nfc_driver", check_kernel_driver),
    ("database", check_database),
    ("disk", check_disk),
    ("clock", check_clock),
    ("crm", check_crm),
    ("queue", check_queue),
    ("services", check_services),
)


def run_checks(
    ctx: DoctorContext, checks: Sequence[tuple[str, Check]] = CHECKS
) -> list[CheckResult]:
    """Every check, in order; one that raises is a failure naming the exception."""
    results = []
    for name, check in checks:
        try:
            result = check(ctx)
        except Exception as exc:  # a broken check must not hide the others
            result = CheckResult(
                name,
                "fail",
                f"the check itself failed: {type(exc).__name__}: {_describe(exc)}",
                "look at the kiosk's log (`journalctl -u loyalty-kiosk -b`) and tell the vendor",
            )
        results.append(
            CheckResult(name, result.status, scrub(result.summary), _scrub_opt(result.hint))
        )
    return results


def all_ok(results: Sequence[CheckResult]) -> bool:
    """True when no check failed (warnings allowed)."""
    return all(r.status != "fail" for r in results)


def format_line(result: CheckResult) -> str:
    """One line: status, name, what was found, and what to do."""
    line = f"{result.status:<4}  {result.name:<10}  {result.summary}"
    if result.hint and result.status != "pass":
        line += f" -- {result.hint}"
    return line


# -- helpers ----------------------------------------------------------------------------------

# Personal data never reaches the output, whatever an exception or a CRM says.
scrub = redact


def _scrub_opt(text: str | None) -> str | None:
    return None if text is None else scrub(text)


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
