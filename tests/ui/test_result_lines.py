"""What a purchase got besides its points, named on the counter's screens (issue 20): the
result screen has a line per kind (a birthday, an offer by name, ...), the cashier's amount
screen names the offer that applies before Confirm, and a referrer not found is refused in
the shopper's language.

The clock is the tests' (START: Sunday 1 March 2026, 12:30 in Tehran, 10 Esfand 1404).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from kiosk.core.referral import code_for, shown
from kiosk.ui.requests import BonusLine, ResultRequest
from tests.ui.conftest import CASHIER_PIN, Kiosk
from tests.ui.screen_checks import font_characters, font_file, missing_glyphs

PHONE, CARD = "09121234567", "A1B2C3D4"
OFFERS = (
    'program.offers=[{id="noon", name_fa="امتیاز دوبرابر", name_en="Double points", '
    'multiplier="2", from_time="12:00", until_time="14:00"}, '
    '{id="big", name_fa="سبد بزرگ", name_en="Big basket", bonus=20}]'
)
LATIN = re.compile("[A-Za-z0-9]")


def plain(shaped: str) -> str:
    """Shaped Persian back to letters (presentation forms folded), drawing order kept."""
    return unicodedata.normalize("NFKC", shaped)


def drawn_width(label: Any) -> float:
    """The width of the label's whole line at its font size (a cut line is wider)."""
    from kivy.core.text import Label as CoreLabel

    line = CoreLabel(text=label.text, font_size=label.font_size, font_name=label.font_name)
    line.refresh()
    return float(line.content_size[0])


def a_birthday_member(kiosk: Kiosk) -> str:
    """A member whose birthday (10 Esfand, in the Jalali calendar) is today."""
    enrolled = kiosk.service.enroll(
        PHONE, client_txn_id="setup", card=CARD, birthday=date(1990, 3, 1)
    )
    return enrolled.member_id


def to_amount(kiosk: Kiosk, toman: str) -> None:
    kiosk.tap_card(CARD)
    assert kiosk.screen == "member"
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    assert kiosk.screen == "amount"
    kiosk.keys(toman)


@pytest.mark.parametrize("language", ["fa", "en"])
def test_a_purchase_with_a_birthday_and_offers_shows_a_line_for_each(kiosk_factory, language):
    kiosk = kiosk_factory(OFFERS, f'shop.default_language="{language}"')
    a_birthday_member(kiosk)

    to_amount(kiosk, "100000")  # 1,000,000 rial: 10 points, x2 by the noon offer, +20
    kiosk.press("confirm")

    assert kiosk.screen == "result"
    lines = kiosk.app.screen.line_texts()
    if language == "en":
        assert lines == [
            "Happy birthday! +100 points",
            "Double points: ×2",
            "Big basket: +20 points",
        ]
    else:
        assert lines == [
            kiosk.shows("result.birthday", points=100),
            kiosk.shows("offer.multiplier", offer="امتیاز دوبرابر", multiplier=Decimal(2)),
            kiosk.shows("offer.bonus", offer="سبد بزرگ", points=20),
        ]
        assert "۱۰۰" in plain(lines[0]) and "۲۰" in plain(lines[2])  # Persian digits
        assert not any(LATIN.search(line) for line in lines)
    assert kiosk.text("points") == kiosk.shows("result.earn", points=40)
    assert all(missing_glyphs(line) == [] for line in kiosk.ids("lines").children)


@pytest.mark.parametrize("language", ["fa", "en"])
def test_a_purchase_a_year_after_joining_names_the_anniversary(kiosk_factory, language):
    kiosk = kiosk_factory(
        "program.anniversary_bonus=50",
        "program.birthday_bonus=0",
        f'shop.default_language="{language}"',
    )
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD)  # 10 Esfand 1404
    kiosk.clock.advance(days=367)  # 12 Esfand 1405: two days into the 7-day window
    kiosk.app.counter.touched()

    to_amount(kiosk, "100000")
    kiosk.press("confirm")

    assert kiosk.screen == "result"
    lines = kiosk.app.screen.line_texts()
    if language == "en":
        assert lines == ["Happy club anniversary! +50 points"]
    else:
        assert lines == [kiosk.shows("result.anniversary", points=50)]
        assert "۵۰" in plain(lines[0]) and not LATIN.search(lines[0])


def test_an_ordinary_purchase_has_no_line(kiosk_factory):
    kiosk = kiosk_factory()
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD)

    to_amount(kiosk, "100000")
    kiosk.press("confirm")

    assert kiosk.screen == "result"
    assert kiosk.app.screen.line_texts() == []


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("en", "Double points until 14:00: ×2, Big basket: +20 points"),
        ("fa", None),  # the same in Persian, with Persian digits (below)
    ],
)
def test_the_amount_screen_names_the_offers_before_confirming(kiosk_factory, language, shown):
    kiosk = kiosk_factory(OFFERS, f'shop.default_language="{language}"')
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD)

    to_amount(kiosk, "100000")

    offer = kiosk.text("offer")
    if shown is not None:
        assert offer == shown
    else:
        until = kiosk.app.texts.tr("attract.offer_until", offer="امتیاز دوبرابر", time="۱۴:۰۰")
        bonus = kiosk.app.texts.tr("offer.bonus", offer="سبد بزرگ", points=20)
        multiplier = kiosk.app.texts.tr("offer.multiplier", offer=until, multiplier=2)
        assert offer == kiosk.app.show(multiplier + "، " + bonus)
        assert "۱۴:۰۰" in plain(offer) and not LATIN.search(offer)
    assert kiosk.text("quote") == kiosk.shows("amount.will_earn", points=40)


def test_the_amount_screen_names_no_offer_after_it_ends(kiosk_factory):
    kiosk = kiosk_factory(OFFERS.replace(", bonus=20", ', bonus=20, until_time="13:00"'))
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD)
    kiosk.clock.advance(hours=2)  # 14:30: neither runs

    to_amount(kiosk, "100000")

    assert kiosk.text("offer") == ""
    assert kiosk.text("quote") == kiosk.shows("amount.will_earn", points=10)


ALL_KINDS = (
    BonusLine("birthday", 100),
    BonusLine("anniversary", 50),
    BonusLine("offer", 10, "noon", "امتیاز دوبرابر", "Double points", Decimal(2)),
    BonusLine("referral", 20),
    BonusLine("badge", 50, "visits-10"),
)


@pytest.mark.parametrize("language", ["fa", "en"])
def test_every_kind_fits_at_once_with_its_glyphs_and_the_trophy(kiosk_factory, language):
    kiosk = kiosk_factory(f'shop.default_language="{language}"')
    kiosk.app.go(ResultRequest(kind="earn", points=20, balance=400, lines=ALL_KINDS))
    kiosk.pump(3)

    rows = list(reversed(kiosk.ids("lines").children))
    assert len(rows) == 5
    for row in rows:
        assert missing_glyphs(row) == []
        assert row.texture_size[0] <= row.width and row.texture_size[1] <= row.height + 1
    assert [row.y for row in rows] == sorted((row.y for row in rows), reverse=True)
    trophy = rows[-1].icon_label
    assert trophy is not None and ord(trophy.text) in font_characters(font_file(trophy))
    # The trophy beside its line's text, at the reading start, inside the window.
    assert trophy.x >= 0 and trophy.right <= kiosk.window.width
    if language == "en":
        assert kiosk.app.screen.line_texts()[1] == "Happy club anniversary! +50 points"
        assert trophy.right <= rows[-1].center_x
    else:
        assert trophy.x >= rows[-1].center_x


def refused(kiosk: Kiosk, typed: str) -> str:
    kiosk.keys("[clear]" + typed)
    kiosk.press("done")
    assert kiosk.screen == "referral"
    return kiosk.message()


REFERRALS = ("program.referral.enabled=true", "program.referral.referee_bonus=20")


@pytest.mark.parametrize("language", ["fa", "en"])
def test_a_referrer_not_found_is_said_in_the_shoppers_language(kiosk_factory, language):
    kiosk: Any = kiosk_factory(*REFERRALS, f'shop.default_language="{language}"')
    kiosk.tap_card(CARD)
    kiosk.keys(PHONE + "[ok]")
    kiosk.press("referral")

    code = refused(kiosk, "99999999")  # a code no member here has
    phone = refused(kiosk, "09120000000")  # a phone no member has
    own = refused(kiosk, PHONE)  # the shopper's own phone

    assert code == phone == kiosk.shows("error.referral.unknown")
    assert own == kiosk.shows("error.referral.self")
    assert kiosk.ids("message").tone == "error"
    if language == "fa":  # Persian only: no English word ("by", "code") left in it
        for message in (code, own):
            assert message and not re.search("[A-Za-z]", message), message
    else:
        assert code == "No member has this code or phone number."
        assert own == "You cannot refer yourself."


@pytest.mark.parametrize("size", [(800, 480), (1280, 800)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("language", ["fa", "en"])
def test_the_members_referral_code_is_shown_whole_beside_the_tier(kiosk_factory, language, size):
    kiosk = kiosk_factory(*REFERRALS, f'shop.default_language="{language}"')
    member_id = kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD).member_id
    kiosk.window.size = size
    try:
        kiosk.tap_card(CARD)
        kiosk.pump(3)
        label, tier = kiosk.ids("referral_code"), kiosk.ids("tier")
        code = shown(code_for(member_id))
        if language == "fa":
            code = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
        assert code in label.text
        assert drawn_width(label) <= label.width + 1  # not cut: drawn whole
        assert label.top <= tier.y + 1 and label.x == tier.x  # under the tier, same column
        assert missing_glyphs(label) == []
    finally:
        kiosk.window.size = (800, 480)
        kiosk.pump(2)
