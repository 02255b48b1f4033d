"""The members pages in a real browser, on a real hub, with a real kiosk that pulls from it.

Find a member by a phone typed in Persian digits, adjust their points and see the kiosk's
balance follow, erase them and see the kiosk forget them; a manager of another branch and
a support user are refused what is not theirs to see.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kiosk.core.clock import ManualClock
from kiosk.errors import CardBlocked, UnknownMember
from kiosk.text.digits import to_persian_digits
from tests.hub.test_kiosk_on_the_hub import Kiosk
from tests.hub.test_member_ops import enroll
from tests.panel.conftest import BRANCH, OTHER_BRANCH, PanelHub, sql, switch_language
from tests.panel.test_screenshots import SIZES

_kiosks = itertools.count(1)


@pytest.fixture
def kiosk(panel_hub: PanelHub, tmp_path: Path, clock: ManualClock) -> Iterator[Kiosk]:
    """A kiosk of the first branch, enrolled with the panel's hub."""
    name = f"kiosk-members-{next(_kiosks)}-{secrets.token_hex(3)}"
    opened = Kiosk(tmp_path / name, panel_hub.url, clock, name)
    opened.provision(panel_hub.hub.new_device(BRANCH)["code"])
    yield opened
    opened.appliance.forget_client()
    opened.service.close()


@pytest.fixture
def shopper(kiosk: Kiosk) -> dict[str, str]:
    """A member enrolled at the kiosk (a phone and card of their own), pushed to the hub."""
    phone = "0912" + f"{secrets.randbelow(10**7):07d}"
    card = secrets.token_hex(4).upper()
    member_id = enroll(kiosk, phone, card, "Sara Ahmadi")
    pushed, _pulled, _heard = kiosk.sync()
    assert pushed.stopped == "empty", pushed
    return {"member_id": member_id, "phone": phone, "e164": "+98" + phone[1:], "card": card}


def search(page: Any, typed: str) -> list[str]:
    page.goto("/panel/members/")
    page.fill("input[name=q]", typed)
    with page.expect_navigation():
        page.click(".member-search button")
    texts: list[str] = page.locator("table.members tbody td a").all_inner_texts()
    return texts


def audited(panel_hub: PanelHub, subject: str) -> list[str]:
    rows = sql(
        panel_hub, "SELECT action FROM hub_audit_event WHERE subject = %s ORDER BY id", subject
    )
    return [row[0] for row in rows]


def test_an_owner_finds_a_member_by_a_persian_digit_phone_and_adjusts_their_points(
    page, panel_hub, signed_in, kiosk, shopper
):
    signed_in(page, "owner")
    member_id = shopper["member_id"]
    before = kiosk.service.effective_balance(member_id)
    typed = to_persian_digits(shopper["phone"][:4] + " " + shopper["phone"][4:])

    assert search(page, typed) == [member_id]
    assert page.locator("h1").inner_text() == "اعضا"  # Persian first
    assert page.get_attribute("html", "dir") == "rtl"
    page.click(f"text={member_id}")
    assert shopper["e164"] not in page.content()  # masked until shown
    page.fill("#id_points", "120")
    page.fill("#id_reason", "the coffee machine was broken")
    with page.expect_navigation():
        page.click("form.adjust button")
    kiosk.sync()

    assert page.locator(".message").is_visible()
    assert kiosk.service.effective_balance(member_id) == before + 120
    assert "member.adjust" in audited(panel_hub, member_id)
    assert "member.view" in audited(panel_hub, member_id)


def test_showing_the_person_is_a_deliberate_audited_press(page, panel_hub, signed_in, shopper):
    signed_in(page, "manager", branch=BRANCH)
    member_id = shopper["member_id"]
    page.goto(f"/panel/members/{member_id}/")
    assert shopper["e164"] not in page.content()

    with page.expect_navigation():
        page.click("button.reveal")

    assert page.locator("td.phone").inner_text() == to_persian_digits(shopper["e164"])
    assert page.locator("td.name").inner_text() == "Sara Ahmadi"
    assert page.locator("td.tier").inner_text() == "برنزی"  # the program's name, in Persian
    assert audited(panel_hub, member_id)[-1] == "member.show_personal"


def test_a_manager_cannot_take_more_points_than_the_member_has(page, panel_hub, signed_in, shopper):
    signed_in(page, "manager", branch=BRANCH)
    page.goto(f"/panel/members/{shopper['member_id']}/")
    balance = page.locator("td.balance").inner_text()

    page.fill("#id_points", "-5000")
    page.fill("#id_reason", "a mistake")
    with page.expect_navigation():
        page.click("form.adjust button")

    assert "امتیاز برای کم کردن دارد" in page.locator(".errors").inner_text()
    assert page.locator("td.balance").inner_text() == balance


def test_a_card_blocked_in_the_panel_is_refused_at_the_kiosk_after_its_pull(
    page, panel_hub, signed_in, kiosk, shopper
):
    signed_in(page, "manager", branch=BRANCH)
    page.goto(f"/panel/members/{shopper['member_id']}/")

    with page.expect_navigation():
        page.click("button.block-card")
    kiosk.sync()

    with pytest.raises(CardBlocked):
        kiosk.service.identify_card(shopper["card"])
    assert page.locator("button.block-card").count() == 0
    assert "member.block_card" in audited(panel_hub, shopper["member_id"])


def test_an_adjustment_beyond_the_limit_is_refused_until_the_owner_confirms(
    page, panel_hub, signed_in, shopper
):
    signed_in(page, "owner")
    page.goto(f"/panel/members/{shopper['member_id']}/")
    balance = page.locator("td.balance").inner_text()

    page.fill("#id_points", "20000")
    page.fill("#id_reason", "a very large gift")
    with page.expect_navigation():
        page.click("form.adjust button")
    refused = page.locator(".errors").inner_text()
    assert page.locator("td.balance").inner_text() == balance
    page.fill("#id_points", "20000")
    page.fill("#id_reason", "a very large gift")
    page.check("#id_confirm")
    with page.expect_navigation():
        page.click("form.adjust button")

    assert refused
    assert page.locator(".message").is_visible()
    rows = sql(
        panel_hub,
        "SELECT count(*) FROM hub_entry WHERE member_id = %s AND kind = 'adjust'",
        shopper["member_id"],
    )
    assert rows == [(1,)]


def test_an_owner_erases_a_member_and_the_kiosk_forgets_them(
    page, panel_hub, signed_in, kiosk, shopper
):
    signed_in(page, "owner")
    member_id = shopper["member_id"]
    page.goto(f"/panel/members/{member_id}/")

    page.fill("#id_typed", "not the id")
    with page.expect_navigation():
        page.click("form.erase button")
    assert kiosk.service.member(member_id).status == "active"
    page.fill("#id_typed", member_id)
    with page.expect_navigation():
        page.click("form.erase button")
    kiosk.sync()

    there = kiosk.service.member(member_id)
    assert there.status == "erased" and there.person is None
    assert kiosk.service.members.card(shopper["card"]) is None
    with pytest.raises(UnknownMember):
        kiosk.service.identify_phone(shopper["phone"])
    assert search(page, shopper["phone"]) == []
    assert "member.erase" in audited(panel_hub, member_id)


def test_a_manager_of_another_branch_can_neither_find_nor_open_the_member(
    page, panel_hub, signed_in, shopper
):
    signed_in(page, "manager", branch=OTHER_BRANCH)
    member_id = shopper["member_id"]

    assert search(page, shopper["phone"]) == []
    assert search(page, shopper["card"]) == []
    opened = page.goto(f"/panel/members/{member_id}/")
    exported = page.goto(f"/panel/members/{member_id}/export")
    token = page.context.cookies()
    csrf = next(c["value"] for c in token if c["name"] == "csrftoken")
    adjusted = page.request.post(
        f"/panel/members/{member_id}/adjust",
        form={"points": "100", "reason": "x", "txn": "t", "csrfmiddlewaretoken": csrf},
        headers={"Referer": panel_hub.url + "/panel/members/", "X-CSRFToken": csrf},
    )

    assert opened.status == 404 and exported.status == 404 and adjusted.status == 404
    refused = sql(
        panel_hub,
        "SELECT detail->>'refused' FROM hub_audit_event WHERE subject = %s AND action = %s",
        member_id,
        "member.view",
    )
    assert refused == [("not_found",)]  # the probe is in the owner's log
    assert shopper["e164"] not in page.content()
    rows = sql(
        panel_hub,
        "SELECT count(*) FROM hub_entry WHERE member_id = %s AND kind = 'adjust'",
        member_id,
    )
    assert rows == [(0,)]


def test_a_support_user_sees_no_phone_numbers_and_cannot_export(
    page, panel_hub, signed_in, shopper
):
    signed_in(page, "support")
    member_id = shopper["member_id"]

    assert search(page, shopper["phone"]) == [member_id]
    listed = page.locator("table.members").inner_html()
    page.goto(f"/panel/members/{member_id}/")
    shown = page.content()
    exported = page.goto(f"/panel/members/{member_id}/export")

    national = shopper["phone"][1:]
    for text in (listed, shown):
        assert national not in text and to_persian_digits(national) not in text
        assert "Sara Ahmadi" not in text
    assert 'button class="reveal"' not in shown and "form.adjust" not in shown
    assert exported.status == 403
    assert urlsplit(page.url).path.endswith("/export")


def test_the_members_pages_fit_a_phone_in_both_languages_screenshots(
    page, panel_hub, signed_in, shopper
):
    # `make panel-screenshots` (PANEL_SCREENSHOTS) writes them, as tests/panel/
    # test_screenshots.py does the other pages'; the person stays masked in them.
    folder = os.environ.get("PANEL_SCREENSHOTS")
    signed_in(page, "owner")
    sizes = SIZES if folder else {"390": SIZES["390"]}
    pages = {
        "members": lambda: search(page, shopper["card"]),
        "member": lambda: page.goto(f"/panel/members/{shopper['member_id']}/"),
    }
    for name, open_page in pages.items():
        for language in ("fa", "en"):
            for size, viewport in sizes.items():
                page.set_viewport_size(viewport)
                open_page()
                if page.get_attribute("html", "lang") != language:
                    switch_language(page)
                    open_page()
                page.evaluate("document.fonts.ready")

                wide = page.evaluate("document.documentElement.scrollWidth")
                assert wide <= viewport["width"], f"{name} scrolls sideways ({size}, {language})"
                assert shopper["e164"] not in page.content()
                if folder:
                    Path(folder).mkdir(parents=True, exist_ok=True)
                    shot = Path(folder) / f"panel-{name}-{language}-{size}.png"
                    page.screenshot(path=str(shot), full_page=True)
