"""Exactly once across a crash: `hub messages work` SIGKILLed mid-batch, then started again.

The worker is a real process (`python -m hub messages work`), the gateway the simulator on
loopback, which counts what it truly sent by our local id.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from sim.sms_gateway import SmsGateway
from tests.hub.conftest import ROOT, Hub
from tests.hub.test_messaging_support import key_file, messaging, sim_gateway

__all__ = ["messaging", "sim_gateway"]

WAIT = 60.0  # a safety limit, never a pace
COUNT = 25


def _worker(hub: Hub, setting: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub",
            "messages",
            "work",
            "--batch",
            "10",
            "--lease",
            "1",
            "--idle",
            "0.2",
        ],
        env=hub.env | {"HUB_SMS_GATEWAY": setting},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_worker_killed_mid_batch_and_restarted_sends_every_message_once(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    _kill_and_restart(messaging, sim_gateway, tmp_path, "kavenegar")

    assert set(sim_gateway.sent_by_local_id.values()) == {1}
    assert messaging.sql("SELECT state, count(*) FROM hub_message GROUP BY state") == [
        ("sent", COUNT)
    ]


def test_with_smsir_the_message_in_flight_is_reported_unknown_and_none_is_sent_twice(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    _kill_and_restart(messaging, sim_gateway, tmp_path, "smsir")

    assert len(sim_gateway.sent) == COUNT and set(sim_gateway.sent.values()) == {1}
    states = dict(messaging.sql("SELECT state, count(*) FROM hub_message GROUP BY state"))
    assert states == {"sent": COUNT - 1, "failed": 1}
    ((error,),) = messaging.sql("SELECT error FROM hub_message WHERE state = 'failed'")
    assert error.startswith("outcome unknown")


def _kill_and_restart(messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path, api: str) -> None:
    from hub.messaging.outbox import enqueue

    ids = [
        enqueue(phone=f"+98912{i:07d}", body=f"receipt {i}", kind="receipt", key=f"r:{i}").pk
        for i in range(COUNT)
    ]
    setting = sim_gateway.setting(api, key_file(tmp_path, sim_gateway), timeout="30")
    sim_gateway.faults.stall = 1
    sim_gateway.faults.stall_after = 4  # the fifth is taken and its answer never comes

    first = _worker(messaging, setting)
    assert sim_gateway.stalled.wait(WAIT)
    first.send_signal(signal.SIGKILL)
    first.wait(WAIT)
    sim_gateway.release()
    lost_in_flight = messaging.sql("SELECT count(*) FROM hub_message WHERE state = 'sending'")

    second = _worker(messaging, setting)
    assert sim_gateway.wait_for(COUNT, WAIT)
    if api == "kavenegar":
        assert sim_gateway.looked_up.wait(WAIT)  # the fifth asked of the gateway, not resent
    second.send_signal(signal.SIGTERM)  # finishes the batch in hand
    out, err = second.communicate(timeout=WAIT)

    assert lost_in_flight[0][0] >= 6  # the fifth to the tenth were claimed when it died
    assert second.returncode == 0, err
    if api == "kavenegar":
        assert sorted(sim_gateway.sent_by_local_id) == sorted(str(i) for i in ids)
    assert "+98912" not in out + err and "98912" not in out + err  # no phone in its output
    assert sim_gateway.key not in out + err


def test_two_workers_at_once_share_the_queue_and_send_each_message_once(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    from hub.messaging.outbox import enqueue

    for i in range(200):
        enqueue(phone=f"+98912{i:07d}", body=f"receipt {i}", kind="receipt", key=f"r:{i}")
    setting = sim_gateway.setting("kavenegar", key_file(tmp_path, sim_gateway))

    workers = [_worker(messaging, setting), _worker(messaging, setting)]
    assert sim_gateway.wait_for(200, WAIT)
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.communicate(timeout=WAIT)

    assert [w.returncode for w in workers] == [0, 0]
    assert len(sim_gateway.sent_by_local_id) == 200
    assert set(sim_gateway.sent_by_local_id.values()) == {1}
    # Not even asked twice (which Kavenegar would have deduped): no row claimed by both.
    assert set(sim_gateway.asked_by_local_id.values()) == {1}
    assert messaging.sql("SELECT state, count(*) FROM hub_message GROUP BY state") == [
        ("sent", 200)
    ]
