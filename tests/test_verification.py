"""Verification at the kiosk's core (kiosk/core/verification.py) and its CRM port.

What needs a code, who may approve in its place, what the audit log keeps (never the phone
or the code), and the port's answers from a CRM that cannot verify: nothing listening (a
CRM without verification, 404: tests/test_sim_crm_verification.py). The code's flow with a
real hub is in tests/ui/test_verify_ui.py.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable, Iterator

import pytest

from kiosk.core.service import LoyaltyService
from kiosk.core.store import audit
from kiosk.core.store.staff import SHOPPER
from kiosk.core.verification import (
    ENROLL,
    LINK_CARD,
    Approval,
    CounterVerification,
    Proven,
    Unreachable,
    masked_national,
)
from kiosk.errors import NotAllowed
from sim.crm import CrmServer
from sim.crm_store import CrmStore

PHONE = "09121234567"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SECRET = base64.urlsafe_b64encode(b"k" * 32).decode()


@pytest.fixture
def sim_crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as crm:
        yield crm


def _verification(service: LoyaltyService) -> CounterVerification:
    return CounterVerification(service, service.verifier, service.config.verification)


def test_a_kiosk_without_a_crm_asks_no_code(service: LoyaltyService):
    verification = _verification(service)

    assert service.verifier is None
    assert not verification.required(LINK_CARD) and not verification.required(ENROLL)


@pytest.mark.parametrize(
    ("overrides", "enroll", "link_card"),
    [
        ((), False, True),
        (("verification.enroll=true",), True, True),
        (("verification.link_card=false",), False, False),
    ],
)
def test_what_needs_a_code_is_the_configs_with_a_crm(
    open_service: Callable[..., LoyaltyService],
    overrides: tuple[str, ...],
    enroll: bool,
    link_card: bool,
):
    service = open_service(f'crm.url="http://127.0.0.1:{_closed_port()}"', *overrides)
    verification = _verification(service)

    assert (verification.required(ENROLL), verification.required(LINK_CARD)) == (
        enroll,
        link_card,
    )


def test_a_hub_out_of_reach_is_unreachable_never_an_error(
    open_service: Callable[..., LoyaltyService],
):
    service = open_service(
        f'crm.url="http://127.0.0.1:{_closed_port()}"', f'crm.device_secret="{SECRET}"'
    )
    verification = _verification(service)

    sent = verification.send(PHONE, LINK_CARD, "A1B2C3D4", "fa")
    checked = verification.check(1, "12345")

    assert isinstance(sent, Unreachable) and isinstance(checked, Unreachable)


@pytest.mark.parametrize("role", ["shopper", "technician", "cli"])
def test_only_a_cashier_or_manager_approves_in_place_of_a_code(service: LoyaltyService, role: str):
    from kiosk.core.store.staff import Actor

    with pytest.raises(NotAllowed):
        _verification(service).approval(Actor("someone", role))


def test_an_approved_link_is_audited_with_who_and_why_never_the_phone(
    service: LoyaltyService, cashier
):
    member = service.enroll(PHONE, client_txn_id="e1").member_id
    verification = _verification(service)

    verification.link_card(member, "A1B2C3D4", verification.approval(cashier))

    assert service.identify_card("A1B2C3D4").member_id == member
    records = [r for r in audit.recent(service.conn) if r.action.startswith("verification.")]
    assert [(r.actor, r.action, r.target, r.details) for r in records] == [
        (
            cashier.actor_id,
            "verification.approved",
            member,
            {"purpose": "link_card", "reason": "hub unreachable"},
        )
    ]
    assert "912" not in json.dumps([r.details for r in records])


def test_a_proven_enrollment_is_audited_with_the_verification_only(service: LoyaltyService):
    verification = _verification(service)

    result = verification.enroll(
        PHONE, Proven(17, "v1.17.0.secret-proof"), client_txn_id="e1", card="A1B2C3D4"
    )

    records = [r for r in audit.recent(service.conn) if r.action == "verification.proven"]
    assert [(r.actor, r.target, r.details) for r in records] == [
        (SHOPPER.actor_id, result.member_id, {"purpose": "enroll", "verification_id": 17})
    ]
    assert "secret-proof" not in json.dumps([r.details for r in audit.recent(service.conn)])


def test_an_approval_records_its_reason(service: LoyaltyService, manager):
    assert _verification(service).approval(manager, "no phone signal") == Approval(
        manager, "no phone signal"
    )


@pytest.mark.parametrize(
    ("phone", "shown"),
    [("+989121234567", "0912 *** 4567"), ("+447700900123", "+44 77** **0123")],
)
def test_the_phone_is_shown_with_its_middle_hidden(phone: str, shown: str):
    assert masked_national(phone, "IR") == shown
