"""One phone enrolled at two branches while they were offline: the hub makes one member.

The id the hub received first survives; the other becomes its alias (`merged_into`), its
entries kept under its own id and counted in the survivor's balance. Each branch's kiosk
hears of it in the feed: `merge`, then the survivor's record and balance. (The real
kiosks on a real hub: tests/hub/test_kiosk_merge.py.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.hub.conftest import Hub, HubServer
from tests.hub.test_holds import hold, redeem_entry
from tests.hub.test_verification_program import asks_no_codes
from tests.hub.wire import Server, Wire, error_code, member, new_id, outcome

PHONE = "+989121112233"


@pytest.fixture
def server(hub: Hub, hub_server: HubServer, tmp_path: Path) -> Server:
    # A chain that asks no code to link a card: by default the survivor would not take the
    # alias's card without one (tests/hub/test_verification.py, the merged enrollment).
    asks_no_codes(hub, tmp_path)
    return Server("hub", hub_server.url, hub=hub)


def enrolled(wire: Wire, member_id: str, uid: str, points: list[int]) -> None:
    record = member(member_id, phone=PHONE, cards=[{"uid": uid, "status": "active"}])
    entries = [wire.entry(seq, member_id, points=p) for seq, p in enumerate(points, start=1)]
    assert outcome(wire.push(entries, [record]))["rejected"] == []


def members_of(hub: Hub) -> dict[str, dict[str, Any]]:
    return {m["member_id"]: m for m in hub.json("export")["members"]}


def test_the_second_enrollment_of_a_phone_is_merged_into_the_first_with_both_histories(
    hub: Hub, server: Server
):
    north, south = Wire(server), Wire(server)
    first, second = new_id(), new_id()
    enrolled(north, first, "0A0A0A0A", [30, 20])
    start = north.changes()["next_cursor"]

    enrolled(south, second, "0B0B0B0B", [15])
    chain = members_of(hub)
    feed = [(c["type"], c["data"]) for c in north.changes(start)["changes"]]

    assert chain[second]["merged_into"] == first and chain[first]["merged_into"] is None
    assert chain[first]["balance"] == 65
    assert chain[first]["cards"] == [
        {"uid": "0A0A0A0A", "status": "active"},
        {"uid": "0B0B0B0B", "status": "active"},
    ]
    entries = hub.json("export")["entries"]
    assert sorted(e["entry"]["member_id"] for e in entries) == sorted([first, first, second])
    assert [kind for kind, _ in feed] == ["merge", "member", "balance"]
    assert feed[0][1] == {"member_id": second, "into": first}
    assert feed[1][1]["member_id"] == first and len(feed[1][1]["cards"]) == 2
    assert feed[2][1] == {
        "member_id": first,
        "balance": 65,
        "acknowledged": {north.device_id: 2, south.device_id: 1},
    }


def test_entries_of_the_merged_id_pushed_later_still_count_in_the_survivors_balance(
    hub: Hub, server: Server
):
    north, south = Wire(server), Wire(server)
    first, second = new_id(), new_id()
    enrolled(north, first, "0A0A0A0A", [30])
    enrolled(south, second, "0B0B0B0B", [15])

    later = outcome(south.push([south.entry(2, second, points=5)]))
    balances = [c["data"] for c in south.changes()["changes"] if c["type"] == "balance"]

    assert later["stored"] == 1
    assert members_of(hub)[first]["balance"] == 50
    assert balances[-1] == {
        "member_id": first,
        "balance": 50,
        "acknowledged": {north.device_id: 1, south.device_id: 2},
    }


def test_a_merged_ids_record_pushed_again_gives_its_new_card_to_the_survivor(
    hub: Hub, server: Server
):
    north, south = Wire(server), Wire(server)
    first, second = new_id(), new_id()
    enrolled(north, first, "0A0A0A0A", [30])
    enrolled(south, second, "0B0B0B0B", [15])
    cards = [{"uid": "0B0B0B0B", "status": "active"}, {"uid": "0C0C0C0C", "status": "active"}]

    south.push([], [member(second, phone=PHONE, name="Someone else", cards=cards)])
    chain = members_of(hub)

    assert [c["uid"] for c in chain[first]["cards"]] == ["0A0A0A0A", "0B0B0B0B", "0C0C0C0C"]
    assert chain[first]["name"] == "Sara" and chain[second]["cards"] == []


def test_a_phone_enrolled_at_once_at_two_branches_makes_one_member(hub: Hub, server: Server):
    # The second push waits for the first's lock on the phone, then sees its member.
    wires = [Wire(server) for _ in range(4)]
    ids = [new_id() for _ in wires]
    with ThreadPoolExecutor(len(wires)) as pool:
        list(pool.map(enrolled, wires, ids, [m[-8:] for m in ids], [[10]] * len(ids)))
    chain = members_of(hub)

    survivors = [m for m in ids if chain[m]["merged_into"] is None]
    assert len(survivors) == 1
    assert {chain[m]["merged_into"] for m in ids if m not in survivors} == set(survivors)
    assert chain[survivors[0]]["balance"] == 40


def test_an_erasure_pushed_for_the_merged_id_erases_the_survivor_too(hub: Hub, server: Server):
    # The same person (one phone) asked to be forgotten where they were known by the alias.
    north, south = Wire(server), Wire(server)
    first, second = new_id(), new_id()
    enrolled(north, first, "0A0A0A0A", [30])
    enrolled(south, second, "0B0B0B0B", [15])
    start = north.changes()["next_cursor"]
    erased = {"member_id": second, "status": "erased", "created_at": member(second)["created_at"]}

    south.push([], [erased | {"updated_at": "2026-03-05T00:00:00.000000Z"}])
    chain = members_of(hub)
    feed = [(c["type"], c["data"]) for c in north.changes(start)["changes"]]

    assert chain[first]["status"] == chain[second]["status"] == "erased"
    assert "phone" not in chain[first] and chain[first]["balance"] == 45  # the ledger stays
    assert ("erasure", {"member_id": first}) in feed
    # Neither branch reading its feed from the start gets the person (issue 16).
    for wire in (north, south):
        everything = str(wire.changes(0)["changes"])
        assert PHONE not in everything and "0A0A0A0A" not in everything
        assert "0B0B0B0B" not in everything


def test_a_hold_by_the_merged_id_spends_the_survivors_points_once(hub: Hub, server: Server):
    north, south = Wire(server), Wire(server)
    first, second = new_id(), new_id()
    enrolled(north, first, "0A0A0A0A", [300])
    enrolled(south, second, "0B0B0B0B", [200])  # merged: 500 between them
    txn = f"redeem-{new_id()}"

    by_alias = hold(south, second, 500, txn)  # more than the alias's own 200
    by_survivor = hold(north, first, 200)  # nothing is left
    redeemed = outcome(south.push([redeem_entry(south, 2, second, 500, txn)]))

    assert by_alias.status_code == 201 and by_alias.json()["available"] == 0
    assert error_code(by_survivor) == (409, "insufficient_points")
    assert by_survivor.json()["error"]["available"] == 0
    assert redeemed["stored"] == 1 and redeemed["rejected"] == []
    assert members_of(hub)[first]["balance"] == 0
    assert hub.sql("SELECT state FROM hub_hold WHERE client_txn_id = %s", txn) == [("confirmed",)]
    assert hub.sql("SELECT count(*) FROM hub_flag WHERE code LIKE '%%overdraw%%'") == [(0,)]
