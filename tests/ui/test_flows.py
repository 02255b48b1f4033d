"""Whole counter flows, by touches on the real widgets and taps on the simulated reader."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from kiosk.core.store import audit
from kiosk.core.store.staff import CLI
from tests.ui.conftest import CASHIER_PIN, MANAGER_PIN, Kiosk

PHONE = "09121234567"
CARD = "A1B2C3D4"


def enrolled(kiosk: Kiosk, *, card: str = CARD, points: int = 0) -> str:
    result = kiosk.service.enroll(PHONE, client_txn_id="setup-enroll", card=card)
    if points:
        kiosk.service.adjust(
            result.member_id, points, reason="setup", actor=CLI, client_txn_id="setup-adjust"
        )
    return result.member_id


def entries(kiosk: Kiosk, kind: str) -> list[dict[str, Any]]:
    rows = kiosk.service.conn.execute("SELECT * FROM entries WHERE kind = ?", (kind,))
    return [dict(row) for row in rows]


def test_enroll_by_phone_links_the_tapped_card_and_shows_the_bonus(kiosk: Kiosk):
    kiosk.tap_card(CARD)
    assert kiosk.screen == "phone"
    assert kiosk.text("hint") == kiosk.shows("phone.new_card")

    kiosk.keys(PHONE + "[ok]")
    assert kiosk.screen == "enroll"
    kiosk.press("marketing")
    kiosk.press("name")
    kiosk.keys("سارا", keypad="keyboard")
    kiosk.press("done")
    kiosk.press("birthday")
    kiosk.keys("13700512")
    kiosk.press("done")
    assert kiosk.screen == "enroll"
    kiosk.press("join")

    assert kiosk.screen == "result"
    assert kiosk.text("points") == kiosk.shows("result.enroll", points=50)
    member = kiosk.service.identify_card(CARD)
    assert member.balance == 50
    person = member.person
    assert person is not None
    assert person.phone == "+989121234567"
    assert person.name == "سارا"
    assert person.birthday == date(1991, 8, 3)  # 12 Mordad 1370
    assert person.consent_marketing is True
    assert person.consent_version and person.consent_version.startswith("ui-")


def test_an_invalid_phone_number_is_explained_in_persian_and_nothing_is_written(kiosk: Kiosk):
    kiosk.press("phone")
    kiosk.keys("0912123[ok]")

    assert kiosk.screen == "phone"
    assert kiosk.message() == kiosk.shows("error.phone.too_short")
    assert kiosk.app.lang == "fa"
    assert kiosk.service.conn.execute("SELECT COUNT(*) FROM members").fetchone()[0] == 0


def test_a_known_phone_shows_the_member_with_masked_phone_and_balance(kiosk: Kiosk):
    enrolled(kiosk, points=150)
    kiosk.press("phone")
    kiosk.keys(PHONE + "[ok]")

    assert kiosk.screen == "member"
    assert kiosk.text("balance") == kiosk.shows("member.balance", points=200)
    assert "4567" not in kiosk.text("phone").replace("\u06f4\u06f5\u06f6\u06f7", "4567")[:-4]
    assert kiosk.ids("reward_progress").value == pytest.approx(200 / 500)


def test_earn_with_a_card_shows_the_points_before_confirming_and_awards_once(kiosk: Kiosk):
    enrolled(kiosk)
    kiosk.tap_card(CARD)
    assert kiosk.screen == "member"

    kiosk.press("purchase")
    assert kiosk.screen == "pin"
    kiosk.sign_in("Sara", CASHIER_PIN)
    assert kiosk.screen == "amount"
    kiosk.keys("250000")  # Toman
    assert kiosk.text("display") == kiosk.shows("unit.toman.amount", amount="۲۵۰٬۰۰۰")
    assert kiosk.text("quote") == kiosk.shows("amount.will_earn", points=25)
    assert entries(kiosk, "earn") == []

    confirm = kiosk.ids("confirm")
    confirm.dispatch("on_release")
    confirm.dispatch("on_release")  # a double tap reaches the button twice
    kiosk.pump()

    assert kiosk.screen == "result"
    assert kiosk.text("points") == kiosk.shows("result.earn", points=25)
    earns = entries(kiosk, "earn")
    assert len(earns) == 1
    assert earns[0]["amount"] == 2_500_000  # stored in Rial
    assert kiosk.service.identify_card(CARD).balance == 75


def test_the_result_screen_returns_to_attract_by_itself(kiosk: Kiosk):
    enrolled(kiosk)
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.keys("100000")
    kiosk.press("confirm")
    assert kiosk.screen == "result"

    kiosk.tick(seconds=5)
    assert kiosk.screen == "result"
    kiosk.tick(seconds=1)

    assert kiosk.screen == "attract"
    assert kiosk.app.counter.member_id is None


def test_a_purchase_above_the_threshold_needs_a_manager(kiosk: Kiosk):
    enrolled(kiosk)
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.keys("6000000")  # 60,000,000 Rial, above 50,000,000
    assert kiosk.message() == kiosk.shows("amount.needs_manager")

    kiosk.press("confirm")
    assert kiosk.screen == "pin"
    with pytest.raises(KeyError):  # only a manager is offered: a cashier cannot approve
        kiosk.app.screen.person_button("Sara")
    kiosk.sign_in("Reza", MANAGER_PIN)

    assert kiosk.screen == "result"
    earn = entries(kiosk, "earn")[0]
    assert earn["amount"] == 60_000_000


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("0", "error.amount.not_positive"),
        ("0000", "error.amount.not_positive"),
        ("9999999999999999", "error.amount.too_large"),
        ("12.55", "error.amount.too_precise"),
    ],
)
def test_out_of_range_amounts_are_refused_with_a_message_and_nothing_is_written(
    kiosk: Kiosk, typed: str, error: str
):
    enrolled(kiosk)
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    keys = typed.replace(".", "[.]")
    kiosk.keys(keys)

    kiosk.press("confirm")

    assert kiosk.screen == "amount"
    assert kiosk.message() == kiosk.shows(error)
    assert entries(kiosk, "earn") == []


def test_a_malformed_amount_from_a_keyboard_is_refused(kiosk: Kiosk):
    enrolled(kiosk)
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)

    kiosk.window.dispatch("on_textinput", "12x5")
    kiosk.window.dispatch("on_textinput", "\r")
    kiosk.pump()

    assert kiosk.screen == "amount"
    assert kiosk.message() == kiosk.shows("error.amount.not_a_number")
    assert entries(kiosk, "earn") == []


def test_redeem_with_cashier_approval_shows_the_coupon_code(kiosk: Kiosk):
    member_id = enrolled(kiosk, points=250)  # 300 with the bonus
    kiosk.tap_card(CARD)
    assert not kiosk.app.screen.reward_button("coffee").disabled
    assert kiosk.app.screen.reward_button("discount-100k").disabled  # 500 points

    kiosk.touch(kiosk.app.screen.reward_button("coffee"))
    assert kiosk.screen == "redeem"
    kiosk.press("approve")
    assert kiosk.screen == "pin"
    kiosk.sign_in("Sara", CASHIER_PIN)

    assert kiosk.screen == "redeem"
    redeemed = entries(kiosk, "redeem")
    assert len(redeemed) == 1
    assert kiosk.text("code") == redeemed[0]["coupon_code"]
    assert kiosk.service.member(member_id).balance == 100


def test_a_reward_out_of_reach_cannot_be_picked(kiosk: Kiosk):
    enrolled(kiosk)  # 50 points
    kiosk.tap_card(CARD)

    assert kiosk.app.screen.reward_button("coffee").disabled


def test_void_from_the_cashier_menu_restores_the_balance(kiosk: Kiosk):
    member_id = enrolled(kiosk)
    cashier = kiosk.service.staff.login_with_pin(CASHIER_PIN, kiosk.staff_id("Sara"))
    kiosk.service.earn(member_id, 3_000_000, cashier=cashier, client_txn_id="setup-earn")
    earn_id = entries(kiosk, "earn")[0]["entry_id"]

    kiosk.press("cashier")
    kiosk.sign_in("Sara", CASHIER_PIN)
    assert kiosk.screen == "cashier"
    kiosk.press("void")
    assert kiosk.screen == "void"
    kiosk.press("confirm")
    assert kiosk.message() == kiosk.shows("void.choose")
    kiosk.touch(kiosk.app.screen.entry_button(earn_id))
    kiosk.touch(kiosk.app.screen.reason_button("wrong_amount"))
    kiosk.press("confirm")

    assert kiosk.screen == "result"
    reversal = entries(kiosk, "reversal")
    assert len(reversal) == 1 and reversal[0]["reverses"] == earn_id
    assert kiosk.service.member(member_id).balance == 50


def test_wrong_pins_lock_out_with_a_growing_delay(kiosk: Kiosk):
    kiosk.press("cashier")
    kiosk.sign_in("Sara", "0000")
    kiosk.keys("0000[ok]")
    assert kiosk.message() == kiosk.shows("error.wrong_pin", attempts_left=1)

    kiosk.keys("0000[ok]")

    assert kiosk.message() == kiosk.shows("error.locked_out", seconds=30)
    assert kiosk.ids("keypad").button("1").disabled
    kiosk.tick(seconds=20)
    assert kiosk.message() == kiosk.shows("error.locked_out", seconds=10)
    kiosk.touch(kiosk.ids("title"))  # the cashier is still there
    kiosk.tick(seconds=10)
    assert not kiosk.ids("keypad").button("1").disabled
    for _ in range(3):
        kiosk.keys("0000[ok]")
    assert kiosk.message() == kiosk.shows("error.locked_out", seconds=60)
    kiosk.tick(seconds=60)
    assert kiosk.screen == "attract"  # nobody touched it for a minute
    kiosk.press("cashier")
    kiosk.sign_in("Sara", CASHIER_PIN)
    assert kiosk.screen == "cashier"
    outcomes = [r.outcome for r in audit.recent(kiosk.service.conn, 20) if r.action == "login"]
    assert outcomes.count("locked_out") == 2 and outcomes[0] == "ok"
    assert kiosk.service.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 0


def test_idle_timeout_forgets_the_shopper_and_returns_to_the_shop_language(kiosk: Kiosk):
    enrolled(kiosk)
    kiosk.press("language")
    assert kiosk.app.lang == "en"
    kiosk.tap_card(CARD)
    assert kiosk.screen == "member"

    kiosk.tick(seconds=29)
    assert kiosk.screen == "member"
    kiosk.tick(seconds=1)

    assert kiosk.screen == "attract"
    assert kiosk.app.counter.member_id is None
    assert kiosk.app.lang == "fa"
    assert entries(kiosk, "earn") == []  # nothing was recorded for the forgotten shopper


def test_the_language_a_shopper_chose_resets_at_idle_on_the_attract_screen(kiosk: Kiosk):
    kiosk.press("language")
    assert kiosk.app.lang == "en"

    kiosk.tick(seconds=30)

    assert kiosk.app.lang == "fa"


def test_a_touch_keeps_the_shopper(kiosk: Kiosk):
    enrolled(kiosk)
    kiosk.tap_card(CARD)
    kiosk.tick(seconds=25)
    kiosk.touch(kiosk.ids("balance"))
    kiosk.tick(seconds=25)

    assert kiosk.screen == "member"


def test_a_blocked_card_is_refused_with_a_message(kiosk: Kiosk):
    enrolled(kiosk)
    kiosk.service.block_card(CARD, actor=CLI)

    kiosk.tap_card(CARD)

    assert kiosk.screen == "attract"
    assert kiosk.message() == kiosk.shows("error.card_blocked")


def test_a_staff_card_opens_the_shift_on_the_member_screen(kiosk: Kiosk):
    enrolled(kiosk)
    staff = kiosk.service.staff.list()[0]
    kiosk.service.link_staff_card(staff.staff_id, "5A5A5A5A", actor=CLI)
    kiosk.tap_card(CARD)

    kiosk.tap_card("5A5A5A5A")

    assert kiosk.screen == "amount"


def test_the_shift_ends_after_its_timeout(kiosk_factory):
    kiosk = kiosk_factory("security.shift_timeout_minutes=5")
    enrolled(kiosk)
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.press("cancel")
    kiosk.press("purchase")
    assert kiosk.screen == "amount"  # the shift is open
    kiosk.clock.advance(minutes=6)
    kiosk.touch(kiosk.ids("cancel"))

    kiosk.press("purchase")

    assert kiosk.screen == "pin"


def test_the_kiosk_goes_out_of_service_when_storage_turns_read_only_and_recovers(kiosk: Kiosk):
    enrolled(kiosk)
    conn = kiosk.service.conn
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.keys("100000")
    # What SQLite answers when ext4 has remounted the card read-only after an I/O error.
    conn.execute("PRAGMA query_only = ON")

    kiosk.press("confirm")

    assert kiosk.screen == "out_of_service"
    assert entries(kiosk, "earn") == []
    kiosk.tick(seconds=5)
    assert kiosk.screen == "out_of_service"  # still full
    conn.execute("PRAGMA query_only = OFF")
    kiosk.tick(seconds=5)
    assert kiosk.screen == "attract"
    assert kiosk.service.identify_card(CARD).balance == 50


def test_an_unexpected_error_shows_a_message_not_a_traceback(kiosk: Kiosk, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(kiosk.service, "identify_phone", broken)
    kiosk.press("phone")
    kiosk.keys(PHONE + "[ok]")
    kiosk.pump()

    assert kiosk.screen == "attract"
    assert kiosk.message() == kiosk.shows("error.generic")


def test_a_new_card_tapped_by_a_member_is_linked_to_their_account(kiosk: Kiosk):
    member_id = enrolled(kiosk, card="B0B0B0B0")
    kiosk.tap_card(CARD)
    assert kiosk.screen == "phone"

    kiosk.keys(PHONE + "[ok]")

    assert kiosk.screen == "member"
    assert kiosk.message() == kiosk.shows("member.card_linked")
    assert kiosk.service.identify_card(CARD).member_id == member_id


def test_a_shop_in_rial_stores_what_the_cashier_types(kiosk_factory):
    kiosk = kiosk_factory('money.entry_unit="rial"')
    enrolled(kiosk)
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)

    kiosk.keys("2500000")
    assert kiosk.text("display") == kiosk.shows("unit.rial.amount", amount="۲٬۵۰۰٬۰۰۰")
    kiosk.press("confirm")

    assert entries(kiosk, "earn")[0]["amount"] == 2_500_000


def test_toman_amounts_with_a_decimal_are_stored_in_whole_rial(kiosk: Kiosk):
    enrolled(kiosk)
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)

    kiosk.keys("150000[.]5")
    kiosk.press("confirm")

    assert entries(kiosk, "earn")[0]["amount"] == 1_500_005


def test_the_buzzer_beeps_for_a_member_and_for_a_refusal(kiosk_factory):
    from drivers.feedback import Signal
    from sim.feedback import SimFeedback

    feedback = SimFeedback()
    kiosk = kiosk_factory(feedback=feedback)
    enrolled(kiosk)
    kiosk.service.link_card(kiosk.service.identify_card(CARD).member_id, "C0C0C0C0", actor=CLI)
    kiosk.service.block_card("C0C0C0C0", actor=CLI)

    kiosk.tap_card(CARD)
    kiosk.app.go_home()
    kiosk.tap_card("C0C0C0C0")

    assert feedback.wait_for(2) == [Signal.SUCCESS, Signal.FAILURE]


def test_reader_events_reach_widgets_only_on_the_ui_thread(kiosk: Kiosk):
    import threading

    threads = []
    screen = kiosk.app.manager.get_screen("attract")
    original = screen.card

    def card(uid: str, reader: str) -> None:
        threads.append(threading.current_thread())
        original(uid, reader)

    screen.card = card

    kiosk.tap_card(CARD)

    assert threads == [threading.main_thread()]


def test_a_phone_typed_on_a_keyboard_in_persian_digits_is_read(kiosk: Kiosk):
    enrolled(kiosk)
    kiosk.press("phone")

    kiosk.window.dispatch("on_textinput", "۰۹۱۲ ۱۲۳ ٤٥٦٧\r")  # Persian and Arabic-Indic digits
    kiosk.pump()

    assert kiosk.screen == "member"


def test_a_birthday_typed_in_jalali_brings_the_bonus_on_its_day(kiosk: Kiosk):
    kiosk.press("phone")
    kiosk.keys(PHONE + "[ok]")
    kiosk.press("birthday")
    kiosk.keys("13700512")  # 12 Mordad 1370
    kiosk.press("done")
    assert kiosk.text("birthday") == kiosk.shows("enroll.birthday_is", birthday=date(1991, 8, 3))
    kiosk.press("join")
    kiosk.app.go_home()
    kiosk.service.link_card(kiosk.service.identify_phone(PHONE).member_id, CARD, actor=CLI)
    kiosk.clock.now = kiosk.clock.now.replace(year=2026, month=8, day=3, hour=8)  # 12 Mordad 1405

    kiosk.tap_card(CARD)
    assert kiosk.text("last_visit") == ""
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.keys("100000")
    kiosk.press("confirm")

    assert kiosk.app.screen.line_texts() == [kiosk.shows("result.birthday", points=100)]
    assert kiosk.app.sounds.played[-1] == "earn"
    kiosk.app.go_home()
    kiosk.tap_card(CARD)
    assert kiosk.text("last_visit") == kiosk.shows("member.last_visit", date=date(2026, 8, 3))


def test_idle_forgets_a_half_typed_enrollment(kiosk: Kiosk):
    kiosk.press("phone")
    kiosk.keys(PHONE + "[ok]")
    kiosk.press("name")
    kiosk.keys("سارا", keypad="keyboard")
    kiosk.press("done")

    kiosk.tick(seconds=30)

    assert kiosk.screen == "attract"
    screens = kiosk.app.manager
    assert screens.get_screen("enroll").phone == ""
    assert screens.get_screen("enroll").name_text == ""
    assert screens.get_screen("name").text == ""
    assert screens.get_screen("phone").digits == ""
