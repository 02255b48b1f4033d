"""The touch app shows the program the CRM published, not the one in the config file."""

from __future__ import annotations

from typing import Any

from kiosk.core.pulled import Here, apply_page
from sync.owner_key import OwnerSigner
from tests.ui.conftest import CASHIER_PIN, Kiosk

CARD = "A1B2C3D4"


def tier(tier_id: str, fa: str, en: str, threshold: int, multiplier: str) -> dict[str, Any]:
    return {
        "id": tier_id,
        "name_fa": fa,
        "name_en": en,
        "threshold": threshold,
        "multiplier": multiplier,
    }


# The CRM's program: tiers and a reward the config does not have ("vip", "legend", "tea").
CRM_PROGRAM: dict[str, Any] = {
    "version": 1,
    "tiers": [
        tier("bronze", "برنزی", "Bronze", 0, "1"),
        tier("vip", "ویژه", "VIP", 20, "1.5"),
        tier("legend", "افسانه", "Legend", 9000, "2"),
    ],
    "rewards": [
        {"id": "tea", "name_fa": "چای", "name_en": "A free tea", "cost": 60, "kind": "free_item"},
    ],
}


def pulled_program(kiosk: Kiosk, program: dict[str, Any]) -> None:
    """The CRM's program arrives in a pulled page and the app takes it up, as after a sync."""
    service = kiosk.service
    owner = OwnerSigner.generate("test-chain")  # the chain owner signs every program
    here = Here(service.device_id, service.program.tiers[0].id, owner=owner.public)
    change = {"type": "program", "data": program, "signature": owner.sign("program", program)}
    applied = apply_page(service.conn, here, [change], 1)
    assert applied["program"] == 1
    service.reload_program()


def test_a_member_in_a_tier_and_a_reward_only_the_crm_knows_are_shown(kiosk: Kiosk):
    pulled_program(kiosk, CRM_PROGRAM)
    member_id = kiosk.service.enroll("09121234567", client_txn_id="setup", card=CARD).member_id
    cashier = kiosk.service.staff.login_with_pin(CASHIER_PIN, kiosk.staff_id("Sara"))
    kiosk.service.earn(member_id, 2_500_000, cashier=cashier, client_txn_id="setup-earn")  # 25

    kiosk.tap_card(CARD)

    assert kiosk.screen == "member"
    assert not kiosk.app.bugs
    assert kiosk.text("tier") == kiosk.shows("member.tier", tier="ویژه")
    assert kiosk.text("tier_progress_text") == kiosk.shows(
        "member.to_next_tier", points=9000 - 25, tier="افسانه"
    )
    kiosk.touch(kiosk.app.screen.reward_button("tea"))
    assert kiosk.screen == "redeem"
    assert kiosk.text("title") == kiosk.shows("redeem.title", reward="چای")
    assert kiosk.text("detail") == kiosk.shows("redeem.cost", points=60)


def test_a_member_below_a_tier_only_the_crm_knows_sees_how_far_it_is(kiosk: Kiosk):
    pulled_program(kiosk, CRM_PROGRAM)
    kiosk.service.enroll("09121234567", client_txn_id="setup", card=CARD)  # no purchase yet

    kiosk.tap_card(CARD)

    assert kiosk.screen == "member"
    assert kiosk.text("tier") == kiosk.shows("member.tier", tier="برنزی")
    assert kiosk.text("tier_progress_text") == kiosk.shows(
        "member.to_next_tier", points=20, tier="ویژه"
    )
