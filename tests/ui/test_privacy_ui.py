"""Withdrawing consent at the kiosk is as easy as giving it: one tap on the member screen."""

from __future__ import annotations

from kiosk.core.store import audit
from kiosk.ui.screens.enrollment import consent_version
from tests.ui.conftest import Kiosk

CARD = "5A6B7C8D"


def people_consent(kiosk: Kiosk, member_id: str) -> tuple[int, str | None]:
    row = kiosk.service.conn.execute(
        "SELECT consent_marketing, consent_version FROM people WHERE member_id = ?", (member_id,)
    ).fetchone()
    return int(row[0]), row[1]


def test_a_member_who_agreed_to_offers_stops_them_with_one_tap(kiosk: Kiosk):
    member = kiosk.service.enroll(
        "09121234567",
        client_txn_id="e-1",
        card=CARD,
        consent_marketing=True,
        consent_version=consent_version(),
    ).member_id
    kiosk.tap_card(CARD)
    assert kiosk.screen == "member" and kiosk.ids("offers").opacity == 1

    kiosk.press("offers")

    assert kiosk.message() == kiosk.shows("member.offers_stopped")
    assert people_consent(kiosk, member) == (0, consent_version())
    assert kiosk.ids("offers").opacity == 0 and kiosk.ids("offers").disabled
    withdrawn = next(e for e in audit.recent(kiosk.service.conn) if e.action == "member.consent")
    assert withdrawn.target == member and withdrawn.details["marketing"] is False


def test_a_member_who_never_agreed_sees_no_such_button(kiosk: Kiosk):
    kiosk.service.enroll("09121234567", client_txn_id="e-1", card=CARD)
    kiosk.tap_card(CARD)

    assert kiosk.screen == "member"
    assert kiosk.ids("offers").opacity == 0 and kiosk.ids("offers").disabled
