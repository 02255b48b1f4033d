"""Streaks and badges on screen (docs/program.md, "Streaks and badges"): the 10th visit's
purchase, made by touches, is celebrated on the result screen with a trophy and the badge's
name; the member screen lists the member's badges; an ordinary purchase shows no trophy."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.core.store.staff import CLI
from tests.ui.conftest import CASHIER_PIN, Kiosk
from tests.ui.screen_checks import font_characters, font_file

PHONE = "09121234567"
CARD = "A1B2C3D4"
BADGES = (
    "program.enrollment_bonus=0",
    "program.birthday_bonus=0",
    "program.badges.milestones=[{visits=10, bonus=50}]",
)


def nine_visits(kiosk: Kiosk) -> str:
    """A member with nine visits, one a day, the last yesterday."""
    member_id = kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD).member_id
    for day in range(9):
        kiosk.service.earn(member_id, 1_000_000, cashier=CLI, client_txn_id=f"visit-{day}")
        kiosk.clock.advance(days=1)
    return member_id


def purchase_by_touch(kiosk: Kiosk, toman: str) -> None:
    kiosk.tap_card(CARD)
    assert kiosk.screen == "member"
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    assert kiosk.screen == "amount"
    kiosk.keys(toman)
    kiosk.press("confirm")
    assert kiosk.screen == "result"
    kiosk.pump()


@pytest.mark.parametrize("language", ["fa", "en"])
def test_the_tenth_purchase_celebrates_its_badge(kiosk_factory: Any, language: str):
    kiosk = kiosk_factory(*BADGES, f'shop.default_language="{language}"')
    nine_visits(kiosk)

    purchase_by_touch(kiosk, "100000")  # the 10th visit

    name = kiosk.app.texts.tr("badge.visits", count=10)
    assert kiosk.app.screen.line_texts() == [kiosk.shows("result.badge", badge=name, points=50)]
    (line,) = kiosk.ids("lines").children
    icon = line.icon_label
    assert icon is not None and icon.width > 0
    assert ord(icon.text) in font_characters(font_file(icon))  # the trophy is in the font
    assert kiosk.service.identify_card(CARD).balance == 100 + 50


def test_an_ordinary_purchase_shows_no_trophy_and_the_badge_stays_on_the_member_screen(
    kiosk_factory: Any,
):
    kiosk = kiosk_factory(*BADGES)
    nine_visits(kiosk)
    purchase_by_touch(kiosk, "100000")  # the 10th: the badge
    kiosk.press("done")
    kiosk.clock.advance(days=1)

    purchase_by_touch(kiosk, "100000")  # the 11th: nothing new
    assert kiosk.app.screen.line_texts() == []  # no line, so no trophy
    kiosk.press("done")

    kiosk.tap_card(CARD)
    assert kiosk.screen == "member"
    name = kiosk.app.texts.tr("badge.visits", count=10)
    assert kiosk.text("badges") == kiosk.shows("member.badges", badges=name)


def test_a_member_without_badges_sees_no_badge_line(kiosk_factory: Any):
    kiosk = kiosk_factory(*BADGES)
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD)
    kiosk.tap_card(CARD)
    assert kiosk.text("badges") == ""
