"""The dashboard and the reports' pages as people use them: a real hub on loopback, real
PostgreSQL, Debian's Chromium signed in with TOTP (tests/panel/conftest.py's fixtures).

The panel's hub is shared by the session's panel tests, so each test here arranges its own
branches, devices and members (named for it) and reads their rows only.
"""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from typing import Any

import pytest

from tests.panel.conftest import (
    PanelHub,
    browser,
    page,
    panel_hub,
    signed_in,
    sql,
)

__all__ = ["browser", "page", "panel_hub", "signed_in"]  # fixtures, used by name
_numbers = itertools.count(1)


def branch_with_sales(panel_hub: PanelHub, name: str, amounts: list[int]) -> int:
    """A branch with a device, and a member who bought `amounts` (Rial) there today."""
    (row,) = sql(
        panel_hub, "INSERT INTO hub_branch (name, created_at) VALUES (%s, now()) RETURNING id", name
    )
    branch = int(row[0])
    (row,) = sql(
        panel_hub,
        "INSERT INTO hub_device (branch_id, device_id, secret, created_at)"
        " VALUES (%s, %s, 'x', now()) RETURNING id",
        branch,
        f"kiosk-{uuid.uuid4()}",
    )
    device = int(row[0])
    member = member_of(panel_hub, branch, joined="now()")
    for amount in amounts:
        sql(
            panel_hub,
            "INSERT INTO hub_entry (device_id, entry_id, seq, status, member_id, kind, points,"
            " amount, created_at, as_pushed, received_at)"
            " VALUES (%s, %s, %s, 'stored', %s, 'earn', 1, %s, now(), '{}', now())",
            device,
            str(uuid.uuid4()),
            next(_numbers),
            member,
            amount,
        )
    return branch


def member_of(
    panel_hub: PanelHub, branch: int, *, joined: str = "'2020-01-01'", name: str = "Sara Ahmadi"
) -> str:
    member = f"m-{uuid.uuid4()}"
    phone = f"+98912{next(_numbers) + 8_000_000:07d}"
    sql(
        panel_hub,
        "INSERT INTO hub_member (member_id, status, created_at, updated_at, received_at,"
        f" phone, name, consent_marketing)"
        f" VALUES (%s, 'active', {joined}, {joined}, now(), %s, %s, false)",
        member,
        phone,
        name,
    )
    sql(
        panel_hub,
        "INSERT INTO hub_branch_member (branch_id, member_id, since) VALUES (%s, %s, now())",
        branch,
        member,
    )
    return member


def phone_of(panel_hub: PanelHub, member: str) -> str:
    ((phone,),) = sql(panel_hub, "SELECT phone FROM hub_member WHERE member_id = %s", member)
    return str(phone)


def branch_row(page: Any, name: str) -> list[str]:
    cells: list[str] = (
        page.locator("table.branches tr", has_text=name).locator("td").all_inner_texts()
    )
    return cells


def download(page: Any, path: str) -> tuple[int, list[list[str]]]:
    """A CSV link fetched in the signed-in browser's session: status and rows."""
    answer = page.request.get(path)
    text = answer.text().lstrip("\ufeff")
    return answer.status, list(csv.reader(io.StringIO(text)))


def test_the_owner_sees_each_branchs_figures_and_a_manager_only_theirs(
    browser: Any, panel_hub: PanelHub, signed_in: Any
):
    north = f"North {uuid.uuid4().hex[:6]}"
    south = f"South {uuid.uuid4().hex[:6]}"
    branch_with_sales(panel_hub, north, [1_250_000, 750_000])
    branch_with_sales(panel_hub, south, [9_990_000])
    owner_page = browser.new_page(base_url=panel_hub.url, locale="en-US")
    manager_page = browser.new_page(base_url=panel_hub.url, locale="en-US")

    signed_in(owner_page, "owner")
    owner_page.click("form.language button")  # Persian by default: English for the figures
    owner_page.wait_for_selector("html[lang=en]")
    signed_in(manager_page, "manager", branch=north)
    manager_page.click("form.language button")
    manager_page.wait_for_selector("html[lang=en]")

    # Visits today, purchases today, visits in 30 days, the amount in Toman, new members.
    assert branch_row(owner_page, north) == [north, "1", "2", "1", "200,000 Toman", "1"]
    assert branch_row(owner_page, south) == [south, "1", "1", "1", "999,000 Toman", "1"]
    manager_text = manager_page.locator("main").inner_text()
    assert f"Figures of {north}." in manager_text
    assert south not in manager_text
    assert "200,000 Toman" in manager_text  # the branch's own purchases today
    owner_page.close()
    manager_page.close()


def test_the_dashboard_is_persian_first_with_a_chart(
    page: Any, panel_hub: PanelHub, signed_in: Any
):
    branch_with_sales(panel_hub, f"Shiraz {uuid.uuid4().hex[:6]}", [100_000])

    signed_in(page, "owner")

    assert page.locator("html").get_attribute("dir") == "rtl"
    assert "امتیازهای بدهکار باشگاه" in page.locator("main").inner_text()
    assert page.locator("figure.chart svg rect").count() >= 1


def test_visits_report_and_its_csv(page: Any, panel_hub: PanelHub, signed_in: Any):
    name = f"Tabriz {uuid.uuid4().hex[:6]}"
    branch_with_sales(panel_hub, name, [1_000_000, 2_500_000])
    signed_in(page, "owner")

    page.goto("/panel/reports/visits/")
    link = page.locator("a.csv").first.get_attribute("href")
    status, rows = download(page, "/panel/reports/visits/" + link)

    assert status == 200
    assert rows[0][:6] == [
        "day",
        "branch_id",
        "branch",
        "visits",
        "purchases",
        "purchase_total_rial",
    ]
    ours = [r for r in rows if r[2] == name]
    assert len(ours) == 1
    assert ours[0][3:6] == ["1", "2", "3500000"]  # plain numbers, Rial
    assert len(ours[0][0]) == 10 and ours[0][0][4] == "-"  # an ISO day


@pytest.mark.parametrize("report", ["tiers", "rewards", "segments", "birthdays", "inactive"])
def test_every_report_opens_for_a_manager(page: Any, signed_in: Any, report: str):
    signed_in(page, "manager")

    answer = page.goto(f"/panel/reports/{report}/")

    assert answer.status == 200
    assert page.locator("a.csv").count() >= 1


def test_an_inactive_members_csv_with_phones_is_the_owners_and_audited(
    page: Any, panel_hub: PanelHub, signed_in: Any
):
    (row,) = sql(panel_hub, "SELECT id FROM hub_branch WHERE name = 'Valiasr'")
    member = member_of(panel_hub, int(row[0]), name="Dormant Member")
    phone = phone_of(panel_hub, member)
    account = signed_in(page, "owner")

    page.goto("/panel/reports/inactive/?days=30")
    shown = page.locator("main").inner_text()
    status, rows = download(page, "/panel/reports/inactive/?days=30&format=csv&personal=1")
    _, masked = download(page, "/panel/reports/inactive/?days=30&format=csv")

    assert phone[-4:] not in shown.replace("۰", "0")  # masked on the page
    assert status == 200
    assert next(r for r in rows if r[0] == member)[2:4] == [phone, "Dormant Member"]
    masked_row = next(r for r in masked if r[0] == member)
    assert masked_row[2] != phone and masked_row[3] == ""
    audited = sql(
        panel_hub,
        "SELECT detail->>'personal' FROM hub_audit_event WHERE action = 'report_download'"
        " AND actor_name = %s ORDER BY id",
        account.name,
    )
    assert [a[0] for a in audited] == ["true", "false"]


def test_support_sees_no_phone_numbers_and_cannot_download_them(
    page: Any, panel_hub: PanelHub, signed_in: Any
):
    (row,) = sql(panel_hub, "SELECT id FROM hub_branch WHERE name = 'Valiasr'")
    member = member_of(panel_hub, int(row[0]), name="Hidden Person")
    phone = phone_of(panel_hub, member)
    signed_in(page, "support")

    page.goto("/panel/reports/inactive/?days=30")
    shown = page.locator("main").inner_text()
    refused, _ = download(page, "/panel/reports/inactive/?days=30&format=csv&personal=1")
    _, masked = download(page, "/panel/reports/inactive/?days=30&format=csv")

    assert "Hidden" not in shown and phone[-4:] not in shown
    assert page.locator("a.csv", has_text="phone").count() == 0
    assert refused == 403
    assert next(r for r in masked if r[0] == member)[2:4] == ["", ""]


def test_a_manager_cannot_list_another_branchs_inactive_members(
    page: Any, panel_hub: PanelHub, signed_in: Any
):
    (row,) = sql(panel_hub, "SELECT id FROM hub_branch WHERE name = 'Tajrish'")
    elsewhere = member_of(panel_hub, int(row[0]), name="Other Branch")
    signed_in(page, "manager")  # of Valiasr

    _, rows = download(page, "/panel/reports/inactive/?days=30&format=csv&personal=1")

    assert elsewhere not in [r[0] for r in rows]


def test_signed_out_people_get_no_report(browser: Any, panel_hub: PanelHub):
    context = browser.new_context(base_url=panel_hub.url)

    answer = context.request.get("/panel/reports/inactive/?format=csv&personal=1", max_redirects=0)

    assert answer.status == 302
    assert "/panel/sign-in" in answer.headers["location"]
    context.close()
