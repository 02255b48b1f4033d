"""Shared fixtures: a real SQLite kiosk in a temporary folder, a manual clock, staff actors."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings

from kiosk.bootstrap import Appliance
from kiosk.config import KioskConfig, load_config
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.store.staff import Actor

# No timed assertions in tests: hypothesis's 200 ms deadline per example failed property
# tests of pure functions (phone parsing) on a machine busy with other work.
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")

# Tests never read the machine's config or environment.
NO_SYSTEM_CONFIG = Path("/nonexistent/loyalty-kiosk/kiosk.toml")
# A cheap scrypt cost keeps PIN tests fast; the shipped default is much higher.
TEST_OVERRIDES = ("security.pin_scrypt_n=1024", 'device.id="kiosk-test"')
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # a Sunday morning in Tehran


class Seconds:
    """A sync worker's clock (epoch seconds, from START unless told), moved by hand."""

    def __init__(self, start: float = START.timestamp()) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def make_config(*overrides: str) -> KioskConfig:
    """The shipped defaults plus test settings plus `overrides` (section.key=value)."""
    return load_config(
        None, [*TEST_OVERRIDES, *overrides], environ={}, system_file=NO_SYSTEM_CONFIG
    )


@pytest.fixture(autouse=True)
def _no_kiosk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("KIOSK_"):
            monkeypatch.delenv(name)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def open_service(tmp_path: Path, clock: ManualClock) -> Iterator[Callable[..., LoyaltyService]]:
    """Open a service on the test data directory with extra config overrides."""
    opened: list[LoyaltyService] = []

    def opener(*overrides: str) -> LoyaltyService:
        service = Appliance(make_config(*overrides), tmp_path / "data", clock=clock).open_service()
        opened.append(service)
        return service

    yield opener
    for service in opened:
        service.close()


@pytest.fixture
def service(open_service: Callable[..., LoyaltyService]) -> LoyaltyService:
    return open_service()


@pytest.fixture
def cashier(service: LoyaltyService) -> Actor:
    from kiosk.core.store.staff import CLI

    staff = service.staff.add(name="Cashier", role="cashier", pin="2580", actor=CLI)
    return Actor(staff.staff_id, "cashier")


@pytest.fixture
def manager(service: LoyaltyService) -> Actor:
    from kiosk.core.store.staff import CLI

    staff = service.staff.add(name="Manager", role="manager", pin="9173", actor=CLI)
    return Actor(staff.staff_id, "manager")


class Counter:
    """Fresh client transaction ids for a test."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"txn-{self.n}"


@pytest.fixture
def txn() -> Counter:
    return Counter()
