"""The member's phone page (hub/club) in Chromium at a phone's 390x844, in Persian: the
number typed in Persian digits, the code read from the hub's outbox (where the SMS gateway
takes it from), the balance, marketing turned off, signed out. The same setup as the
panel's browser tests (tests/panel/conftest.py: the hub served by gunicorn, Debian's
Chromium).

Screenshots into docs/screenshots/club-<page>-<language>.png only with PANEL_SCREENSHOTS
set to a folder (`make panel-screenshots` runs the test named for them).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.panel.conftest import PanelHub, open_context, sql

PHONE = {"width": 390, "height": 844}
_numbers = itertools.count(1)
_FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def member(panel_hub: PanelHub, points: int, name: str = "سارا رضایی") -> tuple[str, str]:
    """A member with consent and `points` (an adjustment through `hub member adjust`): their
    id and their number as dialled at home (09...)."""
    n = next(_numbers)
    member_id, national = f"club-browser-{os.getpid()}-{n}", f"0912777{os.getpid() % 1000:03d}{n}"
    sql(
        panel_hub,
        "INSERT INTO hub_member (member_id, status, created_at, updated_at, received_at, phone,"
        " name, language, consent_marketing, consent_version, consent_at)"
        " VALUES (%s, 'active', now(), now(), now(), %s, %s, 'fa', true, 'ui-1', now())",
        member_id,
        "+98" + national[1:],
        name,
    )
    panel_hub.hub.run("member", "adjust", member_id, str(points), "--reason", "welcome")
    return member_id, national


def code_for(panel_hub: PanelHub, national: str) -> str:
    rows = sql(
        panel_hub,
        "SELECT body FROM hub_message WHERE phone = %s AND key LIKE 'club:%%' ORDER BY id DESC",
        "+98" + national[1:],
    )
    assert rows, "no code in the outbox"
    found = re.search(r"\b\d{5}\b", rows[0][0])
    assert found is not None
    return found.group(0)


@pytest.fixture
def phone_page(browser: Any, panel_hub: PanelHub) -> Iterator[Any]:
    context = open_context(browser, panel_hub, is_mobile=True, has_touch=True)
    opened = context.new_page()
    opened.set_viewport_size(PHONE)
    yield opened
    context.close()


def sign_in(page: Any, panel_hub: PanelHub, national: str, language: str = "fa") -> None:
    page.goto(f"/club/?lang={language}")
    page.fill("#phone", national.translate(_FA) if language == "fa" else national)
    with page.expect_navigation():
        page.click("form.card button[type=submit]")
    assert page.url.endswith("/club/code"), page.content()
    page.fill("#code", code_for(panel_hub, national))
    with page.expect_navigation():
        page.click("form.card button[type=submit]")
    assert page.url.endswith("/club/me"), page.content()


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_member_signs_in_in_persian_sees_the_balance_turns_marketing_off_and_signs_out(
    phone_page: Any, panel_hub: PanelHub
):
    page = phone_page
    member_id, national = member(panel_hub, 350)
    page.goto("/club/")
    assert page.get_attribute("html", "dir") == "rtl"
    no_sideways_scroll(page)

    sign_in(page, panel_hub, national)
    assert page.inner_text("#balance") == "۳۵۰"
    assert "سارا رضایی" in page.inner_text(".balance")
    assert page.inner_text("#consent-state") == "روشن است"
    no_sideways_scroll(page)

    with page.expect_navigation():
        page.click("#consent button[type=submit]")
    assert page.inner_text("#consent-state") == "خاموش است"
    assert sql(
        panel_hub, "SELECT consent_marketing FROM hub_member WHERE member_id = %s", member_id
    ) == [(False,)]

    with page.expect_navigation():
        page.click("nav.links button[type=submit]")
    assert page.url.endswith("/club/?m=out")
    assert "از حساب خارج شدید" in page.inner_text("main")
    page.goto("/club/me")
    assert not page.url.endswith("/club/me")  # signed out: back to the number
    assert page.locator("#phone").count() == 1


def test_club_screenshots_in_both_languages(browser: Any, panel_hub: PanelHub):
    folder = os.environ.get("PANEL_SCREENSHOTS")
    _member_id, national = member(panel_hub, 650)
    for language in ("fa", "en"):
        context = open_context(browser, panel_hub, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.set_viewport_size(PHONE)
        page.goto(f"/club/?lang={language}")
        no_sideways_scroll(page)
        if folder:
            page.screenshot(path=str(Path(folder) / f"club-start-{language}.png"))
        if language == "en":  # the resend delay: the next code a minute after the last
            sql(
                panel_hub, "UPDATE hub_club_code SET created_at = created_at - interval '2 minutes'"
            )
        sign_in(page, panel_hub, national, language)
        assert page.get_attribute("html", "lang") == language
        no_sideways_scroll(page)
        if folder:
            page.screenshot(path=str(Path(folder) / f"club-me-{language}.png"), full_page=True)
        context.close()
