"""Real kiosks on a real hub that requires a code to link a card (HUB_VERIFY_LINK_CARD=1).

The kiosk's own code paths: `kiosk/core/verification.py` through `sync/verification.py`
to `hub serve`, then the kiosk's `SyncWorker` pushing the member's record. A kiosk that
skips the check (a modified one, or one from before verification) has its link dropped at
the hub; a cashier's approval made while the hub was out of reach travels with the record
and is taken, flagged for the owner.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.core.store.staff import CLI, Actor
from kiosk.core.verification import LINK_CARD, CounterVerification, Proven, Sent
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_kiosk_on_the_hub import Kiosk, kiosks  # noqa: F401
from tests.hub.test_verification import _Requiring

PHONE = "09121234567"
OWN, NEW = "B0B0B0B0", "A1B2C3D4"


@pytest.fixture
def requiring(hub: Hub) -> Iterator[HubServer]:
    server = HubServer(_Requiring(hub)).start()  # type: ignore[arg-type]
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
