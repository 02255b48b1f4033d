"""A pulled program's earning rules take effect at the counter, as the hub checks them.

The hub rejects an entry outside its program (docs/sync-protocol.md, "What the hub
refuses"); so the kiosk must earn by the same numbers: a signed `program` change carrying
`points`, `per_amount`, `max_points_per_purchase`, `max_amount`, the bonuses, the offline
allowance and the mode replaces the configured ones. One that carries a bad number is
refused whole, and the program in force stays.
"""

from __future__ import annotations

import pytest

from kiosk.core.store.staff import CLI
from kiosk.errors import InvalidAmount
from sim.crm import CrmServer
from tests.test_signed_changes import PHONE, Shop, program, publish

pytest_plugins = ["tests.test_signed_changes"]  # its `crm` and `shop` fixtures


def test_a_pulled_programs_cap_per_purchase_takes_effect(shop: Shop, crm: CrmServer):
    member = shop.service.enroll(PHONE, client_txn_id="enroll-1").member_id
    rules = {"points": 1, "per_amount": 1_000, "max_points_per_purchase": 20}
    publish(crm, "program", program(2, "tea") | rules)

    shop.pull()
    earned = shop.service.earn(member, 1_000_000, cashier=CLI, client_txn_id="sale-1")

    # 1,000 points by the pulled rate, 20 by its cap (the configured rate gives 10).
    assert earned.points == 20
    assert shop.service.program.limits.max_points_per_purchase == 20


def test_a_pulled_programs_largest_amount_and_allowance_take_effect(shop: Shop, crm: CrmServer):
    member = shop.service.enroll(PHONE, client_txn_id="enroll-1").member_id
    publish(
        crm,
        "program",
        program(2, "tea") | {"max_amount": 500_000, "offline_redemption_allowance": 70},
    )

    shop.pull()

    with pytest.raises(InvalidAmount):
        shop.service.earn(member, 500_001, cashier=CLI, client_txn_id="sale-1")
    assert shop.service.earn(member, 500_000, cashier=CLI, client_txn_id="sale-2").points == 5
    assert shop.service.program.offline_redemption_allowance == 70


@pytest.mark.parametrize(
    "bad", [{"points": 0}, {"per_amount": "1000"}, {"mode": "cashback"}, {"max_amount": -1}]
)
def test_a_program_with_a_bad_rule_is_refused_and_the_one_in_force_stays(
    shop: Shop, crm: CrmServer, bad: dict[str, object]
):
    publish(crm, "program", program(2, "tea") | bad)

    result = shop.pull()

    assert result.applied.get("program", 0) == 0
    assert [r.id for r in shop.service.program.rewards] != ["tea"]
    assert shop.service.program.points == 1
