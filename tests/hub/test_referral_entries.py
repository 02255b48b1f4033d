"""The hub accepts the referral bonuses a kiosk writes, and refuses a forged larger one
(docs/program.md, "Referrals"; hub/ledger/rules.py, hub/program/referral.py).

A real kiosk pulls the signed program with its referral rule, enrolls a member who names
a referrer, records the first qualifying purchase (two `bonus` entries) and a void of it
(two `adjust` entries taking them back), and pushes: all stored, the hub's balances
equal to the kiosk's. A referral bonus while referrals are off is refused; the other forged
bonuses, and the hub paying a referral itself, are in tests/hub/test_referral_hub.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.store.staff import CLI
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_entry_rules import Counter, balance_of
from tests.hub.test_kiosk_on_the_hub import Kiosk
from tests.hub.wire import Server

RULE = {
    "enabled": True,
    "referrer_bonus": 150,
    "referee_bonus": 60,
    "max_per_month": 5,
    "min_purchase": 1_000_000,
}


def publish(hub: Hub, tmp_path: Path, **changes: Any) -> None:
    program = hub.json("program", "show", "--json") | changes
    (tmp_path / "p.json").write_text(json.dumps(program))
    hub.run("program", "publish", str(tmp_path / "p.json"))


@pytest.fixture
def kiosk(hub: Hub, hub_server: HubServer, tmp_path: Path, clock: ManualClock) -> Iterator[Kiosk]:
    opened = Kiosk(tmp_path / "kiosk", hub_server.url, clock, "kiosk-valiasr-1")
    opened.provision(hub.new_device()["code"])
    yield opened
    opened.appliance.forget_client()
    opened.service.close()


def test_a_kiosks_referral_bonuses_and_their_void_are_accepted(
    hub: Hub, kiosk: Kiosk, tmp_path: Path
):
    publish(hub, tmp_path, referral=RULE)
    kiosk.sync()
    kiosk.service.reload_program()
    service = kiosk.service
    sender = service.enroll("09121111111", client_txn_id="e1").member_id
    new = service.enroll("09122222222", client_txn_id="e2", referrer=sender).member_id
    kiosk.clock.advance(hours=1)
    first = service.earn(new, 2_000_000, cashier=CLI, client_txn_id="s1")
    pushed, _, _ = kiosk.sync()

    assert [(b.reason, b.points) for b in first.bonuses] == [("referral", 60)]
    assert pushed.rejected == 0
    assert balance_of(hub, sender) == service.ledger.balance(sender) == 50 + 150  # + joining

    service.void(first.entry_id, reason="returned", cashier=CLI, client_txn_id="v1")
    pushed, _, _ = kiosk.sync()

    assert pushed.rejected == 0
    assert balance_of(hub, sender) == service.ledger.balance(sender) == 50
    assert balance_of(hub, new) == service.ledger.balance(new)


def test_a_referral_bonus_while_referrals_are_off_is_refused(hub: Hub, hub_server: HubServer):
    counter = Counter(Server("hub", hub_server.url, hub=hub))  # the default program: off
    bonus = {"kind": "bonus", "amount": None, "reason": "referral"}

    assert counter.verdict(points=1, **bonus) == "outside_program"


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("yes", "referral must be an object"),
        ({"enabled": "yes"}, "enabled must be true or false"),
        ({"referrer_bonus": -1}, "referrer_bonus must be a whole number"),
        ({"max_per_month": 1.5}, "max_per_month must be a whole number"),
        ({"bonus": 10}, "unknown field 'bonus'"),
    ],
)
def test_a_bad_referral_rule_is_refused_by_the_hub(hub: Hub, tmp_path: Path, given: Any, said: str):
    program = hub.json("program", "show", "--json") | {"referral": given}
    (tmp_path / "p.json").write_text(json.dumps(program))

    refused = hub.run("program", "publish", str(tmp_path / "p.json"), check=False)

    assert refused.returncode != 0
    assert said in refused.stderr + refused.stdout
    assert hub.json("program", "show", "--json")["version"] == 1
