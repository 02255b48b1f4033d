"""Receipts after an earn and a redemption, queued by a real push to a real `hub serve`.

Each is queued in the push's transaction, keyed by its entry: a push repeated (its answer
lost) and a worker killed after the gateway took the message each still send it once. The
member's own choice, the chain's opt-in, a void soon after and an erasure are honoured;
the phone is the one the hub holds for the member. Sent through the simulated gateway.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core import signing

from sim.sms_gateway import SmsGateway
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_messaging_support import Clock, key_file, messaging, sim_gateway
from tests.hub.wire import Server, Wire, member, new_id

__all__ = ["messaging", "sim_gateway"]


@pytest.fixture
def wire(messaging: Hub, hub: Hub, hub_server: HubServer) -> Wire:
    return Wire(Server("hub", hub_server.url, hub=hub))


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_stamp() -> str:
    return stamp(datetime.now(UTC))


def receipts(hub: Hub) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in hub.sql(
            "SELECT kind, phone, state, body, marketing FROM hub_message"
            " WHERE kind IN ('receipt', 'redeem') ORDER BY id"
        )
    ]


def _worker(gateway: SmsGateway, folder: Path, clock: Clock, send: Any = None) -> Any:
    from hub.messaging.gateways import open_gateway
    from hub.messaging.worker import Worker

    opened = open_gateway(gateway.setting("kavenegar", key_file(folder, gateway)))
    if send is not None:
        opened.send = send(opened.send)  # type: ignore[method-assign]
    return Worker(opened, clock=clock, batch=10, rng=random.Random(3))


class Killed(BaseException):
    """The worker's process ending between the gateway's answer and its record."""


def test_a_receipt_for_each_entry_sent_once_across_a_repush_and_a_worker_killed(
    wire: Wire, messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    mid = new_id()
    record = member(mid, name="سارا")
    earn = wire.entry(1, mid, 300, created_at=now_stamp())
    redeem = wire.entry(
        2, mid, -200, kind="redeem", reward_id="coffee", amount=None, created_at=now_stamp()
    )
    assert wire.push([earn, redeem], [record]).status_code == 200
    assert wire.push([earn, redeem], [record]).status_code == 200  # the answer was lost

    # The balance is the hub's after each entry; the shop is the branch (no name set).
    assert receipts(messaging) == [
        (
            "receipt",
            record["phone"],
            "queued",
            "Valiasr\n۳۰۰ امتیاز گرفتید. امتیاز شما: ۳۰۰",
            False,
        ),
        (
            "redeem",
            record["phone"],
            "queued",
            "Valiasr\nیک قهوهٔ رایگان با ۲۰۰ امتیاز. امتیاز مانده: ۱۰۰",
            False,
        ),
    ]

    def dies_after_the_first(send: Any) -> Any:
        def sending(outgoing: Any) -> Any:
            send(outgoing)
            raise Killed  # the gateway took it; the worker never recorded so

        return sending

    clock = Clock(datetime.now(UTC) + timedelta(minutes=3))  # past the void's grace
    with pytest.raises(Killed):
        _worker(sim_gateway, tmp_path, clock, dies_after_the_first).run_once()
    assert {r[2] for r in receipts(messaging)} == {"sending"}

    clock.advance(minutes=6)  # the dead worker's lease lapsed
    again = _worker(sim_gateway, tmp_path, clock)
    again.run_once()
    again.run_once()

    assert {r[2] for r in receipts(messaging)} == {"sent"}
    assert sorted(sim_gateway.sent_by_local_id.values()) == [1, 1]
    assert list(sim_gateway.sent.values()) == [1, 1]


def test_a_void_soon_after_cancels_the_receipt_and_a_reversal_sends_none(
    wire: Wire, messaging: Hub
) -> None:
    mid = new_id()
    earn = wire.entry(1, mid, 40, created_at=now_stamp())
    assert wire.push([earn], [member(mid)]).status_code == 200
    void = wire.entry(
        2, mid, -40, kind="reversal", reverses=earn["entry_id"], amount=None, created_at=now_stamp()
    )
    assert wire.push([void]).status_code == 200

    ((kind, _, state, _, _),) = receipts(messaging)
    assert (kind, state) == ("receipt", "cancelled")


def test_an_entry_pushed_hours_late_gets_no_receipt(wire: Wire, messaging: Hub) -> None:
    mid = new_id()
    old = wire.entry(1, mid, 40, created_at=stamp(datetime.now(UTC) - timedelta(hours=7)))
    assert wire.push([old], [member(mid)]).status_code == 200

    assert receipts(messaging) == []


def test_receipts_turned_off_by_the_member_stop_at_once(
    wire: Wire, messaging: Hub, hub_server: HubServer, hub: Hub
) -> None:
    mid = new_id()
    record = member(mid)
    assert wire.push([wire.entry(1, mid, 10, created_at=now_stamp())], [record]).status_code == 200

    # From the link of a marketing message: the page's second switch (a POST, not the GET).
    secret = (hub.data_dir / "secret-key").read_text().strip()
    link = f"{hub_server.url}/sms/stop/" + signing.Signer(
        key=secret, salt="hub.messaging.stop"
    ).sign(mid)
    browser = requests.Session()
    browser.trust_env = False
    page = browser.get(link, timeout=30)
    assert "لغو پیامک رسید خرید" in page.text
    assert receipts(messaging)[0][2] == "queued"  # the GET alone changes nothing
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    done = browser.post(
        link,
        data={"csrfmiddlewaretoken": token.group(1), "what": "receipts"},
        headers={"Referer": link},
        timeout=30,
    )
    assert done.status_code == 200
    assert "no more receipts" in done.text

    assert receipts(messaging)[0][2] == "cancelled"  # the one queued: withdrawn at once
    assert wire.push([wire.entry(2, mid, 10, created_at=now_stamp())]).status_code == 200
    assert len(receipts(messaging)) == 1  # and none after
    # Marketing consent is a separate switch: untouched.
    assert hub.sql("SELECT count(*) FROM hub_message_opt_out") == [(0,)]

    # On again, by the shell (the owner, asked in the shop): they come back.
    hub.run("messages", "receipts", "on", record["phone"])
    assert wire.push([wire.entry(3, mid, 10, created_at=now_stamp())]).status_code == 200
    assert [r[2] for r in receipts(messaging)] == ["cancelled", "queued"]


def test_a_chain_that_asks_first_sends_receipts_only_to_members_who_said_yes(
    wire: Wire, messaging: Hub, hub: Hub
) -> None:
    hub.run("messages", "policy", "--receipts", "opt_in")
    yes, silent, no = new_id(), new_id(), new_id()
    records = [member(m) for m in (yes, silent, no)]
    assert wire.push([], records).status_code == 200
    hub.run("messages", "receipts", "on", records[0]["phone"])
    hub.run("messages", "receipts", "off", records[2]["phone"])

    entries = [
        wire.entry(i + 1, m, 10, created_at=now_stamp()) for i, m in enumerate([yes, silent, no])
    ]
    assert wire.push(entries).status_code == 200

    assert [r[1] for r in receipts(messaging)] == [records[0]["phone"]]


def test_an_erased_member_gets_no_receipt_and_a_queued_one_is_not_sent(
    wire: Wire, messaging: Hub, hub: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    mid = new_id()
    assert (
        wire.push([wire.entry(1, mid, 10, created_at=now_stamp())], [member(mid)]).status_code
        == 200
    )
    assert [r[2] for r in receipts(messaging)] == ["queued"]
    hub.run("member", "erase", mid, "--yes")  # within the receipt's two minutes
    _worker(sim_gateway, tmp_path, Clock(datetime.now(UTC) + timedelta(minutes=3))).run_once()
    assert [r[2] for r in receipts(messaging)] == ["cancelled"]
    assert sim_gateway.sent == {}

    mid = new_id()
    assert wire.push([], [member(mid)]).status_code == 200
    hub.sql(
        "UPDATE hub_member SET status = 'erased', phone = NULL, name = NULL WHERE member_id = %s",
        mid,
    )

    assert wire.push([wire.entry(2, mid, 10, created_at=now_stamp())]).status_code == 200

    assert [r[2] for r in receipts(messaging)] == ["cancelled"]


def test_the_receipt_goes_to_the_phone_the_hub_holds_not_to_one_an_entry_names(
    wire: Wire, messaging: Hub
) -> None:
    mid = new_id()
    record = member(mid)
    assert wire.push([], [record]).status_code == 200
    # A shopper at a kiosk (or a kiosk tampered with) adds a phone to the entry itself.
    entry = wire.entry(1, mid, 10, created_at=now_stamp(), phone="+989129999999")
    answer = wire.push([entry])
    assert answer.status_code == 200

    assert {r[1] for r in receipts(messaging)} <= {record["phone"]}
    assert all(r[1] != "+989129999999" for r in receipts(messaging))


def test_a_receipt_in_quiet_hours_goes_at_once_and_is_not_marketing(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    """A receipt at 23:00 Tehran right after a purchase is expected: transactional, not held
    by quiet hours, outside the marketing cap, counted in the day's spend."""
    from hub.devices.models import Device
    from hub.messaging import limits
    from hub.messaging.outbox import enqueue
    from hub.messaging.receipts import DELAY, after_push
    from tests.hub.test_messaging_support import add_member

    messaging.new_device()
    device = Device.objects.select_related("branch").first()
    assert device is not None
    add_member(messaging, "m1", "+989120000001")
    late = datetime(2026, 6, 10, 19, 30, tzinfo=UTC)  # 23:00 in Tehran
    messaging.sql(
        "INSERT INTO hub_balance (member_id, balance, updated_at) VALUES ('m1', 25, now())"
    )
    entry = {
        "entry_id": "00000000-0000-4000-8000-000000000001",
        "member_id": "m1",
        "kind": "earn",
        "points": 25,
        "created_at": stamp(late),
        "reward_id": None,
    }
    from django.db import transaction

    with transaction.atomic():
        assert after_push(device, [entry], now=late) == 1
    ((not_before, marketing),) = messaging.sql("SELECT not_before, marketing FROM hub_message")
    assert not_before == late + DELAY
    assert marketing is False
    assert limits.in_quiet_hours(not_before, limits.policy())

    _worker(sim_gateway, tmp_path, Clock(late + DELAY)).run_once()
    ((state, cost),) = messaging.sql("SELECT state, cost FROM hub_message")
    assert state == "sent"  # in the quiet hours
    assert limits.spent_today(late + DELAY, limits.policy()) == cost > 0
    # The marketing cap (2 in 7 days) does not count it: two campaigns still go.
    offers = [
        enqueue(
            phone="+989120000001",
            body="offer",
            kind="campaign",
            key=f"c:{i}",
            member_id="m1",
            marketing=True,
            now=late + DELAY,
        ).state
        for i in range(2)
    ]
    assert offers == ["queued", "queued"]


def test_a_kiosk_pushing_many_purchases_cannot_flood_a_members_phone(
    wire: Wire, messaging: Hub
) -> None:
    mid = new_id()
    many = [wire.entry(i + 1, mid, 1, created_at=now_stamp()) for i in range(15)]
    assert wire.push(many[:8], [member(mid)]).status_code == 200
    assert wire.push(many[8:]).status_code == 200

    assert len(receipts(messaging)) == 10  # the hour's cap; all 15 entries still count
    assert messaging.sql("SELECT balance FROM hub_balance WHERE member_id = %s", mid) == [(15,)]
