"""The messages part's settings page (hub/panel/messages/policy.py) through Django's test
client, on a real hub database: the owner changes the chain's messaging policy, a budget
typed in Toman is kept in Rial, a manager's change is refused, a bad time is refused in
Persian and nothing is written. The browser's test is test_messages_settings_browser.py.
"""

from __future__ import annotations

from typing import Any

from django.test import override_settings

from tests.hub.conftest import Hub, hub
from tests.hub.test_messaging_support import messaging
from tests.panel.test_messages_client import branch, client

__all__ = ["hub", "messaging"]  # fixtures, used by name

POLICY = (
    "SELECT quiet_start::text, quiet_end::text, receipts, daily_budget, cap_count, cap_days,"
    " winback_days, price_ucs2, price_gsm, shop_name, time_zone FROM hub_message_policy"
)


def form(**fields: Any) -> dict[str, Any]:
    """The settings form as the page sends it (the defaults, in Toman), with `fields`."""
    return {
        "shop_name": "Café Nour",
        "time_zone": "Asia/Tehran",
        "quiet_start": "22:00",
        "quiet_end": "08:00",
        "cap_count": "2",
        "cap_days": "7",
        "daily_budget": "500,000",
        "price_ucs2": "110",
        "price_gsm": "240",
        "receipts": "opt_out",
        "winback_days": "60",
    } | fields


def audited(hub: Hub) -> list[tuple[Any, ...]]:
    return hub.sql(
        "SELECT actor_name, detail FROM hub_audit_event WHERE action = 'messages.policy'"
    )


@override_settings(PANEL_MONEY_UNIT="toman")
def test_the_owner_changes_quiet_hours_and_receipts_and_the_policy_changes(messaging: Hub):
    owner = client("owner")
    shown = owner.get("/panel/messages/settings/")

    saved = owner.post(
        "/panel/messages/settings/",
        form(quiet_start="21:30", quiet_end="09:15", receipts="opt_in"),
    )

    assert shown.status_code == 200
    assert 'value="500,000"' in shown.content.decode()  # 5,000,000 Rial shown in Toman
    assert saved.status_code == 200
    assert "Saved." in saved.content.decode()
    ((start, end, receipts, budget, *_rest),) = messaging.sql(POLICY)
    assert (start, end, receipts, budget) == ("21:30:00", "09:15:00", "opt_in", 5_000_000)
    ((actor, detail),) = audited(messaging)
    assert actor.startswith("owner-")
    assert detail == {
        "quiet_start": "21:30",
        "quiet_end": "09:15",
        "receipts": "opt_in",
        "shop_name": "Café Nour",
    }


@override_settings(PANEL_MONEY_UNIT="toman")
def test_a_budget_typed_in_toman_with_persian_digits_is_kept_in_rial(messaging: Hub):
    owner = client("owner", language="fa")

    saved = owner.post(
        "/panel/messages/settings/",
        form(daily_budget="۷۵۰٬۰۰۰", price_ucs2="۱۲۰", cap_count="۳", winback_days="۴۵"),
    )

    assert saved.status_code == 200
    ((_s, _e, _r, budget, cap, _days, winback, ucs2, *_rest),) = messaging.sql(POLICY)
    assert (budget, ucs2, cap, winback) == (7_500_000, 1_200, 3, 45)
    page = owner.get("/panel/messages/settings/").content.decode()
    assert 'value="۷۵۰٬۰۰۰"' in page and "تومان" in page


@override_settings(PANEL_MONEY_UNIT="rial")
def test_in_a_rial_chain_the_budget_is_typed_in_rial(messaging: Hub):
    client("owner").post("/panel/messages/settings/", form(daily_budget="750000"))

    ((_s, _e, _r, budget, *_rest),) = messaging.sql(POLICY)
    assert budget == 750_000


def test_a_manager_and_support_read_the_settings_but_their_change_is_refused(messaging: Hub):
    branch(messaging, "North")
    manager = client("manager", "North")
    support = client("support")
    before = client("owner").get("/panel/messages/settings/")  # the policy's row made
    rules = messaging.sql(POLICY)

    read = manager.get("/panel/messages/settings/")
    refused = manager.post("/panel/messages/settings/", form(quiet_start="23:00", receipts="off"))
    by_support = support.post("/panel/messages/settings/", form(winback_days="0"))

    assert before.status_code == 200
    assert read.status_code == 200
    assert "22:00" in read.content.decode()
    assert (
        "disabled" in read.content.decode() and 'class="primary save"' not in read.content.decode()
    )
    assert (refused.status_code, by_support.status_code) == (403, 403)
    assert messaging.sql(POLICY) == rules
    assert audited(messaging) == []


def test_an_invalid_time_is_refused_in_persian_and_nothing_is_written(messaging: Hub):
    owner = client("owner", language="fa")
    owner.get("/panel/messages/settings/")
    rules = messaging.sql(POLICY)

    refused = owner.post(
        "/panel/messages/settings/",
        form(quiet_start="۲۵:۰۰", receipts="off", cap_count="-1", daily_budget="-5"),
    )

    assert refused.status_code == 400
    page = refused.content.decode()
    assert "زمان را این‌گونه بنویسید: ۱۴:۳۰" in page
    assert "۰ یا بیشتر" in page  # the cap and the budget
    assert messaging.sql(POLICY) == rules
    assert audited(messaging) == []


def test_a_time_zone_outside_the_iana_list_is_refused(messaging: Hub):
    owner = client("owner")
    owner.get("/panel/messages/settings/")

    refused = owner.post("/panel/messages/settings/", form(time_zone="Mars/Olympus"))
    saved = owner.post("/panel/messages/settings/", form(time_zone="Asia/Kabul"))

    assert refused.status_code == 400
    assert saved.status_code == 200
    assert messaging.sql("SELECT time_zone FROM hub_message_policy") == [("Asia/Kabul",)]
