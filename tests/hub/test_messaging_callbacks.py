"""The gateway's callbacks and the opt-out link, on a real `hub serve` over HTTP.

The simulated gateway posts its delivery reports (twice, when asked) and a member's reply
to the URLs `hub messages gateway` prints; a forged path is a 404 and changes nothing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.core import signing
from django.utils import timezone

from sim.sms_gateway import SmsGateway
from tests.hub.conftest import ROOT, Hub, HubServer
from tests.hub.test_messaging_support import add_member, key_file, messaging, sim_gateway

__all__ = ["messaging", "sim_gateway"]


@pytest.fixture
def served(messaging: Hub) -> Iterator[HubServer]:
    server = HubServer(messaging, workers=1).start()
    yield server
    server.stop(graceful=False)


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def _wire(hub: Hub, server: HubServer, gateway: SmsGateway, folder: Path) -> str:
    setting = gateway.setting("kavenegar", key_file(folder, gateway))
    shown = subprocess.run(
        [sys.executable, "-m", "hub", "messages", "gateway", "--base-url", server.url],
        env=hub.env | {"HUB_SMS_GATEWAY": setting},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    urls = dict(re.findall(r"^(delivery reports|replies \(opt-out\)): (\S+)$", shown.stdout, re.M))
    gateway.callback_url = urls["delivery reports"]
    gateway.inbound_url = urls["replies (opt-out)"]
    assert gateway.key not in shown.stdout
    assert "balance at the gateway: 12,345,000" in shown.stdout
    assert "spent today: 0 Rial" in shown.stdout
    return setting


def test_a_report_sent_twice_is_applied_once_and_a_stop_reply_opts_out(
    messaging: Hub, served: HubServer, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    from hub.messaging.gateways import open_gateway
    from hub.messaging.outbox import enqueue
    from hub.messaging.worker import Worker

    setting = _wire(messaging, served, sim_gateway, tmp_path)
    add_member(messaging, "m1", "+989120000001")
    enqueue(phone="+989120000001", body="receipt", kind="receipt", key="r:1")
    Worker(open_gateway(setting), batch=10).run_once()
    enqueue(
        phone="+989120000001",
        body="offer",
        kind="campaign",
        key="c:1",
        member_id="m1",
        marketing=True,
        not_before=timezone.now() + timedelta(days=1),
    )
    sim_gateway.faults.duplicate_reports = True

    sim_gateway.deliver()
    first_finish = messaging.sql("SELECT finished_at FROM hub_message WHERE key = 'r:1'")
    replied = sim_gateway.inbound("989120000001", " لغو ")

    assert messaging.sql("SELECT state FROM hub_message WHERE key = 'r:1'") == [("delivered",)]
    assert first_finish[0][0] is not None
    assert replied == 200
    assert messaging.sql("SELECT state, error FROM hub_message WHERE key = 'c:1'") == [
        ("cancelled", "opted out (reply)")
    ]
    assert messaging.sql("SELECT consent_marketing FROM hub_member") == [(False,)]


def test_a_forged_callback_path_is_refused_and_changes_nothing(
    messaging: Hub, served: HubServer, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    add_member(messaging, "m1", "+989120000001")

    answers = [
        _session()
        .post(
            f"{served.url}/sms/kavenegar/{'0' * 32}/inbound",
            data={"from": "989120000001", "message": "11"},
            timeout=30,
        )
        .status_code,
        _session()
        .post(
            f"{served.url}/sms/kavenegar/{'0' * 32}/delivery",
            data={"messageid": "1", "status": "10"},
            timeout=30,
        )
        .status_code,
    ]

    assert answers == [404, 404]
    assert messaging.sql("SELECT consent_marketing FROM hub_member") == [(True,)]


def test_the_opt_out_link_asks_first_then_opts_out(messaging: Hub, served: HubServer) -> None:
    add_member(messaging, "m1", "+989120000001")
    secret = (messaging.data_dir / "secret-key").read_text().strip()
    link = f"{served.url}/sms/stop/" + signing.Signer(key=secret, salt="hub.messaging.stop").sign(
        "m1"
    )
    forged = f"{served.url}/sms/stop/" + signing.Signer(
        key="x" * 50, salt="hub.messaging.stop"
    ).sign("m1")
    browser = _session()

    page = browser.get(link, timeout=30)  # a link preview fetches this: nothing changes
    unchanged = messaging.sql("SELECT consent_marketing FROM hub_member")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    done = browser.post(
        link, data={"csrfmiddlewaretoken": token.group(1)}, headers={"Referer": link}, timeout=30
    )

    assert page.status_code == 200 and "لغو" in page.text
    assert unchanged == [(True,)]
    assert done.status_code == 200
    assert messaging.sql("SELECT consent_marketing FROM hub_member") == [(False,)]
    assert messaging.sql("SELECT via FROM hub_message_opt_out") == [("link",)]
    assert _session().get(forged, timeout=30).status_code == 404
