"""One phone enrolled provisionally at two offline branches, then both sync: one member.

Two real kiosks (the product's Appliance and sync worker) on a real `hub serve`: each
enrolls the shopper who gives the same phone number, with a card of its own, and earns
offline; then both push. The hub keeps one member with both histories and the sum of the
points, the later id an alias of the earlier; and both kiosks, after their pull, find that
member by the phone and by either card, with that one balance.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.store.staff import CLI
from kiosk.core.summary import member_summary
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_kiosk_on_the_hub import Kiosk
from tests.hub.test_verification_program import asks_no_codes

PHONE = "09121112233"
CARD_NORTH, CARD_SOUTH = "0A0A0A0A", "0B0B0B0B"


@pytest.fixture
def branches(
    hub: Hub, hub_server: HubServer, tmp_path: Path, clock: ManualClock
) -> Iterator[tuple[Kiosk, Kiosk]]:
    opened: list[Kiosk] = []
    # A chain that asks no code to link a card: by default the survivor would not take the
    # second branch's card without one (tests/hub/test_verification.py, the merged enrollment).
    asks_no_codes(hub, tmp_path)
    for branch in ("North", "South"):
        kiosk = Kiosk(tmp_path / branch, hub_server.url, clock, f"kiosk-{branch.lower()}-1")
        kiosk.provision(hub.new_device(branch)["code"])
        opened.append(kiosk)
    yield opened[0], opened[1]
    for kiosk in opened:
        kiosk.appliance.forget_client()
        kiosk.service.close()


def shown(kiosk: Kiosk) -> set[tuple[str, int]]:
    """Whom the kiosk finds by the phone and by each card, and the balance it shows them."""
    service = kiosk.service
    found = [
        service.identify_phone(PHONE),
        service.identify_card(CARD_NORTH),
        service.identify_card(CARD_SOUTH),
    ]
    return {(m.member_id, member_summary(service, m.member_id).balance) for m in found}


def test_one_phone_enrolled_at_two_offline_branches_is_one_member_everywhere(
    hub: Hub, branches: tuple[Kiosk, Kiosk]
):
    north, south = branches
    first = north.sale(PHONE, CARD_NORTH, [2_000_000, 1_000_000])  # neither has synced
    second = south.sale(PHONE, CARD_SOUTH, [3_000_000])
    earned = {
        kiosk: kiosk.service.member(member_id).balance
        for kiosk, member_id in ((north, first), (south, second))
    }

    north.sync()
    south.sync()  # the hub has the phone as north's member: south's is merged into it
    north.sync()  # and north hears of it
    chain: dict[str, Any] = hub.json("export")
    members = {m["member_id"]: m for m in chain["members"]}

    assert first != second and members[second]["merged_into"] == first
    total = members[first]["balance"]
    assert total == sum(earned.values()) > 0
    by_member = {m: [e for e in chain["entries"] if e["entry"]["member_id"] == m] for m in members}
    assert len(by_member[first]) == 3 and len(by_member[second]) == 2  # enrollment bonus
    assert {c["uid"] for c in members[first]["cards"]} == {CARD_NORTH, CARD_SOUTH}
    assert shown(north) == shown(south) == {(first, total)}
    # Nothing of either kiosk's ledger was deleted or rewritten; all of it is at the hub.
    for kiosk in (north, south):
        local = {e.entry_id for e in kiosk.service.ledger.entries()}
        assert local <= {e["entry"]["entry_id"] for e in chain["entries"]}


def test_after_the_merge_the_shopper_earns_at_the_second_branch_on_the_one_balance(
    hub: Hub, branches: tuple[Kiosk, Kiosk], clock: ManualClock
):
    north, south = branches
    first = north.sale(PHONE, CARD_NORTH, [2_000_000])
    south.sale(PHONE, CARD_SOUTH, [3_000_000])
    north.sync()
    south.sync()

    clock.advance(hours=5)
    member_id = south.service.identify_card(CARD_SOUTH).member_id
    south.service.earn(member_id, 1_000_000, cashier=CLI, client_txn_id="after-merge")
    south.sync()
    north.sync()

    total = {m["member_id"]: m["balance"] for m in hub.json("export")["members"]}[first]
    assert member_id == first
    assert shown(north) == shown(south) == {(first, total)}
