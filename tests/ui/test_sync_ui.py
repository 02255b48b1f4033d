"""The touch app with the sync worker in the background, as `kiosk run` starts it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from sim.crm import CrmServer
from sim.crm_store import CrmStore
from tests.ui.conftest import CASHIER_PIN, Kiosk

CARD = "A1B2C3D4"


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


def buy(kiosk: Kiosk) -> None:
    kiosk.service.enroll("09121234567", client_txn_id="setup", card=CARD)
    kiosk.tap_card(CARD)
    kiosk.press("purchase")
    kiosk.sign_in("Sara", CASHIER_PIN)
    kiosk.keys("100000")
    kiosk.press("confirm")
    assert kiosk.screen == "result"


def test_a_sale_reaches_the_crm_at_once_and_the_light_turns_green(kiosk_factory, crm):
    kiosk = kiosk_factory(f'crm.url="{crm.url}"', "crm.push_interval_seconds=3600", crm=crm)

    buy(kiosk)

    local = [e.entry_id for e in kiosk.service.ledger.entries()]
    kiosk.until(lambda: crm.store.entry_ids(kiosk.service.device_id) == local, "the push")
    kiosk.until(lambda: kiosk.app.network_state == "online", "the status")
    kiosk.app.go_home()
    kiosk.pump()
    assert kiosk.ids("network_dot").state == "ok"
    assert kiosk.text("network_text") == kiosk.shows("attract.network.online")


def test_with_the_crm_down_sales_wait_and_the_light_turns_red(kiosk_factory):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    kiosk = kiosk_factory(f'crm.url="{url}"', crm=SimpleNamespace(url=url, store=None))

    buy(kiosk)

    kiosk.until(lambda: kiosk.app.network_state == "offline", "the failed push")
    assert kiosk.service.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 2


def test_the_technicians_sync_now_pushes(kiosk_factory, crm):
    kiosk = kiosk_factory(f'crm.url="{crm.url}"', "crm.push_interval_seconds=3600", crm=crm)
    kiosk.until(kiosk.background.drained.is_set, "the first push")
    kiosk.service.enroll("09121234567", client_txn_id="later")  # no poke: nobody knows
    for _ in range(5):
        kiosk.press("shop")
    kiosk.sign_in("Tara", "9753")

    kiosk.press("sync")

    assert kiosk.message() == kiosk.shows("tech.sync_started")
    kiosk.until(lambda: len(crm.store.entry_ids(kiosk.service.device_id)) == 1, "the push")


def test_an_offline_kiosk_limits_redemptions_and_says_why(kiosk_factory):
    from kiosk.core.store.staff import CLI

    kiosk = kiosk_factory(
        'crm.url="http://127.0.0.1:9"', "program.offline_redemption_allowance=300"
    )  # never heard from
    member_id = kiosk.service.enroll("09121234567", client_txn_id="e", card=CARD).member_id
    kiosk.service.adjust(member_id, 950, reason="test", actor=CLI, client_txn_id="a")
    kiosk.service.redeem(member_id, "coffee", cashier=CLI, client_txn_id="r1")  # 200 of 300
    kiosk.tap_card(CARD)
    kiosk.touch(kiosk.app.screen.reward_button("coffee"))
    kiosk.press("approve")
    kiosk.sign_in("Sara", CASHIER_PIN)

    assert kiosk.screen == "redeem"
    assert kiosk.message() == kiosk.shows("error.limit.offline", allowance=300)
    assert (
        kiosk.service.conn.execute("SELECT COUNT(*) FROM entries WHERE kind = 'redeem'").fetchone()[
            0
        ]
        == 1
    )
