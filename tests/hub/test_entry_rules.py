"""The hub decides: an entry outside the program in force is rejected and flagged.

Pushed as a kiosk pushes (signed with its secret, over real HTTP, to `hub serve` on
PostgreSQL). The attacker here has one kiosk's SD card: its crm secret, so every push is
signed as that kiosk's. Each rule is shown at its edge: the most the program allows is
stored, one point more is rejected `outside_program` and flagged for the owner, with the
balance unchanged. Redemptions beyond the offline allowance are rejected `overdraw`.
"""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.hub.conftest import Hub, HubServer
from tests.hub.wire import Server, Wire, member, new_id, outcome

# The default program (version 1, the kiosk's shipped numbers): 1 point per 100,000 rial,
# at most x1.5 (gold), at most 5,000 points a purchase, purchases up to 1e11 rial,
# bonuses up to 100, adjustments up to 10,000, rewards coffee (200), discount-100k (500).


def balance_of(hub: Hub, member_id: str) -> int:
    rows = hub.sql("SELECT balance FROM hub_balance WHERE member_id = %s", member_id)
    return int(rows[0][0]) if rows else 0


def flags_of(hub: Hub, member_id: str) -> list[tuple[str, dict[str, Any]]]:
    rows = hub.sql("SELECT code, detail FROM hub_flag WHERE member_id = %s ORDER BY id", member_id)
    return [(str(r[0]), r[1]) for r in rows]


class Counter:
    """One kiosk's pushes: a member of its own, and entries numbered in order."""

    def __init__(self, server: Server, opening: int = 0) -> None:
        self.wire = Wire(server)
        self.seq = 0
        self.member_id = new_id()
        self.wire.push([], [member(self.member_id)])
        if opening:
            assert self.push(kind="adjust", points=opening, amount=None)["stored"] == 1

    def entry(self, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        return self.wire.entry(self.seq, self.member_id, **fields)

    def push(self, **fields: Any) -> dict[str, Any]:
        return outcome(self.wire.push([self.entry(**fields)]))

    def verdict(self, **fields: Any) -> str:
        answer = self.push(**fields)
        return "stored" if answer["stored"] else answer["rejected"][0][1]


@pytest.fixture
def hub_at(hub_server_shared: Server) -> Server:
    return hub_server_shared


def test_the_sd_card_attacker_cannot_earn_a_million_points(hub_at: Server):
    counter = Counter(hub_at, opening=100)
    hub = hub_at.hub
    assert hub is not None

    answer = counter.push(kind="earn", points=1_000_000, amount=100_000)

    assert answer["rejected"] == [(counter.seq, "outside_program")]
    assert answer["high_water"] == counter.seq  # kept for good: the kiosk is not stuck
    assert balance_of(hub, counter.member_id) == 100
    ((code, detail),) = flags_of(hub, counter.member_id)
    assert code == "outside_program"
    assert detail["points"] == 1_000_000 and detail["reason"] == "earn_above_program"
    listed = hub.json("flag", "list", "--json")
    assert any(f["member_id"] == counter.member_id for f in listed)


@pytest.mark.parametrize(
    ("allowed", "one_more"),
    [
        # 10,000,000 rial: 100 points, x1.5 at gold = 150, +1 for rounding.
        ({"kind": "earn", "points": 151, "amount": 10_000_000}, {"points": 152}),
        # The cap per purchase, whatever the amount.
        ({"kind": "earn", "points": 5_000, "amount": 10**10}, {"points": 5_001}),
        # The largest purchase.
        ({"kind": "earn", "points": 1, "amount": 10**11}, {"amount": 10**11 + 1}),
        ({"kind": "bonus", "points": 100, "amount": None}, {"points": 101}),
        ({"kind": "adjust", "points": 10_000, "amount": None}, {"points": 10_001}),
        ({"kind": "adjust", "points": -10_000, "amount": None}, {"points": -10_001}),
        # An opening balance of `kiosk member import`: a limit of its own, 1,000,000.
        (
            {"kind": "adjust", "points": 1_000_000, "amount": None, "reason": "import"},
            {"points": 1_000_001},
        ),
        (
            {"kind": "redeem", "points": -200, "amount": None, "reward_id": "coffee"},
            {"points": -199},
        ),
        (
            {"kind": "redeem", "points": -200, "amount": None, "reward_id": "coffee"},
            {"reward_id": "a-yacht"},
        ),
        ({"kind": "expire", "points": -5, "amount": None}, {"points": 5}),
        ({"kind": "earn", "points": 0, "amount": 50_000}, {"points": -1}),
        ({"kind": "earn", "points": 1, "amount": 100_000}, {"amount": None}),
    ],
    ids=lambda v: ",".join(f"{k}={v[k]}" for k in v) if isinstance(v, dict) else str(v),
)
def test_the_most_a_rule_allows_is_stored_and_one_more_is_rejected(
    hub_at: Server, allowed: dict[str, Any], one_more: dict[str, Any]
):
    counter = Counter(hub_at, opening=10_000)
    hub = hub_at.hub
    assert hub is not None
    before = balance_of(hub, counter.member_id)

    assert counter.verdict(**allowed) == "stored"
    assert counter.verdict(**(allowed | one_more)) == "outside_program"

    assert balance_of(hub, counter.member_id) == before + allowed["points"]
    raised = [code for code, _ in flags_of(hub, counter.member_id)]
    assert raised[-1:] == ["outside_program"]
    assert raised[:-1] == (["large_opening_balance"] if allowed.get("reason") == "import" else [])


def test_a_reversal_must_undo_a_stored_entry_of_the_device_exactly_once(hub_at: Server):
    counter = Counter(hub_at, opening=1_000)
    sale = counter.entry(kind="earn", points=100, amount=10_000_000)
    other_sale = counter.entry(kind="earn", points=100, amount=10_000_000)
    elsewhere = Counter(hub_at)

    def reversal(of: dict[str, Any], points: int = -100, by: Counter = counter) -> dict[str, Any]:
        return by.entry(kind="reversal", points=points, amount=None, reverses=of["entry_id"])

    # A sale and its reversal in one batch: the reversal names an entry of this push.
    assert outcome(counter.wire.push([sale, other_sale, reversal(sale)]))["stored"] == 3
    refused = [
        outcome(counter.wire.push([reversal(sale)])),  # reversed already
        outcome(counter.wire.push([reversal(other_sale, points=-99)])),  # not exactly
        outcome(elsewhere.wire.push([reversal(sale, by=elsewhere)])),  # another device's
        outcome(counter.wire.push([reversal({"entry_id": str(uuid.uuid4())})])),  # nothing
    ]

    assert [[code for _, code in a["rejected"]] for a in refused] == [["outside_program"]] * 4
    assert outcome(counter.wire.push([reversal(other_sale)]))["stored"] == 1


def test_an_entry_valid_under_the_program_superseded_yesterday_is_still_stored(
    hub: Hub, hub_server, tmp_path: Path
):
    server = Server("hub", hub_server.url, hub=hub)
    stricter = hub.json("program", "show", "--json") | {"max_points_per_purchase": 100}
    (tmp_path / "v2.json").write_text(json.dumps(stricter))
    hub.run("program", "publish", str(tmp_path / "v2.json"))
    hub.sql("UPDATE hub_program SET superseded_at = now() - interval '1 day' WHERE version = 1")
    counter = Counter(server)

    # A kiosk that has not pulled version 2 yet: 150 points is within version 1.
    assert counter.verdict(kind="earn", points=150, amount=10_000_000) == "stored"

    hub.sql("UPDATE hub_program SET superseded_at = now() - interval '8 days' WHERE version = 1")
    assert counter.verdict(kind="earn", points=150, amount=10_000_000) == "outside_program"
    assert counter.verdict(kind="earn", points=100, amount=10_000_000) == "stored"


def test_an_overdraw_beyond_the_offline_allowance_is_rejected_and_within_it_flagged(
    hub_at: Server,
):
    counter = Counter(hub_at, opening=100)
    hub = hub_at.hub
    assert hub is not None
    coffee = {"kind": "redeem", "amount": None, "reward_id": "coffee", "points": -200}
    discount = {"kind": "redeem", "amount": None, "reward_id": "discount-100k", "points": -500}

    # 100 - 200 = -100: within the allowance of 500, stored, and the owner is told.
    assert counter.verdict(**coffee) == "stored"
    # -100 - 500 = -600: beyond it.
    assert counter.verdict(**discount) == "overdraw"

    assert balance_of(hub, counter.member_id) == -100
    flags = flags_of(hub, counter.member_id)
    assert [code for code, _ in flags] == ["offline_overdraw", "overdraw"]
    assert flags[1][1] == {"points": -500, "balance": -100, "held": 0, "allowance": 500}


def test_an_earn_then_a_redeem_in_one_batch_is_judged_on_the_running_balance(hub_at: Server):
    counter = Counter(hub_at)
    earn = counter.entry(kind="earn", points=150, amount=10_000_000)
    spend = counter.entry(kind="redeem", amount=None, reward_id="coffee", points=-200)

    answer = outcome(counter.wire.push([earn, spend]))

    assert answer["stored"] == 2  # 150 - 200 = -50, within the allowance


def test_an_opening_balance_above_a_correction_is_stored_but_the_owner_hears_of_it(
    hub_at: Server,
):
    counter = Counter(hub_at)
    hub = hub_at.hub
    assert hub is not None

    small = counter.verdict(kind="adjust", points=9_000, amount=None, reason="import")
    large = counter.verdict(kind="adjust", points=250_000, amount=None, reason="import")
    negative = counter.verdict(kind="adjust", points=-250_000, amount=None, reason="import")

    assert (small, large, negative) == ("stored", "stored", "outside_program")
    assert balance_of(hub, counter.member_id) == 259_000
    assert [code for code, _ in flags_of(hub, counter.member_id)] == [
        "large_opening_balance",
        "outside_program",
    ]


def test_offline_redemptions_racing_at_two_hub_processes_overdraw_by_the_allowance_at_most(
    hub: Hub,
):
    # Six branches were offline; each gave the same shopper a 500-point discount (within
    # their own allowance). Back online, they push at the same moment, to two processes.
    first, second = HubServer(hub).start(), HubServer(hub).start()
    try:
        servers = [Server("hub", first.url, hub=hub), Server("hub", second.url, hub=hub)]
        home = Counter(servers[0], opening=300)
        branches = [Wire(servers[i % 2]) for i in range(6)]
        start = threading.Barrier(len(branches))
        verdicts: list[str] = []

        def push(wire: Wire) -> None:
            spend = wire.entry(
                1,
                home.member_id,
                kind="redeem",
                amount=None,
                points=-500,
                reward_id="discount-100k",
            )
            start.wait()
            answer = outcome(wire.push([spend]))
            verdicts.append("stored" if answer["stored"] else answer["rejected"][0][1])

        threads = [threading.Thread(target=push, args=(w,)) for w in branches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        first.stop(graceful=False)
        second.stop(graceful=False)

    # 300 - 500 = -200 (within the allowance of 500); a second would make -700.
    assert sorted(verdicts) == ["overdraw"] * 5 + ["stored"]
    assert balance_of(hub, home.member_id) == -200
    codes = [code for code, _ in flags_of(hub, home.member_id)]
    assert sorted(codes) == ["offline_overdraw"] + ["overdraw"] * 5
