"""The worker against the simulated gateway on real HTTP: retries, throttling, deadlines.

Time is the injected clock's; the gateway is sim/sms_gateway.py on loopback, reached by
the hub's real clients (the `kavenegar` package's, and requests for SMS.ir).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sim.sms_gateway import SmsGateway
from tests.hub.conftest import Hub
from tests.hub.test_messaging_support import Clock, key_file, messaging, sim_gateway

__all__ = ["messaging", "sim_gateway"]

NOON = datetime(2026, 6, 10, 8, 30, tzinfo=UTC)  # 12:00 in Tehran


def _worker(gateway: SmsGateway, folder: Path, clock: Clock, api: str = "kavenegar") -> object:
    from hub.messaging.gateways import open_gateway
    from hub.messaging.worker import Worker

    setting = gateway.setting(api, key_file(folder, gateway), timeout="0.5")
    return Worker(open_gateway(setting), clock=clock, batch=10, rng=random.Random(7))


def _queue(count: int, clock: Clock, prefix: str = "m") -> list[int]:
    from hub.messaging.outbox import enqueue

    return [
        enqueue(
            phone=f"+98912{i:07d}",
            body=f"{prefix} {i}",
            kind="receipt",
            key=f"{prefix}:{i}",
            now=clock(),
        ).pk
        for i in range(count)
    ]


def _states(hub: Hub) -> dict[str, int]:
    return dict(hub.sql("SELECT state, count(*) FROM hub_message GROUP BY state"))


def test_messages_are_sent_once_and_delivered(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    clock = Clock(NOON)
    ids = _queue(12, clock)
    worker = _worker(sim_gateway, tmp_path, clock)

    while worker.run_once():  # type: ignore[attr-defined]
        pass
    sim_gateway.deliver()
    clock.advance(minutes=2)
    worker.poll_reports()  # type: ignore[attr-defined]

    assert sorted(sim_gateway.sent_by_local_id) == sorted(str(i) for i in ids)
    assert set(sim_gateway.sent_by_local_id.values()) == {1}
    assert _states(messaging) == {"delivered": 12}


def test_a_gateway_down_for_an_hour_then_back_sends_every_message_once(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    clock = Clock(NOON)
    _queue(30, clock)
    worker = _worker(sim_gateway, tmp_path, clock)
    sim_gateway.faults.down = 503

    for _ in range(60):
        worker.run_once()  # type: ignore[attr-defined]
        clock.advance(minutes=1)
    requests_while_down = sim_gateway.requests
    sim_gateway.faults.down = None
    for _ in range(30):
        worker.run_once()  # type: ignore[attr-defined]
        clock.advance(minutes=1)

    assert _states(messaging) == {"sent": 30}
    assert len(sim_gateway.sent) == 30
    assert set(sim_gateway.sent.values()) == {1}
    # One request a round at most while it was down (the batch stops at the first failure),
    # and fewer as the backoff grows.
    assert requests_while_down <= 60


def test_throttling_holds_the_batch_until_retry_after(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    clock = Clock(NOON)
    _queue(5, clock)
    worker = _worker(sim_gateway, tmp_path, clock)
    sim_gateway.faults.throttle = 1
    sim_gateway.faults.retry_after = 120

    worker.run_once()  # type: ignore[attr-defined]
    clock.advance(seconds=100)
    worker.run_once()  # type: ignore[attr-defined]
    asked_before_retry_after = sim_gateway.requests
    clock.advance(seconds=21)
    worker.run_once()  # type: ignore[attr-defined]

    assert asked_before_retry_after == 1  # the 429, and nothing until Retry-After passed
    assert _states(messaging) == {"sent": 5}
    assert set(sim_gateway.sent.values()) == {1}
    assert messaging.sql("SELECT max(attempts) FROM hub_message") == [(2,)]


def test_a_number_that_never_receives_ends_expired_and_is_not_sent_again(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    clock = Clock(NOON)
    (lost,) = _queue(1, clock, prefix="lost")
    sim_gateway.faults.never_receive.add("+989120000000")
    worker = _worker(sim_gateway, tmp_path, clock)

    worker.run_once()  # type: ignore[attr-defined]
    sim_gateway.deliver()
    for _ in range(30):  # a day and more, an hour at a time
        clock.advance(hours=1)
        worker.run_once()  # type: ignore[attr-defined]

    assert messaging.sql("SELECT state, error FROM hub_message WHERE id = %s", lost) == [
        ("expired", "no delivery report before its deadline")
    ]
    assert sim_gateway.sent_by_local_id[str(lost)] == 1


def test_a_lost_answer_from_kavenegar_is_resent_with_its_local_id_and_not_sent_twice(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    clock = Clock(NOON)
    (one,) = _queue(1, clock)
    worker = _worker(sim_gateway, tmp_path, clock)
    sim_gateway.faults.stall = 1  # taken, then no answer: the client's read timeout

    worker.run_once()  # type: ignore[attr-defined]
    sim_gateway.release()
    clock.advance(minutes=20)
    worker.run_once()  # type: ignore[attr-defined]

    assert messaging.sql("SELECT state, attempts FROM hub_message") == [("sent", 2)]
    assert sim_gateway.sent_by_local_id[str(one)] == 1


def test_a_lost_answer_from_smsir_is_not_sent_again_but_marked_unknown(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    clock = Clock(NOON)
    _queue(1, clock)
    worker = _worker(sim_gateway, tmp_path, clock, api="smsir")
    sim_gateway.faults.stall = 1

    worker.run_once()  # type: ignore[attr-defined]
    sim_gateway.release()
    clock.advance(minutes=20)
    worker.run_once()  # type: ignore[attr-defined]

    ((state, error),) = messaging.sql("SELECT state, error FROM hub_message")
    assert state == "failed"
    assert error.startswith("outcome unknown")
    assert list(sim_gateway.sent.values()) == [1]


def test_a_message_past_its_deadline_is_expired_not_sent(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    from hub.messaging.outbox import enqueue

    clock = Clock(NOON)
    enqueue(
        phone="+989121111111",
        body="code 1234",
        kind="verification",
        key="v:1",
        expires_at=NOON + timedelta(minutes=5),
        now=NOON,
    )
    worker = _worker(sim_gateway, tmp_path, clock)
    sim_gateway.faults.down = 503

    for _ in range(10):
        worker.run_once()  # type: ignore[attr-defined]
        clock.advance(minutes=1)

    assert _states(messaging) == {"expired": 1}
    assert sim_gateway.sent == {}


@pytest.mark.parametrize("api", ["kavenegar", "smsir"])
def test_the_gateway_setting_is_shown_with_its_key_masked(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path, api: str
) -> None:
    from hub.messaging.gateways import open_gateway

    gateway = open_gateway(sim_gateway.setting(api, key_file(tmp_path, sim_gateway)))

    assert sim_gateway.key not in gateway.describe()
    assert sim_gateway.key not in repr(gateway)
    assert sim_gateway.key[-4:] in gateway.describe()
