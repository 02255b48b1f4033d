"""Referrals on screen (issue 20, item 2): the member screen shows the member's code, a new
member types it (or the referrer's phone) at enrollment, and the first purchase pays both."""

from __future__ import annotations

from kiosk.core.referral import code_for, shown
from tests.ui.conftest import CASHIER_PIN, Kiosk

SENDER, SENDER_CARD = "09121111111", "A1B2C3D4"
NEW, NEW_CARD = "09122222222", "B1B2C3D4"
RULE = (
    "program.referral.enabled=true",
    "program.referral.referee_bonus=20",
    "program.referral.referrer_bonus=40",
    "program.referral.max_per_month=5",
    "program.referral.min_purchase=1000000",
)


def persian(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def enroll_on_screen(kiosk: Kiosk, phone: str, card: str, referral: str | None) -> None:
    kiosk.tap_card(card)
    kiosk.keys(phone + "[ok]")
    assert kiosk.screen == "enroll"
    if referral is not None:
        kiosk.press("referral")
        assert kiosk.screen == "referral"
        kiosk.keys(referral)
        kiosk.press("done")
    kiosk.press("join")
    assert kiosk.screen == "result"


def test_a_new_member_typing_the_code_and_buying_pays_both(kiosk_factory):
    kiosk = kiosk_factory(*RULE)
    sender = kiosk.service.enroll(SENDER, client_txn_id="setup", card=SENDER_CARD).member_id
    kiosk.tap_card(SENDER_CARD)
    code = code_for(sender)
    assert persian(shown(code)) in kiosk.text("referral_code")
    kiosk.press("done")

    enroll_on_screen(kiosk, NEW, NEW_CARD, code)
    kiosk.app.go_home()
    kiosk.tap_card(NEW_CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.keys("200000")  # Toman: 2,000,000 rial, above min_purchase
    kiosk.press("confirm")
    assert kiosk.screen == "result"
    # The new member's own gift, named (the referrer's 40 are theirs, not shown here).
    assert kiosk.app.screen.line_texts() == [kiosk.shows("result.referral", points=20)]
    kiosk.app.go_home()

    kiosk.tap_card(NEW_CARD)
    assert kiosk.text("balance") == kiosk.shows("member.balance", points=50 + 20 + 20)
    kiosk.app.go_home()
    kiosk.tap_card(SENDER_CARD)
    assert kiosk.text("balance") == kiosk.shows("member.balance", points=50 + 40)


def test_the_referrers_phone_names_them_and_shows_on_the_button(kiosk_factory):
    kiosk = kiosk_factory(*RULE)
    sender = kiosk.service.enroll(SENDER, client_txn_id="setup", card=SENDER_CARD).member_id
    kiosk.tap_card(NEW_CARD)
    kiosk.keys(NEW + "[ok]")
    kiosk.press("referral")
    kiosk.keys(SENDER)
    kiosk.press("done")

    assert kiosk.screen == "enroll"
    assert kiosk.text("referral") == kiosk.shows("enroll.referral_is", code=persian(SENDER))
    assert kiosk.app.screen.referrer_id == sender


def test_an_unknown_code_or_the_shoppers_own_phone_is_refused_on_screen(kiosk_factory):
    kiosk = kiosk_factory(*RULE)
    kiosk.tap_card(NEW_CARD)
    kiosk.keys(NEW + "[ok]")
    kiosk.press("referral")
    kiosk.keys("99999999")
    kiosk.press("done")
    assert kiosk.screen == "referral"
    assert kiosk.message()
    kiosk.keys("[clear]" + NEW)
    kiosk.press("done")

    assert kiosk.screen == "referral"
    assert kiosk.message()
    kiosk.press("cancel")
    assert kiosk.screen == "enroll"
    assert kiosk.app.screen.referrer_id is None


def test_with_referrals_off_there_is_no_code_and_no_step(kiosk):
    kiosk.service.enroll(SENDER, client_txn_id="setup", card=SENDER_CARD)
    kiosk.tap_card(SENDER_CARD)
    assert kiosk.text("referral_code") == ""
    kiosk.app.go_home()
    kiosk.tap_card(NEW_CARD)
    kiosk.keys(NEW + "[ok]")
    assert kiosk.ids("referral").disabled
