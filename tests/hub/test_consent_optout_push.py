"""An opt-out at the hub against a kiosk's record pushed later, on a real `hub serve`.

The member opts out by the link (real HTTP, the button's POST); a kiosk that had not
pulled it then pushes the member's record as it knew it (the name corrected, so the record
is newer, its consent older). The hub keeps the opt-out, and tells the kiosks so; a consent
given at the counter after the opt-out wins.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from django.core import signing

from tests.hub.conftest import Hub, HubServer
from tests.hub.test_messaging_support import messaging
from tests.hub.wire import Server, Wire, member, new_id

__all__ = ["messaging"]


@pytest.fixture
def wire(messaging: Hub, hub: Hub, hub_server: HubServer) -> Wire:
    # messaging: this process's Django on the hub's database (the link is signed with it)
    return Wire(Server("hub", hub_server.url, hub=hub))


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def opt_out_by_link(hub: Hub, server: HubServer, member_id: str) -> None:
    """What the member does with the link of a marketing message: open it, press the button."""
    secret = (hub.data_dir / "secret-key").read_text().strip()
    signed = signing.Signer(key=secret, salt="hub.messaging.stop").sign(member_id)
    link = f"{server.url}/sms/stop/{signed}"
    browser = requests.Session()
    browser.trust_env = False
    page = browser.get(link, timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None, page.text
    done = browser.post(
        link, data={"csrfmiddlewaretoken": token.group(1)}, headers={"Referer": link}, timeout=30
    )
    assert done.status_code == 200, done.text


def held_consent(hub: Hub, member_id: str) -> tuple[Any, ...]:
    (row,) = hub.sql(
        "SELECT consent_marketing, consent_version FROM hub_member WHERE member_id = %s",
        member_id,
    )
    return tuple(row)


def last_member_change(wire: Wire, member_id: str) -> dict[str, Any]:
    """The member's record as the kiosks hear it, in the latest change of the feed."""
    found: dict[str, Any] = {}
    cursor = 0
    while True:
        page = wire.changes(cursor)
        for change in page["changes"]:
            if change["type"] == "member" and change["data"]["member_id"] == member_id:
                found = change["data"]
        if not page["more"]:
            return found
        cursor = page["next_cursor"]


def test_a_kiosks_older_record_pushed_after_an_opt_out_does_not_undo_it(
    hub: Hub, hub_server: HubServer, wire: Wire
) -> None:
    member_id = new_id()
    agreed = datetime.now(UTC) - timedelta(days=30)
    consented = member(
        member_id,
        updated=stamp(agreed),
        consent_marketing=True,
        consent_version="v3",
        consent_at=stamp(agreed),
    )
    assert wire.push([], [consented]).status_code == 200
    opt_out_by_link(hub, hub_server, member_id)
    assert held_consent(hub, member_id) == (False, "v3")

    # The kiosk had not pulled the opt-out: the name corrected there now, the consent as it
    # knew it.
    later = consented | {"updated_at": stamp(datetime.now(UTC)), "name": "Sara Ahmadi"}
    pushed = wire.push([], [later])

    assert pushed.status_code == 200, pushed.text
    assert held_consent(hub, member_id) == (False, "v3")
    heard = last_member_change(wire, member_id)
    assert heard["consent_marketing"] is False  # the kiosks hear the opt-out back
    assert heard["name"] == "Sara Ahmadi"  # the rest of the record is taken


def test_a_consent_given_at_the_counter_after_the_opt_out_wins(
    hub: Hub, hub_server: HubServer, wire: Wire
) -> None:
    member_id = new_id()
    agreed = datetime.now(UTC) - timedelta(days=30)
    consented = member(
        member_id,
        updated=stamp(agreed),
        consent_marketing=True,
        consent_version="v3",
        consent_at=stamp(agreed),
    )
    assert wire.push([], [consented]).status_code == 200
    opt_out_by_link(hub, hub_server, member_id)

    again = datetime.now(UTC) + timedelta(seconds=1)  # the shopper says yes at the counter
    renewed = consented | {
        "updated_at": stamp(again),
        "consent_marketing": True,
        "consent_version": "v4",
        "consent_at": stamp(again),
    }
    assert wire.push([], [renewed]).status_code == 200

    assert held_consent(hub, member_id) == (True, "v4")


def test_a_consent_dated_past_the_hubs_clock_does_not_outrank_a_later_opt_out(
    hub: Hub, hub_server: HubServer, wire: Wire
) -> None:
    member_id = new_id()
    ahead = datetime.now(UTC) + timedelta(days=365)  # a kiosk's clock a year ahead
    record = member(
        member_id, consent_marketing=True, consent_version="v3", consent_at=stamp(ahead)
    )
    assert wire.push([], [record]).status_code == 200
    opt_out_by_link(hub, hub_server, member_id)

    assert wire.push([], [record | {"updated_at": stamp(datetime.now(UTC))}]).status_code == 200

    assert held_consent(hub, member_id) == (False, "v3")
