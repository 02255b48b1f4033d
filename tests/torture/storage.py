"""Storage faults: the database full, a read-only medium, I/O errors, the disk really full.

What the kiosk promises (README, docs/ui.md): when the database cannot be written it says
"out of service", writes nothing half-way, and comes back by itself once it can. At the
service level that is: every refused call raises `StorageUnavailable` (never a raw
`sqlite3.Error`), the database is unchanged by it, `kiosk ledger verify` holds, the
write probe (`kiosk.core.store.settings.storage_writable`) says "not writable" while the fault lasts
and "writable" once it is gone, and the refused call retried with the same client
transaction id is recorded exactly once, on the same connection (no restart).

How each fault is made, for real where this machine allows it (tests run as root, and
root ignores file modes, so `chmod` cannot make anything read-only here):

- `db_full`: `PRAGMA max_page_count` a few pages above the database's size, on the
  service's own connection (the limit is per connection). SQLite answers SQLITE_FULL,
  exactly as for a full disk.
- `query_only`: `PRAGMA query_only=ON` on the service's connection: SQLite refuses every
  write with SQLITE_READONLY, as on a read-only file. (A medium that turns read-only under
  a running kiosk cannot be made for real: the kernel refuses `remount,ro` while the
  database is open for writing, and a read-only bind mount does not touch descriptors
  already open. When ext4 remounts itself read-only after an error, write() fails with
  EROFS, which SQLite reports as an I/O error: that is the `io_write` fault below.)
- `read_only_start`: a real read-only filesystem (a tmpfs remounted `ro`) under a
  database left with its WAL by a crash; the kiosk starts on it. Needs `mount` (root).
- `io_write` / `io_fsync`: a fault-injecting SQLite VFS (`FaultyVfs`) registered, through
  ctypes, in the very libsqlite3 that Python's sqlite3 module uses, made the default VFS
  so that the product's unchanged `kiosk.core.store.db.connect` opens through it; while armed,
  xWrite answers SQLITE_IOERR_WRITE (or xSync SQLITE_IOERR_FSYNC), optionally after
  letting a number of calls through. apsw cannot do this: it bundles its own SQLite, and
  a VFS registered there is invisible to Python's sqlite3.
- `disk_full`: the data directory on a tiny tmpfs, filled to the last byte with a
  filler file; removing the filler is the fault going. Needs `mount` (root).

`run(scale, work)` is the campaign part: rounds of each fault with a shop's workload
(enroll, earn, redeem, void, adjust), counting what happened. The pytest tests in
tests/test_storage_faults.py use the same pieces one at a time.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kiosk.bootstrap import Appliance
from kiosk.config import KioskConfig
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.db import database_path
from kiosk.core.store.settings import storage_writable
from kiosk.core.store.staff import CLI, Actor
from kiosk.core.store.vault import KEY_FILENAME
from kiosk.core.store.verify import verify_ledger
from kiosk.errors import KioskError, StorageUnavailable
from tests.conftest import START, make_config
from tests.torture.common import Report, Scale

FaultKind = Literal["db_full", "query_only", "io_write", "io_fsync", "disk_full"]
RUNTIME_FAULTS: tuple[FaultKind, ...] = (
    "db_full",
    "query_only",
    "io_write",
    "io_fsync",
    "disk_full",
)
# Purchase limits off: the workload earns for the same members again and again.
WORKLOAD_OVERRIDES = (
    "program.limits.max_earns_per_day=0",
    "program.limits.min_minutes_between_earns=0",
)
_ROUNDS: dict[str, int] = {"short": 3, "full": 50}
_MAX_OPS_PER_FAULT = 400  # a fault that lets this many calls through was never hit
_SQLITE_DEFAULT_MAX_PAGES = 1_073_741_823

# -- what is in the database ----------------------------------------------------------------


def contents(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Every row of every table (but the write probe's), as text, in a stable order.

    Two equal results mean that nothing was written in between, not even half a change.
    """
    tables = [
        str(row[0])
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name <> 'write_probe' ORDER BY name"
        )
    ]
    return {
        table: sorted(repr(tuple(row)) for row in conn.execute(f'SELECT * FROM "{table}"'))
        for table in tables
    }


def changed_tables(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    """The tables whose rows differ between two `contents`."""
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))


def txn_rows(conn: sqlite3.Connection, txn_id: str) -> tuple[int, int]:
    """How many client transaction records and ledger entries carry `txn_id`."""
    records = conn.execute("SELECT COUNT(*) FROM client_txns WHERE txn_id = ?", (txn_id,))
    entries = conn.execute("SELECT COUNT(*) FROM entries WHERE client_txn_id = ?", (txn_id,))
    return int(records.fetchone()[0]), int(entries.fetchone()[0])


# -- a fault-injecting VFS in Python's own libsqlite3 -------------------------------------------

SQLITE_OK = 0
SQLITE_FULL = 13
SQLITE_IOERR_WRITE = 10 | (3 << 8)
SQLITE_IOERR_FSYNC = 10 | (4 << 8)

_P = ctypes.c_void_p
_XWRITE = ctypes.CFUNCTYPE(ctypes.c_int, _P, _P, ctypes.c_int, ctypes.c_int64)
_XSYNC = ctypes.CFUNCTYPE(ctypes.c_int, _P, ctypes.c_int)
# The file name stays a raw pointer: SQLite keeps it and reads URI parameters after it.
_XOPEN = ctypes.CFUNCTYPE(ctypes.c_int, _P, _P, _P, ctypes.c_int, _P)


class _IoMethods(ctypes.Structure):
    # struct sqlite3_io_methods (version 3); only xWrite and xSync are replaced.
    _fields_ = [
        ("iVersion", ctypes.c_int),
        ("xClose", _P),
        ("xRead", _P),
        ("xWrite", _XWRITE),
        ("xTruncate", _P),
        ("xSync", _XSYNC),
        ("xFileSize", _P),
        ("xLock", _P),
        ("xUnlock", _P),
        ("xCheckReservedLock", _P),
        ("xFileControl", _P),
        ("xSectorSize", _P),
        ("xDeviceCharacteristics", _P),
        ("xShmMap", _P),
        ("xShmLock", _P),
        ("xShmBarrier", _P),
        ("xShmUnmap", _P),
        ("xFetch", _P),
        ("xUnfetch", _P),
    ]


class _File(ctypes.Structure):
    # struct sqlite3_file: the methods first, then the VFS's own data (szOsFile bytes).
    _fields_ = [("pMethods", ctypes.POINTER(_IoMethods))]


class _Vfs(ctypes.Structure):
    # struct sqlite3_vfs (version 3); only xOpen is replaced.
    _fields_ = [
        ("iVersion", ctypes.c_int),
        ("szOsFile", ctypes.c_int),
        ("mxPathname", ctypes.c_int),
        ("pNext", _P),
        ("zName", ctypes.c_char_p),
        ("pAppData", _P),
        ("xOpen", _XOPEN),
        ("xDelete", _P),
        ("xAccess", _P),
        ("xFullPathname", _P),
        ("xDlOpen", _P),
        ("xDlError", _P),
        ("xDlSym", _P),
        ("xDlClose", _P),
        ("xRandomness", _P),
        ("xSleep", _P),
        ("xCurrentTime", _P),
        ("xGetLastError", _P),
        ("xCurrentTimeInt64", _P),
        ("xSetSystemCall", _P),
        ("xGetSystemCall", _P),
        ("xNextSystemCall", _P),
    ]


def _python_libsqlite3() -> str | None:
    """The path of the shared libsqlite3 that Python's sqlite3 module is linked with."""
    import _sqlite3  # noqa: F401  (loads the library, so that it is in the map below)

    maps = Path("/proc/self/maps")
    if not maps.exists():
        return None
    for line in maps.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 6 and Path(parts[-1]).name.startswith("libsqlite3"):
            return parts[-1]
    return None


class FaultyVfs:
    """The default SQLite VFS ("unix") with faults on demand, in Python's own libsqlite3.

    `installed()` makes it the default VFS, so that `sqlite3.connect` (and so the product's
    `kiosk.core.store.db.connect`) opens through it; files opened then keep it after it is
    uninstalled. `arm(mode, after)` makes xWrite ("write": SQLITE_IOERR_WRITE, "full":
    SQLITE_FULL) or xSync ("fsync": SQLITE_IOERR_FSYNC) fail after `after` more calls
    went through, until `disarm()`. Reads are never refused.
    """

    NAME = b"kiosk-faulty"

    def __init__(self) -> None:
        self.available = False
        self.reason = ""
        self.mode: str | None = None
        self.countdown = 0
        self.refused = 0  # calls answered with an error
        self._keep: list[Any] = []  # ctypes objects SQLite points at: they must live on
        self._methods: dict[int, _IoMethods] = {}
        path = _python_libsqlite3()
        if path is None:
            self.reason = (
                "Python's sqlite3 module has SQLite linked in statically: there is no shared "
                "libsqlite3 in which to register a VFS it would use"
            )
            return
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            self.reason = f"cannot load {path}: {exc}"
            return
        lib.sqlite3_vfs_find.restype = ctypes.POINTER(_Vfs)
        lib.sqlite3_vfs_find.argtypes = [ctypes.c_char_p]
        lib.sqlite3_vfs_register.argtypes = [ctypes.POINTER(_Vfs), ctypes.c_int]
        lib.sqlite3_vfs_unregister.argtypes = [ctypes.POINTER(_Vfs)]
        self._lib = lib
        base = lib.sqlite3_vfs_find(None)
        if not base or base.contents.iVersion < 3:
            self.reason = "the default SQLite VFS is missing or older than version 3"
            return
        self._base = base
        self._vfs = _Vfs()
        ctypes.pointer(self._vfs)[0] = base.contents  # every method of the default VFS...
        self._vfs.zName = self.NAME
        self._vfs.xOpen = _XOPEN(self._open)  # ...but xOpen, which wraps the file's methods
        self._keep.append(self._vfs.xOpen)
        if lib.sqlite3_vfs_register(ctypes.byref(self._vfs), 0) != SQLITE_OK:
            self.reason = "sqlite3_vfs_register failed"
            return
        # Is it the library Python's sqlite3 uses? Then it finds the VFS by name.
        with tempfile.TemporaryDirectory() as scratch:
            uri = f"file:{Path(scratch) / 'probe.db'}?vfs={self.NAME.decode()}"
            try:
                sqlite3.connect(uri, uri=True).close()
            except sqlite3.OperationalError as exc:
                self.reason = f"Python's sqlite3 does not see a VFS registered in {path}: {exc}"
                return
        self.available = True

    # -- the faults ----------------------------------------------------------------------

    def arm(self, mode: Literal["write", "fsync", "full"], after: int = 0) -> None:
        """Refuse writes (or syncs) after `after` more of them went through."""
        self.mode, self.countdown = mode, after

    def disarm(self) -> None:
        """Let every call through again."""
        self.mode = None

    def _refuse(self, mode: str) -> int:
        """The error to answer a call of this kind with now, or SQLITE_OK to let it through."""
        if self.mode != mode and not (self.mode == "full" and mode == "write"):
            return SQLITE_OK
        if self.countdown > 0:
            self.countdown -= 1
            return SQLITE_OK
        self.refused += 1
        return {"write": SQLITE_IOERR_WRITE, "fsync": SQLITE_IOERR_FSYNC, "full": SQLITE_FULL}[
            self.mode
        ]

    # -- the VFS -------------------------------------------------------------------------

    @contextlib.contextmanager
    def installed(self) -> Iterator[FaultyVfs]:
        """The default VFS while the block runs (files opened meanwhile keep it)."""
        if not self.available:
            raise RuntimeError(self.reason)
        self._lib.sqlite3_vfs_register(ctypes.byref(self._vfs), 1)
        try:
            yield self
        finally:
            self.disarm()
            # Back to "unix" as the default; keeping it registered by name is harmless.
            self._lib.sqlite3_vfs_register(self._base, 1)

    def _open(self, _vfs: int, name: int | None, file: int, flags: int, out: int | None) -> int:
        base = self._base.contents
        rc = int(base.xOpen(ctypes.cast(self._base, _P), name, file, flags, out))
        handle = ctypes.cast(file, ctypes.POINTER(_File)).contents
        if rc == SQLITE_OK and handle.pMethods:
            original = handle.pMethods.contents
            key = ctypes.addressof(original)
            if key not in self._methods:
                self._methods[key] = self._wrap(original)
            handle.pMethods = ctypes.pointer(self._methods[key])
        return rc

    def _wrap(self, original: _IoMethods) -> _IoMethods:
        wrapped = _IoMethods()
        ctypes.pointer(wrapped)[0] = original
        write, sync = original.xWrite, original.xSync

        def x_write(file: int, data: int, amount: int, offset: int) -> int:
            refused = self._refuse("write")
            return refused or int(write(file, data, amount, offset))

        def x_sync(file: int, flags: int) -> int:
            refused = self._refuse("fsync")
            return refused or int(sync(file, flags))

        wrapped.xWrite = _XWRITE(x_write)
        wrapped.xSync = _XSYNC(x_sync)
        self._keep += [wrapped.xWrite, wrapped.xSync, original]
        return wrapped


@functools.cache
def faulty_vfs() -> FaultyVfs:
    """The process's one FaultyVfs (SQLite keeps pointers into it: it is never freed)."""
    return FaultyVfs()


# -- real filesystems: a tiny tmpfs, remounted read-only --------------------------------------


def mount_unavailable() -> str | None:
    """Why a tmpfs cannot be mounted here (None: it can)."""
    if not sys.platform.startswith("linux"):
        return "tmpfs mounts need Linux"
    if shutil.which("mount") is None or shutil.which("umount") is None:
        return "no mount/umount commands"
    with tempfile.TemporaryDirectory() as scratch:
        tried = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", scratch],
            capture_output=True,
            text=True,
            check=False,
        )
        if tried.returncode != 0:
            return f"cannot mount a tmpfs (needs root/CAP_SYS_ADMIN): {tried.stderr.strip()}"
        subprocess.run(["umount", scratch], check=False)
    return None


@contextlib.contextmanager
def tmpfs(where: Path, size_kb: int) -> Iterator[Path]:
    """A tmpfs of `size_kb` mounted at `where` while the block runs."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0700", "tmpfs", str(where)],
        check=True,
        capture_output=True,
    )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def remount(where: Path, *, read_only: bool) -> None:
    """Make the filesystem mounted at `where` read-only or writable again."""
    flag = "ro" if read_only else "rw"
    subprocess.run(["mount", "-o", f"remount,{flag}", str(where)], check=True, capture_output=True)


def fill(directory: Path, *, leave: int = 0) -> Path:
    """Fill the filesystem of `directory` with a filler file, leaving about `leave` bytes."""
    filler = directory / "filler"
    chunk = b"\0" * 4096
    with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):
        while out.write(chunk):  # unbuffered: ENOSPC ends the loop, nothing is left to flush
            pass
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


# -- a shop's workload --------------------------------------------------------------------------


@dataclass
class Operation:
    """One call of the service with its client transaction id; `call` may be repeated."""

    name: str
    txn_id: str
    call: Callable[[], object]


@dataclass
class Shop:
    """A service on a real database with staff and members, making the day's calls."""

    service: LoyaltyService
    clock: ManualClock
    cashier: Actor
    manager: Actor
    members: list[str] = field(default_factory=list)
    earns: list[str] = field(default_factory=list)  # entry ids of earns not voided
    phones: int = 0
    txns: int = 0

    @classmethod
    def open(
        cls, data_dir: Path, *overrides: str, clock: ManualClock | None = None, members: int = 3
    ) -> Shop:
        """Open (creating) the kiosk in `data_dir` with a cashier, a manager and members."""
        clock = clock or ManualClock(START)
        service = Appliance(shop_config(*overrides), data_dir, clock=clock).open_service()
        cashier = service.staff.add(name="Sara", role="cashier", pin="1357", actor=CLI)
        manager = service.staff.add(name="Reza", role="manager", pin="2468", actor=CLI)
        shop = cls(
            service,
            clock,
            Actor(cashier.staff_id, "cashier"),
            Actor(manager.staff_id, "manager"),
        )
        for _ in range(members):
            shop.enroll().call()
        return shop

    @property
    def conn(self) -> sqlite3.Connection:
        return self.service.conn

    def _txn(self, name: str) -> str:
        self.txns += 1
        return f"{name}-{self.txns}"

    def enroll(self) -> Operation:
        self.phones += 1
        phone = f"0912{self.phones:07d}"
        txn = self._txn("enroll")

        def call() -> object:
            result = self.service.enroll(phone, client_txn_id=txn, name="Shopper")
            if result.member_id not in self.members:
                self.members.append(result.member_id)
            return result

        return Operation("enroll", txn, call)

    def earn(self, member_id: str, amount: int, txn: str | None = None) -> Operation:
        txn = txn or self._txn("earn")

        def call() -> object:
            result = self.service.earn(member_id, amount, cashier=self.cashier, client_txn_id=txn)
            if not result.replayed:
                self.earns.append(result.entry_id)
            return result

        return Operation("earn", txn, call)

    def redeem(self, member_id: str) -> Operation:
        txn = self._txn("redeem")
        return Operation(
            "redeem",
            txn,
            lambda: self.service.redeem(
                member_id, "coffee", cashier=self.cashier, client_txn_id=txn
            ),
        )

    def void(self, entry_id: str) -> Operation:
        txn = self._txn("void")

        def call() -> object:
            result = self.service.void(
                entry_id, reason="typo", cashier=self.cashier, client_txn_id=txn
            )
            if entry_id in self.earns:
                self.earns.remove(entry_id)
            return result

        return Operation("void", txn, call)

    def adjust(self, member_id: str, points: int) -> Operation:
        txn = self._txn("adjust")
        return Operation(
            "adjust",
            txn,
            lambda: self.service.adjust(
                member_id, points, reason="goodwill", actor=self.manager, client_txn_id=txn
            ),
        )

    def next_operation(self, rng: random.Random) -> Operation:
        """A call a shop makes, mostly purchases; each one normally succeeds."""
        self.clock.advance(minutes=rng.randint(1, 30))
        roll = rng.random()
        member = rng.choice(self.members)
        if roll < 0.15:
            return self.enroll()
        if roll < 0.25 and self.service.ledger.balance(member) >= 200:
            return self.redeem(member)
        if roll < 0.32 and self.earns:
            return self.void(self.earns[-1])
        if roll < 0.37:
            return self.adjust(member, rng.randint(1, 300))
        return self.earn(member, rng.randint(1, 500) * 100_000)

    def close(self) -> None:
        self.service.close()


def shop_config(*overrides: str) -> KioskConfig:
    """The test configuration with the purchase limits off (and `overrides`)."""
    return make_config(*WORKLOAD_OVERRIDES, *overrides)


# -- faults -----------------------------------------------------------------------------------


@dataclass
class Fault:
    """A storage fault on a shop: `inject()` makes writes fail, `remove()` ends it."""

    kind: FaultKind
    inject: Callable[[], None]
    remove: Callable[[], None]


def database_full(conn: sqlite3.Connection, headroom: int = 0) -> Fault:
    """SQLITE_FULL once the file has grown `headroom` pages (max_page_count, this connection)."""
    original = int(conn.execute("PRAGMA max_page_count").fetchone()[0])

    def inject() -> None:
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        conn.execute(f"PRAGMA max_page_count = {pages + headroom}")

    def remove() -> None:
        conn.execute(f"PRAGMA max_page_count = {original or _SQLITE_DEFAULT_MAX_PAGES}")

    return Fault("db_full", inject, remove)


def query_only(conn: sqlite3.Connection) -> Fault:
    """SQLITE_READONLY for every write on this connection, as on a read-only file."""

    def inject() -> None:
        conn.execute("PRAGMA query_only = ON")

    def remove() -> None:
        conn.execute("PRAGMA query_only = OFF")

    return Fault("query_only", inject, remove)


def io_error(vfs: FaultyVfs, mode: Literal["write", "fsync"], after: int = 0) -> Fault:
    """xWrite or xSync failing with an I/O error (after `after` calls), on files of the VFS."""
    kind: FaultKind = "io_write" if mode == "write" else "io_fsync"
    return Fault(kind, lambda: vfs.arm(mode, after), vfs.disarm)


def disk_full(directory: Path, conn: sqlite3.Connection, leave: int = 0) -> Fault:
    """The filesystem of `directory` (a tiny tmpfs) full, but for `leave` bytes."""
    filler = directory / "filler"

    def inject() -> None:
        # The WAL would otherwise reuse its own blocks after a checkpoint and never grow.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        fill(directory, leave=leave)

    return Fault("disk_full", inject, lambda: filler.unlink(missing_ok=True))


# -- one round: inject, work until refused, check, remove, check -------------------------------


@dataclass
class Tally:
    """What the rounds saw."""

    injected: Counter[str] = field(default_factory=Counter)
    recovered: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # StorageUnavailable, by kind
    written_under_fault: int = 0  # calls that still fitted (db full with headroom)
    rule_refusals: int = 0  # business rules said no (not a storage matter)
    half_written: int = 0
    verify_failures: int = 0
    wrong_errors: int = 0  # a raw sqlite3 error (or another exception) instead
    probe_wrong: int = 0  # the write probe said the opposite of the truth
    stuck: int = 0  # the fault went, the service still cannot write (until restarted)
    crash_images: int = 0  # crash images of the files, taken right after a refused call
    recorded_after_crash: int = 0  # ...in which the refused call is there after all
    not_hit: int = 0
    problems: Counter[str] = field(default_factory=Counter)  # what broke, how often

    def problem(self, text: str) -> None:
        self.problems[text] += 1


def fault_round(shop: Shop, fault: Fault, rng: random.Random, tally: Tally) -> Operation | None:
    """Inject `fault`, call until a call is refused, remove it, retry that call; check all.

    Returns the refused operation (None if the fault was never hit).
    """
    conn = shop.conn
    kind = fault.kind
    fault.inject()
    tally.injected[kind] += 1
    refused: Operation | None = None
    try:
        for _ in range(_MAX_OPS_PER_FAULT):
            op = shop.next_operation(rng)
            before = contents(conn)
            try:
                op.call()
            except StorageUnavailable:
                tally.refused[kind] += 1
                refused = op
            except KioskError:
                tally.rule_refusals += 1
                continue
            except Exception as exc:  # the point: anything but StorageUnavailable is wrong
                tally.wrong_errors += 1
                tally.problem(f"{kind}: a call raised {type(exc).__name__}: {exc}")
                refused = op
            else:
                tally.written_under_fault += 1
                continue
            after = contents(conn)
            if after != before:
                tally.half_written += 1
                tally.problem(
                    f"{kind}: a refused {op.name} changed "
                    + ", ".join(changed_tables(before, after))
                )
            _crash_check(conn, op, tally, kind)
            break
        if refused is None:
            tally.not_hit += 1
            tally.problem(f"{kind}: {_MAX_OPS_PER_FAULT} calls went through the fault")
        _check_verify(conn, tally, f"{kind}, during the fault")
        if storage_writable(conn):
            tally.probe_wrong += 1
            tally.problem(f"{kind}: the write probe says writable during the fault")
    finally:
        fault.remove()
    if not storage_writable(conn):
        tally.probe_wrong += 1
        tally.problem(f"{kind}: the write probe says not writable after the fault went")
    if refused is not None and _retried_once(shop, refused, tally, kind):
        tally.recovered[kind] += 1
    _check_verify(conn, tally, f"{kind}, after recovery")
    return refused


def _retried_once(shop: Shop, op: Operation, tally: Tally, kind: str) -> bool:
    """The refused call, repeated with its id, is recorded; repeated again, it is not."""
    try:
        first = op.call()
        again = op.call()
    except KioskError as exc:
        if isinstance(exc, StorageUnavailable):
            tally.problem(f"{kind}: {op.name} still refused after the fault went")
            return False
        tally.rule_refusals += 1  # e.g. a void whose entry was voided meanwhile
        return True
    except Exception as exc:
        tally.wrong_errors += 1
        tally.problem(f"{kind}: retrying {op.name} raised {type(exc).__name__}")
        return False
    records, entries = txn_rows(shop.conn, op.txn_id)
    if (
        records != 1
        or entries > 1
        or getattr(first, "replayed", True)
        or not getattr(again, "replayed", False)
    ):
        tally.half_written += 1
        tally.problem(f"{kind}: {op.name} retried twice: {records} records, {entries} entries")
        return False
    return True


def _crash_check(conn: sqlite3.Connection, op: Operation, tally: Tally, kind: str) -> None:
    """A power cut right after the refused call: the files hold all of it or none of it."""
    path = Path(str(conn.execute("PRAGMA database_list").fetchone()[2]))
    with tempfile.TemporaryDirectory() as scratch:
        image = sqlite3.connect(crash_image(path.parent, Path(scratch)))
        try:
            tally.crash_images += 1
            _check_verify(image, tally, f"{kind}, in a crash image after a refused {op.name}")
            records, entries = txn_rows(image, op.txn_id)
            if records:
                tally.recorded_after_crash += 1
            if records > 1 or entries > 1 or (entries and not records):
                tally.half_written += 1
                tally.problem(f"{kind}: crash image holds {records} records, {entries} entries")
        finally:
            image.close()


def _check_verify(conn: sqlite3.Connection, tally: Tally, when: str) -> None:
    report = verify_ledger(conn)
    if not report.ok:
        tally.verify_failures += 1
        tally.problem(f"ledger verify failed {when}: {'; '.join(report.problems[:3])}")


# -- a crash right after a refused write --------------------------------------------------------


def crash_image(data_dir: Path, into: Path) -> Path:
    """Copy the database and its WAL (not the -shm) as a power cut would leave them.

    Without the -shm, SQLite rebuilds its index from the WAL when it opens the copy, as
    after a reboot: whatever the WAL holds with a valid commit frame counts.
    """
    into.mkdir(parents=True, exist_ok=True)
    source = database_path(data_dir)
    target = into / source.name
    for suffix in ("", "-wal"):
        part = Path(f"{source}{suffix}")
        if part.exists():
            shutil.copyfile(part, f"{target}{suffix}")
    key = data_dir / KEY_FILENAME  # the key that opens it outlives the power cut
    if key.exists() and into.resolve() != data_dir.resolve():
        shutil.copy2(key, into / KEY_FILENAME)
    return target


# -- the campaign part --------------------------------------------------------------------------


def run(scale: Scale, work: Path) -> Report:
    """Rounds of every storage fault on a shop's workload; see the module's docstring."""
    started = time.monotonic()
    report = Report("storage")
    rounds = _ROUNDS[scale]
    seed = 20260301 if scale == "short" else uuid.uuid4().int % 2**32
    rng = random.Random(seed)
    tally = Tally()
    work.mkdir(parents=True, exist_ok=True)
    skipped: list[str] = []

    _db_full_rounds(work / "db_full", rounds, rng, tally, scale)
    _query_only_rounds(work / "query_only", rounds, rng, tally)
    vfs = faulty_vfs()
    if vfs.available:
        _io_rounds(work / "io", vfs, rounds, rng, tally, scale)
    else:
        skipped.append(f"io_write, io_fsync: {vfs.reason}")
    no_mount = mount_unavailable()
    if no_mount is None:
        _disk_full_rounds(work / "disk_full", rounds, rng, tally, scale)
        _read_only_start_rounds(work / "read_only_start", rounds, tally, report)
    else:
        skipped.append(f"disk_full, read_only_start: {no_mount}")

    faults = sum(tally.injected.values())
    recoveries = sum(tally.recovered.values())
    report.figures.update(
        {
            "rounds per fault": rounds,
            "seed": seed,
            **{
                f"{kind}: faults / refused / recovered": (
                    f"{n} / {tally.refused[kind]} / {tally.recovered[kind]}"
                )
                for kind, n in sorted(tally.injected.items())
            },
            "faults": faults,
            "refused with StorageUnavailable": sum(tally.refused.values()),
            "calls that still fitted under a fault": tally.written_under_fault,
            "refused by a business rule": tally.rule_refusals,
            "half-written operations": tally.half_written,
            "ledger verify failures": tally.verify_failures,
            "raw errors instead of StorageUnavailable": tally.wrong_errors,
            "write probe wrong": tally.probe_wrong,
            "still unwritable after the fault went (until restarted)": tally.stuck,
            "crash images after a refused call": tally.crash_images,
            "refused calls found recorded in the crash image": tally.recorded_after_crash,
            "recoveries": recoveries,
            "faulty VFS": "in Python's libsqlite3" if vfs.available else "unavailable",
        }
    )
    if skipped:
        report.figures["skipped"] = " | ".join(skipped)
    for problem, times in tally.problems.most_common():
        report.fail(f"{problem} ({times} times)" if times > 1 else problem)
    checks = (
        (tally.half_written == 0, f"{tally.half_written} half-written operations"),
        (tally.verify_failures == 0, f"{tally.verify_failures} ledger verify failures"),
        (tally.wrong_errors == 0, f"{tally.wrong_errors} raw errors"),
        (tally.probe_wrong == 0, f"the write probe was wrong {tally.probe_wrong} times"),
        (tally.not_hit == 0, f"{tally.not_hit} faults never hit"),
        (tally.stuck == 0, f"{tally.stuck} services stuck unwritable after the fault went"),
        (recoveries == faults, f"{recoveries} recoveries for {faults} faults"),
    )
    for ok, text in checks:
        if not ok and text not in report.problems:
            report.fail(text)
    report.seconds = round(time.monotonic() - started, 2)
    return report


def _db_full_rounds(
    work: Path, rounds: int, rng: random.Random, tally: Tally, scale: Scale
) -> None:
    shop = Shop.open(work / "data")
    try:
        for n in range(rounds):
            # Short: the limit right at the file's size; full: a random few pages above it.
            headroom = n if scale == "short" else rng.randint(0, 12)
            fault_round(shop, database_full(shop.conn, headroom), rng, tally)
    finally:
        shop.close()


def _query_only_rounds(work: Path, rounds: int, rng: random.Random, tally: Tally) -> None:
    shop = Shop.open(work / "data")
    try:
        for _ in range(rounds):
            fault_round(shop, query_only(shop.conn), rng, tally)
    finally:
        shop.close()


def _io_rounds(
    work: Path, vfs: FaultyVfs, rounds: int, rng: random.Random, tally: Tally, scale: Scale
) -> None:
    with vfs.installed():
        shop = Shop.open(work / "data")
    try:
        for n in range(rounds):
            for mode in ("write", "fsync"):
                # Short: the first call, then one and two calls in; full: anywhere in a commit.
                after = n if scale == "short" else rng.randint(0, 8)
                fault_round(shop, io_error(vfs, mode, after), rng, tally)
    finally:
        shop.close()


def _disk_full_rounds(
    work: Path, rounds: int, rng: random.Random, tally: Tally, scale: Scale
) -> None:
    with tmpfs(work / "mnt", 4096) as mnt:
        shop = Shop.open(mnt / "data")
        try:
            for n in range(rounds):
                leave = n * 512 if scale == "short" else rng.randint(0, 16) * 1024
                fault_round(shop, disk_full(mnt, shop.conn, leave), rng, tally)
        finally:
            shop.close()


def _read_only_start_rounds(work: Path, rounds: int, tally: Tally, report: Report) -> None:
    """The kiosk starts on a read-only medium, which later turns writable again.

    Even rounds: the kiosk had crashed, its WAL is still there, and SQLite opens the
    database read-only; the service that was opened must take writes by itself once the
    medium is writable (that is the recovery counted). Odd rounds: it was shut down
    cleanly, there is no WAL, and it must refuse to start with StorageUnavailable; the
    recovery counted is the restart (systemd's) once the medium is writable.
    """
    restarts = 0
    for n in range(rounds):
        with tmpfs(work / f"mnt{n}", 4096) as mnt:
            data = mnt / "data"
            crashed_kiosk(data, crash=n % 2 == 0)
            remount(mnt, read_only=True)
            tally.injected["read_only_start"] += 1
            shop = _open_read_only(data, tally)
            op = None
            if shop is not None:
                op = shop.earn(shop.members[0], 1_000_000)
                before = contents(shop.conn)
                try:
                    op.call()
                except StorageUnavailable:
                    tally.refused["read_only_start"] += 1
                except Exception as exc:
                    tally.wrong_errors += 1
                    tally.problem(f"read_only_start: earn raised {type(exc).__name__}: {exc}")
                else:
                    tally.problem("read_only_start: an earn was written on a read-only medium")
                if contents(shop.conn) != before:
                    tally.half_written += 1
                    tally.problem("read_only_start: a refused earn changed the database")
                _check_verify(shop.conn, tally, "read_only_start, during the fault")
            remount(mnt, read_only=False)
            if shop is not None:
                if not storage_writable(shop.conn):
                    tally.stuck += 1
                    tally.problem(
                        "read_only_start: the medium is writable again, but the service "
                        "opened on it while read-only cannot write until restarted"
                    )
                elif op is not None and _retried_once(shop, op, tally, "read_only_start"):
                    tally.recovered["read_only_start"] += 1
                shop.close()
            restarted = reopen(data)
            try:
                again = restarted.earn(restarted.members[0], 1_000_000, op.txn_id if op else None)
                if _retried_once(restarted, again, tally, "read_only_start, restarted"):
                    restarts += 1
                    if shop is None:
                        tally.recovered["read_only_start"] += 1
                _check_verify(restarted.conn, tally, "read_only_start, after a restart")
            finally:
                restarted.close()
    report.figures["read-only start: recovered after a restart"] = f"{restarts} of {rounds}"


def _open_read_only(data: Path, tally: Tally) -> Shop | None:
    try:
        return reopen(data)
    except StorageUnavailable:
        tally.refused["read_only_start"] += 1  # no WAL to read: it refuses to start
    except Exception as exc:
        tally.wrong_errors += 1
        tally.problem(f"read_only_start: opening raised {type(exc).__name__}: {exc}")
    return None


def crashed_kiosk(data_dir: Path, *, crash: bool = True) -> None:
    """A kiosk (in a child process) that enrolled members, then died or was shut down.

    Died (`crash`): its WAL and -shm are left behind. Shut down: SQLite checkpointed and
    removed them, and only the database file is left.
    """
    end = "os._exit(0)" if crash else "shop.close()"
    code = (
        "import os, sys; from pathlib import Path; "
        "from tests.torture.storage import Shop; "
        f"shop = Shop.open(Path(sys.argv[1])); {end}"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code, str(data_dir)], check=True, cwd=root)


def reopen(data_dir: Path, clock: ManualClock | None = None) -> Shop:
    """A shop on an existing kiosk database (its first cashier and manager, its members)."""
    clock = clock or ManualClock(START)
    service = Appliance(shop_config(), data_dir, clock=clock).open_service()
    staff = {member.role: member.staff_id for member in service.staff.list()}
    shop = Shop(
        service, clock, Actor(staff["cashier"], "cashier"), Actor(staff["manager"], "manager")
    )
    shop.members = [
        str(row[0]) for row in service.conn.execute("SELECT member_id FROM members ORDER BY rowid")
    ]
    shop.phones = len(shop.members)
    return shop
