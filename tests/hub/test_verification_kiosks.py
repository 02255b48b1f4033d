"""Real kiosks on a real hub whose program asks a code to link a card (the default).

The kiosk's own code paths: `kiosk/core/verification.py` through `sync/verification.py`
to `hub serve`, then the kiosk's `SyncWorker` pushing the member's record. A kiosk that
skips the check (a modified one, or one from before verification) has its link dropped at
the hub; a cashier's approval made while the hub was out of reach travels with the record
and is taken, flagged for the owner.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.bootstrap import Appliance
from kiosk.core.clock import ManualClock
from kiosk.core.store.staff import CLI, Actor
from kiosk.core.verification import ENROLL, LINK_CARD, CounterVerification, Proven, Sent
from tests.conftest import make_config
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_kiosk_on_the_hub import Kiosk, kiosks  # noqa: F401

PHONE = "09121234567"
OWN, NEW = "B0B0B0B0", "A1B2C3D4"


@pytest.fixture
def requiring(hub: Hub) -> Iterator[HubServer]:
    server = HubServer(hub).start()  # program 1: verification.link_card on
    yield server
    server.stop(graceful=False)


def _member_at_the_hub(hub: Hub, server: HubServer, kiosks: Any) -> tuple[Kiosk, str]:  # noqa: F811
    kiosk = kiosks(server.url)
    kiosk.provision(hub.new_device()["code"])
    member_id = kiosk.service.enroll(PHONE, client_txn_id="e1", card=OWN).member_id
    kiosk.sync()
    return kiosk, member_id


def _cards(hub: Hub, member_id: str) -> list[str]:
    return [
        r[0]
        for r in hub.sql("SELECT uid FROM hub_card WHERE member_id = %s ORDER BY uid", member_id)
    ]


def _flags(hub: Hub) -> list[str]:
    return [r[0] for r in hub.sql("SELECT code FROM hub_flag ORDER BY id")]


def _verification(kiosk: Kiosk) -> CounterVerification:
    service = kiosk.service
    return CounterVerification(service, service.verifier, service.config.verification)


def test_a_kiosk_that_skips_the_code_has_its_link_dropped_at_the_hub(
    hub: Hub,
    requiring: HubServer,
    kiosks: Any,  # noqa: F811
):
    kiosk, member_id = _member_at_the_hub(hub, requiring, kiosks)

    kiosk.service.link_card(member_id, NEW, actor=CLI)  # no code asked
    kiosk.sync()

    assert _cards(hub, member_id) == [OWN]
    assert _flags(hub) == ["card_link_unverified"]


def test_a_kiosk_that_had_the_code_typed_links_the_card_at_the_hub(
    hub: Hub,
    requiring: HubServer,
    kiosks: Any,  # noqa: F811
):
    kiosk, member_id = _member_at_the_hub(hub, requiring, kiosks)
    verification = _verification(kiosk)

    sent = verification.send(PHONE, LINK_CARD, NEW, "fa")
    assert isinstance(sent, Sent)
    body = hub.sql("SELECT body FROM hub_message ORDER BY id DESC LIMIT 1")[0][0]
    proven = verification.check(sent.verification_id, re.findall(r"[0-9]{5}", body)[0])
    assert isinstance(proven, Proven)
    verification.link_card(member_id, NEW, proven)
    kiosk.sync()

    assert _cards(hub, member_id) == [NEW, OWN]
    assert _flags(hub) == []
    assert hub.sql("SELECT state FROM hub_verification")[0][0] == "used"


def test_a_cashiers_approval_offline_travels_with_the_record_and_is_flagged(
    hub: Hub,
    requiring: HubServer,
    kiosks: Any,  # noqa: F811
):
    kiosk, member_id = _member_at_the_hub(hub, requiring, kiosks)
    sara = kiosk.service.staff.add(name="Sara", role="cashier", pin="1357", actor=CLI)
    verification = _verification(kiosk)

    approval = verification.approval(Actor(sara.staff_id, "cashier"))
    verification.link_card(member_id, NEW, approval)
    kiosk.sync()
    flag = hub.sql("SELECT code, detail FROM hub_flag")

    assert _cards(hub, member_id) == [NEW, OWN]
    assert flag == [
        (
            "card_link_approved",
            {"member": member_id, "approved_by": sara.staff_id, "reason": "hub unreachable"},
        )
    ]
    state = kiosk.service.conn.execute(
        "SELECT value FROM sync_state WHERE key = 'verification_approvals'"
    ).fetchone()[0]
    assert NEW not in state  # the card's blind index, never its id


class _Configured(Kiosk):
    """A kiosk with its own `[verification]` config (as edited on its SD card)."""

    def __init__(self, folder: Path, url: str, clock: ManualClock, *overrides: str) -> None:
        config = make_config(f'crm.url="{url}"', f'device.id="{folder.name}"', *overrides)
        self.appliance = Appliance(config, folder, clock=clock)
        self.service = self.appliance.open_service()
        self.url, self.clock = url, clock


@pytest.fixture
def configured(tmp_path: Path, clock: ManualClock) -> Iterator[Any]:
    opened: list[Kiosk] = []

    def open_kiosk(url: str, *overrides: str) -> Kiosk:
        kiosk = _Configured(tmp_path / f"kiosk-{len(opened)}", url, clock, *overrides)
        opened.append(kiosk)
        return kiosk

    yield open_kiosk
    for kiosk in opened:
        kiosk.appliance.forget_client()
        kiosk.service.close()


def _publish(hub: Hub, tmp_path: Path, **verification: bool) -> None:
    program = hub.json("program", "show", "--json") | {"verification": verification}
    (tmp_path / "p.json").write_text(json.dumps(program))
    hub.run("program", "publish", str(tmp_path / "p.json"))


def test_a_kiosk_configured_to_skip_codes_asks_anyway_and_the_hub_drops_a_skipped_link(
    hub: Hub, requiring: HubServer, configured: Any
):
    home, thief = (
        configured(requiring.url),
        configured(requiring.url, "verification.link_card=false"),
    )
    home.provision(hub.new_device()["code"])
    thief.provision(hub.new_device()["code"])
    member_id = home.service.enroll(PHONE, client_txn_id="e1", card=OWN).member_id
    home.sync()
    thief.sync()  # pulls the program: verification.link_card on

    asks = _verification(thief).required(LINK_CARD)
    thief.service.link_card(member_id, NEW, actor=CLI)  # the check skipped all the same
    thief.sync()

    assert asks is True
    assert _cards(hub, member_id) == [OWN]
    assert _flags(hub) == ["card_link_unverified"]


def test_the_owner_turns_enrollment_codes_on_and_kiosks_configured_off_ask_for_them(
    hub: Hub, requiring: HubServer, configured: Any, tmp_path: Path
):
    kiosk = configured(requiring.url, "verification.enroll=false")
    kiosk.provision(hub.new_device()["code"])
    sara = kiosk.service.staff.add(name="Sara", role="cashier", pin="1357", actor=CLI)
    kiosk.sync()
    before = _verification(kiosk).required(ENROLL)

    _publish(hub, tmp_path, link_card=True, enroll=True)
    kiosk.sync()
    verification = _verification(kiosk)
    approval = verification.approval(Actor(sara.staff_id, "cashier"))
    approved = verification.enroll("09127654321", approval, client_txn_id="e1").member_id
    skipped = kiosk.service.enroll("09351234567", client_txn_id="e2", card=NEW).member_id
    kiosk.sync()
    flags = {r[0]: r[1] for r in hub.sql("SELECT member_id, code FROM hub_flag")}

    assert (before, verification.required(ENROLL)) == (False, True)
    assert flags == {approved: "enroll_approved", skipped: "enroll_unverified"}
    assert _cards(hub, skipped) == []  # held: its card is not taken without the code
