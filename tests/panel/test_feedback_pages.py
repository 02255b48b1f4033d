"""The feedback page in a real browser on a real hub: a branch manager follows the nav's
line to their branch's ratings, drawn as SVG bars, in Persian and English, and downloads
them as CSV. (The Django test-client tests: tests/test_feedback_panel.py.)"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from tests.panel.conftest import PanelHub, sql, switch_language
from tests.test_feedback_panel import rated_visit


def test_a_manager_opens_their_branchs_ratings_from_the_nav(
    page: Any, panel_hub: PanelHub, signed_in: Any
) -> None:
    mine, other = f"Feedback-{secrets.token_hex(3)}", f"Feedback-{secrets.token_hex(3)}"
    for name in (mine, other):
        panel_hub.hub.run("branch", "add", name)

    def run(statement: str, *params: Any) -> list[Any]:
        return sql(panel_hub, statement, *params)

    at = run("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")[0][0]
    rated_visit(run, mine, 4, "staff", at)
    rated_visit(run, mine, 2, "waiting,price", at)
    rated_visit(run, other, 1, "price", at)
    signed_in(page, "manager", branch=mine)

    if page.get_attribute("html", "lang") != "fa":
        switch_language(page)
    page.click("header nav a[href='/panel/feedback/']")
    persian = page.inner_text("main")
    switch_language(page)
    english = page.inner_text("main")
    bars = page.locator("figure.chart svg rect").count()
    with page.expect_download() as download:
        page.click("a.csv")
    rows = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()

    assert "امتیاز خریدها" in persian and "۲ خرید امتیاز گرفت" in persian
    assert "2 visits rated, 3.0 out of 5 on average." in english
    assert mine in english and other not in english
    assert bars >= 5 + 6  # a bar per face and per reason, at least
    assert rows[0] == "day,branch,ratings,average,rated_1_or_2"
    assert len(rows) == 2 and f",{mine},2,3,1" in rows[1]
