"""The messages pages in a real browser, on a real hub: the owner previews a campaign to a
branch's members and sends it (the outbox then holds exactly the members the preview
counted); support sees no digit of a phone; a manager sees no other branch's messages and
no campaign page; a template with an unknown placeholder is refused in Persian; a webhook
endpoint's failing deliveries show. (Django test-client tests: test_messages_client.py.)
"""

from __future__ import annotations

import itertools
import re
import secrets
from typing import Any

from tests.hub.conftest import run_hub
from tests.panel.conftest import BRANCH, OTHER_BRANCH, PanelHub, sql

_numbers = itertools.count(1)


def new_branch(panel_hub: PanelHub) -> tuple[int, str]:
    """A branch of the test's own (the panel hub is shared by every test of the session)."""
    name = f"Messages-{secrets.token_hex(3)}"
    panel_hub.hub.run("branch", "add", name)
    ((branch_id,),) = sql(panel_hub, "SELECT id FROM hub_branch WHERE name = %s", name)
    return int(branch_id), name


def member_at(
    panel_hub: PanelHub, branch: str, *, consent: bool = True, language: str = "fa"
) -> tuple[str, str]:
    """A member of `branch` (as a kiosk's push leaves one): their id and phone."""
    member_id = f"msg-{secrets.token_hex(4)}"
    phone = f"+98912{secrets.randbelow(10**7):07d}"
    sql(
        panel_hub,
        "INSERT INTO hub_member (member_id, status, created_at, updated_at, received_at, phone,"
        " language, consent_marketing, consent_version, consent_at)"
        " VALUES (%s, 'active', now(), now(), now(), %s, %s, %s, %s, %s)",
        member_id,
        phone,
        language,
        consent,
        "v3" if consent else None,
        "2026-01-01T00:00:00Z" if consent else None,
    )
    sql(
        panel_hub,
        "INSERT INTO hub_branch_member (branch_id, member_id, since)"
        " SELECT id, %s, now() FROM hub_branch WHERE name = %s",
        member_id,
        branch,
    )
    return member_id, phone


def receipt_to(panel_hub: PanelHub, member_id: str, phone: str) -> int:
    """A receipt sent to the member, as the outbox's worker leaves one."""
    ((message_id,),) = sql(
        panel_hub,
        "INSERT INTO hub_message (key, kind, phone, member_id, language, body, marketing,"
        " state, attempts, not_before, expires_at, parts, cost, gateway, error, created_at,"
        " sent_at) VALUES (%s, 'receipt', %s, %s, 'fa', 'body', false, 'sent', 1, now(),"
        " now() + interval '1 day', 1, 1100, 'kavenegar', '', now(), now()) RETURNING id",
        f"receipt:test:{next(_numbers)}:{member_id}",
        phone,
        member_id,
    )
    return int(message_id)


def test_the_owner_previews_a_campaign_to_a_branch_and_sends_it_to_those_counted(
    page: Any, panel_hub: PanelHub, signed_in: Any
):
    _branch_id, branch = new_branch(panel_hub)
    persian, _ = member_at(panel_hub, branch)
    english, _ = member_at(panel_hub, branch, language="en")
    refused, _ = member_at(panel_hub, branch, consent=False)
    signed_in(page, "owner")

    page.goto("/panel/messages/campaigns/")
    page.select_option("select[name=branch]", label=branch)
    page.fill("textarea[name=text_fa]", "۲۰٪ تخفیف این هفته")
    page.fill("textarea[name=text_en]", "20% off this week")
    with page.expect_navigation():
        page.click("form.campaign-form button.primary")
    reached = page.inner_text(".preview .reached")
    without = page.inner_text(".preview .refused")
    parts = page.inner_text(".preview .parts")
    cost = page.inner_text(".preview .cost")
    queued_before = sql(
        panel_hub,
        "SELECT count(*) FROM hub_message WHERE member_id = ANY(%s)",
        [persian, english, refused],
    )
    page.dblclick(".preview button.send")  # pressed twice: the form's key queues once
    # The second press may abort the first press's navigation (the browser sends the form
    # again): wait for the page either one lands on, not for the first navigation.
    page.wait_for_url(re.compile(r"/panel/messages/campaigns/$"))
    page.goto("/panel/messages/campaigns/")

    assert (reached, without) == ("۲", "۱")
    assert re.fullmatch(r"[۰-۹]+", parts) and int(parts.translate(_ASCII)) >= 2
    assert cost.endswith("تومان")
    assert queued_before == [(0,)]
    sent = sql(
        panel_hub,
        "SELECT member_id, language, marketing FROM hub_message"
        " WHERE kind = 'campaign' AND member_id = ANY(%s) ORDER BY language",
        [persian, english, refused],
    )
    assert sent == [(english, "en", True), (persian, "fa", True)]
    row = page.locator("table.campaigns tbody tr").first
    assert branch in row.inner_text()
    assert row.locator(".queued").inner_text() == "۲"


_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")


def test_support_sees_no_digit_of_a_phone_in_the_log(page: Any, panel_hub: PanelHub, signed_in):
    member_id, phone = member_at(panel_hub, BRANCH)
    message_id = receipt_to(panel_hub, member_id, phone)
    signed_in(page, "support")

    page.goto("/panel/messages/")
    row = page.locator(f"tr[data-message='{message_id}']")
    shown = row.locator(".phone").inner_text()

    assert shown == "••••"
    assert not any(c.isdigit() for c in shown)
    assert phone[-4:] not in page.content() and phone[-4:].translate(_PERSIAN) not in page.content()
    assert row.locator("button.show").count() == 0
    token = page.locator("form.language input[name=csrfmiddlewaretoken]").get_attribute("value")
    answer = page.request.post(
        f"/panel/messages/{message_id}/show", form={"csrfmiddlewaretoken": token or ""}
    )
    assert answer.status == 403
    assert phone[-4:] not in answer.text()


_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def test_the_owner_shows_one_phone_and_it_is_audited(page: Any, panel_hub: PanelHub, signed_in):
    member_id, phone = member_at(panel_hub, BRANCH)
    message_id = receipt_to(panel_hub, member_id, phone)
    signed_in(page, "owner")

    page.goto("/panel/messages/")
    masked = page.inner_text(f"tr[data-message='{message_id}'] .phone")
    with page.expect_navigation():
        page.click(f"tr[data-message='{message_id}'] button.show")
    shown = page.inner_text(f"tr[data-message='{message_id}'] .phone")

    assert "***" in masked
    assert shown == phone.translate(_PERSIAN)
    assert sql(
        panel_hub,
        "SELECT count(*) FROM hub_audit_event WHERE action = 'message.show_phone' AND subject = %s",
        str(message_id),
    ) == [(1,)]


def test_a_manager_sees_no_other_branchs_messages_and_no_campaign_page(
    page: Any, panel_hub: PanelHub, signed_in: Any
):
    mine, my_phone = member_at(panel_hub, BRANCH)
    theirs, their_phone = member_at(panel_hub, OTHER_BRANCH)
    my_message = receipt_to(panel_hub, mine, my_phone)
    their_message = receipt_to(panel_hub, theirs, their_phone)
    signed_in(page, "manager", branch=BRANCH)

    page.goto("/panel/messages/")
    listed = page.locator("tr[data-message]").evaluate_all(
        "rows => rows.map(r => r.dataset.message)"
    )
    campaigns = page.goto("/panel/messages/campaigns/")
    webhooks = page.goto("/panel/messages/webhooks/")

    assert str(my_message) in listed
    assert str(their_message) not in listed
    assert campaigns is not None and campaigns.status == 403
    assert webhooks is not None and webhooks.status == 403
    page.goto("/panel/messages/")
    assert page.locator("nav.tabs a", has_text="کمپین").count() == 0


def test_a_template_with_an_unknown_placeholder_is_refused_in_persian(
    page: Any, panel_hub: PanelHub, signed_in: Any
):
    signed_in(page, "owner")
    before = sql(panel_hub, "SELECT body FROM hub_message_template WHERE kind = 'receipt'")

    page.goto("/panel/messages/templates/")
    card = page.locator("section.wording[data-kind=receipt][data-language=fa]")
    card.locator("textarea").fill("{shop}: {points} امتیاز، هدیه: {bonus}")
    with page.expect_navigation():
        card.locator("button[value=save]").click()
    card = page.locator("section.wording[data-kind=receipt][data-language=fa]")
    said = card.locator("[role=alert]").inner_text()

    assert "جاینگهدار ناشناخته" in said and "{bonus}" in said
    assert sql(panel_hub, "SELECT body FROM hub_message_template WHERE kind = 'receipt'") == before


def test_a_failing_webhook_endpoints_failures_show_and_never_its_secret(
    page: Any, panel_hub: PanelHub, signed_in: Any
):
    url = f"http://127.0.0.1:9/hook-{secrets.token_hex(3)}"  # the discard port: nothing answers
    env = panel_hub.hub.env | {"HUB_WEBHOOK_ALLOW_PRIVATE": "1"}
    added = run_hub(env, "webhook", "add", url, "--events", "member.enrolled")
    secret = re.search(r"whsec_[A-Za-z0-9_-]+", added.stdout)
    assert secret is not None, added.stdout
    ((endpoint,),) = sql(panel_hub, "SELECT id FROM hub_integration_endpoint WHERE url = %s", url)
    ((event,),) = sql(
        panel_hub,
        "INSERT INTO hub_integration_event (event_id, type, payload, created_at, txid, scrubbed)"
        " VALUES (%s, 'member.enrolled', '{}', now(), txid_current(), false) RETURNING id",
        f"evt_{secrets.token_hex(8)}",
    )
    # As the worker leaves a delivery that found no one listening, three times.
    sql(
        panel_hub,
        "INSERT INTO hub_integration_delivery (endpoint_id, event_id, state, attempts,"
        " next_attempt_at, last_status, last_error, created_at)"
        " VALUES (%s, %s, 'pending', 3, now() + interval '8 minutes', NULL,"
        " 'connection refused', now())",
        endpoint,
        event,
    )
    signed_in(page, "owner")

    page.goto("/panel/messages/webhooks/")
    row = page.locator(f"tr[data-endpoint='{endpoint}']")
    failure = row.locator(".last-failure").inner_text()
    with page.expect_navigation():
        row.locator("button.disable").click()

    assert "connection refused" in failure
    assert "connection refused" in page.locator("table.deliveries").inner_text()
    assert secret.group(0) not in page.content() and "whsec_" not in page.content()
    assert sql(
        panel_hub, "SELECT active FROM hub_integration_endpoint WHERE id = %s", endpoint
    ) == [(False,)]
    assert page.locator(f"tr[data-endpoint='{endpoint}'] button.enable").count() == 1
