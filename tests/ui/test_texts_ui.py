"""What a person reads: the UI's language throughout, success apart from errors, nothing
left over from the previous person, numbers written as the language writes them."""

from __future__ import annotations

import pytest

from kiosk.text.rtl import visual
from tests.ui.conftest import Kiosk
from tests.ui.test_crm_program_ui import CRM_PROGRAM, pulled_program

PHONE = "09121234567"
CARD = "A1B2C3D4"


def test_a_member_who_enrolled_in_persian_reads_english_after_choosing_english(kiosk: Kiosk):
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD, name="سارا کریمی", language="fa")
    kiosk.press("language")
    assert kiosk.app.lang == "en"

    kiosk.tap_card(CARD)

    assert kiosk.screen == "member"
    assert kiosk.app.lang == "en"
    # The name stays Persian, shaped and in its own order inside an English line.
    assert kiosk.text("greeting") == "Welcome, ." + visual("سارا ک", True) + "!"
    assert kiosk.text("balance") == "50 points"
    assert kiosk.text("done") == "Done"


def test_a_reward_named_only_in_persian_is_shown_shaped_on_an_english_screen(kiosk: Kiosk):
    program = {
        **CRM_PROGRAM,
        "rewards": [
            {"id": "tea", "name_fa": "چای", "name_en": "", "cost": 60, "kind": "free_item"}
        ],
    }
    pulled_program(kiosk, program)
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD)
    kiosk.press("language")

    kiosk.tap_card(CARD)

    assert kiosk.text("greeting") == "Welcome!"
    assert kiosk.app.screen.reward_button("tea").text == visual("چای", True) + " (60)"
    assert kiosk.text("reward_progress_text") == "10 points to: " + visual("چای", True)


@pytest.mark.parametrize(
    ("language", "prompt"),
    [
        ("fa", visual("کارت جدید: شماره برای عضویت یا اتصال", True)),
        ("en", "New card: number to join or link it"),
    ],
)
def test_an_unknown_card_asks_for_the_number_to_join_or_to_link_it(
    kiosk: Kiosk, language: str, prompt: str
):
    if language == "en":
        kiosk.press("language")

    kiosk.tap_card(CARD)

    assert kiosk.screen == "phone"
    assert kiosk.text("hint") == prompt
    kiosk.keys(PHONE + "[ok]")
    assert kiosk.screen == "enroll"  # nobody has this number: joining


def test_an_unknown_card_tapped_by_a_member_is_linked_with_the_number(kiosk: Kiosk):
    kiosk.service.enroll(PHONE, client_txn_id="setup")
    kiosk.press("language")
    kiosk.tap_card(CARD)
    assert kiosk.text("hint") == "New card: number to join or link it"

    kiosk.keys(PHONE + "[ok]")

    assert kiosk.screen == "member"
    assert kiosk.message() == "Your card is now linked to your account"
    assert kiosk.service.identify_card(CARD).person is not None
