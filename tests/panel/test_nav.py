"""The navigation, in a real browser, for each role: every page the role may open is in
its nav and opens; every page it may not open is absent from its nav and refused (403)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.panel.conftest import switch_language

# Every page the nav can offer, and the roles that may open it (docs/panel.md, "Roles").
PAGES = {
    "/panel/": {"owner", "manager", "support"},
    "/panel/members/": {"owner", "manager", "support"},
    "/panel/reports/": {"owner", "manager", "support"},
    "/panel/program/": {"owner"},
    "/panel/program/devices/": {"owner", "manager", "support"},
    "/panel/program/staff/": {"owner", "manager"},
    "/panel/messages/": {"owner", "manager", "support"},
    "/panel/feedback/": {"owner", "manager", "support"},
    "/panel/audit/": {"owner"},
}


@pytest.mark.parametrize("role", ["owner", "manager", "support"])
def test_each_role_reaches_every_page_it_may_open_and_no_other(page, signed_in, role):
    signed_in(page, role)

    for language in ("fa", "en"):
        if page.get_attribute("html", "lang") != language:
            switch_language(page)
        links = page.locator("header nav a")
        offered = [
            urlsplit(links.nth(i).get_attribute("href") or "").path for i in range(links.count())
        ]
        names = [links.nth(i).inner_text().strip() for i in range(links.count())]

        assert set(offered) == {p for p, roles in PAGES.items() if role in roles}, language
        assert all(names), offered
        if language == "fa":  # the links read Persian on the Persian page
            assert not any(c.isascii() and c.isalpha() for name in names for c in name), names
    for path, roles in PAGES.items():
        answer = page.goto(path)
        assert answer is not None
        assert answer.status == (200 if role in roles else 403), (role, path)
        if role in roles:  # where the page is, its link is marked as the current one
            current = page.locator("header nav a[aria-current=page]")
            assert current.count() == 1 and current.get_attribute("href") == path
