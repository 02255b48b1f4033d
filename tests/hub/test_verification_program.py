"""The chain's verification setting, in its signed program: the hub and kiosks read it.

`verification: {"link_card": true, "enroll": false}` by default (hub/program/rules.py).
The hub holds back what a push links or enrolls without the code the program asks for
(hub/verification/links.py), whatever the pushing kiosk's own configuration says. A real
hub (`hub serve` on loopback, real PostgreSQL); programs published with `hub program
publish`, as the owner does.
"""

from __future__ import annotations

import json
import re
from base64 import b32decode
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django_otp.oath import TOTP  # type: ignore[import-untyped]

from hub.program.diff import diff
from hub.program.draft import values_of
from hub.program.rules import default_program
from sync.owner_key import OwnerKey
from tests.hub.conftest import Hub, HubServer
from tests.hub.wire import Server, Wire, member, new_id

PHONE = "+989121234567"
PASSWORD = "a long passphrase, 4 words"


@pytest.fixture
def server(hub: Hub) -> Iterator[Server]:
    running = HubServer(hub).start()
    yield Server("hub", running.url, hub=hub)
    running.stop(graceful=False)


def publish(hub: Hub, tmp_path: Path, **verification: Any) -> None:
    """A new program version with this verification setting (the rest as in force)."""
    program = hub.json("program", "show", "--json")
    program["verification"] = verification
    (tmp_path / "p.json").write_text(json.dumps(program))
    hub.run("program", "publish", str(tmp_path / "p.json"))


def code_typed(hub: Hub, wire: Wire, purpose: str, **more: Any) -> str:
    """Ask for a code, type the one the SMS carries; the proof."""
    sent = wire.send("POST", "/v2/verify", {"phone": PHONE, "purpose": purpose} | more)
    verification_id = sent.json()["verification_id"]
    body = hub.sql("SELECT body FROM hub_message WHERE key = %s", f"verification:{verification_id}")
    code = re.findall(r"[0-9]{5}", body[0][0])[0]
    answer = wire.send(
        "POST", "/v2/verify/check", {"verification_id": verification_id, "code": code}
    )
    assert answer.status_code == 200
    proof: str = answer.json()["proof"]
    return proof


def cards(hub: Hub, member_id: str) -> list[str]:
    rows = hub.sql("SELECT uid FROM hub_card WHERE member_id = %s ORDER BY uid", member_id)
    return [row[0] for row in rows]


def flags(hub: Hub) -> list[str]:
    return [row[0] for row in hub.sql("SELECT code FROM hub_flag ORDER BY id")]


def consent(hub: Hub, member_id: str) -> bool:
    return bool(
        hub.sql("SELECT consent_marketing FROM hub_member WHERE member_id = %s", member_id)[0][0]
    )


def enrolled(**fields: Any) -> dict[str, Any]:
    """A new member's record: this phone, a card, marketing consent given."""
    return member(
        new_id(),
        phone=PHONE,
        cards=[{"uid": "BBBB0002", "status": "active"}],
        consent_marketing=True,
        consent_version="v1",
        consent_at="2026-11-20T10:00:00.000000Z",
        **fields,
    )


def test_a_new_chain_asks_a_code_to_link_a_card_and_none_to_enroll(hub: Hub):
    program = hub.json("program", "show", "--json")
    shown = hub.run("program", "show").stdout

    assert program["verification"] == {"link_card": True, "enroll": False}
    assert "verification: link_card on, enroll off" in shown


def test_the_owner_can_turn_the_link_check_off_and_the_hub_then_takes_the_link(
    hub: Hub, server: Server, tmp_path: Path
):
    home, kiosk = Wire(server), Wire(server)
    holder = member(new_id(), phone=PHONE, cards=[{"uid": "AAAA0001", "status": "active"}])
    home.push([], [holder])
    linked = holder | {"cards": [*holder["cards"], {"uid": "BBBB0002", "status": "active"}]}

    publish(hub, tmp_path, link_card=False, enroll=False)
    kiosk.push([], [linked])

    assert cards(hub, holder["member_id"]) == ["AAAA0001", "BBBB0002"]
    assert flags(hub) == []


def test_an_enrollment_without_the_code_is_held_when_the_program_asks_for_one(
    hub: Hub, server: Server, tmp_path: Path
):
    publish(hub, tmp_path, link_card=True, enroll=True)
    record = enrolled()

    answer = Wire(server).push([], [record])

    assert answer.status_code == 200  # the push goes on: the member is kept, held back
    assert cards(hub, record["member_id"]) == []
    assert consent(hub, record["member_id"]) is False  # no marketing to an unproven phone
    assert flags(hub) == ["enroll_unverified"]


def test_an_enrollment_with_the_code_typed_is_taken_whole_and_the_code_used(
    hub: Hub, server: Server, tmp_path: Path
):
    publish(hub, tmp_path, link_card=True, enroll=True)
    kiosk = Wire(server)
    code_typed(hub, kiosk, "enroll", card="BBBB0002")
    record = enrolled()

    kiosk.push([], [record])

    assert cards(hub, record["member_id"]) == ["BBBB0002"]
    assert consent(hub, record["member_id"]) is True
    assert hub.sql("SELECT state FROM hub_verification") == [("used",)]  # served once
    assert flags(hub) == []


def test_another_kiosks_enrollment_code_does_not_vouch_for_this_one(
    hub: Hub, server: Server, tmp_path: Path
):
    publish(hub, tmp_path, link_card=True, enroll=True)
    code_typed(hub, Wire(server), "enroll")

    Wire(server).push([], [enrolled()])

    assert flags(hub) == ["enroll_unverified"]


def test_a_cashiers_approval_of_an_enrollment_is_taken_and_flagged(
    hub: Hub, server: Server, tmp_path: Path
):
    publish(hub, tmp_path, link_card=True, enroll=True)
    approval = {"purpose": "enroll", "approved_by": "cashier-7", "reason": "hub unreachable"}
    record = enrolled(verification=[approval])

    kiosk = Wire(server)
    kiosk.push([], [record])
    feed = [c["data"] for c in kiosk.changes()["changes"] if c["type"] == "member"]

    assert cards(hub, record["member_id"]) == ["BBBB0002"]
    assert hub.sql("SELECT code, detail FROM hub_flag") == [
        ("enroll_approved", {"approved_by": "cashier-7", "reason": "hub unreachable"})
    ]
    assert feed and all("verification" not in data for data in feed)


def test_enrollments_need_no_code_while_the_program_asks_none(hub: Hub, server: Server):
    record = enrolled()

    Wire(server).push([], [record])

    assert cards(hub, record["member_id"]) == ["BBBB0002"]
    assert flags(hub) == []


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"link_card": "yes"}, "verification's link_card must be true or false"),
        ({"sms": True}, "verification has an unknown field 'sms'"),
        (True, "verification must be an object"),
    ],
)
def test_a_bad_verification_setting_is_not_published(
    hub: Hub, tmp_path: Path, given: object, said: str
):
    program = hub.json("program", "show", "--json") | {"verification": given}
    (tmp_path / "p.json").write_text(json.dumps(program))

    refused = hub.run("program", "publish", str(tmp_path / "p.json"), check=False)

    assert refused.returncode == 1 and said in refused.stderr
    assert hub.sql("SELECT max(version) FROM hub_program") == [(1,)]


# -- the panel's program form --------------------------------------------------------


def _owner_session(hub: Hub, url: str) -> requests.Session:
    """An owner signed in to the panel (password and TOTP code), as a browser would be."""
    done = hub.run("user", "add", "owner1", "--role", "owner", stdin=PASSWORD + "\n")
    uri = next(line.strip() for line in done.stdout.splitlines() if "otpauth://" in line)
    secret = b32decode(parse_qs(urlsplit(uri).query)["secret"][0])
    session = requests.Session()
    page = session.get(url + "/panel/sign-in", timeout=30)
    form = {
        "csrfmiddlewaretoken": _csrf(page.text),
        "username": "owner1",
        "password": PASSWORD,
        "code": f"{TOTP(secret).token():06d}",
        "next": "",
    }
    signed = session.post(url + "/panel/sign-in", data=form, timeout=30)
    assert urlsplit(signed.url).path == "/panel/", signed.text[:500]
    return session


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_the_owner_turns_enrollment_codes_on_in_the_panel_a_new_signed_version(
    hub: Hub, server: Server
):
    session = _owner_session(hub, server.url)
    page = session.get(server.url + "/panel/program/", timeout=30)
    shown = {
        name: bool(re.search(rf'name="verification-{name}" checked', page.text))
        for name in ("link_card", "enroll")
    }
    current = {k: v for k, v in hub.json("program", "show", "--json").items() if k != "version"}
    values = values_of(current, "toman") | {"verification-enroll": "on"}

    published = session.post(
        server.url + "/panel/program/",
        data=values | {"action": "publish", "csrfmiddlewaretoken": _csrf(page.text)},
        timeout=30,
    )
    ((data, signature),) = hub.sql(
        "SELECT data, signature FROM hub_change WHERE type = 'program' ORDER BY cursor DESC LIMIT 1"
    )
    ((key, chain),) = hub.sql("SELECT public_key, chain_id FROM hub_owner")

    assert shown == {"link_card": True, "enroll": False}
    assert published.status_code == 200
    assert data["version"] == 2
    assert data["verification"] == {"link_card": True, "enroll": True}
    assert OwnerKey.parse(key, chain).verify("program", data, signature)
    assert re.search(r'name="verification-enroll" checked', published.text)


def asks_no_codes(hub: Hub, directory: Path) -> None:
    """Publish a program that asks no code (for tests of what verification would hide: two
    offline branches' enrollments of one phone merged, each with its own card)."""
    program = hub.json("program", "show", "--json")
    program["verification"] = {"link_card": False, "enroll": False}
    (directory / "no-codes.json").write_text(json.dumps(program))
    hub.run("program", "publish", str(directory / "no-codes.json"))


def test_the_history_shows_a_verification_change_as_on_and_off_and_an_unsaid_one_as_none():
    before = default_program()
    unsaid = {k: v for k, v in before.items() if k != "verification"}
    after = default_program() | {"verification": {"link_card": True, "enroll": True}}

    (change,) = diff(before, after)

    assert diff(unsaid, before) == []  # a program from before the setting asks as the default
    assert (change.section, change.field) == ("verification", "verification.enroll")
    assert (change.before.en, change.after.en) == ("off", "on")
    assert change.field_name.fa == "کد برای عضویت"
