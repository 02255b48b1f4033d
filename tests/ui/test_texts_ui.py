"""What a person reads: the UI's language throughout, success apart from errors, nothing
left over from the previous person, numbers written as the language writes them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from drivers.base import ReaderState, ReaderStatusChanged
from kiosk.core.cards import mask_uid
from kiosk.core.store.staff import CLI
from kiosk.text.digits import to_ascii_digits
from kiosk.text.rtl import visual
from tests.ui.conftest import CASHIER_PIN, Kiosk
from tests.ui.test_crm_program_ui import CRM_PROGRAM, pulled_program
from tests.ui.test_technician import open_technician_screen

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
    # 50 points of 60: the reward says how many more it takes, on a line under its name
    assert kiosk.app.screen.reward_button("tea").text == visual("چای", True) + "\nneeds 10 more"
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


def colour(label: Any) -> tuple[float, ...]:
    return tuple(round(float(part), 3) for part in label.color)


def is_green(rgba: tuple[float, ...]) -> bool:
    red, green, blue, _alpha = rgba
    return green > red and green > blue


def test_a_linked_card_is_said_as_a_success_not_in_the_error_colour(kiosk: Kiosk):
    kiosk.service.enroll(PHONE, client_txn_id="setup")
    kiosk.tap_card(CARD)
    kiosk.keys("0912[ok]")
    error = colour(kiosk.ids("message"))
    kiosk.keys("[back][back][back][back]" + PHONE + "[ok]")

    assert kiosk.screen == "member"
    assert kiosk.message() == kiosk.shows("member.card_linked")
    success = colour(kiosk.ids("message"))
    assert success != error
    assert is_green(success)
    assert not is_green(error)


def test_sync_started_and_the_reader_test_are_said_as_successes(kiosk: Kiosk):
    open_technician_screen(kiosk)
    kiosk.press("sync")  # no CRM set up: a problem
    problem = colour(kiosk.ids("message"))
    kiosk.app.sync_now = lambda: "tech.sync_started"

    kiosk.press("sync")
    assert kiosk.message() == kiosk.shows("tech.sync_started")
    started = colour(kiosk.ids("message"))
    kiosk.press("reader_test")
    kiosk.tap_card(CARD)
    assert kiosk.message() == kiosk.shows("tech.reader_test_ok", reader="sim", card=mask_uid(CARD))
    read = colour(kiosk.ids("message"))

    assert not is_green(problem)
    assert started == read != problem
    assert is_green(read)


def test_a_number_too_short_is_gone_when_the_next_person_comes(kiosk: Kiosk):
    kiosk.press("phone")
    kiosk.keys("0912[ok]")
    assert kiosk.message() == kiosk.shows("error.phone.too_short")
    kiosk.press("back")  # the shopper gives up

    kiosk.press("phone")  # the next one

    assert kiosk.message() == ""


def test_an_english_wrong_pin_is_gone_from_the_next_persian_prompt(kiosk: Kiosk):
    kiosk.press("language")
    kiosk.press("cashier")
    kiosk.sign_in("Sara", "0000")
    assert kiosk.message().startswith("Wrong PIN")
    kiosk.tick(seconds=kiosk.app.config_.ui.idle_timeout_seconds + 1)
    assert kiosk.screen == "attract"
    assert kiosk.app.lang == "fa"

    kiosk.press("cashier")  # the next person: the names to pick from

    assert kiosk.screen == "pin"
    assert kiosk.message() == ""


@pytest.mark.parametrize(
    ("language", "balance"),
    [
        ("fa", visual("این کد را به صندوق نشان دهید. موجودی: ۱۰۰ امتیاز", True)),
        ("en", "Show this code at the till. Balance: 100 points"),
    ],
)
def test_the_balance_beside_the_coupon_says_it_is_points(kiosk: Kiosk, language: str, balance: str):
    member_id = kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD).member_id
    kiosk.service.adjust(member_id, 250, reason="setup", actor=CLI, client_txn_id="adjust")
    if language == "en":
        kiosk.press("language")
    kiosk.tap_card(CARD)
    kiosk.touch(kiosk.app.screen.reward_button("coffee"))
    kiosk.press("approve")

    kiosk.sign_in("Sara", CASHIER_PIN)

    assert kiosk.screen == "redeem"
    assert kiosk.text("detail") == balance


def test_the_language_button_stays_where_it_was_after_switching(kiosk: Kiosk):
    button = kiosk.ids("language")
    before = button.to_window(*button.center)

    kiosk.press("language")
    kiosk.pump(2)
    after = button.to_window(*button.center)
    kiosk.press("language")
    kiosk.pump(2)

    assert after == before
    assert button.to_window(*button.center) == before


def test_the_sms_offers_toggle_looks_on_when_on(kiosk: Kiosk):
    kiosk.press("phone")
    kiosk.keys(PHONE + "[ok]")
    toggle = kiosk.ids("marketing")
    off = tuple(toggle.background_color)

    kiosk.press("marketing")
    on = tuple(toggle.background_color)
    assert toggle.text == kiosk.shows("enroll.marketing.yes")
    kiosk.press("marketing")

    assert on != off
    assert is_green(on)
    assert tuple(toggle.background_color) == off


def diagnostics(kiosk: Kiosk) -> list[str]:
    return [label.text for label in reversed(kiosk.ids("diagnostics").children)]


def test_a_reader_named_by_its_url_is_not_followed_by_a_second_colon(kiosk: Kiosk):
    kiosk.press("language")
    open_technician_screen(kiosk)

    kiosk.app._reader_event(ReaderStatusChanged("sim:", ReaderState.CONNECTED, "ready"))

    assert "Reader sim: connected" in diagnostics(kiosk)
    assert not [line for line in diagnostics(kiosk) if "::" in line]
    kiosk.press("reader_test")
    kiosk.app.card_presented(CARD, "sim:")
    assert kiosk.message() == f"Read by sim: {mask_uid(CARD)}"


def test_the_database_size_is_read_to_a_tenth_of_a_mib_in_both_languages(kiosk: Kiosk):
    open_technician_screen(kiosk)
    persian = next(line for line in diagnostics(kiosk) if visual("پایگاه داده", True) in line)
    kiosk.app.toggle_language()
    english = next(line for line in diagnostics(kiosk) if line.startswith("Database OK"))

    # A new database is under 1 MiB: it was read as "0 MiB" (and a WAL file's growth
    # turned it into "1 MiB" in the other language a moment later).
    size = re.search(r"Database OK: ([0-9]+\.[0-9]) MiB", english)
    assert size is not None
    assert float(size.group(1)) > 0
    persian_size = re.search(r" ([0-9]+\.[0-9]) ", to_ascii_digits(persian).replace("\u066b", "."))
    assert persian_size is not None
    assert float(persian_size.group(1)) > 0


def at_the_amount_keypad(kiosk: Kiosk) -> None:
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD)
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    assert kiosk.screen == "amount"


def test_the_toman_decimal_key_is_named_not_drawn_as_a_slash_like_mark(kiosk: Kiosk):
    at_the_amount_keypad(kiosk)

    # U+066B, the Persian decimal mark, looks like "/" on a key of its own.
    assert kiosk.ids("keypad").button(".").text == visual("ممیز", True)
    kiosk.keys("12[.]5")
    assert kiosk.text("display") == kiosk.shows("unit.toman.amount", amount="۱۲٫۵")


def test_a_whole_amount_is_cleared_with_one_key(kiosk: Kiosk):
    at_the_amount_keypad(kiosk)
    kiosk.keys("1250000")

    kiosk.press("clear")

    assert kiosk.text("display") == kiosk.shows("unit.toman.amount", amount="۰")
    assert kiosk.text("quote") == ""
    kiosk.keys("9")
    assert kiosk.text("display") == kiosk.shows("unit.toman.amount", amount="۹")
