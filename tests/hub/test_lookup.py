"""Data minimisation at the hub: a branch's feed, and members looked up on demand.

A kiosk is sent the members of its own branch (those whose records or entries a device of
the branch pushed, or whom it looked up), not the chain's; anyone else who comes to its
counter is looked up by phone or card, a limited number of times an hour. Raw signed
requests (tests/hub/wire.py) to `hub serve` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.store.staff import CLI
from tests.hub import test_kiosk_on_the_hub
from tests.hub.conftest import Hub, HubServer

# Every answer heard here is checked against docs/sync-openapi.yaml, as the protocol tests do.
from tests.hub.test_protocol import answers_are_what_the_openapi_file_declares, spec  # noqa: F401
from tests.hub.test_verification_program import asks_no_codes
from tests.hub.wire import Server, Wire, error_code, member, new_id

kiosks = test_kiosk_on_the_hub.kiosks  # real kiosks (Appliance, SyncWorker) on the hub
LOOKUPS_PER_HOUR = 300  # docs/sync-protocol.md, "Looking a member up"


def device_at(hub: Hub, url: str, branch: str) -> Wire:
    """A device of `branch`, enrolled over the wire."""
    code = str(hub.new_device(branch)["code"])
    return Wire(Server("hub", url, hub=hub, codes=[code]))


def feed(wire: Wire) -> list[dict[str, Any]]:
    """Every change the device is sent, page by page (small pages: the cursor is exercised)."""
    changes: list[dict[str, Any]] = []
    cursor, more = 0, True
    while more:
        page = wire.changes(cursor, limit=2)
        changes += page["changes"]
        assert page["next_cursor"] >= cursor
        cursor, more = page["next_cursor"], page["more"]
    return changes


EVERYONES = ("program", "staff")


def everyones(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in changes if c["type"] in EVERYONES]


def members_in(changes: list[dict[str, Any]]) -> set[str]:
    return {c["data"]["member_id"] for c in changes if "member_id" in c["data"]}


@pytest.fixture
def chain(hub: Hub, hub_server: HubServer) -> Iterator[tuple[Wire, Wire, Wire]]:
    """Two devices at Valiasr (A), one at Tajrish (B)."""
    yield (
        device_at(hub, hub_server.url, "Valiasr"),
        device_at(hub, hub_server.url, "Valiasr"),
        device_at(hub, hub_server.url, "Tajrish"),
    )


def test_a_branch_is_sent_its_own_members_and_not_the_other_branchs(chain):
    a1, a2, b = chain
    ours, theirs = new_id(), new_id()
    a1.push([a1.entry(1, ours, 30)], [member(ours, phone="+989120000001", cards=[])])
    b.push([b.entry(1, theirs, 40)], [member(theirs, phone="+989120000002", cards=[])])

    at_a, at_b = feed(a2), feed(b)

    # A's other kiosk hears of A's member (record and balance), nothing of B's.
    assert members_in(at_a) == {ours}
    assert {c["type"] for c in at_a if c["type"] not in EVERYONES} == {"member", "balance"}
    # The owner's changes (the program published at set-up) go to every branch.
    assert everyones(at_a) == everyones(at_b)
    assert members_in(at_b) == {theirs}
    assert not any("+989120000002" in str(c) for c in at_a)


def test_a_member_of_another_branch_is_found_by_card_and_then_followed_in_the_feed(chain):
    a1, _a2, b = chain
    theirs = new_id()
    card = [{"uid": "04B1B2B3", "status": "active"}]
    b.push([b.entry(1, theirs, 40)], [member(theirs, phone="+989120000003", cards=card)])
    assert theirs not in members_in(feed(a1))

    found = a1.send("GET", "/v2/members?card=04B1B2B3")

    assert found.status_code == 200, found.text
    body = found.json()
    assert body["member"]["member_id"] == theirs and body["member"]["phone"] == "+989120000003"
    assert body["balance"] == {
        "member_id": theirs,
        "balance": 40,
        "acknowledged": {b.device_id: 1},
    }
    # Looked up at A: A's kiosks now hear of B's earns for this member, and A's own.
    b.push([b.entry(2, theirs, 5)])
    a1.push([a1.entry(1, theirs, 7)])
    balances = [c["data"]["balance"] for c in feed(a1) if c["type"] == "balance"]
    assert balances[-2:] == [45, 52]


def test_a_member_is_found_by_phone_and_an_unknown_one_is_not(chain):
    a1, _a2, b = chain
    theirs = new_id()
    b.push([], [member(theirs, phone="+989120000004", cards=[])])

    found = a1.send("GET", "/v2/members?phone=%2B989120000004")
    unknown = a1.send("GET", "/v2/members?phone=%2B989120000999")

    assert found.status_code == 200, found.text
    assert found.json()["member"]["member_id"] == theirs
    assert found.json()["balance"] == {"member_id": theirs, "balance": 0, "acknowledged": {}}
    assert error_code(unknown) == (404, "unknown_member")


def test_a_blocked_card_is_said_to_be_blocked_and_gives_no_member(chain):
    a1, _a2, b = chain
    theirs = new_id()
    lost = [{"uid": "04C1C2C3", "status": "blocked"}, {"uid": "04D1D2D3", "status": "active"}]
    b.push([], [member(theirs, phone="+989120000005", cards=lost)])

    blocked = a1.send("GET", "/v2/members?card=04C1C2C3")

    assert error_code(blocked) == (404, "card_blocked")
    assert "+989120000005" not in blocked.text and theirs not in blocked.text
    assert theirs not in members_in(feed(a1))  # the finder's branch learnt nothing


BAD_QUERIES = [
    "",  # neither
    "phone=%2B989120000004&card=04B1B2B3",  # both
    "phone=09120000004",  # not E.164
    "phone=",
    "phone=%2B989120000004&phone=%2B989120000005",
    "card=04b1b2b3",  # not the kiosk's form
    "card=04:B1:B2:B3",
    "card=ABC",
    "name=Sara",
]


def test_a_lookup_by_neither_both_or_a_malformed_value_is_a_bad_request(hub: Hub, chain):
    a1, _a2, _b = chain

    answers = {q: error_code(a1.send("GET", f"/v2/members?{q}".rstrip("?"))) for q in BAD_QUERIES}

    assert answers == dict.fromkeys(BAD_QUERIES, (400, "bad_request"))
    # Bad requests cost nothing of the allowance and raise no flag.
    assert not [f for f in hub.json("flag", "list", "--json") if f["code"] == "lookup_rate"]


def test_an_attacker_with_one_kiosks_secret_gets_its_branch_only_and_is_rate_limited(
    hub: Hub, chain
):
    stolen, _a2, b = chain
    victims = [new_id() for _ in range(3)]
    for seq, victim in enumerate(victims, 1):
        b.push([b.entry(seq, victim)], [member(victim, phone=f"+98912100000{seq}", cards=[])])

    # The feed: nothing of the chain's other branches.
    assert members_in(feed(stolen)) == set()
    # Walking the phone numbers: the allowance, then 429 with a Retry-After; the owner sees
    # one flag for the run, not one per refused request.
    answers = [
        stolen.send("GET", f"/v2/members?phone=%2B98912{n:07d}")
        for n in range(LOOKUPS_PER_HOUR + 5)
    ]

    statuses = [a.status_code for a in answers]
    assert statuses.count(429) == 5 and set(statuses[:LOOKUPS_PER_HOUR]) <= {200, 404}
    refused = answers[-1]
    assert error_code(refused) == (429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    flags = [f for f in hub.json("flag", "list", "--json") if f["code"] == "lookup_rate"]
    assert len(flags) == 1 and flags[0]["device"] == stolen.device_id
    # Another kiosk's allowance is its own.
    assert b.send("GET", "/v2/members?phone=%2B989121000001").status_code == 200


def test_the_feed_of_a_quiet_branch_moves_past_other_branches_changes_by_pages(chain):
    a1, _a2, b = chain
    for seq in range(1, 26):
        someone = new_id()
        b.push([b.entry(seq, someone)], [member(someone, phone=f"+9891220{seq:05d}", cards=[])])

    first = a1.changes(0, limit=1)

    # Nothing of A's, but the cursor moves: the next pull does not read B's changes again.
    assert everyones(first["changes"]) == first["changes"]
    assert first["more"] is True and first["next_cursor"] > 0
    assert everyones(feed(a1)) == feed(a1)


def test_a_kiosk_is_not_sent_another_branchs_members_but_finds_one_who_taps_a_card(
    hub: Hub, hub_server: HubServer, kiosks
):
    a, b = kiosks(hub_server.url, "kiosk-a"), kiosks(hub_server.url, "kiosk-b")
    a.provision(hub.new_device("Valiasr")["code"])
    b.provision(hub.new_device("Tajrish")["code"])
    theirs = b.sale("09121110000", "04E1E2E3", [1_500_000])
    b.sync()

    a.sync()  # the real kiosk client's pull

    assert a.service.members.get(theirs) is None
    assert a.service.remote_balances.spendable(theirs, "kiosk-a") is None
    # At A's counter, online: found by the card, with the hub's balance, and earns.
    found = a.service.identify_card("04E1E2E3")
    assert found.member_id == theirs
    assert a.service.effective_balance(theirs) == b.service.effective_balance(theirs)
    a.clock.advance(hours=5)
    a.service.earn(theirs, 2_000_000, cashier=CLI, client_txn_id="sale-at-a")
    a.sync()
    # B's next sale for them reaches A's feed: A's kiosk shows the chain's balance.
    a.clock.advance(hours=5)
    b.service.earn(theirs, 3_000_000, cashier=CLI, client_txn_id="sale-at-b")
    b.sync()
    a.sync()
    (member_at_hub,) = [m for m in hub.json("export")["members"] if m["member_id"] == theirs]
    assert a.service.effective_balance(theirs) == member_at_hub["balance"]
    assert b.service.effective_balance(theirs) == member_at_hub["balance"]


def test_a_merged_member_is_answered_with_the_one_it_became_and_both_branches_hear_of_it(
    chain, hub: Hub, tmp_path: Path
):
    a1, _a2, b = chain
    asks_no_codes(hub, tmp_path)  # else the survivor takes no card without its code
    first, second = new_id(), new_id()
    a1.push([a1.entry(1, first, 30)], [member(first, phone="+989120000007", cards=[])])
    card = [{"uid": "04F1F2F3", "status": "active"}]
    b.push([b.entry(1, second, 20)], [member(second, phone="+989120000007", cards=card)])

    by_card = b.send("GET", "/v2/members?card=04F1F2F3")

    assert by_card.status_code == 200, by_card.text
    assert by_card.json()["member"]["member_id"] == first
    assert by_card.json()["balance"]["balance"] == 50
    for device in (a1, b):
        merges = [c["data"] for c in feed(device) if c["type"] == "merge"]
        assert merges == [{"member_id": second, "into": first}]
    assert first in members_in(feed(b))  # B's kiosks hear of the survivor from now on


def test_a_thief_naming_a_learnt_member_id_in_refused_pushes_gets_nothing_of_theirs(chain):
    stolen, _a2, b = chain
    victim = new_id()
    b.push([b.entry(1, victim, 40)], [member(victim, phone="+989120000008", cards=[])])

    # A record moving the victim to the thief's phone, and a forged earn: both refused.
    stolen.push(
        [stolen.entry(1, victim, 1_000_000)],
        [member(victim, phone="+989120000666", cards=[])],
    )
    b.push([b.entry(2, victim, 5)])  # the victim shops again at B

    assert victim not in members_in(feed(stolen))
