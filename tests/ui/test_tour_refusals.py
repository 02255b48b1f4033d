"""The screenshot tour (kiosk/ui/tour.py) shows each screen as a person normally sees it:
no stop shows a refusal in its message line unless it is meant to (`MEANT_REFUSALS`).
The amount screen once said "Too soon after the last purchase: wait 120 s" in every
screenshot, because the tour's seeded purchase was made at the same moment."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kiosk.core.store.staff import Actor
from kiosk.ui.tour import CASHIER_PIN, MEANT_REFUSALS, refusals, seed, stops
from tests.ui.conftest import Kiosk


@pytest.mark.parametrize("language", ["fa", "en"])
def test_no_tour_stop_shows_a_refusal(kiosk_factory: Callable[..., Kiosk], language: str) -> None:
    kiosk = kiosk_factory(f'shop.default_language="{language}"', staff=False)
    member_id = seed(kiosk.app)
    shown = {}
    for name, arrive in stops(member_id):
        kiosk.app.go_home()
        kiosk.app.counter.touched()
        arrive(kiosk.app)
        kiosk.pump(2)
        assert kiosk.screen == name
        if refusals(kiosk.app) and name not in MEANT_REFUSALS:
            shown[name] = refusals(kiosk.app)

    assert shown == {}


def test_the_amount_stop_takes_points_and_the_check_sees_a_refusal(
    kiosk_factory: Callable[..., Kiosk],
) -> None:
    kiosk = kiosk_factory('shop.default_language="en"', staff=False)
    member_id = seed(kiosk.app)
    amount = dict(stops(member_id))["amount"]
    amount(kiosk.app)
    kiosk.pump(2)
    assert refusals(kiosk.app) == []
    assert not kiosk.ids("confirm").disabled  # the cashier may confirm at once

    # A purchase just made: the same stop now waits out the gap, and the check says so.
    kiosk.service.earn(member_id, 500_000, cashier=_cashier(kiosk), client_txn_id="again")
    kiosk.app.go_home()
    amount(kiosk.app)
    kiosk.pump(2)
    assert refusals(kiosk.app) == ["Too soon after the last purchase: wait 120 s"]


def _cashier(kiosk: Kiosk) -> Actor:

    sara = next(s for s in kiosk.service.staff.active() if s.role == "cashier")
    return kiosk.service.staff.login_with_pin(CASHIER_PIN, sara.staff_id)
