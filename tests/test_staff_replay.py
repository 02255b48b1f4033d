"""A staff change signed by the owner is not applied again over a newer one.

A staff change carries `signed_at`, inside the signed data (docs/sync-protocol.md, "Staff
changes go forward"); the kiosk keeps, per person, the one it applied and refuses one not
signed later (`not_newer`), and one without it once it holds one (`no_signed_at`). Real
kiosks provisioned at the simulated CRM over loopback: an old "active, old PIN" replayed
with its genuine signature after a disable or a new PIN, the feed read again after a
restore of the CRM or with a new owner key, a kiosk upgraded from the schema before.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.pin import hash_pin
from kiosk.core.service import LoyaltyService
from kiosk.core.store.outbox import SyncState
from kiosk.errors import StaffDisabled, WrongPin
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.client import CrmClient
from tests.test_feed_epoch import live_secret, snapshot
from tests.test_signed_changes import CASHIER, Shop, from_crm, publish

T1 = "2026-12-01T09:00:00.000000Z"
T2 = "2026-12-02T09:00:00.000000Z"
T3 = "2026-12-03T09:00:00.000000Z"
ACTIVE = CASHIER | {"signed_at": T1}  # PIN 4321
DISABLED = ACTIVE | {"disabled": True, "signed_at": T2}
NEW_PIN = ACTIVE | {"pin_hash": hash_pin("5173", n=1024), "signed_at": T2}
STAFF = "s-crm-1"


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[CrmServer]:
    with CrmServer(CrmStore(tmp_path / "crm.sqlite")) as server:
        yield server


@pytest.fixture
def shop(crm: CrmServer, tmp_path: Path) -> Iterator[Shop]:
    kiosk = Shop(crm, tmp_path / "kiosk")
    yield kiosk
    kiosk.stop()


def signs_in(service: LoyaltyService, pin: str) -> str:
    """What the counter's sign-in of the cashier with `pin` gives: a role, or why not."""
    try:
        return service.staff.login_with_pin(pin, STAFF).role
    except StaffDisabled:
        return "disabled"
    except WrongPin:
        return "wrong_pin"


def refusals(service: LoyaltyService) -> list[tuple[str | None, object]]:
    return [(t, d.get("reason")) for a, t, o, d in from_crm(service) if o == "refused"]


def held(service: LoyaltyService) -> Any:
    return service.conn.execute(
        "SELECT signed_at FROM staff WHERE staff_id = ?", (STAFF,)
    ).fetchone()[0]


@pytest.mark.parametrize(
    ("newer", "old_pin_after"),
    [(DISABLED, "disabled"), (NEW_PIN, "wrong_pin")],
    ids=["after a disable", "after a new PIN"],
)
def test_an_old_signed_change_replayed_is_refused_and_the_person_still_cannot_sign_in(
    shop: Shop,
    crm: CrmServer,
    caplog: pytest.LogCaptureFixture,
    newer: dict[str, Any],
    old_pin_after: str,
) -> None:
    publish(crm, "staff", ACTIVE)
    shop.pull()
    assert signs_in(shop.service, "4321") == "cashier"
    replayed = shop.signature_in_feed("staff", signed_at=T1)  # the owner's genuine signature
    publish(crm, "staff", newer)
    shop.pull()
    assert signs_in(shop.service, "4321") == old_pin_after

    # The server sends the old "active, PIN 4321" again, as signed, and the same one again.
    publish(crm, "staff", ACTIVE, signature=replayed)
    publish(crm, "staff", newer, signature=shop.signature_in_feed("staff", signed_at=T2))
    with caplog.at_level(logging.WARNING):
        result = shop.pull()

    assert result.applied == {"skipped": 2}
    assert signs_in(shop.service, "4321") == old_pin_after
    assert refusals(shop.service)[-2:] == [(STAFF, "not_newer"), (STAFF, "not_newer")]
    assert "refused a staff change from the CRM (not_newer)" in caplog.text
    for personal in ("Reza", ACTIVE["pin_hash"], newer["pin_hash"], "5A5A5A5A"):
        assert personal not in caplog.text
    assert held(shop.service) == T2
    if newer is NEW_PIN:
        assert signs_in(shop.service, "5173") == "cashier"


def test_an_unversioned_change_is_taken_only_for_a_person_the_kiosk_holds_no_time_for(
    shop: Shop, crm: CrmServer
) -> None:
    # A hub not upgraded yet: its changes carry no signed_at, and are taken as before.
    publish(crm, "staff", CASHIER)
    publish(crm, "staff", CASHIER | {"disabled": True})
    assert shop.pull().applied == {"staff": 2}
    assert signs_in(shop.service, "4321") == "disabled" and held(shop.service) is None

    # Upgraded: the first change with signed_at is taken over the unversioned ones...
    publish(crm, "staff", ACTIVE)
    assert shop.pull().applied == {"staff": 1}
    assert signs_in(shop.service, "4321") == "cashier"
    # ... and from then on one without it is refused, as is a signed_at not in the form.
    publish(crm, "staff", CASHIER | {"disabled": True})
    publish(crm, "staff", DISABLED | {"signed_at": "2026-12-02T09:00:00Z"})
    publish(crm, "staff", DISABLED | {"signed_at": "2026-13-02T09:00:00.000000Z"})
    assert shop.pull().applied == {"skipped": 3}
    assert refusals(shop.service)[-3:] == [(STAFF, "no_signed_at")] * 3
    assert signs_in(shop.service, "4321") == "cashier" and held(shop.service) == T1

    publish(crm, "staff", DISABLED)
    assert shop.pull().applied == {"staff": 1}
    assert signs_in(shop.service, "4321") == "disabled"


def test_a_restored_crms_feed_read_again_does_not_bring_a_disabled_person_back(
    shop: Shop, crm: CrmServer, tmp_path: Path
) -> None:
    publish(crm, "staff", ACTIVE)
    shop.pull()
    snapshot(tmp_path / "crm.sqlite", tmp_path / "dump.sqlite")  # last night's dump
    publish(crm, "staff", DISABLED)  # the owner fires the cashier in the morning
    shop.pull()
    crm.stop()

    with CrmServer(CrmStore(tmp_path / "dump.sqlite")) as restored:
        shop.worker.client = CrmClient(restored.url, shop.service.device_id, live_secret(shop))
        result = shop.pull()  # another epoch: the restored feed is read again from 0

        assert shop.worker.status().last_feed_reset is not None
        assert result.applied.get("staff", 0) == 0
        assert refusals(shop.service)[-1] == (STAFF, "not_newer")
        assert signs_in(shop.service, "4321") == "disabled"

        # The owner makes the lost change again at the restored CRM: later, so taken.
        publish(restored, "staff", DISABLED | {"signed_at": T3})
        assert shop.pull().applied == {"staff": 1}
        assert signs_in(shop.service, "4321") == "disabled" and held(shop.service) == T3


def test_the_feed_read_again_for_a_new_owner_key_applies_no_older_staff_change(
    shop: Shop, crm: CrmServer
) -> None:
    publish(crm, "staff", ACTIVE)
    shop.pull()
    replayed = shop.signature_in_feed("staff", signed_at=T1)
    publish(crm, "staff", DISABLED)
    publish(crm, "staff", ACTIVE, signature=replayed)  # a replay further on in the feed
    shop.pull()
    assert signs_in(shop.service, "4321") == "disabled"

    # As after provisioning with another key: staff and program changes are read again.
    SyncState(shop.service.conn).set(pulled_with_owner_key="")
    result = shop.pull()

    assert result.applied == {"skipped": 3}
    assert signs_in(shop.service, "4321") == "disabled" and held(shop.service) == T2


def test_a_kiosk_upgraded_from_the_schema_before_keeps_its_staff_and_then_refuses_replays(
    shop: Shop, crm: CrmServer
) -> None:
    publish(crm, "staff", CASHIER)  # from a hub not upgraded yet
    shop.pull()
    path = Path(shop.service.conn.execute("PRAGMA database_list").fetchone()[2])
    shop.stop()
    # The file as the previous release left it: no signed_at column, m017 not applied.
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("ALTER TABLE staff DROP COLUMN signed_at")
    old.execute("DELETE FROM _sqlite_migrations WHERE name = 'm017_staff_signed_at'")
    old.close()

    shop.start()

    assert signs_in(shop.service, "4321") == "cashier" and held(shop.service) is None
    publish(crm, "staff", DISABLED)
    publish(crm, "staff", ACTIVE)
    assert shop.pull().applied == {"staff": 1, "skipped": 1}
    assert signs_in(shop.service, "4321") == "disabled" and held(shop.service) == T2
