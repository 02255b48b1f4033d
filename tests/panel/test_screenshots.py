"""Screenshots of the panel's pages, in Persian and English, at 1366x768 and at a phone's
390x844, into docs/screenshots/panel-<page>-<language>-<width>.png.

Written only with PANEL_SCREENSHOTS set to a folder (`make panel-screenshots`); otherwise
each page is still opened in both languages and sizes, and must not scroll sideways.
Each part of the panel adds its pages to PAGES (a name, a path, the role that opens it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.panel.conftest import open_context, switch_language

PAGES = [
    ("sign-in", "/panel/sign-in", None),
    ("dashboard", "/panel/", "owner"),
    ("audit", "/panel/audit/", "owner"),
    # The reports (hub/panel/insights/).
    ("reports", "/panel/reports/", "owner"),
    ("reports-visits", "/panel/reports/visits/", "owner"),
    ("reports-tiers", "/panel/reports/tiers/", "owner"),
    ("reports-rewards", "/panel/reports/rewards/", "owner"),
    ("reports-segments", "/panel/reports/segments/", "owner"),
    ("reports-inactive", "/panel/reports/inactive/", "owner"),
    ("reports-birthdays", "/panel/reports/birthdays/", "owner"),
]
SIZES = {"1366": {"width": 1366, "height": 768}, "390": {"width": 390, "height": 844}}


@pytest.mark.parametrize(("name", "path", "role"), PAGES, ids=[p[0] for p in PAGES])
def test_each_page_fits_in_both_languages_and_sizes(
    browser, panel_hub, signed_in, name, path, role
):
    folder = os.environ.get("PANEL_SCREENSHOTS")
    context = open_context(browser, panel_hub)
    page = context.new_page()
    if role is not None:
        signed_in(page, role)
    # Without screenshots to write, the phone's width alone (the one a page may overflow).
    sizes = SIZES if folder else {"390": SIZES["390"]}
    for language in ("fa", "en"):
        for size, viewport in sizes.items():
            page.set_viewport_size(viewport)
            page.goto(path)
            if page.get_attribute("html", "lang") != language:
                switch_language(page)
            page.evaluate("document.fonts.ready")

            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= viewport["width"], f"{name} scrolls sideways at {size} in {language}"
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(folder) / f"panel-{name}-{language}-{size}.png"))
    context.close()
