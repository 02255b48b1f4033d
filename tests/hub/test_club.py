"""The member's phone page (hub/club) through Django's test client, in this process, on a
real hub database: the whole sign-in, and every refusal (a wrong code, an expired one, too
many tries, the resend delay and the hourly limits, an unknown number answered as a
member's, a missing CSRF token, a session over), another member's data out of reach,
consent as the member's own (an opt-out for messaging, a record in the feed for kiosks),
and erasure at once, confirmed, fresh, and audited with the member as the actor.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.hub.conftest import Hub, hub
from tests.hub.test_messaging_support import add_member, messaging

__all__ = ["hub", "messaging"]  # fixtures, used by name

ANNA = "+989121110001"
BABAK = "+989121110002"
NOBODY = "+989129990009"


@pytest.fixture
def club(messaging: Hub) -> Hub:
    """Two members with points (Anna's through an alias merged into her), a program."""
    from hub.members.operations import adjust
    from hub.members.search import OWNER
    from hub.program.publish import current, publish_program
    from hub.program.rules import default_program

    add_member(messaging, "anna", ANNA)
    add_member(messaging, "babak", BABAK, consent=False)
    messaging.sql(
        "INSERT INTO hub_member (member_id, status, created_at, updated_at, received_at,"
        " consent_marketing, merged_into) VALUES ('anna-old', 'active', now(), now(), now(),"
        " false, 'anna')"
    )
    if current() is None:
        publish_program(default_program())
    adjust("anna", 350, "welcome", OWNER, actor="test", client_txn_id="t-anna")
    adjust("babak", 9000, "welcome", OWNER, actor="test", client_txn_id="t-babak")
    return messaging


def client(**options: Any) -> Any:
    from django.test import Client

    return Client(HTTP_HOST="127.0.0.1", **options)


def sms_code(hub: Hub, phone: str) -> str:
    """The last code texted to `phone`, read from the outbox as the gateway would send it."""
    rows = hub.sql(
        "SELECT body FROM hub_message WHERE phone = %s AND key LIKE 'club:%%' ORDER BY id DESC",
        phone,
    )
    assert rows, f"no code was queued for {phone}"
    found = re.search(r"\b(\d{5})\b", rows[0][0])
    assert found is not None
    return found.group(1)


def ask_code(browser: Any, phone: str) -> Any:
    return browser.post("/club/", {"phone": phone})


def sign_in(hub: Hub, browser: Any, phone: str = ANNA) -> Any:
    asked = ask_code(browser, phone)
    assert asked.status_code == 302 and asked["Location"] == "/club/code"
    return browser.post("/club/code", {"code": sms_code(hub, phone)})


def test_a_member_signs_in_with_persian_digits_and_sees_their_own_points(club: Hub):
    browser = client()
    asked = ask_code(browser, "۰۹۱۲ ۱۱۱ ۰۰۰۱")  # as a Persian keyboard types it
    assert asked.status_code == 302
    page = browser.get("/club/code")
    assert "+۹۸۹۱۲*****۰۱" in page.content.decode()
    done = browser.post("/club/code", {"code": sms_code(club, ANNA).translate(_FA)})
    assert done.status_code == 302 and done["Location"] == "/club/me"

    me = browser.get("/club/me").content.decode()
    assert 'id="balance">۳۵۰<' in me
    assert "یک قهوهٔ رایگان" in me  # 200 points: she can have it
    assert "می‌توانید بگیرید" in me
    assert "۱۵۰ امتیاز دیگر" in me  # the 500-point reward
    assert "۹۰۰۰" not in me and "۹٬۰۰۰" not in me  # never Babak's balance
    english = browser.get("/club/me?lang=en").content.decode()
    assert 'id="balance">350<' in english and "A free coffee" in english


def _same(page: Any, last_digits: str) -> str:
    """The page without what differs by design: the masked number and the CSRF token."""
    masked = f"+۹۸۹۱۲*****{last_digits}".translate(_FA)
    assert masked in page.content.decode()
    text = page.content.decode().replace(masked, "X")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)


_FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def test_an_unknown_number_gets_the_same_answer_and_no_sms(club: Hub):
    member, stranger = client(), client()
    known = ask_code(member, ANNA)
    unknown = ask_code(stranger, NOBODY)
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert set(known.cookies) == set(unknown.cookies)
    assert _same(member.get("/club/code"), "01") == _same(stranger.get("/club/code"), "09")
    assert club.sql("SELECT count(*) FROM hub_message WHERE phone = %s", NOBODY) == [(0,)]
    # Its limits are counted as a member's are: the resend delay answers the same too.
    assert ask_code(stranger, NOBODY).status_code == ask_code(member, ANNA).status_code == 429
    # No typed code signs in to a number that is no member.
    wrong = stranger.post("/club/code", {"code": "12345"})
    assert wrong.status_code == 400 and "/club/me" not in wrong.get("Location", "")


def test_a_bad_number_is_refused_without_a_code(club: Hub):
    refused = client().post("/club/", {"phone": "12"})
    assert refused.status_code == 400
    assert "این شمارهٔ همراه درست نیست" in refused.content.decode()
    assert club.sql("SELECT count(*) FROM hub_club_code") == [(0,)]


def test_a_wrong_code_costs_a_try_and_five_kill_the_code(club: Hub):
    browser = client()
    ask_code(browser, ANNA)
    right = sms_code(club, ANNA)
    wrong = "00000" if right != "00000" else "11111"
    first = browser.post("/club/code", {"code": wrong})
    assert first.status_code == 400 and "۴ بار دیگر" in first.content.decode()
    for _ in range(4):
        browser.post("/club/code", {"code": wrong})
    late = browser.post("/club/code", {"code": right})
    assert late.status_code == 400
    assert "این کد دیگر کار نمی‌کند" in late.content.decode()
    assert browser.get("/club/me")["Location"].startswith("/club/")


def test_an_expired_code_is_refused(club: Hub):
    browser = client()
    ask_code(browser, ANNA)
    club.sql("UPDATE hub_club_code SET expires_at = now() - interval '1 second'")
    late = browser.post("/club/code", {"code": sms_code(club, ANNA)})
    assert late.status_code == 400 and "این کد دیگر کار نمی‌کند" in late.content.decode()
    assert club.sql("SELECT state FROM hub_club_code") == [("expired",)]


def test_a_code_is_this_browsers_only(club: Hub):
    """Another browser (no signed cookie naming the code) cannot type it in."""
    ask_code(client(), ANNA)
    other = client()
    typed = other.post("/club/code", {"code": sms_code(club, ANNA)})
    assert typed.status_code == 302 and typed["Location"] == "/club/"
    forged = client()
    forged.cookies["club_pending"] = '{"id": 1, "phone": "+989121110001"}'
    assert forged.post("/club/code", {"code": sms_code(club, ANNA)})["Location"] == "/club/"


def test_resend_waits_and_a_phone_gets_five_codes_an_hour(club: Hub):
    browser = client()
    ask_code(browser, ANNA)
    again = browser.post("/club/code/resend")
    assert again.status_code == 429 and "ثانیهٔ دیگر" in again.content.decode()
    for _ in range(4):  # each a minute later: the delay passed, the hour not
        club.sql("UPDATE hub_club_code SET created_at = created_at - interval '61 seconds'")
        assert browser.post("/club/code/resend").status_code == 302
    club.sql("UPDATE hub_club_code SET created_at = created_at - interval '61 seconds'")
    assert browser.post("/club/code/resend").status_code == 429
    assert club.sql("SELECT count(*) FROM hub_message WHERE key LIKE 'club:%%'") == [(5,)]


def test_an_address_asks_for_at_most_twenty_codes_an_hour(club: Hub):
    browser = client()
    for n in range(20):
        assert ask_code(browser, f"+98912555{n:04d}").status_code == 302
    assert ask_code(browser, "+989125559999").status_code == 429
    assert ask_code(client(REMOTE_ADDR="10.0.0.9"), "+989125559999").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(club: Hub):
    strict = client(enforce_csrf_checks=True)
    refused = strict.post("/club/", {"phone": ANNA})
    assert refused.status_code == 403
    assert club.sql("SELECT count(*) FROM hub_club_code") == [(0,)]
    # The member's phone shows the first page again, in their language, saying what to do
    # (not Django's English page): Persian first.
    text = refused.content.decode()
    assert "این صفحه زیاد باز مانده بود" in text and 'name="phone"' in text
    english = strict.post("/club/?lang=en", {"phone": ANNA}).content.decode()
    assert "This page was open too long" in english
    browser = client()
    sign_in(club, browser)
    strict.cookies = browser.cookies
    assert strict.post("/club/consent", {"consent": "off"}).status_code == 403
    assert club.sql("SELECT consent_marketing FROM hub_member WHERE member_id = 'anna'") == [
        (True,)
    ]


@pytest.mark.parametrize(
    ("moved", "column"),
    [("16 minutes", "last_seen"), ("121 minutes", "created_at")],
    ids=["idle", "too-old"],
)
def test_a_session_ends_idle_or_old(club: Hub, moved: str, column: str):
    browser = client()
    sign_in(club, browser)
    assert browser.get("/club/me").status_code == 200
    club.sql(f"UPDATE hub_club_session SET {column} = {column} - interval '{moved}'")
    over = browser.get("/club/me")
    assert over.status_code == 302 and over["Location"] == "/club/?m=over"
    assert club.sql("SELECT count(*) FROM hub_club_session") == [(0,)]
    assert "دوباره وارد شوید" in browser.get("/club/?m=over").content.decode()


def test_a_session_just_within_its_idle_time_goes_on(club: Hub):
    browser = client()
    sign_in(club, browser)
    club.sql("UPDATE hub_club_session SET last_seen = last_seen - interval '14 minutes'")
    assert browser.get("/club/me").status_code == 200


def test_no_form_or_cookie_reaches_another_member(club: Hub):
    browser = client()
    sign_in(club, browser)
    # A member id in a form or the query is not read: the session names the member.
    browser.post("/club/consent", {"consent": "on", "member_id": "babak"})
    assert club.sql("SELECT consent_marketing FROM hub_member WHERE member_id = 'babak'") == [
        (False,)
    ]
    assert 'id="balance">۳۵۰<' in browser.get("/club/me?member_id=babak").content.decode()
    # A made-up session token opens nothing.
    stranger = client()
    stranger.cookies["club_session"] = "made-up"
    assert stranger.get("/club/me")["Location"] == "/club/?m=over"
    # The database keeps the token's hash only: the cookie cannot be read back from it.
    token = browser.cookies["club_session"].value
    assert club.sql("SELECT count(*) FROM hub_club_session WHERE token_hash = %s", token) == [(0,)]


def test_consent_off_is_the_members_own_and_reaches_messaging_and_kiosks(club: Hub):
    browser = client()
    sign_in(club, browser)
    done = browser.post("/club/consent", {"consent": "off"})
    assert done["Location"] == "/club/me?saved=1"
    page = browser.get(done["Location"]).content.decode()
    assert "خاموش است" in page and "انتخاب شما ذخیره شد" in page
    assert club.sql("SELECT consent_marketing FROM hub_member WHERE member_id = 'anna'") == [
        (False,)
    ]
    assert club.sql("SELECT via FROM hub_message_opt_out WHERE phone = %s", ANNA) == [("club",)]
    # The kiosks hear it: a member change in the feed, consent off.
    ((data,),) = club.sql(
        "SELECT data FROM hub_change WHERE type = 'member' ORDER BY cursor DESC LIMIT 1"
    )
    assert data["member_id"] == "anna" and data["consent_marketing"] is False
    ((actor, role, detail),) = club.sql(
        "SELECT actor_name, role, detail FROM hub_audit_event WHERE action = 'club.consent'"
    )
    assert (actor, role, detail["consent"]) == ("member", "member", False)
    # And on again: given after the opt-out, marketing may go to her again.
    browser.post("/club/consent", {"consent": "on"})
    from hub.members.models import Member
    from hub.messaging.limits import opted_out

    anna = Member.objects.get(pk="anna")
    assert anna.consent_marketing and not opted_out(ANNA, anna.consent_at)
    assert anna.consent_version is not None and anna.consent_version.startswith("club-")
    ((data,),) = club.sql(
        "SELECT data FROM hub_change WHERE type = 'member' ORDER BY cursor DESC LIMIT 1"
    )
    assert data["consent_marketing"] is True and data["consent_version"] == anna.consent_version


def test_erasure_is_confirmed_fresh_and_audited(club: Hub):
    browser = client()
    sign_in(club, browser)
    unconfirmed = browser.post("/club/erase", {})
    assert unconfirmed.status_code == 400
    assert club.sql("SELECT status FROM hub_member WHERE member_id = 'anna'") == [("active",)]
    club.sql("UPDATE hub_club_session SET created_at = now() - interval '11 minutes'")
    stale = browser.post("/club/erase", {"confirm": "yes"})
    assert stale.status_code == 403 and "دوباره با کد پیامکی" in stale.content.decode()
    assert club.sql("SELECT status FROM hub_member WHERE member_id = 'anna'") == [("active",)]

    club.sql("UPDATE hub_club_code SET created_at = created_at - interval '61 seconds'")
    fresh = client()
    sign_in(club, fresh)
    done = fresh.post("/club/erase", {"confirm": "yes"})
    assert done["Location"] == "/club/?m=erased"
    assert club.sql(
        "SELECT member_id, status, phone FROM hub_member WHERE member_id IN ('anna', 'anna-old')"
        " ORDER BY member_id"
    ) == [("anna", "erased", None), ("anna-old", "erased", None)]
    ((actor, subject, detail),) = club.sql(
        "SELECT actor_name, subject, detail FROM hub_audit_event WHERE action = 'club.erase'"
    )
    assert (actor, subject, sorted(detail["ids"])) == ("member", "anna", ["anna", "anna-old"])
    assert club.sql("SELECT count(*) FROM hub_club_session") == [(0,)]
    assert browser.get("/club/me")["Location"] == "/club/?m=over"  # her other session too
    # Babak is untouched.
    assert club.sql("SELECT status FROM hub_member WHERE member_id = 'babak'") == [("active",)]


def test_the_pages_headers_and_cookies(club: Hub):
    browser = client()
    page = browser.get("/club/")
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert page["Cache-Control"] == "no-store"
    assert 'dir="rtl"' in page.content.decode()
    done = sign_in(club, browser)
    cookie = done.cookies["club_session"]
    assert cookie["samesite"] == "Strict" and cookie["httponly"] and cookie["path"] == "/club/"
    assert "hub_session" not in done.cookies  # not the panel's session
    assert browser.get("/panel/")["Location"].startswith("/panel/sign-in")
    signed_out = browser.post("/club/sign-out")
    assert signed_out["Location"] == "/club/?m=out"
    assert browser.get("/club/me")["Location"] in ("/club/", "/club/?m=over")


def test_behind_https_the_cookies_are_secure(club: Hub):
    from django.test import override_settings

    with override_settings(HUB_HTTPS=True):
        browser = client()
        asked = ask_code(browser, ANNA)
        assert asked.cookies["club_pending"]["secure"]
        done = browser.post("/club/code", {"code": sms_code(club, ANNA)})
        assert done.cookies["club_session"]["secure"]
    plain = client()
    club.sql("UPDATE hub_club_code SET created_at = created_at - interval '61 seconds'")
    assert not ask_code(plain, ANNA).cookies["club_pending"]["secure"]  # loopback, tests
