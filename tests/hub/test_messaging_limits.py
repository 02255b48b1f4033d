"""Consent and limits: quiet hours (at their edges), opt-out at once, the caps."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sim.sms_gateway import SmsGateway
from tests.hub.conftest import Hub
from tests.hub.test_messaging_support import Clock, add_member, key_file, messaging, sim_gateway

__all__ = ["messaging", "sim_gateway"]

TEHRAN = timedelta(hours=3, minutes=30)  # Iran keeps +03:30 all year (no DST since 2022)


def tehran(hour: int, minute: int = 0, second: int = 0, day: int = 10) -> datetime:
    """A moment given in Tehran's clock, as UTC."""
    return datetime(2026, 6, day, hour, minute, second, tzinfo=UTC) - TEHRAN


def _campaign(member: str, phone: str, key: str, now: datetime, body: str = "offer") -> object:
    from hub.messaging.outbox import enqueue

    return enqueue(
        phone=phone,
        body=body,
        kind="campaign",
        key=key,
        member_id=member,
        marketing=True,
        now=now,
    )


@pytest.mark.parametrize(
    ("queued_at", "due"),
    [
        (tehran(21, 59, 59), tehran(21, 59, 59)),  # the last second before: at once
        (tehran(22, 0, 0), tehran(8, 0, 0, day=11)),  # the first quiet second: held
        (tehran(23, 30), tehran(8, 0, 0, day=11)),
        (tehran(2, 0), tehran(8, 0, 0)),  # after midnight: the same morning
        (tehran(7, 59, 59), tehran(8, 0, 0)),
        (tehran(8, 0, 0), tehran(8, 0, 0)),  # the end is not quiet
    ],
)
def test_marketing_in_quiet_hours_is_held_until_they_end(
    messaging: Hub, queued_at: datetime, due: datetime
) -> None:
    add_member(messaging, "m1", "+989120000001")

    message = _campaign("m1", "+989120000001", "c:1", queued_at)

    assert message.state == "queued"  # type: ignore[attr-defined]
    assert message.not_before == due  # type: ignore[attr-defined]


def test_quiet_hours_hold_marketing_a_worker_finds_late_but_not_receipts(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    from hub.messaging.gateways import open_gateway
    from hub.messaging.outbox import enqueue
    from hub.messaging.worker import Worker

    add_member(messaging, "m1", "+989120000001")
    _campaign("m1", "+989120000001", "c:1", tehran(21, 0))
    enqueue(phone="+989120000001", body="receipt", kind="receipt", key="r:1", now=tehran(21, 0))
    clock = Clock(tehran(22, 30))  # the gateway was down until now
    setting = sim_gateway.setting("kavenegar", key_file(tmp_path, sim_gateway))
    worker = Worker(open_gateway(setting), clock=clock, rng=random.Random(1))

    worker.run_once()
    held = messaging.sql("SELECT state, not_before FROM hub_message WHERE key = 'c:1'")
    clock.now = tehran(8, 0, day=11)
    worker.run_once()

    assert held == [("queued", tehran(8, 0, day=11))]
    assert sim_gateway.sent == {("+989120000001", "receipt"): 1, ("+989120000001", "offer"): 1}


def test_an_opt_out_cancels_queued_marketing_at_once_and_refuses_more(messaging: Hub) -> None:
    from hub.messaging.reports import opt_out

    add_member(messaging, "m1", "+989120000001")
    noon = tehran(12, 0)
    _campaign("m1", "+989120000001", "c:1", noon)

    cancelled = opt_out("+989120000001", "reply", noon + timedelta(minutes=1))
    later = _campaign("m1", "+989120000001", "c:2", noon + timedelta(minutes=2))

    assert cancelled == 1
    assert messaging.sql("SELECT state, error FROM hub_message WHERE key = 'c:1'") == [
        ("cancelled", "opted out (reply)")
    ]
    assert later.state == "cancelled"  # type: ignore[attr-defined]
    assert messaging.sql("SELECT consent_marketing FROM hub_member") == [(False,)]


def test_a_kiosk_pushing_an_old_consent_does_not_undo_an_opt_out(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    from hub.messaging.gateways import open_gateway
    from hub.messaging.reports import opt_out
    from hub.messaging.worker import Worker

    add_member(messaging, "m1", "+989120000001", consent_at=tehran(9, 0))
    _campaign("m1", "+989120000001", "c:1", tehran(12, 0))
    messaging.sql("UPDATE hub_message SET not_before = %s", tehran(13, 0))  # queued for later
    opt_out("+989120000001", "link", tehran(12, 30))
    # A kiosk that had not heard of it pushes the member's record as it knew it.
    messaging.sql("UPDATE hub_member SET consent_marketing = true, consent_at = %s", tehran(9, 0))
    messaging.sql("UPDATE hub_message SET state = 'queued', error = ''")
    setting = sim_gateway.setting("kavenegar", key_file(tmp_path, sim_gateway))
    worker = Worker(open_gateway(setting), clock=Clock(tehran(13, 0)))

    worker.run_once()

    assert messaging.sql("SELECT state FROM hub_message") == [("cancelled",)]
    assert sim_gateway.sent == {}


def test_the_frequency_cap_cancels_the_third_campaign_in_a_week(messaging: Hub) -> None:
    add_member(messaging, "m1", "+989120000001")

    states = [
        _campaign("m1", "+989120000001", f"c:{day}", tehran(12, 0, day=day)).state  # type: ignore[attr-defined]
        for day in (1, 3, 5, 9)
    ]

    assert states == ["queued", "queued", "cancelled", "queued"]  # day 9: day 1 left the week


def test_the_daily_budget_holds_the_rest_of_a_campaign_until_the_next_morning(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    from hub.messaging.gateways import open_gateway
    from hub.messaging.worker import Worker

    messaging.sql(
        "INSERT INTO hub_message_policy (id, time_zone, quiet_start, quiet_end,"
        " cap_count, cap_days, daily_budget, price_ucs2, price_gsm, shop_name)"
        " VALUES (1, 'Asia/Tehran', '22:00', '08:00', 2, 7, 3000, 1100, 2400, '')"
    )
    for i in range(4):
        add_member(messaging, f"m{i}", f"+98912000000{i}")
        _campaign(f"m{i}", f"+98912000000{i}", f"c:{i}", tehran(12, 0), body="پیشنهاد")
    setting = sim_gateway.setting("kavenegar", key_file(tmp_path, sim_gateway))
    clock = Clock(tehran(12, 0))
    worker = Worker(open_gateway(setting), clock=clock)

    worker.run_once()
    sent_today = len(sim_gateway.sent)
    held = messaging.sql("SELECT DISTINCT not_before FROM hub_message WHERE state = 'queued'")
    clock.now = tehran(8, 0, day=11)
    worker.run_once()

    assert sent_today == 2  # 2 x 1,100 Rial; a third would pass the 3,000 of the day
    assert held == [(tehran(8, 0, day=11),)]
    assert len(sim_gateway.sent) == 4


def test_a_stop_reply_read_from_smsir_opts_out_once_and_never_undoes_a_later_consent(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    from hub.messaging.gateways import open_gateway
    from hub.messaging.worker import Worker

    add_member(messaging, "m1", "+989120000001", consent_at=tehran(9, 0))
    _campaign("m1", "+989120000001", "c:1", tehran(12, 0))
    messaging.sql("UPDATE hub_message SET not_before = %s", tehran(14, 0))
    sim_gateway.receive("+989120000001", "STOP", int(tehran(12, 30).timestamp()))
    sim_gateway.receive("+989120000002", "سلام", int(tehran(12, 31).timestamp()))
    setting = sim_gateway.setting("smsir", key_file(tmp_path, sim_gateway))
    worker = Worker(open_gateway(setting), clock=Clock(tehran(13, 0)))

    opted = worker.read_replies()
    states = messaging.sql("SELECT state FROM hub_message")
    # The member consents again at a kiosk; the same reply, listed again, changes nothing.
    messaging.sql("UPDATE hub_member SET consent_marketing = true, consent_at = %s", tehran(13, 0))
    again = worker.read_replies()

    assert (opted, again) == (1, 0)
    assert states == [("cancelled",)]
    assert messaging.sql("SELECT consent_marketing FROM hub_member") == [(True,)]
