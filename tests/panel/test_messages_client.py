"""The panel's messages pages through Django's test client, in this process, on a real
hub database (tests/hub/test_messaging_support.py's `messaging`): the log's scoping and
filters, the templates' checks, a campaign sent once, the balance from the simulated
gateway, the webhooks' switches. The browser's own tests are test_messages_pages.py.

(Apart from the browser tests: a module's Playwright keeps an asyncio loop in the main
thread, and Django then refuses the in-process database calls these make.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sim.sms_gateway import SmsGateway
from tests.hub.conftest import Hub, hub
from tests.hub.test_messaging_support import add_member, key_file, messaging, sim_gateway

TEHRAN = ZoneInfo("Asia/Tehran")  # the hub's default zone (hub/settings.py)

__all__ = ["hub", "messaging", "sim_gateway"]  # fixtures, used by name


@pytest.fixture
def chain(messaging: Hub) -> Hub:
    """Two branches, members at each (consented or not, Persian and English)."""
    north = branch(messaging, "North")
    south = branch(messaging, "South")
    add_member(messaging, "n1", "+989120000001")
    add_member(messaging, "n2", "+989120000002", language="en")
    add_member(messaging, "n3", "+989120000003", consent=False)
    add_member(messaging, "s1", "+989120000011")
    for member, at in (("n1", north), ("n2", north), ("n3", north), ("s1", south)):
        messaging.sql(
            "INSERT INTO hub_branch_member (branch_id, member_id, since) VALUES (%s, %s, now())",
            at,
            member,
        )
    return messaging


def branch(hub: Hub, name: str) -> int:
    (row,) = hub.sql(
        "INSERT INTO hub_branch (name, created_at) VALUES (%s, now()) RETURNING id", name
    )
    return int(row[0])


def client(role: str, branch_name: str | None = None, language: str = "en") -> Any:
    """A test client signed in as a new panel user of `role` (an owner with a verified
    TOTP device, as after the sign-in page)."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client
    from django_otp.plugins.otp_totp.models import TOTPDevice  # type: ignore[import-untyped]

    from hub.devices.models import Branch
    from hub.panel.models import PanelUser

    name = f"{role}-{User.objects.count() + 1}"
    user = User.objects.create_user(name, password="a long passphrase, 4 words")
    at = Branch.objects.get(name=branch_name) if branch_name else None
    PanelUser.objects.create(user=user, role=role, branch=at)
    made = Client(HTTP_HOST="127.0.0.1")
    made.force_login(user)
    if role == "owner":
        device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
        session = made.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    made.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return made


def message(hub: Hub, key: str, member: str | None, phone: str, **fields: Any) -> int:
    values = {"kind": "receipt", "state": "sent", "parts": 1, "cost": 1100} | fields
    (row,) = hub.sql(
        "INSERT INTO hub_message (key, kind, phone, member_id, language, body, marketing,"
        " state, attempts, not_before, expires_at, parts, cost, gateway, error, created_at,"
        " sent_at) VALUES (%s, %s, %s, %s, 'fa', 'body', false, %s, 0, %s, now() + interval"
        " '1 day', %s, %s, '', '', %s, %s) RETURNING id",
        key,
        values["kind"],
        phone,
        member,
        values["state"],
        values.get("not_before", datetime.now(UTC)),
        values["parts"],
        values["cost"],
        values.get("created_at", datetime.now(UTC)),
        values.get("sent_at", datetime.now(UTC) if values["state"] == "sent" else None),
    )
    return int(row[0])


def rows(html: str) -> list[str]:
    return re.findall(r'data-message="(\d+)"', html)


def test_a_manager_sees_only_their_branchs_members_messages(chain: Hub):
    north = message(chain, "r:n1", "n1", "+989120000001")
    south = message(chain, "r:s1", "s1", "+989120000011")
    nobody = message(chain, "v:1", None, "+989129999999", kind="verification")

    manager = client("manager", "North")
    page = manager.get("/panel/messages/")
    shown = manager.post(f"/panel/messages/{south}/show")

    assert page.status_code == 200
    assert rows(page.content.decode()) == [str(north)]
    assert str(nobody) not in rows(page.content.decode())
    assert "+98912***0001" in page.content.decode()
    assert "+989120000001" not in page.content.decode()
    assert shown.status_code == 403  # only the owner shows a phone
    owner_page = client("owner").get("/panel/messages/").content.decode()
    assert rows(owner_page) == [str(nobody), str(south), str(north)]


def test_the_owner_shows_one_phone_audited_support_never_a_digit(chain: Hub):
    first = message(chain, "r:n1", "n1", "+989120000001")
    message(chain, "r:n2", "n2", "+989120000002")

    support = client("support").get("/panel/messages/").content.decode()
    owner = client("owner")
    shown = owner.post(f"/panel/messages/{first}/show").content.decode()

    assert "0001" not in support and "0002" not in support and "••••" in support
    assert "+989120000001" in shown and "+989120000002" not in shown
    assert chain.sql(
        "SELECT action, subject FROM hub_audit_event WHERE action = 'message.show_phone'"
    ) == [("message.show_phone", str(first))]
    assert client("support").post(f"/panel/messages/{first}/show").status_code == 403


def test_the_log_filters_by_kind_state_and_day_and_names_held_messages(chain: Hub):
    now = datetime.now(UTC)
    receipt = message(chain, "r:1", "n1", "+989120000001")
    held = message(
        chain,
        "c:1",
        "n1",
        "+989120000001",
        kind="campaign",
        state="queued",
        not_before=now + timedelta(hours=5),
    )
    old = message(chain, "r:old", "n1", "+989120000001", created_at=now - timedelta(days=40))
    owner = client("owner")

    def shown(query: str) -> list[str]:
        response = owner.get(f"/panel/messages/?{query}")
        assert response.status_code == 200
        return rows(response.content.decode())

    assert shown("kind=campaign") == [str(held)]
    assert shown("state=held") == [str(held)]
    assert shown("state=queued") == []
    assert shown("state=sent") == [str(old), str(receipt)]
    # The panel reads days in the chain's zone (Tehran): after 20:30 UTC its day is the next.
    day = (now - timedelta(days=40)).astimezone(TEHRAN).date().isoformat()
    assert shown(f"since={day}&until={day}") == [str(old)]
    persian = client("owner", language="fa").get("/panel/messages/?state=held").content.decode()
    assert "نگه‌داشته" in persian


def test_a_template_with_an_unknown_placeholder_is_refused_in_the_pages_language(chain: Hub):
    owner = client("owner", language="fa")
    body = "{shop}: {points} امتیاز، {bonus}"

    refused = owner.post(
        "/panel/messages/templates/",
        {"kind": "receipt", "language": "fa", "body": body, "action": "save"},
    )
    saved = owner.post(
        "/panel/messages/templates/",
        {"kind": "receipt", "language": "fa", "body": "{shop}: {points}+", "action": "save"},
    )
    by_manager = client("manager", "North").post(
        "/panel/messages/templates/",
        {"kind": "receipt", "language": "fa", "body": "{shop}", "action": "save"},
    )

    assert refused.status_code == 400
    assert "جاینگهدار ناشناخته" in refused.content.decode()
    assert "{bonus}" in refused.content.decode()
    assert saved.status_code == 200
    assert chain.sql("SELECT body FROM hub_message_template WHERE kind = 'receipt'") == [
        ("{shop}: {points}+",)
    ]
    assert by_manager.status_code == 403
    assert chain.sql("SELECT count(*) FROM hub_audit_event WHERE action = 'message.template'") == [
        (1,)
    ]


def test_a_template_preview_shows_parts_and_cost_without_saving(chain: Hub):
    owner = client("owner")
    long_text = "{shop} {name} {points} {balance} " + "x" * 200

    preview = owner.post(
        "/panel/messages/templates/",
        {"kind": "receipt", "language": "en", "body": long_text, "action": "preview"},
    ).content.decode()

    assert "2 SMS parts" in preview
    assert chain.sql("SELECT count(*) FROM hub_message_template") == [(0,)]


def campaign_form(**fields: Any) -> dict[str, Any]:
    return {
        "tier": "",
        "branch": "",
        "rfm": "",
        "inactive_days": "",
        "text_fa": "تخفیف این هفته",
        "text_en": "This week's offer",
        "day": "",
        "at": "",
        "txn": "a1b2c3",
    } | fields


def test_a_campaign_previews_then_sends_once_to_those_who_consented(chain: Hub):
    from hub.devices.models import Branch

    north = Branch.objects.get(name="North").pk
    owner = client("owner")
    form = campaign_form(branch=str(north))

    preview = owner.post("/panel/messages/campaigns/preview", form).content.decode()
    nothing_yet = chain.sql("SELECT count(*) FROM hub_message")
    first = owner.post("/panel/messages/campaigns/send", form)
    again = owner.post("/panel/messages/campaigns/send", form)

    assert re.search(r'class="reached">2<', preview), preview
    assert re.search(r'class="refused">1<', preview)
    assert nothing_yet == [(0,)]
    assert (first.status_code, again.status_code) == (302, 302)
    sent = chain.sql("SELECT member_id, language, body FROM hub_message ORDER BY member_id")
    assert [(m, lang) for m, lang, _ in sent] == [("n1", "fa"), ("n2", "en")]
    assert "تخفیف این هفته" in sent[0][2] and "This week's offer" in sent[1][2]
    ((segment, queued, created_by),) = chain.sql(
        "SELECT segment, queued, created_by FROM hub_message_campaign"
    )
    assert (json.loads(segment) if isinstance(segment, str) else segment) == {"branch_id": north}
    assert queued == 2 and created_by.startswith("owner")
    assert chain.sql("SELECT count(*) FROM hub_audit_event WHERE action = 'campaign.send'") == [
        (1,)
    ]
    listing = owner.get("/panel/messages/campaigns/").content.decode()
    assert 'data-campaign="a1b2c3"' in listing


def test_a_campaign_at_a_chosen_time_waits_for_it(chain: Hub):
    owner = client("owner")
    when = datetime.now(UTC) + timedelta(days=3)
    day = when.astimezone().date().isoformat()

    owner.post("/panel/messages/campaigns/send", campaign_form(day=day, at="10:30", txn="later"))

    due = {row[0] for row in chain.sql("SELECT not_before FROM hub_message")}
    assert len(due) == 1
    (moment,) = due
    assert moment > datetime.now(UTC) + timedelta(days=1)
    local = moment.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tehran"))
    assert (local.hour, local.minute) == (10, 30)


def test_only_the_owner_opens_campaigns_and_webhooks(chain: Hub):
    for role, branch_name in (("manager", "North"), ("support", None)):
        other = client(role, branch_name)
        assert other.get("/panel/messages/campaigns/").status_code == 403
        assert other.post("/panel/messages/campaigns/send", campaign_form()).status_code == 403
        assert other.get("/panel/messages/webhooks/").status_code == 403
    assert chain.sql("SELECT count(*) FROM hub_message") == [(0,)]


@pytest.fixture
def gateway_setting(sim_gateway: SmsGateway, tmp_path: Path) -> Iterator[str]:
    from django.conf import settings

    setting = sim_gateway.setting("kavenegar", key_file(tmp_path, sim_gateway))
    before = settings.MESSAGING_GATEWAY
    settings.MESSAGING_GATEWAY = setting
    yield setting
    settings.MESSAGING_GATEWAY = before


def test_the_balance_page_shows_the_gateways_credit_and_the_spend(
    chain: Hub, sim_gateway: SmsGateway, gateway_setting: str
):
    message(chain, "r:1", "n1", "+989120000001", cost=2_200)
    message(chain, "r:2", "n1", "+989120000001", cost=1_100)
    sim_gateway.credit = 7_654_000

    page = client("owner").get("/panel/messages/balance/").content.decode()
    support = client("support").get("/panel/messages/balance/")
    manager = client("manager", "North").get("/panel/messages/balance/")

    assert re.search(r'class="credit">765,400 Toman<', page), page
    assert re.search(r'class="today">330 Toman<', page)
    assert re.search(r'class="left">499,670 Toman<', page)
    assert support.status_code == 200 and manager.status_code == 403


def test_the_webhooks_page_shows_failures_never_a_secret_and_switches_an_endpoint(chain: Hub):
    from hub.integration import endpoints, sealing
    from hub.integration.models import Endpoint

    # As endpoints.add leaves one (which resolves the host: none here is real).
    secret = endpoints.new_secret()
    made = Endpoint.objects.create(
        url="https://crm.example.com/hook",
        sealed_secret=sealing.seal(secret),
        events=["member.enrolled"],
    )
    (event,) = chain.sql(
        "INSERT INTO hub_integration_event (event_id, type, payload, created_at, txid, scrubbed)"
        " VALUES ('evt_1', 'member.enrolled', '{}', now(), txid_current(), false) RETURNING id"
    )
    chain.sql(
        "INSERT INTO hub_integration_delivery (endpoint_id, event_id, state, attempts,"
        " next_attempt_at, last_status, last_error, created_at)"
        " VALUES (%s, %s, 'pending', 3, now() + interval '10 minutes', 503, 'HTTP 503', now())",
        made.pk,
        event[0],
    )
    owner = client("owner")

    page = owner.get("/panel/messages/webhooks/").content.decode()
    owner.post(f"/panel/messages/webhooks/{made.pk}/active", {"active": "0"})

    assert "HTTP 503" in page and "crm.example.com" in page
    assert secret not in page and "whsec_" not in page
    assert chain.sql("SELECT active FROM hub_integration_endpoint") == [(False,)]
    assert chain.sql(
        "SELECT action, subject FROM hub_audit_event WHERE action LIKE 'webhook.%%'"
    ) == [("webhook.pause", str(made.pk))]


def test_why_a_message_was_not_sent_reads_in_the_pages_language(chain: Hub):
    opted = message(chain, "c:o", "n1", "+989120000001", kind="campaign", state="cancelled")
    gateway = message(chain, "r:g", "n1", "+989120000001", state="failed")
    chain.sql("UPDATE hub_message SET error = 'opted out (reply)' WHERE id = %s", opted)
    chain.sql(
        "UPDATE hub_message SET error = 'kavenegar 411: receptor invalid' WHERE id = %s", gateway
    )

    persian = client("owner", language="fa").get("/panel/messages/").content.decode()
    support = client("support").get("/panel/messages/").content.decode()

    assert "عضو لغو کرده است" in persian and "opted out" not in persian
    assert "kavenegar 411: receptor invalid" in persian  # a gateway's own words, as they came
    assert "opted out" not in support and "receptor" not in support
