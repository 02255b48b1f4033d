"""What comes after: a purchase too soon after the last, a new member's first purchase, a void."""

from __future__ import annotations

from tests.ui.conftest import CASHIER_PIN, Kiosk
from tests.ui.test_screens import clipped

PHONE = "09121234567"
CARD = "A1B2C3D4"


def buy(kiosk: Kiosk, amount: str) -> None:
    """With the member's screen shown: the cashier signs in and types `amount`."""
    kiosk.press("purchase")
    if kiosk.screen == "pin":
        kiosk.sign_in("Sara", CASHIER_PIN)
    assert kiosk.screen == "amount"
    kiosk.keys(amount)


# -- the minimum time between two purchases ---------------------------------------------------


def test_a_purchase_too_soon_says_how_long_to_wait_and_the_wait_outlasts_the_idle_timeout(
    kiosk: Kiosk,
):
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD)
    kiosk.tap_card(CARD)
    buy(kiosk, "100000")
    kiosk.press("confirm")
    kiosk.tick(seconds=6)
    assert kiosk.screen == "attract"
    kiosk.tap_card(CARD)
    buy(kiosk, "100000")

    assert kiosk.message() == kiosk.shows("error.limit.too_soon", seconds=114)
    assert kiosk.text("quote") == ""  # no points promised that would not be given
    assert kiosk.ids("confirm").disabled
    assert clipped(kiosk) == []
    kiosk.tick(seconds=31)  # past the idle timeout: the cashier is waiting, not gone
    assert kiosk.screen == "amount"
    assert kiosk.message() == kiosk.shows("error.limit.too_soon", seconds=83)
    kiosk.tick(seconds=83)

    assert kiosk.message() == ""
    assert kiosk.text("quote") == kiosk.shows("amount.will_earn", points=10)
    kiosk.press("confirm")
    assert kiosk.screen == "result"
    assert kiosk.service.identify_card(CARD).balance == 50 + 10 + 10


def test_a_purchase_below_the_minimum_does_not_make_the_next_one_wait(kiosk: Kiosk):
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD)
    kiosk.tap_card(CARD)
    buy(kiosk, "5000")  # below the minimum: no points
    assert kiosk.text("quote") == kiosk.shows("amount.will_earn", points=0)
    kiosk.press("confirm")
    kiosk.tick(seconds=6)
    kiosk.tap_card(CARD)

    buy(kiosk, "100000")

    assert kiosk.message() == ""
    assert kiosk.text("quote") == kiosk.shows("amount.will_earn", points=10)


# -- after enrolling ----------------------------------------------------------------------


def test_a_new_member_goes_on_to_their_screen_and_buys_without_identifying_again(kiosk: Kiosk):
    kiosk.tap_card(CARD)
    kiosk.keys(PHONE + "[ok]")
    kiosk.press("join")
    assert kiosk.screen == "result"

    kiosk.tick(seconds=6)

    assert kiosk.screen == "member"
    assert kiosk.text("balance") == kiosk.shows("member.balance", points=50)
    buy(kiosk, "100000")
    kiosk.press("confirm")
    assert kiosk.screen == "result"
    assert kiosk.service.identify_card(CARD).balance == 60


def test_done_after_enrolling_shows_the_new_members_screen(kiosk: Kiosk):
    kiosk.press("phone")
    kiosk.keys(PHONE + "[ok]")
    kiosk.press("join")

    kiosk.press("done")

    assert kiosk.screen == "member"
    assert kiosk.app.counter.member_id is not None


# -- the void list ----------------------------------------------------------------------------


def void_list(kiosk: Kiosk, purchases: int) -> None:
    """`purchases` purchases by one member, then the cashier's void screen."""
    member = kiosk.service.enroll(PHONE, client_txn_id="setup", card=CARD).member_id
    sara = next(s for s in kiosk.service.staff.list() if s.name == "Sara")
    cashier = kiosk.service.staff.login_with_pin(CASHIER_PIN, sara.staff_id)
    for n in range(purchases):
        kiosk.service.earn(member, 1_000_000 + n, cashier=cashier, client_txn_id=f"earn-{n}")
        kiosk.clock.advance(minutes=3)
    kiosk.press("cashier")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.press("void")
    assert kiosk.screen == "void"


def test_six_void_rows_leave_the_title_clear_and_are_a_finger_tall(kiosk_factory):
    kiosk = kiosk_factory("program.limits.max_earns_per_day=10")
    void_list(kiosk, 6)

    rows = [child for child in kiosk.ids("entries").children if getattr(child, "key", "").strip()]
    title = kiosk.ids("title")

    assert len(rows) == 6
    for row in rows:
        assert row.height >= 48, f"a row of {row.height:.0f} px"
        _, top = row.to_window(row.x, row.top)
        _, title_bottom = title.to_window(title.x, title.y)
        assert top <= title_bottom + 0.5, "a row over the title"


def test_back_on_the_void_screen_goes_to_the_cashiers_menu(kiosk: Kiosk):
    void_list(kiosk, 1)

    kiosk.press("back")

    assert kiosk.screen == "cashier"
