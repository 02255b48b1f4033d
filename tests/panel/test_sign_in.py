"""Signing in to the panel in a real browser: two factors, the rate limit, sessions that end,
CSRF, the security headers, the language, who may read the audit log."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.panel.conftest import (
    PanelHub,
    expire_session,
    open_context,
    sign_in_form,
    sql,
    switch_language,
)

WRONG = "The user name, password or code is not right."
LOCKED = "Too many failed sign-ins."


def audit_actions(panel_hub: PanelHub, subject: str) -> list[str]:
    rows = sql(
        panel_hub, "SELECT action FROM hub_audit_event WHERE subject = %s ORDER BY id", subject
    )
    return [row[0] for row in rows]


def english(page: Any) -> None:
    """Switch the page to English with its language button."""
    if page.get_attribute("html", "lang") != "en":
        switch_language(page)


def test_an_owner_signs_in_with_password_and_totp_code(page, panel_hub, signed_in):
    owner = signed_in(page, "owner")

    assert urlsplit(page.url).path == "/panel/"
    assert page.locator("header .who").inner_text() == owner.name
    assert audit_actions(panel_hub, owner.name) == ["sign_in"]


def test_a_code_typed_with_persian_digits_is_read(page, panel_hub):
    owner = panel_hub.add_user("owner")
    persian = owner.code().translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))

    sign_in_form(page, owner, code=persian)

    assert urlsplit(page.url).path == "/panel/"


def test_the_page_asked_for_opens_after_sign_in_but_never_another_site(page, panel_hub):
    first, second = panel_hub.add_user("owner"), panel_hub.add_user("owner")

    page.goto("/panel/audit/")
    sign_in_form(page, first)
    landed = urlsplit(page.url)
    page.context.clear_cookies()
    page.goto("/panel/sign-in?next=https://evil.example/panel/")
    sign_in_form(page, second)

    assert landed.path == "/panel/audit/"
    assert urlsplit(page.url).netloc == urlsplit(panel_hub.url).netloc
    assert urlsplit(page.url).path == "/panel/"


def test_an_unknown_panel_page_is_a_page_and_an_unknown_protocol_path_is_json(panel_hub):
    page = requests.get(f"{panel_hub.url}/panel/nowhere", timeout=30)
    protocol = requests.get(f"{panel_hub.url}/v2/nowhere", timeout=30)

    assert page.status_code == 404 and '<html lang="fa" dir="rtl">' in page.text
    assert protocol.status_code == 404 and protocol.json()["error"]["code"] == "not_found"


def test_a_wrong_totp_code_is_refused_and_says_not_which_factor(page, panel_hub):
    owner = panel_hub.add_user("owner")
    page.goto("/panel/sign-in")
    english(page)

    sign_in_form(page, owner, code=owner.code(offset=5))

    assert urlsplit(page.url).path == "/panel/sign-in"
    assert page.locator(".errors").inner_text() == WRONG
    page.goto("/panel/")
    assert urlsplit(page.url).path == "/panel/sign-in"
    reasons = sql(
        panel_hub,
        "SELECT detail->>'reason' FROM hub_audit_event WHERE subject = %s",
        owner.name,
    )
    assert [reason for (reason,) in reasons] == ["code"]


def test_an_owner_without_a_code_is_refused_even_with_the_right_password(page, panel_hub):
    owner = panel_hub.add_user("owner")
    page.goto("/panel/sign-in")

    page.fill("#id_username", owner.name)
    page.fill("#id_password", owner.password)
    with page.expect_navigation():
        page.click("form.sign-in button[type=submit]")

    assert urlsplit(page.url).path == "/panel/sign-in"
    page.goto("/panel/")
    assert urlsplit(page.url).path == "/panel/sign-in"


def test_five_failures_lock_the_account_even_for_the_right_password(page, panel_hub):
    manager = panel_hub.add_user("manager", branch="Valiasr")
    page.goto("/panel/sign-in")
    english(page)
    wrong = replace(manager, password="not the password at all")

    for _ in range(5):
        sign_in_form(page, wrong)
    sign_in_form(page, manager)

    assert LOCKED in page.locator(".errors").inner_text()
    page.goto("/panel/")
    assert urlsplit(page.url).path == "/panel/sign-in"
    actions = audit_actions(panel_hub, manager.name)
    assert actions == ["sign_in_failed"] * 5 + ["locked_out", "sign_in_locked"]


def test_many_failures_from_one_address_lock_that_address_only(panel_hub):
    support = panel_hub.add_user("support", totp=False)

    def attempt(name: str, password: str, address: str) -> requests.Response:
        with requests.Session() as browser:
            form = browser.get(f"{panel_hub.url}/panel/sign-in", timeout=30)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
            assert token is not None
            return browser.post(
                f"{panel_hub.url}/panel/sign-in",
                data={"csrfmiddlewaretoken": token[1], "username": name, "password": password},
                headers={"X-Forwarded-For": address, "Accept-Language": "en"},
                cookies={"hub_language": "en"},
                timeout=30,
                allow_redirects=False,
            )

    # 30 wrong names from one address (each a different name: no account limit applies).
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: attempt(f"nobody{n}", "x" * 12, "203.0.113.7"), range(30)))

    locked = attempt(support.name, support.password, "203.0.113.7")
    elsewhere = attempt(support.name, support.password, "198.51.100.9")
    assert locked.status_code == 400 and LOCKED in locked.text
    assert elsewhere.status_code == 302 and elsewhere.headers["Location"] == "/panel/"


def test_an_expired_session_sends_back_to_the_sign_in_page(page, panel_hub, signed_in):
    signed_in(page, "owner")
    page.goto("/panel/audit/")
    assert urlsplit(page.url).path == "/panel/audit/"

    expire_session(panel_hub, page)
    page.goto("/panel/audit/")

    assert urlsplit(page.url).path == "/panel/sign-in"
    assert "next=/panel/audit/" in page.url


def test_a_post_without_the_csrf_token_is_refused(page, panel_hub, signed_in):
    signed_in(page, "owner")

    # The session's cookie goes with it (the context's request), the token does not.
    forged = page.request.post("/panel/sign-out", form={"x": "1"})

    assert forged.status == 403
    # Told in the panel's look and language, with what to do (Persian until one chooses).
    told = forged.text()
    assert "فرم کهنه شده" in told and "panel.css" in told
    page.goto("/panel/")
    assert urlsplit(page.url).path == "/panel/"


def test_every_page_has_the_security_headers(page, panel_hub):
    response = page.goto("/panel/sign-in")
    headers = response.all_headers()

    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "no-store" in headers["cache-control"]
    cookie = next(c for c in page.context.cookies() if c["name"] == "csrftoken")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_persian_is_right_to_left_by_default_and_english_is_left_to_right(page, panel_hub):
    # The browser asks for English (locale en-US): Persian is shown until one chooses.
    page.goto("/panel/sign-in")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "fa"
    assert page.locator("h1").inner_text() == "ورود"
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "Vazirmatn" in font
    assert page.evaluate("document.fonts.check('16px Vazirmatn')")

    switch_language(page)

    assert page.get_attribute("html", "dir") == "ltr"
    assert page.locator("h1").inner_text() == "Sign in"
    switch_language(page)
    assert page.get_attribute("html", "dir") == "rtl"


def test_a_manager_and_support_cannot_open_the_audit_log(browser, panel_hub, signed_in):
    for role in ("manager", "support"):
        context = open_context(browser, panel_hub)
        page = context.new_page()
        signed_in(page, role)

        response = page.goto("/panel/audit/")

        assert response.status == 403
        assert page.locator("a[href='/panel/audit/']").count() == 0
        context.close()


def test_every_sign_in_appears_in_the_audit_log(browser, page, panel_hub, signed_in):
    other = open_context(browser, panel_hub)
    manager = signed_in(other.new_page(), "manager")
    other.close()
    owner = signed_in(page, "owner")

    page.goto(f"/panel/audit/?actor={manager.name}")
    rows = page.locator("table.audit tbody tr")

    assert rows.count() == 1
    assert "وارد شد" in rows.first.inner_text()  # "Signed in"
    assert "عامل دوم: بله" in rows.first.inner_text()  # "Second factor: yes", read as words
    page.goto("/panel/audit/?action=sign_in")
    switch_language(page)
    shown = page.locator("table.audit tbody").inner_text()
    assert manager.name in shown and owner.name in shown and "Signed in" in shown
