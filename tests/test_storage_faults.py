"""Storage faults at the service: refused whole, as StorageUnavailable, and recovered live.

Real SQLite files throughout. How each fault is made (and why `chmod` is not one of them:
the tests run as root, which ignores file modes) is in tests/torture/storage.py. Each
test injects the fault into a working shop, calls until a call is refused, and checks
that the refusal is `StorageUnavailable`, that the database is exactly as before the
call, that `kiosk ledger verify` holds, that the write probe agrees, and, once the fault
is gone, that the same service (no new connection) records the refused call when it is
retried with its client transaction id, exactly once.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.core.store.settings import storage_writable
from kiosk.core.store.verify import verify_ledger
from kiosk.errors import StorageUnavailable, StorageUncertain
from tests.torture.storage import (
    Fault,
    FaultyVfs,
    Operation,
    Shop,
    Tally,
    contents,
    crash_image,
    crashed_kiosk,
    database_full,
    disk_full,
    fault_round,
    faulty_vfs,
    fill,
    io_error,
    mount_unavailable,
    query_only,
    remount,
    reopen,
    tmpfs,
    txn_rows,
)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    opened = Shop.open(tmp_path / "data")
    yield opened
    opened.close()


@pytest.fixture
def vfs() -> FaultyVfs:
    found = faulty_vfs()
    if not found.available:
        pytest.skip(f"no fault-injecting VFS here: {found.reason}")
    return found


@pytest.fixture
def vfs_shop(tmp_path: Path, vfs: FaultyVfs) -> Iterator[Shop]:
    """A shop whose database files were opened through the fault-injecting VFS."""
    with vfs.installed():
        opened = Shop.open(tmp_path / "data")
    yield opened
    vfs.disarm()
    opened.close()


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs of the test's own (mounting needs root: skipped elsewhere)."""
    reason = mount_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with tmpfs(tmp_path / "mnt", 4096) as mounted:
        yield mounted


@pytest.fixture
def tiny_disk_shop(mount_point: Path) -> Iterator[Shop]:
    opened = Shop.open(mount_point / "data")
    yield opened
    opened.close()


def operation(shop: Shop, kind: str) -> Callable[[], Operation]:
    """Makes a new call of `kind` on the shop (each normally succeeds)."""
    member = shop.members[0]

    def make() -> Operation:
        shop.clock.advance(minutes=5)
        if kind == "enroll":
            return shop.enroll()
        if kind == "earn":
            return shop.earn(member, 1_500_000)
        if kind == "redeem":
            return shop.redeem(member)
        if kind == "void":
            return shop.void(shop.earns[-1])
        return shop.adjust(member, 7)

    return make


def refused(shop: Shop, make: Callable[[], Operation], limit: int = 400) -> Operation:
    """Call until a call is refused; every call before it was recorded whole."""
    for _ in range(limit):
        op = make()
        before = contents(shop.conn)
        try:
            op.call()
        except StorageUnavailable:
            assert contents(shop.conn) == before, "the refused call wrote something"
            return op
        assert txn_rows(shop.conn, op.txn_id)[0] == 1
    raise AssertionError(f"{limit} calls went through the fault")


def assert_consistent(conn: sqlite3.Connection) -> None:
    report = verify_ledger(conn)
    assert report.ok, report.problems


def assert_recorded_once(shop: Shop, op: Operation) -> None:
    """The refused call, retried with its id, is recorded; retried again, it is replayed."""
    first = op.call()
    again = op.call()
    assert getattr(first, "replayed", None) is False
    assert getattr(again, "replayed", None) is True
    records, entries = txn_rows(shop.conn, op.txn_id)
    assert records == 1
    assert entries == 1  # an enrollment's entry is its bonus
    assert_consistent(shop.conn)


def check_fault(shop: Shop, fault: Fault, kind: str, *, probe_sees_it: bool = True) -> Operation:
    """The whole story of one fault on calls of `kind`; returns the refused call."""
    if kind == "redeem":  # points to spend, for as many calls as the fault lets through
        shop.adjust(shop.members[0], 100_000).call()
    if kind == "void":  # purchases to void
        for _ in range(60):
            shop.earn(shop.members[0], 1_000_000).call()
    fault.inject()
    try:
        op = refused(shop, operation(shop, kind))
        assert_consistent(shop.conn)
        if probe_sees_it:
            assert not storage_writable(shop.conn)
    finally:
        fault.remove()
    assert storage_writable(shop.conn)
    assert_recorded_once(shop, op)
    return op


# -- the database full (max_page_count) -----------------------------------------------------


@pytest.mark.parametrize("kind", ["enroll", "earn", "redeem", "void", "adjust"])
def test_a_full_database_refuses_each_call_whole_and_the_retry_records_it_once(
    shop: Shop, kind: str
):
    check_fault(shop, database_full(shop.conn), kind)


def test_a_full_database_raises_storage_unavailable_not_a_sqlite_error(shop: Shop):
    fault = database_full(shop.conn)
    fault.inject()
    op = refused(shop, operation(shop, "earn"))  # the loop lets only StorageUnavailable out
    with pytest.raises(StorageUnavailable) as caught:
        op.call()
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    assert "full" in str(caught.value)
    assert caught.value.key == "error.storage"
    fault.remove()
    op.call()


def test_an_earn_writes_all_its_rows_or_none(shop: Shop):
    """Entry, lot, balance, outbox, client_txn, audit: compared table by table."""
    fault = database_full(shop.conn)
    fault.inject()
    op = refused(shop, operation(shop, "earn"))
    before = contents(shop.conn)
    fault.remove()
    op.call()
    after = contents(shop.conn)
    grown = {t for t in after if len(after[t]) > len(before[t])}
    assert {"entries", "lots", "outbox", "client_txns", "audit"} <= grown
    assert before["members"] != after["members"]  # the balance moved with them


def test_a_full_database_at_random_headroom_keeps_the_books(shop: Shop):
    rng = random.Random(7)
    tally = Tally()
    for headroom in (0, 1, 3, 8):
        fault_round(shop, database_full(shop.conn, headroom), rng, tally)
    assert tally.problems == {}
    assert sum(tally.recovered.values()) == 4
    assert tally.written_under_fault > 0  # headroom let some calls through, whole


# -- a read-only medium ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["enroll", "earn", "adjust"])
def test_a_read_only_database_refuses_each_call_whole_and_recovers(shop: Shop, kind: str):
    # PRAGMA query_only: SQLite answers SQLITE_READONLY as for a read-only file. As root,
    # chmod would change nothing, and a live medium cannot be remounted read-only under
    # an open database (the kernel answers EBUSY); see tests/torture/storage.py.
    op = check_fault(shop, query_only(shop.conn), kind)
    assert op.txn_id


def test_a_kiosk_cleanly_stopped_cannot_start_on_a_read_only_medium_and_starts_once_writable(
    mount_point: Path,
):
    data = mount_point / "data"
    crashed_kiosk(data, crash=False)  # only kiosk.db is left: no WAL, no -shm
    remount(mount_point, read_only=True)

    with pytest.raises(StorageUnavailable, match="unable to open"):
        reopen(data)

    remount(mount_point, read_only=False)
    restarted = reopen(data)
    try:
        op = restarted.earn(restarted.members[0], 1_000_000)
        assert_recorded_once(restarted, op)
    finally:
        restarted.close()


def test_a_kiosk_started_on_a_read_only_medium_is_refused_until_it_is_writable(
    mount_point: Path,
):
    """Found by this campaign: after a crash, on a read-only medium, SQLite used to open
    the files read-only without a word, and that connection stayed unwritable after the
    medium came back (out of service until a restart nobody would do). connect() now
    tries a write (rolled back) and refuses such a connection at once; systemd's restart
    opens it once the medium is writable."""
    data = mount_point / "data"
    crashed_kiosk(data)
    remount(mount_point, read_only=True)
    with pytest.raises(StorageUnavailable):
        reopen(data)

    remount(mount_point, read_only=False)
    shop = reopen(data)
    try:
        assert storage_writable(shop.conn)
        assert_recorded_once(shop, shop.earn(shop.members[0], 1_500_000, "after-remount"))
    finally:
        shop.close()


# -- I/O errors (a fault-injecting VFS in Python's own libsqlite3) ---------------------------


@pytest.mark.parametrize("after", [0, 1, 2, 5])
@pytest.mark.parametrize("mode", ["write", "fsync"])
def test_an_io_error_refuses_the_call_whole_and_the_retry_records_it_once(
    vfs_shop: Shop, vfs: FaultyVfs, mode: str, after: int
):
    assert mode in ("write", "fsync")
    fault = io_error(vfs, "write" if mode == "write" else "fsync", after)
    check_fault(vfs_shop, fault, "earn")
    assert vfs.refused > 0


def test_an_io_error_says_storage_unavailable_with_the_reason(vfs_shop: Shop, vfs: FaultyVfs):
    vfs.arm("write")
    with pytest.raises(StorageUnavailable, match="disk I/O error"):
        operation(vfs_shop, "earn")().call()
    vfs.disarm()


def test_the_faulty_vfs_is_the_one_the_product_connection_uses(vfs_shop: Shop, vfs: FaultyVfs):
    """Not a fake: the service's own connection (kiosk.db.connect) goes through it."""
    refused_before = vfs.refused
    vfs.arm("write")
    with pytest.raises(StorageUnavailable):
        operation(vfs_shop, "enroll")().call()
    vfs.disarm()
    assert vfs.refused > refused_before


def test_the_write_probe_sees_an_io_error(vfs_shop: Shop, vfs: FaultyVfs):
    vfs.arm("write")
    refused(vfs_shop, operation(vfs_shop, "earn"), limit=1)

    assert not storage_writable(vfs_shop.conn)


def test_an_earn_refused_at_its_commit_says_it_may_have_been_recorded(
    vfs_shop: Shop, vfs: FaultyVfs, tmp_path: Path
):
    """Found by this campaign: a COMMIT whose WAL fsync fails has its commit record in the
    -wal file already, and after a power cut SQLite's recovery may keep it. The error used
    to say "Nothing was recorded", so a cashier would enter the purchase again (with a new
    client transaction id: twice). It now says the save is uncertain."""
    vfs.arm("fsync")
    with pytest.raises(StorageUncertain, match="may have been recorded"):
        operation(vfs_shop, "earn")().call()
    vfs.disarm()
    image = sqlite3.connect(crash_image(tmp_path / "data", tmp_path / "after-power-cut"))
    try:
        assert_consistent(image)  # all of the earn or none of it, whichever SQLite kept
    finally:
        image.close()


def test_after_a_failed_fsync_and_a_power_cut_the_retry_is_recorded_once(
    vfs_shop: Shop, vfs: FaultyVfs, tmp_path: Path
):
    """Whatever the WAL kept, the same client transaction id never records twice."""
    vfs.arm("fsync")
    op = refused(vfs_shop, operation(vfs_shop, "earn"), limit=1)
    vfs.disarm()
    crash_image(tmp_path / "data", tmp_path / "rebooted" / "data")
    rebooted = reopen(tmp_path / "rebooted" / "data")
    try:
        assert_consistent(rebooted.conn)
        member, amount = rebooted.members[0], 1_500_000
        rebooted.earn(member, amount, op.txn_id).call()
        assert txn_rows(rebooted.conn, op.txn_id) == (1, 1)
        assert_consistent(rebooted.conn)
    finally:
        rebooted.close()


# -- the disk really full (a tiny tmpfs) -------------------------------------------------------


@pytest.mark.parametrize("kind", ["enroll", "earn"])
@pytest.mark.parametrize("leave", [0, 3000])
def test_a_full_disk_refuses_each_call_whole_and_recovers_when_space_is_freed(
    tiny_disk_shop: Shop, mount_point: Path, kind: str, leave: int
):
    fault = disk_full(mount_point, tiny_disk_shop.conn, leave)
    op = check_fault(tiny_disk_shop, fault, kind)
    assert not (mount_point / "filler").exists()
    assert op.name == kind


def test_a_full_disk_says_storage_unavailable_with_the_reason(
    tiny_disk_shop: Shop, mount_point: Path
):
    tiny_disk_shop.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    filler = fill(mount_point)
    with pytest.raises(StorageUnavailable, match="full"):
        refused(tiny_disk_shop, operation(tiny_disk_shop, "earn")).call()
    filler.unlink()


def test_the_write_probe_sees_a_full_disk(tiny_disk_shop: Shop, mount_point: Path):
    disk_full(mount_point, tiny_disk_shop.conn).inject()
    refused(tiny_disk_shop, operation(tiny_disk_shop, "earn"))

    assert not storage_writable(tiny_disk_shop.conn)
