"""The hub accepts an earn that an offer raised, and refuses one that claims an offer not
running then (docs/program.md, "Limited-time offers"; hub/ledger/rules.py).

A real kiosk pulls the signed program with its offers, earns during one and pushes; a
forged push (one kiosk's SD card: its secret) claims the offer outside its hours, at
another branch, or more than the offers allow. Times: 09:00 UTC is 12:30 in Tehran.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.clock import ManualClock
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_entry_rules import Counter, balance_of, flags_of
from tests.hub.test_kiosk_on_the_hub import Kiosk
from tests.hub.wire import Server

NOON = {
    "id": "noon",
    "name_fa": "امتیاز دوبرابر",
    "name_en": "Double points",
    "multiplier": "2",
    "from_time": "12:00",
    "until_time": "14:00",
}
BIG = {"id": "big-basket", "name_en": "Big basket", "bonus": 20, "min_amount": 5_000_000}


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


def test_a_kiosks_earn_raised_by_two_offers_is_accepted(hub: Hub, kiosk: Kiosk, tmp_path: Path):
    publish(hub, tmp_path, offers=[NOON, BIG])

    kiosk.sync()
    kiosk.service.reload_program()  # as the touch app does after its worker's pull
    kiosk.clock.advance(hours=-5)  # the sale waits 5 hours before its purchase
    member_id = kiosk.sale("09121234567", "A1B2C3D4", [5_000_000])  # 12:30 in Tehran
    pushed, _, _ = kiosk.sync()

    earned = [e.points for e in kiosk.service.ledger.entries() if e.kind == "earn"]
    assert earned == [50 * 2 + 20]  # the best multiplier, then the bonus
    assert pushed.rejected == 0
    assert balance_of(hub, member_id) == kiosk.service.ledger.balance(member_id)


@pytest.mark.parametrize(
    ("created_at", "offers", "allowed"),
    [
        # 12:30 in Tehran: x1.5 (gold) x2 (noon) of 50 = 150, + 20, +1 for rounding.
        ("2026-03-01T09:00:00.000000Z", [NOON, BIG], 171),
        # 13:59 is within it, 14:00 is not: the double is gone, the basket's bonus stays.
        ("2026-03-01T10:29:00.000000Z", [NOON, BIG], 171),
        ("2026-03-01T10:30:00.000000Z", [NOON, BIG], 96),
        # Another branch's offer does not raise this device's earns.
        ("2026-03-01T09:00:00.000000Z", [NOON | {"branches": ["Tajrish"]}], 76),
        ("2026-03-01T09:00:00.000000Z", [NOON | {"branches": ["Valiasr"]}], 151),
        # Another day of the week (Sunday here): not running.
        ("2026-03-01T09:00:00.000000Z", [NOON | {"weekdays": ["fri"]}], 76),
    ],
)
def test_the_most_an_offer_allows_is_stored_and_one_more_is_refused(
    hub: Hub, hub_server: HubServer, tmp_path: Path, created_at: str, offers: Any, allowed: int
):
    publish(hub, tmp_path, offers=offers)
    counter = Counter(Server("hub", hub_server.url, hub=hub))
    sale = {"kind": "earn", "amount": 5_000_000, "created_at": created_at}

    assert counter.verdict(points=allowed, **sale) == "stored"
    assert counter.verdict(points=allowed + 1, **sale) == "outside_program"

    assert balance_of(hub, counter.member_id) == allowed
    ((code, detail),) = flags_of(hub, counter.member_id)
    assert (code, detail["reason"], detail["most_for_amount"]) == (
        "outside_program",
        "earn_above_program",
        allowed,
    )


def test_an_anniversary_bonus_is_within_the_programs_bonuses(
    hub: Hub, hub_server: HubServer, tmp_path: Path
):
    publish(hub, tmp_path, anniversary_bonus=300)
    counter = Counter(Server("hub", hub_server.url, hub=hub))

    anniversary = {"kind": "bonus", "amount": None, "reason": "anniversary"}
    assert counter.verdict(points=300, **anniversary) == "stored"
    assert counter.verdict(points=301, **anniversary) == "outside_program"


@pytest.mark.parametrize(
    ("offer", "said"),
    [
        (NOON | {"multiplier": "1"}, "gives nothing"),
        (NOON | {"multiplier": 2}, "decimal number as a string"),
        (NOON | {"multiplier": "11"}, 'from "1" to "10"'),
        (NOON | {"until_time": "11:00"}, "after its from_time"),
        (NOON | {"weekdays": ["friday"]}, "weekdays must be a list of"),
        (NOON | {"tiers": ["platinum"]}, "not a tier of the program"),
        (NOON | {"starts": "2026-13-01"}, "ISO date"),
        (NOON | {"colour": "red"}, "unknown field 'colour'"),
    ],
)
def test_a_bad_offer_is_refused_by_the_hub(hub: Hub, tmp_path: Path, offer: Any, said: str):
    program = hub.json("program", "show", "--json") | {"offers": [offer]}
    (tmp_path / "p.json").write_text(json.dumps(program))

    refused = hub.run("program", "publish", str(tmp_path / "p.json"), check=False)

    assert refused.returncode != 0
    assert said in refused.stderr + refused.stdout
    assert hub.json("program", "show", "--json")["version"] == 1
