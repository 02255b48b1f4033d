"""The gateway's key and members' phones stay out of errors, output and the setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.errors import HubError
from sim.sms_gateway import SmsGateway
from tests.hub.conftest import Hub
from tests.hub.test_messaging_support import key_file, messaging, sim_gateway

__all__ = ["messaging", "sim_gateway"]


@pytest.mark.parametrize("api", ["kavenegar", "smsir"])
def test_a_gateways_errors_never_carry_its_key(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path, api: str
) -> None:
    from hub.messaging.gateways import Outgoing, Refused, TryLater, open_gateway

    wrong = tmp_path / "wrong.key"
    wrong.write_text("wrong-key-9876543210", encoding="ascii")
    refusing = open_gateway(sim_gateway.setting(api, str(wrong)))
    gone = open_gateway(f"sim://127.0.0.1:9/{api}?sender=1&line=1&key-file={wrong}")
    message = Outgoing("1", "+989121234567", "hi")

    errors = []
    for gateway in (refusing, gone):
        with pytest.raises((Refused, TryLater)) as caught:
            gateway.send(message)
        errors.append(f"{caught.value!s} {caught.value!r} {caught.value.__context__!r}")

    assert not any("wrong-key-9876543210" in text for text in errors)
    assert not any("989121234567" in text for text in errors)


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("kavenegar://?sender=1&key=abc", "key-file"),
        ("kavenegar://?sender=1", "key-file"),
        ("sim://10.0.0.5:80/kavenegar?sender=1&key-file=/dev/null", "loopback"),
        ("twilio://?key-file=/dev/null", "must start with one of"),
    ],
)
def test_a_gateway_setting_that_would_leak_or_reach_afar_is_refused(
    messaging: Hub, setting: str, complaint: str
) -> None:
    from hub.messaging.gateways import open_gateway

    with pytest.raises(HubError, match=complaint):
        open_gateway(setting)


def test_the_message_list_masks_phones_and_shows_no_text(messaging: Hub) -> None:
    from hub.messaging.outbox import enqueue

    enqueue(phone="+989121234567", body="کد ۱۲۳۴", kind="verification", key="v:1")

    listed = messaging.run("messages", "list").stdout
    rows = json.loads(messaging.run("messages", "list", "--json").stdout)

    assert "1234567" not in listed and "کد" not in listed
    assert rows[0]["phone"] != "+989121234567" and "body" not in rows[0]


def test_work_without_a_gateway_says_what_to_set(messaging: Hub) -> None:
    done = messaging.run("messages", "work", check=False)

    assert done.returncode == 1
    assert "HUB_SMS_GATEWAY" in done.stderr


def test_both_gateways_report_the_accounts_balance(
    messaging: Hub, sim_gateway: SmsGateway, tmp_path: Path
) -> None:
    from hub.messaging.gateways import open_gateway

    balances = [
        open_gateway(sim_gateway.setting(api, key_file(tmp_path, sim_gateway))).balance()
        for api in ("kavenegar", "smsir")
    ]

    assert balances == [12_345_000, 12_345_000]
