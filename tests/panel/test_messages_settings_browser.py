"""The messages part's settings page in a real browser on a real hub: the owner opens it
from the part's tabs and changes the win-back days in Persian digits; the hub's policy row
holds the new number and the page shows it back. (The form's checks and who may change it:
test_messages_settings.py, through Django's test client.)
"""

from __future__ import annotations

from typing import Any

from tests.panel.conftest import PanelHub, sql


def test_the_owner_changes_the_win_back_days_from_the_settings_tab(
    page: Any, panel_hub: PanelHub, signed_in: Any
):
    signed_in(page, "owner")
    page.goto("/panel/messages/")
    with page.expect_navigation():
        page.locator("nav.tabs a", has_text="تنظیمات").click()
    before = sql(panel_hub, "SELECT winback_days, receipts FROM hub_message_policy")
    days = 45 if before[0][0] != 45 else 50

    page.fill("input[name=winback_days]", str(days).translate(_PERSIAN))
    with page.expect_navigation():
        page.click("form.policy-form button.save")

    assert page.locator("[role=status]").inner_text() == "ذخیره شد."
    assert page.input_value("input[name=winback_days]") == str(days).translate(_PERSIAN)
    assert sql(panel_hub, "SELECT winback_days, receipts FROM hub_message_policy") == [
        (days, before[0][1])
    ]
    assert sql(
        panel_hub,
        "SELECT detail FROM hub_audit_event WHERE action = 'messages.policy' ORDER BY id DESC"
        " LIMIT 1",
    ) == [({"winback_days": days},)]


_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
