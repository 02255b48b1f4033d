"""Issue 20's rules edited in the owner's program form, in a real browser on a real hub.

An owner adds a limited-time offer and changes the referral bonus, sees what publishing
would change named in the preview, and publishes one signed version (audited); an hour
that is no hour (25:00) is said beside its field and nothing is published; a manager can
neither open the form nor post to it (the page is the owner's: access.panel_page).
"""

from __future__ import annotations

from typing import Any

from tests.panel.conftest import BRANCH, PanelHub, sql, switch_language


def newest(panel_hub: PanelHub) -> int:
    ((version,),) = sql(panel_hub, "SELECT max(version) FROM hub_program")
    return int(version)


def new_offer(page: Any) -> str:
    """The prefix of the empty offer card, the one to type a new offer in."""
    card = page.locator("fieldset.offer").last
    return f"offer-{card.get_attribute('data-offer')}"


def field_cell(page: Any, name: str) -> Any:
    """The label around a field: where its message is said."""
    return page.locator(f"[name='{name}']").locator("xpath=..")


def test_an_owner_adds_an_offer_changes_the_referral_bonus_previews_and_publishes(
    page, panel_hub: PanelHub, signed_in
):
    panel_hub.hub.new_device(BRANCH)  # the branch exists: the offer may name it
    owner = signed_in(page, "owner")
    page.goto("/panel/program/")
    switch_language(page)
    before = newest(panel_hub)
    offer = new_offer(page)
    referrer_was = page.input_value("input[name='referral-referrer_bonus']")
    assert page.locator("fieldset.offer[data-offer] legend").last.inner_text() == "A new offer"

    page.fill(f"input[name='{offer}-id']", "double-t4")
    page.fill(f"input[name='{offer}-name_fa']", "امتیاز دوبرابر")
    page.fill(f"input[name='{offer}-name_en']", "Double points")
    page.fill(f"input[name='{offer}-multiplier']", "2")
    page.fill(f"input[name='{offer}-from_time']", "12:00")
    page.fill(f"input[name='{offer}-until_time']", "14:00")
    page.check(f"input[name='{offer}-weekday-sat']")
    page.locator(f"fieldset.offer[data-offer] label:has-text('{BRANCH}') input").last.check()
    page.check("input[name='referral-enabled']")
    page.fill("input[name='referral-referrer_bonus']", "275")
    page.fill("input[name='referral-referee_bonus']", "100")
    with page.expect_navigation():
        page.click("button[value=preview]")

    pending = page.locator(".pending").inner_text()
    assert "Limited-time offers · Double points: added" in pending
    assert f"Referrals: Referrer's bonus {referrer_was} → 275" in pending
    assert newest(panel_hub) == before  # a preview publishes nothing

    with page.expect_navigation():
        page.click("button[value=publish]")
    assert page.locator(".said").is_visible()
    assert newest(panel_hub) == before + 1
    ((data,),) = sql(panel_hub, "SELECT data FROM hub_program WHERE version = %s", before + 1)
    (added,) = [o for o in data["offers"] if o["id"] == "double-t4"]
    assert (added["multiplier"], added["weekdays"], added["branches"]) == ("2", ["sat"], [BRANCH])
    assert (added["from_time"], added["until_time"]) == ("12:00", "14:00")
    assert data["referral"]["enabled"] is True and data["referral"]["referrer_bonus"] == 275
    ((detail,),) = sql(
        panel_hub,
        "SELECT detail FROM hub_audit_event WHERE action = 'program.publish' AND subject = %s",
        f"version {before + 1}",
    )
    assert "offers:double-t4" in detail["changes"]
    assert "referral:referral.referrer_bonus" in detail["changes"]
    row = page.locator(f".history tr[data-version='{before + 1}']")
    assert owner.name in row.inner_text() and "Double points" in row.inner_text()
    # The form shows what is now in force: the offer's card, and one empty after it.
    assert page.input_value(f"input[name='{offer}-id']") == "double-t4"
    switch_language(page)
    history = page.locator(f".history tr[data-version='{before + 1}']").inner_text()
    assert "امتیاز دوبرابر" in history and "۲۷۵" in history


def test_an_hour_that_is_no_hour_is_said_beside_it_and_nothing_is_published(
    page, panel_hub: PanelHub, signed_in
):
    signed_in(page, "owner")
    page.goto("/panel/program/")
    assert page.get_attribute("html", "dir") == "rtl"  # Persian first
    before = newest(panel_hub)
    offer = new_offer(page)
    page.fill(f"input[name='{offer}-id']", "late-night")
    page.fill(f"input[name='{offer}-name_fa']", "شب")
    page.fill(f"input[name='{offer}-name_en']", "Night")
    page.fill(f"input[name='{offer}-bonus']", "۲۰")
    page.fill(f"input[name='{offer}-from_time']", "۲۵:۰۰")

    with page.expect_navigation() as navigation:
        page.click("button[value=publish]")

    assert navigation.value.status == 400
    said = field_cell(page, f"{offer}-from_time").inner_text()
    assert "ساعت را از ۰۰:۰۰ تا ۲۴:۰۰ بنویسید" in said
    assert page.input_value(f"input[name='{offer}-from_time']") == "۲۵:۰۰"  # kept as typed
    assert page.locator("[role=alert]").first.is_visible()
    assert newest(panel_hub) == before
    assert page.locator(".pending").count() == 0


def test_a_manager_can_neither_open_nor_post_the_program_form(page, panel_hub: PanelHub, signed_in):
    signed_in(page, "manager", branch=BRANCH)
    before = newest(panel_hub)

    opened = page.goto("/panel/program/")
    assert opened is not None and opened.status == 403
    page.goto("/panel/program/devices/")  # a page of theirs: the CSRF cookie is set
    token = {c["name"]: c["value"] for c in page.context.cookies()}.get("csrftoken", "")
    posted = page.request.post(
        "/panel/program/",
        headers={"X-CSRFToken": token, "Referer": panel_hub.url + "/panel/"},
        form={"action": "publish", "show_member_count": "on", "mode": "points"},
    )

    assert posted.status == 403
    assert newest(panel_hub) == before
