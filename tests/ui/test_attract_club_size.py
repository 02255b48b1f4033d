"""The attract screen's club size is the chain's, as the hub last said it, for a day;
then the kiosk's own count (docs/program.md, "Social proof"). The app's clock is the
test's; the count heard is put where the sync worker keeps it."""

from __future__ import annotations

from kiosk.core.social import CHAIN_MEMBERS
from kiosk.core.store.outbox import SyncState
from tests.ui.conftest import Kiosk


def test_the_chains_count_shows_for_a_day_then_the_kiosks_own(kiosk_factory):
    kiosk: Kiosk = kiosk_factory("program.show_member_count=true")
    kiosk.service.enroll("09121234560", client_txn_id="e0")
    heard_at = kiosk.clock().timestamp()
    SyncState(kiosk.service.conn).set(**{CHAIN_MEMBERS: {"count": 12_400, "at": heard_at}})

    kiosk.app.go("attract")  # entering the screen counts again
    kiosk.pump()
    # The chain's count is the club's, not this branch's: no shop named.
    assert kiosk.text("members") == kiosk.app.show("۱۲٬۴۰۰ عضو در باشگاه ما")
    kiosk.press("language")
    assert kiosk.text("members") == "12,400 members in our club"

    kiosk.tick(hours=24, seconds=1)  # nothing heard from the hub for a day (back in Persian)
    kiosk.app.go("attract")
    kiosk.pump()
    assert kiosk.text("members") == kiosk.app.show("۱ عضو در Demo shop")  # its own count
