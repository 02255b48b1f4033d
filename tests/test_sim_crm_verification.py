"""Verification codes on the simulated CRM (sim/crm_verify.py), as `make run` uses it.

A real kiosk (kiosk.bootstrap.Appliance, enrolled with a one-time code) and its own CRM
client (sync/verification.py) against the simulator on loopback: the code is asked, told
on the simulator's console with the phone masked, and typed back; and the chain's program,
pulled from the CRM signed, decides what needs a code over the kiosk's own config.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.bootstrap import Appliance
from kiosk.core.clock import ManualClock
from kiosk.core.service import LoyaltyService
from kiosk.core.verification import (
    ENROLL,
    LINK_CARD,
    CodeDead,
    CounterVerification,
    Proven,
    Sent,
    Unreachable,
    Wait,
    WrongCode,
)
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sim.crm_verify import DEMO_CODE
from tests.conftest import make_config

PHONE, CARD = "09121234567", "04A1B2C3"


class Kiosk:
    """One kiosk enrolled at the simulated CRM, with its own config overrides."""

    def __init__(self, folder: Path, crm: CrmServer, clock: ManualClock, *overrides: str):
        config = make_config(f'crm.url="{crm.url}"', f'device.id="{folder.name}"', *overrides)
        self.appliance = Appliance(config, folder, clock=clock)
        self.service: LoyaltyService = self.appliance.open_service()
        self.appliance.provision(self.service, crm_url=crm.url, code=crm.store.new_code())
        service = self.service
        self.verification = CounterVerification(
            service, service.verifier, service.config.verification
        )

    def pull(self) -> None:
        with self.appliance.sync_session() as worker:
            worker.pull()


@pytest.fixture
def told() -> list[str]:
    return []


@pytest.fixture
def crm(told: list[str]) -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        assert server.codes is not None
        server.codes.tell = told.append
        yield server


@pytest.fixture
def kiosks(tmp_path: Path, clock: ManualClock, crm: CrmServer) -> Iterator[Any]:
    opened: list[Kiosk] = []

    def open_kiosk(name: str, *overrides: str) -> Kiosk:
        kiosk = Kiosk(tmp_path / name, crm, clock, *overrides)
        opened.append(kiosk)
        return kiosk

    yield open_kiosk
    for kiosk in opened:
        kiosk.appliance.forget_client()
        kiosk.service.close()


def publish_program(crm: CrmServer, **verification: bool) -> None:
    """A program from the CRM, signed with its owner key, with this verification setting."""
    tier = {"id": "bronze", "name_fa": "برنزی", "name_en": "Bronze", "threshold": 0}
    data = {"version": 2, "tiers": [tier | {"multiplier": "1"}], "rewards": []}
    crm.store.publish("program", data | {"verification": verification})


def test_the_simulator_sends_a_code_told_masked_on_its_console_and_takes_it_back(
    kiosks: Any, told: list[str]
):
    kiosk = kiosks("k1")

    sent = kiosk.verification.send(PHONE, LINK_CARD, CARD, "fa")
    assert isinstance(sent, Sent)
    wrong = kiosk.verification.check(sent.verification_id, "00000")
    proven = kiosk.verification.check(sent.verification_id, DEMO_CODE)

    assert sent.attempts_left == 5 and sent.resend_after == 60
    assert wrong == WrongCode(4)
    assert isinstance(proven, Proven) and proven.proof
    assert told == [f"simulated CRM: code for 0912***: {DEMO_CODE}"]
    assert "1234567" not in "".join(told)  # the number itself is never told


def test_a_resend_too_soon_waits_and_another_kiosk_cannot_use_the_code(kiosks: Any):
    mine, theirs = kiosks("k1"), kiosks("k2")
    sent = mine.verification.send(PHONE, ENROLL, None, "fa")
    assert isinstance(sent, Sent)

    again = mine.verification.send(PHONE, ENROLL, None, "fa")
    stolen = theirs.verification.check(sent.verification_id, DEMO_CODE)

    assert isinstance(again, Wait) and again.reason == "resend_delay"
    assert 1 <= again.retry_after <= 60
    assert stolen == CodeDead("unknown")


def test_five_wrong_codes_kill_it(kiosks: Any):
    kiosk = kiosks("k1")
    sent = kiosk.verification.send(PHONE, ENROLL, None, "fa")
    assert isinstance(sent, Sent)

    lefts = [kiosk.verification.check(sent.verification_id, "99999") for _ in range(5)]
    late = kiosk.verification.check(sent.verification_id, DEMO_CODE)

    assert lefts == [WrongCode(n) for n in (4, 3, 2, 1, 0)]
    assert late == CodeDead("exhausted")


def test_a_crm_without_verification_is_unreachable_so_a_cashier_approves(
    kiosks: Any, crm: CrmServer
):
    kiosk = kiosks("k1")
    crm.codes = None  # a CRM from before verification: 404 not_found

    sent = kiosk.verification.send(PHONE, LINK_CARD, CARD, "fa")

    assert isinstance(sent, Unreachable)


def test_the_chains_program_turns_enrollment_codes_on_over_the_kiosks_config(
    kiosks: Any, crm: CrmServer
):
    kiosk = kiosks("k1", "verification.enroll=false")
    before = kiosk.verification.required(ENROLL)

    publish_program(crm, link_card=True, enroll=True)
    kiosk.pull()

    assert before is False
    assert kiosk.verification.required(ENROLL) is True


def test_a_kiosk_config_turned_off_does_not_switch_off_what_the_program_asks(
    kiosks: Any, crm: CrmServer
):
    kiosk = kiosks("k1", "verification.link_card=false")

    publish_program(crm, link_card=True)  # enroll unsaid: the kiosk's config (off) holds
    kiosk.pull()

    assert kiosk.verification.required(LINK_CARD) is True
    assert kiosk.verification.required(ENROLL) is False


def test_the_program_may_turn_the_link_check_off_for_the_chain(kiosks: Any, crm: CrmServer):
    kiosk = kiosks("k1")

    publish_program(crm, link_card=False, enroll=False)
    kiosk.pull()

    assert kiosk.verification.required(LINK_CARD) is False


def test_a_program_with_a_bad_verification_setting_is_not_applied(kiosks: Any, crm: CrmServer):
    kiosk = kiosks("k1")
    tier = {"id": "bronze", "threshold": 0, "multiplier": "1"}
    bad = {"version": 2, "tiers": [tier], "rewards": [], "verification": {"enroll": "yes"}}

    crm.store.publish("program", bad)
    kiosk.pull()

    assert kiosk.verification.required(ENROLL) is False  # the config's, as before
