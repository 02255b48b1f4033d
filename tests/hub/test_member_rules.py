"""The hub decides about member records; a device only proposes (issue 15, part C).

Tried as the attacker would: with one kiosk's SD card (its crm secret, so a `Wire` of its
own), a record dated 9999-12-31 that moves a victim's account to the attacker's phone and
card. And as honest kiosks would meet the rules: a clock years ahead, a card that is
already someone else's.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.hub.conftest import Hub, HubServer
from tests.hub.wire import Server, Wire, member, new_id, outcome

FAR_FUTURE = "9999-12-31T23:59:59.000000Z"


@pytest.fixture
def server(hub: Hub, hub_server: HubServer) -> Server:
    return Server("hub", hub_server.url, hub=hub)


def members_of(hub: Hub) -> dict[str, dict[str, Any]]:
    return {m["member_id"]: m for m in hub.json("export")["members"]}


def flags_of(hub: Hub) -> list[tuple[str, str | None]]:
    return [(f["code"], f["member_id"]) for f in hub.json("flag", "list", "--json")]


def test_a_record_dated_9999_cannot_move_a_victims_account_to_a_new_phone_and_card(
    hub: Hub, server: Server
):
    branch, attacker = Wire(server), Wire(server)
    victim = new_id()
    branch.push([branch.entry(1, victim, points=40)], [member(victim)])
    held = members_of(hub)[victim]
    forged = member(
        victim,
        updated=FAR_FUTURE,
        phone="+989990000000",
        name="Attacker",
        cards=[{"uid": "BADC0FFE", "status": "active"}],
    )

    answer = outcome(attacker.push([], [forged]))
    after = members_of(hub)[victim]

    assert answer["rejected"] == []  # the push goes on: the record is refused, not the batch
    assert after["phone"] == held["phone"] and after["name"] == "Sara"
    assert after["cards"] == held["cards"] and after["balance"] == 40
    assert flags_of(hub) == [("future_dated", victim), ("phone_move", victim)]
    # The attacker's kiosk hears nothing it did not have: no record of the victim moved.
    moved = [c for c in attacker.changes()["changes"] if c["data"].get("phone") == forged["phone"]]
    assert moved == []


def test_a_card_another_member_holds_is_dropped_from_a_record(hub: Hub, server: Server):
    wire = Wire(server)
    owner, other = new_id(), new_id()
    wire.push([], [member(owner)])
    owners_card = member(owner)["cards"][0]
    own_card = {"uid": "0E0E0E0E", "status": "active"}

    wire.push([], [member(other, cards=[owners_card, own_card])])
    chain = members_of(hub)

    assert chain[owner]["cards"] == [owners_card]
    assert chain[other]["cards"] == [own_card]
    assert flags_of(hub) == [("card_move", other)]


def test_the_last_record_received_wins_even_over_a_clock_years_ahead(hub: Hub, server: Server):
    ahead, honest = Wire(server), Wire(server)
    someone = new_id()
    ahead.push([], [member(someone, updated="2031-01-01T00:00:00.000000Z", name="Ahead")])

    honest.push([], [member(someone, updated="2026-03-02T09:00:00.000000Z", name="Later")])
    kept = members_of(hub)[someone]
    echoed = [c["data"] for c in honest.changes()["changes"] if c["type"] == "member"]

    assert kept["name"] == "Later"
    assert [(m["name"], m["updated_at"] < "2031") for m in echoed] == [
        ("Ahead", True),  # stored and echoed at the hub's time, not the device's
        ("Later", True),
    ]
    assert flags_of(hub) == [("future_dated", someone)]


def test_an_erased_member_stays_erased_whatever_record_comes_later(hub: Hub, server: Server):
    wire, behind = Wire(server), Wire(server)
    someone = new_id()
    wire.push([], [member(someone)])
    erased = {"member_id": someone, "status": "erased", "created_at": member(someone)["created_at"]}
    wire.push([], [erased | {"updated_at": "2026-03-05T00:00:00.000000Z"}])

    behind.push([], [member(someone, updated="2026-03-06T00:00:00.000000Z")])

    assert members_of(hub)[someone]["status"] == "erased"
    assert "phone" not in members_of(hub)[someone]
