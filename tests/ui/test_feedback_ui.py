"""The visit rating at the counter, by touches: faces, reasons, never in the next shopper's way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.ui.conftest import CASHIER_PIN, Kiosk

PHONE = "09121234567"
OTHER_PHONE = "09351234567"
CARD = "A1B2C3D4"
OTHER_CARD = "B2C3D4E5"


def buy(kiosk: Kiosk, card: str = CARD) -> None:
    """The shopper taps their card, the cashier enters 100,000 Toman: the result screen."""
    kiosk.tap_card(card)
    kiosk.press("purchase")
    if kiosk.screen == "pin":
        kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.keys("100000")
    kiosk.press("confirm")
    assert kiosk.screen == "result"


def faces(kiosk: Kiosk) -> Any:
    return kiosk.ids("faces")


def asked(kiosk: Kiosk) -> bool:
    """Whether a shopper sees the faces (drawn and touchable)."""
    row = faces(kiosk)
    return bool(row.opacity > 0 and not row.disabled)


def stored(kiosk: Kiosk) -> list[tuple[Any, ...]]:
    rows = kiosk.service.conn.execute("SELECT rating, reasons FROM feedback ORDER BY asked_at")
    return [tuple(row) for row in rows]


@pytest.fixture
def member(kiosk: Kiosk) -> str:
    kiosk.service.enroll(OTHER_PHONE, client_txn_id="setup-other", card=OTHER_CARD)
    return kiosk.service.enroll(PHONE, client_txn_id="setup-enroll", card=CARD).member_id


@pytest.mark.parametrize("language", ["fa", "en"])
def test_a_shopper_rates_then_picks_reasons_and_the_kiosk_goes_back_to_attract(
    kiosk_factory: Callable[..., Kiosk], language: str
) -> None:
    kiosk = kiosk_factory(f'shop.default_language="{language}"')
    kiosk.service.enroll(PHONE, client_txn_id="setup-enroll", card=CARD)
    buy(kiosk)
    assert asked(kiosk)
    assert faces(kiosk).ids.question.text == kiosk.shows("feedback.ask")

    kiosk.touch(faces(kiosk).ids.face4)
    assert kiosk.screen == "feedback"
    assert kiosk.text("title") == kiosk.shows("feedback.why")
    kiosk.touch(kiosk.app.screen.reason_button("staff"))
    kiosk.touch(kiosk.app.screen.reason_button("waiting"))
    kiosk.touch(kiosk.app.screen.reason_button("staff"))  # taken back
    kiosk.press("done")

    assert kiosk.screen == "attract"
    assert kiosk.message() == kiosk.shows("feedback.thanks")
    assert stored(kiosk) == [(4, "waiting")]
    assert kiosk.app.counter.member_id is None


def test_a_face_tapped_twice_rates_the_visit_once(kiosk: Kiosk, member: str) -> None:
    buy(kiosk)
    row = faces(kiosk)
    face5, face1 = row.ids.face5, row.ids.face1

    face5.dispatch("on_release")
    face1.dispatch("on_release")  # a second finger before the screen changed
    kiosk.pump()

    assert stored(kiosk) == [(5, "")]


def test_no_tap_and_the_next_customers_card_is_served_at_once(kiosk: Kiosk, member: str) -> None:
    buy(kiosk)
    assert asked(kiosk)

    kiosk.tap_card(OTHER_CARD)

    assert kiosk.screen == "member"
    other = kiosk.service.identify_card(OTHER_CARD)
    assert kiosk.app.counter.member_id == other.member_id
    assert stored(kiosk) == [(None, "")]  # asked, not answered: nothing made up


def test_the_next_customers_card_on_the_reasons_screen_is_served_at_once(
    kiosk: Kiosk, member: str
) -> None:
    buy(kiosk)
    kiosk.touch(faces(kiosk).ids.face2)
    assert kiosk.screen == "feedback"

    kiosk.tap_card(OTHER_CARD)

    assert kiosk.screen == "member"
    assert stored(kiosk) == [(2, "")]  # the rating already tapped is kept


def test_the_reasons_screen_times_out_like_the_result_and_keeps_the_rating(
    kiosk: Kiosk, member: str
) -> None:
    buy(kiosk)
    kiosk.touch(faces(kiosk).ids.face1)
    kiosk.touch(kiosk.app.screen.reason_button("price"))

    kiosk.tick(seconds=5)
    assert kiosk.screen == "feedback"
    kiosk.tick(seconds=1)

    assert kiosk.screen == "attract"
    assert stored(kiosk) == [(1, "price")]


def test_the_result_times_out_with_the_faces_untouched(kiosk: Kiosk, member: str) -> None:
    buy(kiosk)

    kiosk.tick(seconds=6)

    assert kiosk.screen == "attract"


def test_the_ask_is_skipped_within_every_days_and_comes_back_after(
    kiosk_factory: Callable[..., Kiosk],
) -> None:
    kiosk = kiosk_factory("feedback.every_days=2")
    kiosk.service.enroll(PHONE, client_txn_id="setup-enroll", card=CARD)
    buy(kiosk)
    kiosk.touch(faces(kiosk).ids.face3)
    kiosk.press("done")

    kiosk.clock.advance(days=1)
    buy(kiosk)
    skipped = not asked(kiosk)
    kiosk.tick(seconds=6)
    kiosk.clock.advance(days=1)
    buy(kiosk)

    assert skipped
    assert asked(kiosk)


def test_no_faces_when_the_chain_turned_feedback_off(kiosk_factory: Callable[..., Kiosk]) -> None:
    kiosk = kiosk_factory("feedback.enabled=false")
    kiosk.service.enroll(PHONE, client_txn_id="setup-enroll", card=CARD)

    buy(kiosk)

    assert not asked(kiosk)
    assert stored(kiosk) == []
