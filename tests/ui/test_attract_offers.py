"""The attract screen announces a running offer until it ends, and the club's size.

The app's clock is the test's (START: Sunday 1 March 2026, 12:30 in Tehran); a touch
switches the language.
"""

from __future__ import annotations

import pytest

from tests.ui.conftest import Kiosk

NOON = (
    'program.offers=[{id="noon", name_fa="امتیاز دوبرابر", name_en="Double points", '
    'multiplier="2", from_time="12:00", until_time="14:00"}]'
)


def test_the_running_offer_shows_until_its_end_in_both_languages_then_goes(kiosk_factory):
    kiosk: Kiosk = kiosk_factory(NOON)
    persian = kiosk.shows("attract.offer_until", offer="امتیاز دوبرابر", time="۱۴:۰۰")

    assert kiosk.screen == "attract"
    assert kiosk.text("offer") == persian
    kiosk.press("language")
    assert kiosk.text("offer") == "Double points until 14:00"
    kiosk.press("language")

    kiosk.tick(minutes=89, seconds=59)  # 13:59:59
    assert kiosk.text("offer") == persian
    kiosk.tick(seconds=1)  # 14:00: it has ended
    assert kiosk.text("offer") == ""


def test_an_offer_appears_when_it_begins(kiosk_factory):
    kiosk: Kiosk = kiosk_factory(NOON.replace('from_time="12:00"', 'from_time="13:00"'))

    assert kiosk.text("offer") == ""
    kiosk.tick(minutes=29, seconds=59)
    assert kiosk.text("offer") == ""
    kiosk.tick(seconds=1)  # 13:00
    assert kiosk.text("offer") == kiosk.shows(
        "attract.offer_until", offer="امتیاز دوبرابر", time="۱۴:۰۰"
    )


def test_an_offer_of_another_branch_is_not_shown(kiosk_factory):
    kiosk: Kiosk = kiosk_factory(NOON.replace("until_time", 'branches=["Tajrish"], until_time'))

    assert kiosk.text("offer") == ""


@pytest.mark.parametrize(("setting", "shown"), [("true", True), ("false", False)])
def test_the_clubs_size_shows_when_the_program_says(kiosk_factory, setting, shown):
    kiosk: Kiosk = kiosk_factory(f"program.show_member_count={setting}")
    for n in range(3):
        kiosk.service.enroll(f"0912123456{n}", client_txn_id=f"e{n}")

    kiosk.app.go("attract")  # entering the screen counts again
    kiosk.pump()

    expected = kiosk.shows("attract.members", count="۳", shop="Demo shop") if shown else ""
    assert kiosk.text("members") == expected
    if shown:
        kiosk.press("language")
        assert kiosk.text("members") == "Members at Demo shop: 3"
