"""The verification code on the kiosk's screens, by touch, against a real hub.

A card tapped, then the phone of a member typed: the hub (`hub serve` on loopback, real
PostgreSQL) sends a code by SMS (read here from its outbox table), the shopper types it
on the keypad, and only then is the card linked. Without the hub, a cashier approves with
their PIN, recorded. Time on the kiosk is its ManualClock; at the hub, its rows' times are
moved back (its clock is PostgreSQL's).
"""

from __future__ import annotations

import base64
import logging
import re
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kiosk.core.store import audit
from kiosk.errors import UnknownCard
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sim.crm_verify import DEMO_CODE
from sync.client import CrmClient
from tests.hub.conftest import Hub, HubServer, hub, hub_template, postgres  # noqa: F401
from tests.ui.conftest import CASHIER_PIN, Kiosk

PHONE = "09121234567"
E164 = "+989121234567"
OWN_CARD = "B0B0B0B0"
NEW_CARD = "A1B2C3D4"


@pytest.fixture
def hub_server(hub: Hub) -> Iterator[HubServer]:  # noqa: F811
    server = HubServer(hub).start()
    yield server
    server.stop(graceful=False)


@pytest.fixture
def online(hub: Hub, hub_server: HubServer, kiosk_factory: Callable[..., Kiosk]) -> Kiosk:  # noqa: F811
    """A kiosk enrolled at the hub, its member (PHONE, OWN_CARD) enrolled here."""
    code = str(hub.new_device()["code"])
    device_id = "kiosk-verify-1"
    client = CrmClient(hub_server.url, device_id)
    try:
        secret = base64.urlsafe_b64encode(client.enroll(code)).decode()
    finally:
        client.close()
    kiosk = kiosk_factory(
        f'crm.url="{hub_server.url}"', f'device.id="{device_id}"', f'crm.device_secret="{secret}"'
    )
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=OWN_CARD)
    return kiosk


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def offline(kiosk_factory: Callable[..., Kiosk]) -> Kiosk:
    """A kiosk whose hub cannot be reached (nothing listens on its port)."""
    secret = base64.urlsafe_b64encode(b"k" * 32).decode()
    kiosk = kiosk_factory(
        f'crm.url="http://127.0.0.1:{_closed_port()}"', f'crm.device_secret="{secret}"'
    )
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=OWN_CARD)
    return kiosk


def sms_code(hub: Hub) -> str:  # noqa: F811
    """The code in the last SMS the hub queued."""
    rows = hub.sql("SELECT body, phone FROM hub_message ORDER BY id DESC LIMIT 1")
    assert rows and rows[0][1] == E164
    found = re.search(r"[0-9]{5}", rows[0][0])
    assert found is not None
    return found.group()


def linking(kiosk: Kiosk) -> None:
    """A new card tapped, the member's phone typed: the code's screen."""
    kiosk.tap_card(NEW_CARD)
    assert kiosk.screen == "phone"
    kiosk.keys(PHONE + "[ok]")


def card_linked(kiosk: Kiosk) -> bool:
    try:
        kiosk.service.identify_card(NEW_CARD)
    except UnknownCard:
        return False
    return True


def test_the_code_sent_by_sms_and_typed_links_the_card(
    online: Kiosk,
    hub: Hub,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    linking(online)
    assert online.screen == "verify"
    shown = online.text("sent_to")
    code = sms_code(hub)

    online.keys(code + "[ok]")

    digits = online.app.texts.digits
    assert digits("4567") in shown and digits("123") not in shown  # 0912 *** 4567
    assert online.screen == "member"
    assert online.message() == online.shows("member.card_linked")
    assert card_linked(online)
    proven = [r for r in audit.recent(online.service.conn) if r.action == "verification.proven"]
    assert [r.details["purpose"] for r in proven] == ["link_card"]
    assert code not in caplog.text and E164 not in caplog.text and PHONE not in caplog.text


def test_a_wrong_code_says_so_with_the_tries_left_and_links_nothing(
    online: Kiosk,
    hub: Hub,  # noqa: F811
):
    linking(online)
    code = sms_code(hub)
    wrong = f"{(int(code) + 1) % 100000:05d}"

    online.keys(wrong + "[ok]")

    assert online.screen == "verify"
    assert online.message() == online.shows("error.verify.wrong")
    assert online.text("attempts") == online.shows("verify.attempts", attempts=4)
    assert not card_linked(online)


def test_a_stolen_card_is_not_linked_by_guessing_five_times(
    online: Kiosk,
    hub: Hub,  # noqa: F811
):
    linking(online)
    code = sms_code(hub)
    guesses = [f"{(int(code) + n) % 100000:05d}" for n in range(1, 6)]

    for guess in guesses:
        online.keys(guess + "[ok]")
    online.keys(code + "[ok]")

    assert online.message() == online.shows("error.verify.dead")
    assert not card_linked(online)
    assert online.app.counter.member_id is None  # not the member at the counter meanwhile
    online.press("back")
    assert online.screen == "phone" and not card_linked(online)


def test_the_code_typed_on_a_usb_keyboard_links_the_card(
    online: Kiosk,
    hub: Hub,  # noqa: F811
):
    linking(online)

    online.app.screen.typed(sms_code(hub) + "\r")
    online.pump()

    assert online.screen == "member" and card_linked(online)


def test_send_again_waits_for_its_countdown_then_sends_a_new_code(
    online: Kiosk,
    hub: Hub,  # noqa: F811
):
    linking(online)
    first = sms_code(hub)
    resend = online.ids("resend")
    waiting = (resend.disabled, resend.text)

    online.tick(seconds=61)
    hub.sql("UPDATE hub_verification SET created_at = created_at - interval '61 seconds'")
    online.press("resend")
    second = sms_code(hub)
    online.keys(first + "[ok]")
    replaced = online.message()
    online.keys(second + "[ok]")

    assert waiting == (True, online.shows("verify.resend_in", seconds=60))
    assert hub.sql("SELECT count(*) FROM hub_message")[0][0] == 2
    assert replaced == online.shows("error.verify.wrong")  # the old code is not the new one
    assert online.screen == "member" and card_linked(online)


def test_an_expired_code_says_so(online: Kiosk, hub: Hub):  # noqa: F811
    linking(online)
    code = sms_code(hub)

    hub.sql("UPDATE hub_verification SET expires_at = now() - interval '1 second'")
    online.keys(code + "[ok]")

    assert online.message() == online.shows("error.verify.expired")
    assert not card_linked(online)


def test_without_the_hub_a_cashier_approves_and_it_is_recorded(offline: Kiosk):
    linking(offline)
    assert offline.screen == "pin"

    offline.sign_in("Sara", CASHIER_PIN)

    assert offline.screen == "member" and card_linked(offline)
    approved = [
        r for r in audit.recent(offline.service.conn) if r.action == "verification.approved"
    ]
    assert [(r.actor, r.details) for r in approved] == [
        (offline.staff_id("Sara"), {"purpose": "link_card", "reason": "hub unreachable"})
    ]


def test_without_the_hub_cancelling_the_approval_links_nothing(offline: Kiosk):
    linking(offline)

    offline.press("cancel")

    assert offline.screen == "phone" and not card_linked(offline)


def test_a_kiosk_without_a_crm_links_as_before(kiosk: Kiosk):
    kiosk.service.enroll(PHONE, client_txn_id="setup", card=OWN_CARD)

    linking(kiosk)

    assert kiosk.screen == "member" and card_linked(kiosk)


def test_enrollment_asks_for_the_code_when_the_chain_wants_it(
    hub: Hub,  # noqa: F811
    hub_server: HubServer,
    kiosk_factory: Callable[..., Kiosk],
):
    code = str(hub.new_device()["code"])
    client = CrmClient(hub_server.url, "kiosk-verify-2")
    try:
        secret = base64.urlsafe_b64encode(client.enroll(code)).decode()
    finally:
        client.close()
    kiosk = kiosk_factory(
        f'crm.url="{hub_server.url}"',
        'device.id="kiosk-verify-2"',
        f'crm.device_secret="{secret}"',
        "verification.enroll=true",
    )
    kiosk.press("phone")
    kiosk.keys("09351234567[ok]")
    assert kiosk.screen == "enroll"

    kiosk.press("join")
    assert kiosk.screen == "verify"
    body: Any = hub.sql("SELECT body FROM hub_message")[0][0]
    kiosk.keys(re.search(r"[0-9]{5}", body).group() + "[ok]")  # type: ignore[union-attr]

    assert kiosk.screen == "result"
    assert kiosk.service.identify_phone("09351234567").member_id


@pytest.fixture
def on_the_simulator(kiosk_factory: Callable[..., Kiosk]) -> Iterator[tuple[Kiosk, list[str]]]:
    """A kiosk enrolled at the simulated CRM, as `make run` has it, and what the CRM told."""
    told: list[str] = []
    with CrmServer(CrmStore()) as crm:
        assert crm.codes is not None
        crm.codes.tell = told.append
        client = CrmClient(crm.url, "kiosk-sim-1")
        try:
            secret = base64.urlsafe_b64encode(client.enroll(crm.store.new_code())).decode()
        finally:
            client.close()
        kiosk = kiosk_factory(
            f'crm.url="{crm.url}"', 'device.id="kiosk-sim-1"', f'crm.device_secret="{secret}"'
        )
        kiosk.service.enroll(PHONE, client_txn_id="setup", card=OWN_CARD)
        yield kiosk, told


def test_on_the_simulated_crm_the_code_screen_shows_and_its_demo_code_links_the_card(
    on_the_simulator: tuple[Kiosk, list[str]],
):
    kiosk, told = on_the_simulator
    linking(kiosk)
    shown = kiosk.screen

    kiosk.keys(DEMO_CODE + "[ok]")

    assert shown == "verify"  # not the cashier's approval: the simulator verifies
    assert told == [f"simulated CRM: code for 0912***: {DEMO_CODE}"]
    assert kiosk.screen == "member" and card_linked(kiosk)
