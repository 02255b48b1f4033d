"""A kiosk database to work on, and a fingerprint of it to show a refusal wrote nothing.

The template (two members, cards, purchases, a manager) is made once for the package
(`conftest.py`); each input gets a fresh copy of it (`fresh_kiosk`).
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kiosk.bootstrap import Appliance
from kiosk.config import KioskConfig
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import CLI
from tests.conftest import START, make_config

PHONE = "09121234567"
PHONE2 = "09351234567"
CARD = "A1B2C3D4"
BLOCKED_CARD = "0A0B0C0D0E"


RowFilter = Callable[[str, sqlite3.Row], bool]


def fingerprint(
    db: Path, tables: Sequence[str] | None = None, keep: RowFilter | None = None
) -> dict[str, str]:
    """A digest of every row of every table (or of `tables`), read by a second connection."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        names = (
            list(tables)
            if tables is not None
            else [
                str(row[0])
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
        )
        digest: dict[str, str] = {}
        for name in names:
            rows = sorted(
                repr(tuple(row))
                for row in conn.execute(f'SELECT * FROM "{name}"')
                if keep is None or keep(name, row)
            )
            digest[name] = f"{len(rows)}:" + hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return digest
    finally:
        conn.close()


def not_a_login(table: str, row: sqlite3.Row) -> bool:
    """Wrong PINs are recorded even when the command fails (lockout): not a write of the input."""
    if table == "pin_guard":
        return False
    return not (table == "audit" and row["action"] == "login")


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def fuzz_config() -> KioskConfig:
    return make_config(
        "program.limits.min_minutes_between_earns=0",
        "program.limits.max_earns_per_day=0",
        "crm.batch_size=4",
        "crm.backoff_base_seconds=1",
        "crm.backoff_cap_seconds=8",
    )


@dataclass(frozen=True)
class Template:
    """A kiosk database made once: two members, cards, purchases, a manager."""

    data: Path
    member_id: str
    other_member_id: str
    manager_id: str
    entries: tuple[tuple[int, str], ...]  # (seq, entry_id)


def make_template(folder: Path) -> Template:
    """The template database, made in `folder`."""
    data = folder / "data"
    service = Appliance(fuzz_config(), data, clock=ManualClock(START)).open_service()
    try:
        first = service.enroll(PHONE, client_txn_id="t-1", card=CARD).member_id
        second = service.enroll(PHONE2, client_txn_id="t-2").member_id
        service.link_card(second, BLOCKED_CARD, actor=CLI)
        service.block_card(BLOCKED_CARD, actor=CLI)
        for i in range(3):
            service.earn(first, 1_500_000 + i, cashier=CLI, client_txn_id=f"t-earn-{i}")
        service.earn(second, 900_000, cashier=CLI, client_txn_id="t-earn-b")
        manager = service.staff.add(name="Manager", role="manager", pin="9173", actor=CLI)
        entries = tuple(
            (int(row[0]), str(row[1]))
            for row in service.conn.execute("SELECT seq, entry_id FROM entries ORDER BY seq")
        )
    finally:
        service.close()
    return Template(data, first, second, manager.staff_id, entries)


@dataclass
class Kiosk:
    service: LoyaltyService
    data: Path

    @property
    def db(self) -> Path:
        return self.data / "kiosk.db"

    @property
    def conn(self) -> sqlite3.Connection:
        return self.service.conn


@contextlib.contextmanager
def fresh_kiosk(template: Template, where: Path) -> Iterator[Kiosk]:
    """A copy of the template database, opened; removed afterwards."""
    folder = Path(tempfile.mkdtemp(dir=where))
    data = folder / "data"
    shutil.copytree(template.data, data)
    service = Appliance(fuzz_config(), data, clock=ManualClock(START)).open_service()
    try:
        yield Kiosk(service, data)
    finally:
        service.close()
        shutil.rmtree(folder, ignore_errors=True)


def assert_nothing_written(kiosk: Kiosk, before: dict[str, str], what: str) -> None:
    assert not kiosk.conn.in_transaction, f"{what} left a transaction open"
    assert changed(before, fingerprint(kiosk.db)) == [], f"{what} wrote to the database"
