"""The hub accepts a badge's bonus a kiosk gave under the published program, and refuses a
forged one: more points than the badge gives, a badge the program does not have, or a badge
given to the member before (docs/program.md, "Streaks and badges"; hub/ledger/rules.py).

A real kiosk pulls the signed program with its badges, reaches one at a member's third
visit and pushes; a forged push (one kiosk's SD card: its secret) tries to mint points as
badges.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.store.staff import CLI
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_entry_rules import Counter, balance_of, flags_of
from tests.hub.test_kiosk_on_the_hub import Kiosk
from tests.hub.wire import Server

BADGES = {
    "week": "jalali",
    "streak_weeks": [4],
    "streak_bonus": 30,
    "milestones": [{"visits": 3, "bonus": 50}, {"visits": 10, "bonus": 120}],
    "tier_bonus": 80,
}


def _weeks_after(weeks: int) -> str:
    return (datetime(2026, 3, 1, 9, tzinfo=UTC) + timedelta(weeks=weeks)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )


LAST = _weeks_after(9)


def publish(hub: Hub, tmp_path: Path, **changes: Any) -> None:
    program = hub.json("program", "show", "--json") | changes
    (tmp_path / "p.json").write_text(json.dumps(program))
    hub.run("program", "publish", str(tmp_path / "p.json"))


@pytest.fixture
def kiosk(hub: Hub, hub_server: HubServer, tmp_path: Path, clock: ManualClock) -> Iterator[Kiosk]:
    opened = Kiosk(tmp_path / "kiosk", hub_server.url, clock, "kiosk-valiasr-1")
    opened.provision(hub.new_device()["code"])
    yield opened
    opened.appliance.forget_client()
    opened.service.close()


def test_a_kiosks_badge_is_accepted_by_the_hub(hub: Hub, kiosk: Kiosk, tmp_path: Path):
    publish(hub, tmp_path, badges=BADGES)
    kiosk.sync()
    kiosk.service.reload_program()  # as the touch app does after its worker's pull

    member_id = kiosk.service.enroll("09121234567", client_txn_id="enroll").member_id
    results = []
    for day in range(3):  # three visits on three days
        kiosk.clock.advance(days=1)
        results.append(
            kiosk.service.earn(member_id, 1_000_000, cashier=CLI, client_txn_id=f"sale-{day}")
        )
    pushed, _, _ = kiosk.sync()

    assert [b.reason for b in results[2].bonuses] == ["badge:visits-3"]
    assert pushed.rejected == 0
    assert balance_of(hub, member_id) == kiosk.service.ledger.balance(member_id)


@pytest.mark.parametrize(
    ("reason", "allowed"),
    [
        ("badge:visits-3", 50),
        ("badge:visits-10", 120),
        ("badge:streak-4w", 30),
        ("badge:tier-silver", 80),
        ("badge:tier-gold", 80),
    ],
)
def test_a_badge_is_stored_up_to_its_bonus_once_and_a_forged_one_refused(
    hub: Hub, hub_server: HubServer, tmp_path: Path, reason: str, allowed: int
):
    publish(hub, tmp_path, badges=BADGES)
    counter = Counter(Server("hub", hub_server.url, hub=hub))
    # A member who reached them all: ten weeks in a row with a visit, 6,000 points earned
    # (the hub checks the visits too: tests/hub/test_badge_reached.py).
    for week in range(10):
        at = _weeks_after(week)
        assert counter.verdict(points=600, amount=10**9, created_at=at) == "stored"
    badge = {"kind": "bonus", "amount": None, "reason": reason, "created_at": LAST}

    assert counter.verdict(points=allowed + 1, **badge) == "outside_program"
    assert counter.verdict(points=allowed, **badge) == "stored"
    assert counter.verdict(points=allowed, **badge) == "outside_program"  # once per member

    assert balance_of(hub, counter.member_id) == 6_000 + allowed
    reasons = [detail["reason"] for _, detail in flags_of(hub, counter.member_id)]
    assert sorted(reasons) == ["badge_above_program", "badge_given_before"]


@pytest.mark.parametrize(
    "reason",
    [
        "badge:visits-4",  # no such milestone
        "badge:tier-bronze",  # the first tier is no badge
        "badge:first-redemption",  # its bonus is 0 in this program: not given
        "badge:",
    ],
)
def test_a_badge_the_program_does_not_give_is_refused(
    hub: Hub, hub_server: HubServer, tmp_path: Path, reason: str
):
    publish(hub, tmp_path, badges=BADGES)
    counter = Counter(Server("hub", hub_server.url, hub=hub))

    assert counter.verdict(points=1, kind="bonus", amount=None, reason=reason) == "outside_program"
    assert balance_of(hub, counter.member_id) == 0


def test_without_badges_in_the_program_no_badge_is_stored(hub: Hub, hub_server: HubServer):
    counter = Counter(Server("hub", hub_server.url, hub=hub))
    badge = {"kind": "bonus", "amount": None, "reason": "badge:visits-10"}
    assert counter.verdict(points=50, **badge) == "outside_program"  # within max_bonus (100)
    assert counter.verdict(points=50, kind="bonus", amount=None, reason="birthday") == "stored"


@pytest.mark.parametrize(
    ("badges", "said"),
    [
        ([], "badges must be an object"),
        ({"week": "monday"}, "week must be"),
        ({"streak_weeks": [0]}, "streak_weeks"),
        ({"streak_weeks": [4, 4]}, "twice"),
        ({"milestones": [{"visits": 10, "bonus": -1}]}, "milestone needs"),
        ({"milestones": [{"visits": 10}, {"visits": 10}]}, "listed twice"),
        ({"tier_bonus": "5"}, "tier_bonus"),
        ({"colour": "gold"}, "unknown field 'colour'"),
    ],
)
def test_a_bad_badges_setting_is_refused_by_the_hub(
    hub: Hub, tmp_path: Path, badges: Any, said: str
):
    program = hub.json("program", "show", "--json") | {"badges": badges}
    (tmp_path / "p.json").write_text(json.dumps(program))

    refused = hub.run("program", "publish", str(tmp_path / "p.json"), check=False)

    assert refused.returncode != 0
    assert said in refused.stderr + refused.stdout
    assert hub.json("program", "show", "--json")["version"] == 1
