"""The audit log's page: newest first, 50 a page, filtered by who, action and days typed in
the Jalali calendar with Persian digits."""

from __future__ import annotations

from tests.panel.conftest import PanelHub, sql, switch_language


def arrange_events(panel_hub: PanelHub, actor: str, count: int, at: str) -> None:
    sql(
        panel_hub,
        "INSERT INTO hub_audit_event (at, actor_name, role, action, subject, detail)"
        " SELECT %s::timestamptz + n * interval '1 second', %s, 'manager',"
        " 'member.adjust', 'm-' || n, '{}'::jsonb FROM generate_series(1, %s) AS n",
        at,
        actor,
        count,
    )


def test_the_audit_log_pages_and_filters_by_jalali_days(page, panel_hub, signed_in):
    # 120 events by one manager on 1405/09/10 (1 December 2026, Tehran), 3 on the next day.
    arrange_events(panel_hub, "paged-manager", 120, "2026-12-01 09:00+03:30")
    arrange_events(panel_hub, "paged-manager", 3, "2026-12-02 09:00+03:30")
    signed_in(page, "owner")

    page.goto("/panel/audit/?actor=paged-manager")
    first = page.locator("table.audit tbody tr")
    assert first.count() == 50
    assert "m-3" in first.first.inner_text()  # the newest first
    assert "۱ از ۳" in page.locator("nav.pages").inner_text()
    with page.expect_navigation():
        page.click("nav.pages a")  # older
    assert page.locator("table.audit tbody tr").count() == 50

    page.goto("/panel/audit/")
    page.select_option("select[name=actor]", "paged-manager")
    page.fill("input[name=since]", "۱۴۰۵/۰۹/۱۱")
    page.fill("input[name=until]", "۱۴۰۵/۰۹/۱۱")
    with page.expect_navigation():
        page.click("form.filters button")

    rows = page.locator("table.audit tbody tr")
    assert rows.count() == 3
    assert "۱۴۰۵/۰۹/۱۱" in rows.first.inner_text()


def test_a_day_that_cannot_be_read_says_how_to_write_it(page, panel_hub, signed_in):
    signed_in(page, "owner")
    page.goto("/panel/audit/?since=yesterday")
    switch_language(page)

    assert page.locator(".errors").inner_text() == "Write a day as 1405/09/15 or 2026-12-06."
    assert page.locator("table.audit tbody tr").inner_text() == "No events."
