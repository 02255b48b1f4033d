"""Screenshots of the panel's pages, in Persian and English, at 1366x768 and at a phone's
390x844, into docs/screenshots/panel-<page>-<language>-<width>.png.

Written only with PANEL_SCREENSHOTS set to a folder (`make panel-screenshots`); otherwise
each page is still opened in both languages and sizes, and must not scroll sideways.
The pages show a small chain of their own (tests/panel/demo_chain.py: Persian names, fake
phone numbers, three branches, a month of entries), on a hub of this module's own.
Each part of the panel adds its pages to PAGES: a name, a path, the role that opens it,
and what a person does there before the picture (a search typed, a button pressed).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hub.conftest import HubServer, Postgres, make_hub
from tests.panel.conftest import (
    PanelHub,
    _TrustingHub,
    open_context,
    sign_in_form,
    switch_language,
)
from tests.panel.demo_chain import BRANCHES, SHOWN, seed

Step = Callable[[Any], None] | None


def _search(page: Any) -> None:
    page.fill("input[name=q]", "محمدی")
    with page.expect_navigation():
        page.click(".member-search button")


def _show(page: Any) -> None:
    with page.expect_navigation():
        page.click("button.reveal")


def _adjust(page: Any) -> None:
    page.fill("#id_points", "۵۰")
    page.fill("#id_reason", "جبران خرید ثبت‌نشده" if _persian(page) else "a purchase not recorded")
    page.locator("form.adjust").scroll_into_view_if_needed()


def _preview(page: Any) -> None:
    page.fill("input[name=amount]", "۱٬۲۵۰٬۰۰۰" if _persian(page) else "1,250,000")
    with page.expect_navigation():
        page.click("button[value=preview]")
    refused = page.locator(".errors, .field-error")
    assert refused.count() == 0, refused.all_inner_texts()  # the form as shown reads back
    page.locator(".preview-result").scroll_into_view_if_needed()


def _compared(page: Any) -> None:
    page.locator("#compared").scroll_into_view_if_needed()


def _health(page: Any) -> None:
    # The devices' health table (below the forms and the branches) at the top.
    page.locator("div.health").evaluate("(box) => box.previousElementSibling.scrollIntoView()")


def _new_code(page: Any) -> None:
    # The kiosk added and never set up (the last row): a new one-time code, shown once.
    with page.expect_navigation():
        page.locator("tr[data-device] button[value=new_code]").last.click()


def _campaign_preview(page: Any) -> None:
    # A campaign to the first branch's members, previewed (nothing sent).
    page.select_option("select[name=branch]", label=BRANCHES[0])
    page.fill("textarea[name=text_fa]", "این هفته ۲۰٪ تخفیف روی همهٔ نوشیدنی‌ها")
    page.fill("textarea[name=text_en]", "20% off every drink this week")
    with page.expect_navigation():
        page.click("form.campaign-form button.primary")


def _offer_typed(page: Any) -> None:
    # Issue 20's rules: a new offer typed in the empty card (not yet previewed).
    card = page.locator("fieldset.offer").last
    offer = f"offer-{card.get_attribute('data-offer')}"
    page.fill(f"input[name='{offer}-id']", "noon-double")
    page.fill(f"input[name='{offer}-name_fa']", "امتیاز دوبرابر ظهر")
    page.fill(f"input[name='{offer}-name_en']", "Double points at noon")
    page.fill(f"input[name='{offer}-multiplier']", "2")
    page.fill(f"input[name='{offer}-from_time']", "۱۲:۰۰" if _persian(page) else "12:00")
    page.fill(f"input[name='{offer}-until_time']", "۱۴:۰۰" if _persian(page) else "14:00")
    for day in ("sat", "sun", "mon", "tue", "wed"):
        page.check(f"input[name='{offer}-weekday-{day}']")
    card.scroll_into_view_if_needed()
    card.evaluate("(box) => box.scrollIntoView()")


def _offer_preview(page: Any) -> None:
    # The offer typed and the referral bonus changed, previewed: the changes named.
    _offer_typed(page)
    page.check("input[name='referral-enabled']")
    page.fill("input[name='referral-referrer_bonus']", "۲۰۰" if _persian(page) else "200")
    page.fill("input[name='referral-referee_bonus']", "۱۰۰" if _persian(page) else "100")
    with page.expect_navigation():
        page.click("button[value=preview]")
    refused = page.locator(".errors, .field-error")
    assert refused.count() == 0, refused.all_inner_texts()
    page.locator(".pending").evaluate("(box) => box.scrollIntoView()")


def _persian(page: Any) -> bool:
    return bool(page.get_attribute("html", "lang") == "fa")


MEMBER = f"/panel/members/{SHOWN}/"
PAGES: list[tuple[str, str, str | None, Step]] = [
    ("sign-in", "/panel/sign-in", None, None),
    ("dashboard", "/panel/", "owner", None),
    # The reports (hub/panel/insights/).
    ("reports", "/panel/reports/", "owner", None),
    ("reports-visits", "/panel/reports/visits/", "owner", None),
    ("reports-tiers", "/panel/reports/tiers/", "owner", None),
    ("reports-rewards", "/panel/reports/rewards/", "owner", None),
    ("reports-segments", "/panel/reports/segments/", "owner", None),
    ("reports-inactive", "/panel/reports/inactive/", "owner", None),
    ("reports-birthdays", "/panel/reports/birthdays/", "owner", None),
    # The members (hub/panel/members/): a search by name, a member masked, then shown.
    ("members", "/panel/members/", "owner", _search),
    ("member", MEMBER, "owner", None),
    ("member-shown", MEMBER, "owner", _show),
    ("member-adjust", MEMBER, "owner", _adjust),
    # The program, devices and staff (hub/panel/program/).
    ("program", "/panel/program/", "owner", None),
    ("program-preview", "/panel/program/", "owner", _preview),
    ("program-history", "/panel/program/?from=1&to=2", "owner", _compared),
    # Issue 20's rules in the form: an offer typed, then previewed with a referral bonus.
    ("program-offer", "/panel/program/", "owner", _offer_typed),
    ("program-rules-preview", "/panel/program/", "owner", _offer_preview),
    ("devices", "/panel/program/devices/", "owner", _health),
    ("devices-code", "/panel/program/devices/", "owner", _new_code),
    ("staff", "/panel/program/staff/", "owner", None),
    ("messages", "/panel/messages/", "owner", None),
    ("messages-templates", "/panel/messages/templates/", "owner", None),
    ("messages-campaign", "/panel/messages/campaigns/", "owner", _campaign_preview),
    ("messages-balance", "/panel/messages/balance/", "owner", None),
    ("messages-webhooks", "/panel/messages/webhooks/", "owner", None),
    ("messages-settings", "/panel/messages/settings/", "owner", None),
    # Visit ratings (hub/panel/feedback/).
    ("feedback", "/panel/feedback/", "owner", None),
    # What a branch manager and support see of the same.
    ("dashboard-manager", "/panel/", "manager", None),
    ("member-support", MEMBER, "support", None),
    # Last: the audit log then holds what every page above did (views, shows, codes).
    ("audit", "/panel/audit/", "owner", None),
]
SIZES = {"1366": {"width": 1366, "height": 768}, "390": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def panel_hub(
    postgres: Postgres,
    hub_template: str,
    tmp_path_factory: pytest.TempPathFactory,
    browser: Any,
) -> Iterator[PanelHub]:
    """A hub of this module's own with the demo chain (the other tests' hub stays bare)."""
    folder = tmp_path_factory.mktemp("demo-hub")
    made = make_hub(postgres, hub_template, folder / "hub")
    hub = _TrustingHub(made.postgres, made.database, made.data_dir)
    seed(hub, folder)
    server = HubServer(hub).start()
    panel = PanelHub(hub, server.url)
    _staff(browser, panel)
    yield panel
    server.stop(graceful=False)


def _staff(browser: Any, panel: PanelHub) -> None:
    """Cashiers and a manager at the branches, added by an owner on the staff page (which
    signs them for the kiosks)."""
    context = open_context(browser, panel)
    page = context.new_page()
    sign_in_form(page, panel.add_user("owner"))
    for name, role, branch, pin, cards in (
        ("نازنین کاظمی", "cashier", BRANCHES[0], "4826", "04A1B2C3"),
        ("بهرام یزدانی", "cashier", BRANCHES[1], "7391", ""),
        ("پرستو نیکپور", "cashier", BRANCHES[2], "6052", "04C7D8E9"),
        ("شیرین فرهادی", "manager", BRANCHES[0], "5180", "04D4E5F6"),
    ):
        page.goto("/panel/program/staff/")
        page.fill("#id_name", name)
        page.select_option("#id_role", role)
        page.select_option("#id_branch", label=branch)
        page.fill("#id_pin", pin)
        page.fill("#id_cards", cards)
        with page.expect_navigation():
            page.click("form.staff-form button")
        assert page.locator(".errors").count() == 0, page.content()
    context.close()


@pytest.mark.parametrize(("name", "path", "role", "step"), PAGES, ids=[p[0] for p in PAGES])
def test_each_page_fits_in_both_languages_and_sizes(
    browser, panel_hub, signed_in, name, path, role, step
):
    folder = os.environ.get("PANEL_SCREENSHOTS")
    context = open_context(browser, panel_hub)
    page = context.new_page()
    if role is not None:
        signed_in(page, role, branch=BRANCHES[0] if role == "manager" else None)
    # Without screenshots to write, the phone's width alone (the one a page may overflow).
    sizes = SIZES if folder else {"390": SIZES["390"]}
    for language in ("fa", "en"):
        for size, viewport in sizes.items():
            page.set_viewport_size(viewport)
            page.goto(path)
            if page.get_attribute("html", "lang") != language:
                switch_language(page)
            if step is not None:
                step(page)
            page.evaluate("document.fonts.ready")

            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= viewport["width"], f"{name} scrolls sideways at {size} in {language}"
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(folder) / f"panel-{name}-{language}-{size}.png"))
    context.close()
