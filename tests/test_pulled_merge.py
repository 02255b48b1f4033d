"""A `merge` from the CRM: one phone enrolled here and at another branch, offline, is one
member again. The shopper is found by their phone or either card and sees one balance;
nothing of this kiosk's ledger is deleted or rewritten, and its entries still go out."""

from __future__ import annotations

from typing import Any

from kiosk.core.clock import ManualClock
from kiosk.core.pulled import Here, apply_page
from kiosk.core.service import LoyaltyService
from kiosk.core.store.outbox import Outbox
from kiosk.core.store.staff import CLI
from kiosk.core.store.verify import verify_ledger
from kiosk.core.summary import member_summary

PHONE = "09121234567"
CARD_HERE, CARD_THERE = "A1B2C3D4", "0F0F0F0F"
SURVIVOR = "m-enrolled-at-the-other-branch"
THERE = 300  # the survivor's points from the other branch


def enrolled_here_offline(service: LoyaltyService) -> tuple[str, int]:
    """The shopper enrolled here (offline) and bought something; then the kiosk pushed it
    all (the hub merges an id it received). Their id and points here."""
    alias = service.enroll(PHONE, client_txn_id="enroll", card=CARD_HERE, name="Sara").member_id
    service.earn(alias, 2_000_000, cashier=CLI, client_txn_id="buy")
    outbox = Outbox(service.conn, service.device_id)
    batch = outbox.next_batch(500)
    outbox.acknowledge(batch, batch.last_seq, [])
    return alias, service.effective_balance(alias)


def pushed(service: LoyaltyService) -> int:
    """How many of this kiosk's entries the hub holds."""
    row = service.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()
    return len(list(service.ledger.entries())) - int(row[0])


def merged_into_survivor(
    service: LoyaltyService, alias: str, *, hub_balance: int, acknowledged: int
) -> None:
    """What the hub's feed says after the other branch's enrollment of the phone arrived first."""
    record: dict[str, Any] = {
        "member_id": SURVIVOR,
        "status": "active",
        "created_at": "2026-02-28T10:00:00.000000Z",
        "updated_at": "2026-02-28T10:00:00.000000Z",
        "phone": "+989121234567",
        "name": "Sara K.",
        "birthday": None,
        "language": "fa",
        "consent_marketing": False,
        "consent_version": None,
        "consent_at": None,
        "cards": [
            {"uid": CARD_HERE, "status": "active"},
            {"uid": CARD_THERE, "status": "active"},
        ],
    }
    changes = [
        {"cursor": 1, "type": "merge", "data": {"member_id": alias, "into": SURVIVOR}},
        {"cursor": 2, "type": "member", "data": record},
        {
            "cursor": 3,
            "type": "balance",
            "data": {
                "member_id": SURVIVOR,
                "balance": hub_balance,
                "acknowledged": {service.device_id: acknowledged},
            },
        },
    ]
    applied = apply_page(service.conn, Here(service.device_id, "bronze"), changes, 3)
    assert applied["skipped"] == 0


def test_after_a_merge_the_phone_and_both_cards_give_the_survivor_with_one_balance(
    service: LoyaltyService, clock: ManualClock
):
    alias, here = enrolled_here_offline(service)
    clock.advance(hours=5)  # the program's pause between purchases
    later = service.earn(alias, 1_000_000, cashier=CLI, client_txn_id="later").points

    merged_into_survivor(service, alias, hub_balance=THERE + here, acknowledged=pushed(service))

    found = [
        service.identify_phone(PHONE),
        service.identify_card(CARD_HERE),
        service.identify_card(CARD_THERE),
    ]
    assert {m.member_id for m in found} == {SURVIVOR}
    # The hub counts what it holds of the merged id; the entry not pushed yet counts here.
    assert member_summary(service, SURVIVOR).balance == THERE + here + later


def test_the_merged_ids_entries_stay_and_still_go_out_without_its_record(
    service: LoyaltyService, clock: ManualClock
):
    alias, here = enrolled_here_offline(service)
    clock.advance(hours=5)
    service.earn(alias, 1_000_000, cashier=CLI, client_txn_id="later")
    before = [e.as_dict() for e in service.ledger.entries()]

    merged_into_survivor(service, alias, hub_balance=THERE + here, acknowledged=pushed(service))
    batch = Outbox(service.conn, service.device_id).next_batch(500)

    assert [e.as_dict() for e in service.ledger.entries()] == before
    assert [e["member_id"] for e in batch.entries] == [alias]
    assert batch.members == []  # the hub holds the merged id's record: nothing to erase
    assert verify_ledger(service.conn).ok


def test_the_survivor_earns_and_redeems_here_on_the_one_balance(
    service: LoyaltyService, clock: ManualClock
):
    alias, here = enrolled_here_offline(service)
    merged_into_survivor(service, alias, hub_balance=THERE + here, acknowledged=pushed(service))

    clock.advance(hours=5)  # the program's pause between purchases
    earned = service.earn(SURVIVOR, 1_000_000, cashier=CLI, client_txn_id="again").points
    before = member_summary(service, SURVIVOR).balance
    service.redeem(SURVIVOR, "coffee", cashier=CLI, client_txn_id="treat")  # 200 points

    assert before == THERE + here + earned
    assert member_summary(service, SURVIVOR).balance == before - 200
    assert service.identify_phone(PHONE).member_id == SURVIVOR


def test_applying_a_merge_twice_changes_nothing(service: LoyaltyService):
    alias, here = enrolled_here_offline(service)
    merged_into_survivor(service, alias, hub_balance=THERE + here, acknowledged=pushed(service))
    first = member_summary(service, SURVIVOR)

    merged_into_survivor(service, alias, hub_balance=THERE + here, acknowledged=pushed(service))

    assert member_summary(service, SURVIVOR) == first and first.balance == THERE + here
    assert service.identify_card(CARD_HERE).member_id == SURVIVOR


def test_a_merge_of_an_id_unknown_here_only_names_it(service: LoyaltyService):
    changes = [{"cursor": 1, "type": "merge", "data": {"member_id": "m-x", "into": "m-y"}}]

    applied = apply_page(service.conn, Here(service.device_id, "bronze"), changes, 1)

    assert applied["merge"] == 1
    assert service.members.count() == 0
