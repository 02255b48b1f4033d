"""The dashboard's figures on real PostgreSQL, against figures worked out by hand.

The queries run in this process, through Django, on a database copied from the migrated
template (tests/hub/conftest.py); the rows are arranged with plain SQL, as devices'
pushes would have left them. The other test_insights_*.py modules use these fixtures.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.environment import database_settings
from tests.hub.conftest import Hub

TEHRAN_NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # 11:30 on 20 Khordad 1405 in Tehran


def _django_on(hub: Hub) -> None:
    """Django in this process, on `hub`'s database (set up once, then pointed anew)."""
    import django
    from django.apps import apps
    from django.db import connections

    url = hub.postgres.url(hub.database)
    if not apps.ready:
        os.environ["DJANGO_SETTINGS_MODULE"] = "hub.settings"
        os.environ["HUB_DATABASE_URL"] = url
        os.environ["HUB_DATA_DIR"] = str(hub.data_dir)
        os.environ["HUB_DB_POOL_MAX"] = "0"  # a connection of its own, pointed per test
        django.setup()
    connection = connections["default"]
    connection.close()
    connection.settings_dict.update(database_settings(url, 0))


@dataclass
class Chain:
    """Rows of a chain arranged with SQL: branches, devices, members, entries, balances."""

    hub: Hub
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def branch(self, name: str) -> int:
        (row,) = self.hub.sql(
            "INSERT INTO hub_branch (name, created_at) VALUES (%s, now()) RETURNING id", name
        )
        return int(row[0])

    def device(
        self,
        branch: int,
        *,
        seen: datetime | None = None,
        heartbeat: dict[str, Any] | None = None,
        enrolled: bool = True,
        revoked: bool = False,
    ) -> int:
        (row,) = self.hub.sql(
            "INSERT INTO hub_device (branch_id, device_id, secret, created_at, enrolled_at,"
            " revoked_at, last_seen_at, last_heartbeat)"
            " VALUES (%s, %s, %s, now(), now(), %s, %s, %s) RETURNING id",
            branch,
            f"kiosk-{uuid.uuid4()}" if enrolled else None,
            b"secret" if enrolled else None,
            datetime.now(UTC) if revoked else None,
            seen,
            json.dumps(heartbeat) if heartbeat is not None else None,
        )
        return int(row[0])

    def member(
        self,
        member_id: str,
        created: datetime,
        branches: tuple[int, ...],
        *,
        phone: str | None = None,
        name: str | None = None,
        birthday: date | None = None,
        language: str | None = "fa",
        erased: bool = False,
        merged_into: str | None = None,
        balance: int | None = None,
    ) -> str:
        self.hub.sql(
            "INSERT INTO hub_member (member_id, status, created_at, updated_at, received_at,"
            " phone, name, birthday, language, consent_marketing, merged_into)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, false, %s)",
            member_id,
            "erased" if erased else "active",
            created,
            created,
            created,
            None if erased else phone,
            None if erased else name,
            None if erased else birthday,
            None if erased else language,
            merged_into,
        )
        for branch in branches:
            self.hub.sql(
                "INSERT INTO hub_branch_member (branch_id, member_id, since) VALUES (%s, %s, %s)",
                branch,
                member_id,
                created,
            )
        if balance is not None:
            self.hub.sql(
                "INSERT INTO hub_balance (member_id, balance, updated_at) VALUES (%s, %s, now())",
                member_id,
                balance,
            )
        return member_id

    def entry(
        self,
        device: int | None,
        member: str,
        kind: str,
        points: int,
        at: datetime,
        *,
        amount: int | None = None,
        reward: str | None = None,
        reverses: str | None = None,
        status: str = "stored",
    ) -> str:
        entry_id = str(uuid.uuid4())
        self.hub.sql(
            "INSERT INTO hub_entry (device_id, entry_id, seq, status, member_id, kind, points,"
            " amount, currency, created_at, reverses, reward_id, as_pushed, received_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '{}', now())",
            device,
            entry_id,
            next(self._seq),
            status,
            member,
            kind,
            points,
            amount,
            "IRR" if amount is not None else None,
            at,
            reverses,
            reward,
        )
        return entry_id

    def program(self, rewards: list[dict[str, Any]]) -> None:
        """A newer program version whose rewards are these (the rest as the default)."""
        from hub.program.rules import default_program

        data = default_program() | {"rewards": rewards}
        (row,) = self.hub.sql("SELECT COALESCE(max(version), 0) + 1 FROM hub_program")
        data["version"] = int(row[0])
        self.hub.sql(
            "INSERT INTO hub_program (version, data, signature, published_at)"
            " VALUES (%s, %s, 'test', now())",
            data["version"],
            json.dumps(data),
        )


@pytest.fixture
def chain(hub: Hub) -> Chain:
    _django_on(hub)
    return Chain(hub)


def at(text: str) -> datetime:
    """A UTC moment written `2026-06-10 06:00`."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def reward(ident: str, cost: int, value: int, kind: str = "fixed_discount") -> dict[str, Any]:
    return {
        "id": ident,
        "name_fa": f"{ident} fa",
        "name_en": f"{ident} en",
        "cost": cost,
        "kind": kind,
        "value": value,
        "active_from": "",
        "active_until": "",
    }


@dataclass
class Story:
    north: int
    south: int
    d_north: int
    d_south: int


@pytest.fixture
def story(chain: Chain) -> Story:
    """Two branches, five members, a fortnight of entries (worked out in the tests)."""
    north, south = chain.branch("North"), chain.branch("South")
    d_north, d_south = chain.device(north), chain.device(south)
    chain.member("alice", at("2026-06-10 05:00"), (north,), balance=5)
    chain.member("bob", at("2026-05-20 10:00"), (north, south), balance=67)
    chain.member("carol", at("2025-01-01 10:00"), (south,), erased=True, balance=0)
    # An enrollment of bob's again, merged into him: not a member of its own.
    chain.member("bob-again", at("2026-06-01 10:00"), (south,), merged_into="bob", balance=30)
    # 23:30 in Tehran on 9 June: yesterday there, though after 20:30 UTC would be today.
    chain.member("eve", at("2026-06-09 20:00"), (north,), balance=-3)

    # Today in Tehran (from 2026-06-09 20:30 UTC):
    chain.entry(d_north, "alice", "earn", 10, at("2026-06-10 06:00"), amount=1_000_000)
    chain.entry(d_north, "alice", "redeem", -5, at("2026-06-10 06:05"), reward="coffee")
    chain.entry(d_north, "bob", "earn", 20, at("2026-06-09 20:45"), amount=2_000_000)
    chain.entry(d_south, "bob-again", "earn", 30, at("2026-06-10 07:00"), amount=3_000_000)
    chain.entry(d_south, "bob", "earn", 40, at("2026-06-10 07:30"), amount=4_000_000)
    # Earlier in the last 30 days:
    chain.entry(d_north, "bob", "earn", 7, at("2026-06-09 20:00"), amount=700_000)
    chain.entry(d_north, "bob", "bonus", 100, at("2026-06-01 09:00"))
    chain.entry(d_north, "eve", "adjust", -3, at("2026-06-05 09:00"))
    voided = chain.entry(d_south, "carol", "earn", 50, at("2026-05-20 10:00"), amount=5_000_000)
    chain.entry(
        d_south, "carol", "reversal", -50, at("2026-05-20 10:10"), amount=5_000_000, reverses=voided
    )
    taken = chain.entry(d_south, "bob", "redeem", -200, at("2026-06-02 10:00"), reward="coffee")
    chain.entry(d_south, "bob", "reversal", 200, at("2026-06-02 10:05"), reverses=taken)
    # Before the 30 days, and a rejected entry: neither counts.
    chain.entry(d_north, "alice", "earn", 99, at("2026-05-01 09:00"), amount=9_900_000)
    chain.entry(
        d_north, "alice", "earn", 9, at("2026-06-10 06:30"), amount=900_000, status="rejected"
    )
    chain.program([reward("coffee", 200, 0, "free_item"), reward("off", 100, 300_000)])
    return Story(north, south, d_north, d_south)


def test_dashboard_counts_today_and_the_last_30_days_in_tehran(story: Story):
    from hub.insights.dashboard import Figures, dashboard
    from hub.insights.scope import Scope

    board = dashboard(Scope(), now=TEHRAN_NOW)

    assert board.day == date(2026, 6, 10)
    assert board.first_day == date(2026, 5, 12)
    assert board.today == Figures(
        new_members=1,
        visits=3,  # alice and bob at North, bob (and his merged id) at South
        purchases=4,
        purchase_total=10_000_000,
        points_issued=100,
        points_redeemed=5,
    )
    assert board.last_30_days == Figures(
        new_members=3,  # alice, bob, eve: not the merged id, not carol (2025)
        visits=6,
        purchases=5,  # carol's purchase was voided
        purchase_total=10_700_000,
        points_issued=204,
        points_redeemed=5,  # bob's redemption was voided
    )
    assert board.last_30_days.redemption_rate == pytest.approx(5 / 204)


def test_dashboard_per_branch(story: Story):
    from hub.insights.dashboard import Figures, dashboard
    from hub.insights.scope import Scope

    board = dashboard(Scope(), now=TEHRAN_NOW)

    north, south = board.branches
    assert (north.name, south.name) == ("North", "South")
    assert north.today == Figures(1, 2, 2, 3_000_000, 30, 5)
    assert north.last_30_days == Figures(3, 3, 3, 3_700_000, 134, 5)
    assert south.today == Figures(0, 1, 2, 7_000_000, 70, 0)
    assert south.last_30_days == Figures(1, 3, 2, 7_000_000, 70, 0)


def test_a_branch_manager_sees_only_their_branch(story: Story):
    from hub.insights.dashboard import Figures, dashboard
    from hub.insights.scope import Scope

    board = dashboard(Scope(frozenset({story.south})), now=TEHRAN_NOW)

    assert [b.name for b in board.branches] == ["South"]
    assert board.today == Figures(0, 1, 2, 7_000_000, 70, 0)
    assert board.last_30_days == Figures(1, 3, 2, 7_000_000, 70, 0)
    # Bob uses South: his points are South's to worry about; alice's and eve's are not.
    assert (board.liability.members, board.liability.points) == (1, 67)


def test_liability_counts_survivors_positive_balances_at_the_best_fixed_discount(story: Story):
    from hub.insights.dashboard import dashboard
    from hub.insights.scope import Scope

    board = dashboard(Scope(), now=TEHRAN_NOW)

    # alice 5 + bob 67; not the merged id's 30, not eve's -3 (owed to the chain).
    assert (board.liability.members, board.liability.points) == (2, 72)
    # "off": 300,000 Rial for 100 points, 3,000 a point; a free coffee has no money value.
    assert board.liability.value == 216_000


def test_a_day_in_utc_is_not_a_day_in_tehran(chain: Chain):
    from hub.insights.dashboard import dashboard
    from hub.insights.scope import Scope

    branch = chain.branch("North")
    device = chain.device(branch)
    chain.member("m", at("2026-01-01 00:00"), (branch,))
    # 23:30 UTC on 9 June is 03:00 on 10 June in Tehran: today there, yesterday in UTC.
    chain.entry(device, "m", "earn", 1, at("2026-06-09 23:30"), amount=100_000)

    in_tehran = dashboard(Scope(), now=TEHRAN_NOW)
    in_utc = dashboard(Scope(tz=ZoneInfo("UTC")), now=TEHRAN_NOW)

    assert in_tehran.today.purchases == 1
    assert in_utc.today.purchases == 0
    assert in_utc.last_30_days.purchases == 1


def test_devices_needing_attention_and_why(chain: Chain):
    from hub.insights.devices import needing_attention
    from hub.insights.scope import Scope

    north, south = chain.branch("North"), chain.branch("South")
    now = datetime.now(UTC)
    fine = {
        "version": "0.1.0",
        "queue_depth": 3,
        "oldest_unsynced_at": None,
        "readers": [{"name": "sim", "state": "connected"}],
        "disk_free_bytes": 8 * 1024**3,
        "clock_offset_ms": -40,
    }
    chain.device(north, seen=now - timedelta(minutes=2), heartbeat=fine)
    quiet = chain.device(north, seen=now - timedelta(hours=3), heartbeat=fine)
    troubled = chain.device(
        south,
        seen=now - timedelta(minutes=1),
        heartbeat=fine
        | {
            "queue_depth": 4000,
            "oldest_unsynced_at": (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "readers": [{"name": "nfc:usb", "state": "disconnected"}],
            "disk_free_bytes": 100 * 1024**2,
            "clock_offset_ms": -200_000,
        },
    )
    never = chain.device(south)
    chain.device(south, revoked=True)
    chain.device(south, enrolled=False)

    everyone = needing_attention(Scope(), now=now)
    north_only = needing_attention(Scope(frozenset({north})), now=now)

    assert [(d.device, d.reasons) for d in everyone] == [
        (quiet, ("unseen",)),
        (troubled, ("queue", "unsynced", "clock", "disk", "reader")),
        (never, ("never_seen",)),
    ]
    assert [d.device for d in north_only] == [quiet]


def test_the_hubs_own_adjustments_count_for_the_chain_not_for_a_branch(story: Story, chain: Chain):
    from hub.insights.dashboard import dashboard
    from hub.insights.reports import by_day
    from hub.insights.scope import Scope

    # An owner's adjustment made in the panel: an entry of the hub's own, of no device.
    chain.entry(None, "alice", "adjust", 40, at("2026-06-10 07:45"))

    chain_wide = dashboard(Scope(), now=TEHRAN_NOW)
    north = dashboard(Scope(frozenset({story.north})), now=TEHRAN_NOW)
    rows = by_day(Scope(), date(2026, 6, 10), date(2026, 6, 10))

    assert chain_wide.today.points_issued == 100 + 40
    assert [b.today.points_issued for b in chain_wide.branches] == [30, 70]
    assert north.today.points_issued == 30
    assert [(r.branch_id, r.points_issued) for r in rows if r.branch_id is None] == [(None, 40)]
