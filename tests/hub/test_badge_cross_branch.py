"""A streak made at two branches: weeks 1-3 at branch A, week 4 at branch B gives the
4-week streak at B when B has heard from the CRM since (the member's visits at every
branch come with their balance, and with their lookup), and the hub takes B's badge. A
kiosk that has not heard from the CRM since counts what it has (docs/program.md, "Streaks
and badges"). Real kiosks (appliance, sync worker) on loopback HTTP, against the simulated
CRM and a real hub (PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kiosk.bootstrap import Appliance
from kiosk.core.badges import hub_visits
from kiosk.core.clock import ManualClock
from kiosk.core.store.staff import CLI
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from tests.conftest import make_config
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_entry_rules import balance_of, flags_of
from tests.hub.test_kiosk_on_the_hub import Kiosk

PHONE = "09121234567"
BADGES = {"week": "jalali", "streak_weeks": [4], "streak_bonus": 30}
CONFIG = ("program.badges.streak_weeks=[4]", "program.badges.streak_bonus=30")
# 1 Farvardin 1405, a Saturday: the first day of a Jalali week (and year), 10:00 in Tehran.
NOWRUZ = datetime(2026, 3, 21, 10, tzinfo=ZoneInfo("Asia/Tehran")).astimezone(UTC)


class Branch(Kiosk):
    """A kiosk whose own configuration has the badges too (the sim publishes no program)."""

    def __init__(self, folder: Path, url: str, clock: ManualClock, device_id: str) -> None:
        config = make_config(f'crm.url="{url}"', f'device.id="{device_id}"', *CONFIG)
        self.appliance = Appliance(config, folder, clock=clock)
        self.service = self.appliance.open_service()
        self.url = url
        self.clock = clock

    def visit(self, member_id: str, txn: str) -> list[str]:
        """Identify the member by phone (as the counter does), a purchase: its badges."""
        assert self.service.identify_phone(PHONE).member_id == member_id
        earned = self.service.earn(member_id, 1_000_000, cashier=CLI, client_txn_id=txn)
        return [b.reason for b in earned.bonuses if b.reason.startswith("badge:")]


@pytest.fixture
def branches(tmp_path: Path, clock: ManualClock) -> Iterator[Any]:
    opened: list[Branch] = []

    def open_branch(url: str, name: str, code: str) -> Branch:
        branch = Branch(tmp_path / name, url, clock, name)
        branch.provision(code)
        opened.append(branch)
        return branch

    clock.now = NOWRUZ
    yield open_branch
    for branch in opened:
        branch.appliance.forget_client()
        branch.service.close()


def three_weeks_at(a: Branch) -> str:
    member_id = a.service.enroll(PHONE, client_txn_id="enroll").member_id
    for week in range(3):
        if week:
            a.clock.advance(days=7)
        assert a.visit(member_id, f"a-{week}") == []
    a.sync()
    a.clock.advance(days=7)
    return member_id


@pytest.mark.parametrize("heard", [True, False], ids=["online", "not-heard-since"])
def test_a_streak_over_two_branches_at_the_simulated_crm(branches, clock, heard: bool):
    with CrmServer(CrmStore()) as crm:
        a = branches(crm.url, "kiosk-a", crm.store.new_code())
        b = branches(crm.url, "kiosk-b", crm.store.new_code())
        b.sync()
        member_id = a.service.enroll(PHONE, client_txn_id="enroll").member_id
        a.sync()
        b.sync()  # B knows the member from the feed, as of their enrollment
        for week in range(3):
            if week:
                clock.advance(days=7)
            assert a.visit(member_id, f"a-{week}") == []
        a.sync()
        if heard:
            b.sync()
        clock.advance(days=7)

        assert b.visit(member_id, "b-0") == (["badge:streak-4w"] if heard else [])
        assert len(hub_visits(b.service.conn, member_id).days) == (3 if heard else 0)
        pushed, _, _ = b.sync()
        assert pushed.rejected == 0


def publish(hub: Hub, tmp_path: Path, **changes: Any) -> None:
    program = hub.json("program", "show", "--json") | changes
    (tmp_path / "p.json").write_text(json.dumps(program))
    hub.run("program", "publish", str(tmp_path / "p.json"))


def test_a_streak_over_two_branches_at_the_hub_through_the_lookup(
    hub: Hub, hub_server: HubServer, branches, tmp_path: Path
):
    publish(hub, tmp_path, badges=BADGES)
    a = branches(hub_server.url, "kiosk-a", hub.new_device("Valiasr")["code"])
    b = branches(hub_server.url, "kiosk-b", hub.new_device("Tajrish")["code"])
    for kiosk in (a, b):
        kiosk.sync()
        kiosk.service.reload_program()

    member_id = three_weeks_at(a)  # pushed; B, at another branch, looks the member up

    assert b.visit(member_id, "b-0") == ["badge:streak-4w"]
    pushed, _, _ = b.sync()
    assert pushed.rejected == 0
    assert flags_of(hub, member_id) == []
    assert balance_of(hub, member_id) == a.service.ledger.balance(member_id) + 10 + 30


def test_a_streak_over_two_branches_at_the_hub_through_the_feed(
    hub: Hub, hub_server: HubServer, branches, tmp_path: Path
):
    # B has looked the member up in week 1 (its branch now takes their changes); weeks 2
    # and 3 at A come to B in the feed, with the member's balance.
    publish(hub, tmp_path, badges=BADGES)
    a = branches(hub_server.url, "kiosk-a", hub.new_device("Valiasr")["code"])
    b = branches(hub_server.url, "kiosk-b", hub.new_device("Tajrish")["code"])
    for kiosk in (a, b):
        kiosk.sync()
        kiosk.service.reload_program()
    member_id = a.service.enroll(PHONE, client_txn_id="enroll").member_id
    assert a.visit(member_id, "a-0") == []
    a.sync()
    assert b.service.identify_phone(PHONE).member_id == member_id  # the lookup
    for week in (1, 2):
        a.clock.advance(days=7)
        assert a.visit(member_id, f"a-{week}") == []
    a.sync()
    b.sync()
    a.clock.advance(days=7)

    assert len(hub_visits(b.service.conn, member_id).days) == 3
    assert b.visit(member_id, "b-0") == ["badge:streak-4w"]
    pushed, _, _ = b.sync()
    assert pushed.rejected == 0


def test_the_hub_refuses_a_streak_its_visits_do_not_reach(
    hub: Hub, hub_server: HubServer, branches, tmp_path: Path
):
    # Branch B is told of three weeks that never were (a compromised answer): the hub,
    # which counts its own entries, refuses the badge B then gives.
    publish(hub, tmp_path, badges=BADGES)
    b = branches(hub_server.url, "kiosk-b", hub.new_device("Tajrish")["code"])
    b.sync()
    b.service.reload_program()
    member_id = b.service.enroll(PHONE, client_txn_id="enroll").member_id
    with b.service.conn:
        b.service.conn.execute(
            "INSERT INTO hub_visits (member_id, days, redeemed, badges) "
            "VALUES (?, '2026-03-20,2026-03-13,2026-03-06', 0, '')",
            (member_id,),
        )

    assert b.visit(member_id, "b-0") == ["badge:streak-4w"]
    pushed, _, _ = b.sync()
    assert pushed.rejected == 1
    assert [d["reason"] for _, d in flags_of(hub, member_id)] == ["badge_not_reached"]
