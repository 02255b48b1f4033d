"""The owner's member operations on a real hub, reaching real kiosks that pull from it.

`hub member ...` runs as the owner runs it (a subprocess on the hub's PostgreSQL); the
kiosks are the product's own (kiosk.bootstrap.Appliance with its SyncWorker) on `hub
serve`, and what they show is read through the kiosk's own service, never its bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.store.staff import CLI
from kiosk.errors import CardBlocked, UnknownMember
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_kiosk_on_the_hub import Kiosk

PHONE = "09121234567"
E164 = "+989121234567"
CARD = "A1B2C3D4"


@pytest.fixture
def kiosks(tmp_path: Path, clock: ManualClock) -> Iterator[Any]:
    opened: list[Kiosk] = []

    def open_kiosk(url: str, name: str) -> Kiosk:
        kiosk = Kiosk(tmp_path / name, url, clock, name)
        opened.append(kiosk)
        return kiosk

    yield open_kiosk
    for kiosk in opened:
        kiosk.appliance.forget_client()
        kiosk.service.close()


@pytest.fixture
def chain(hub: Hub, hub_server: HubServer, kiosks: Any) -> dict[str, Any]:
    """Two branches with a kiosk each; a member enrolled and earning at Valiasr, synced."""
    valiasr = kiosks(hub_server.url, "kiosk-valiasr")
    valiasr.provision(hub.new_device("Valiasr")["code"])
    tajrish = kiosks(hub_server.url, "kiosk-tajrish")
    tajrish.provision(hub.new_device("Tajrish")["code"])
    member_id = enroll(valiasr, PHONE, CARD, "Sara Ahmadi")
    valiasr.sync()
    tajrish.sync()
    return {"valiasr": valiasr, "tajrish": tajrish, "member_id": member_id}


def enroll(kiosk: Kiosk, phone: str, card: str, name: str) -> str:
    """A member enrolled with a name and consent, and two purchases."""
    member_id = kiosk.service.enroll(
        phone,
        client_txn_id=f"enroll-{phone}",
        card=card,
        name=name,
        consent_marketing=True,
        consent_version="fa-2",
    ).member_id
    for i, amount in enumerate([1_500_000, 2_000_000]):
        kiosk.clock.advance(hours=5)
        kiosk.service.earn(member_id, amount, cashier=CLI, client_txn_id=f"sale-{phone}-{i}")
    return member_id


def found(hub: Hub, query: str, *extra: str) -> list[str]:
    return [f["member_id"] for f in hub.json("member", "find", query, "--json", *extra)]


@pytest.mark.parametrize(
    "typed",
    [
        "۰۹۱۲ ۱۲۳ ۴۵۶۷",  # Persian digits, spaces
        "٠٩١٢-١٢٣-٤٥٦٧",  # Arabic-Indic digits, dashes
        "+98 912 123 4567",
        "98912-123-4567",
        "00989121234567",
        "9121234567",
        "a1:b2:c3:d4",  # the card, as a reader app shows it
        "ahmad",  # part of the name, any case
    ],
)
def test_the_member_is_found_by_their_phone_in_any_form_and_by_their_card(
    hub: Hub, chain: dict[str, Any], typed: str
):
    assert found(hub, typed) == [chain["member_id"]]


def test_what_is_found_is_masked_and_another_branch_finds_nothing(hub: Hub, chain: dict[str, Any]):
    (hit,) = hub.json("member", "find", PHONE, "--json")

    assert hit["phone"] == "+98912*****67" and E164 not in json.dumps(hit)
    assert found(hub, PHONE, "--branch", "Valiasr") == [chain["member_id"]]
    assert found(hub, PHONE, "--branch", "Tajrish") == []
    assert found(hub, CARD, "--branch", "Tajrish") == []
    assert found(hub, chain["member_id"], "--branch", "Tajrish") == []


@pytest.mark.parametrize(
    "command",
    [
        ("show", "{id}"),
        ("adjust", "{id}", "100", "--reason", "goodwill"),
        ("export", "{id}"),
        ("erase", "{id}", "--yes"),
        ("block-card", CARD),
    ],
)
def test_another_branchs_manager_cannot_open_adjust_export_erase_or_block(
    hub: Hub, chain: dict[str, Any], command: tuple[str, ...]
):
    args = [a.format(id=chain["member_id"]) for a in command]

    refused = hub.run("member", *args, "--branch", "Tajrish", check=False)

    assert refused.returncode == 1
    assert "no member" in refused.stderr or "no card" in refused.stderr
    assert E164 not in refused.stdout + refused.stderr
    record = hub.json("member", "show", chain["member_id"], "--json")
    assert record["status"] == "active" and record["phone"] == E164
    assert record["cards"] == [{"uid": CARD, "status": "active"}]
    assert [e["kind"] for e in record["history"]["entries"]].count("adjust") == 0


def test_an_adjustment_shows_in_the_kiosks_balance_after_its_pull(hub: Hub, chain: dict[str, Any]):
    kiosk, member_id = chain["valiasr"], chain["member_id"]
    before = kiosk.service.effective_balance(member_id)
    kiosk.clock.advance(hours=5)
    kiosk.service.earn(member_id, 1_000_000, cashier=CLI, client_txn_id="not-pushed-yet")

    done = json.loads(
        hub.run(
            "member", "adjust", member_id, "250", "--reason", "a broken coffee machine", "--json"
        ).stdout
    )
    kiosk.sync()

    assert done["balance"] == before + 250
    # The purchase pushed by this very sync counted once, the adjustment too.
    assert kiosk.service.effective_balance(member_id) == before + 10 + 250
    record = hub.json("member", "show", member_id, "--json")
    (adjust,) = [e for e in record["history"]["entries"] if e["kind"] == "adjust"]
    assert adjust | {"entry_id": None, "created_at": None} == {
        "entry_id": None,
        "kind": "adjust",
        "points": 250,
        "amount": None,
        "created_at": None,
        "branch": "hub",
        "device_id": "hub",
        "reason": "a broken coffee machine",
    }
    assert record["balance"] == before + 10 + 250


def test_the_same_transaction_id_adjusts_once(hub: Hub, chain: dict[str, Any]):
    member_id = chain["member_id"]
    first = hub.json("member", "adjust", member_id, "40", "--reason", "x", "--txn", "t-1", "--json")

    again = hub.json("member", "adjust", member_id, "40", "--reason", "x", "--txn", "t-1", "--json")

    assert again["repeated"] is True and again["entry_id"] == first["entry_id"]
    assert hub.json("member", "show", member_id, "--json")["balance"] == first["balance"]


def test_an_adjustment_beyond_the_programs_limit_needs_the_owners_confirmation(
    hub: Hub, chain: dict[str, Any]
):
    member_id = chain["member_id"]
    before = hub.json("member", "show", member_id, "--json")["balance"]

    refused = hub.run("member", "adjust", member_id, "10001", "--reason", "big", check=False)
    taken_below_zero = hub.run(
        "member", "adjust", member_id, str(-before - 1), "--reason", "too much", check=False
    )
    confirmed = hub.json(
        "member", "adjust", member_id, "10001", "--reason", "big", "--confirm", "--json"
    )

    assert refused.returncode == 1 and "limit of 10,000" in refused.stderr
    assert taken_below_zero.returncode == 1 and "points to take from" in taken_below_zero.stderr
    assert confirmed["balance"] == before + 10001


def test_a_blocked_card_is_refused_at_every_kiosk_after_the_pull(hub: Hub, chain: dict[str, Any]):
    valiasr, tajrish = chain["valiasr"], chain["tajrish"]
    assert valiasr.service.identify_card(CARD).member_id == chain["member_id"]

    hub.run("member", "block-card", CARD)
    valiasr.sync()

    with pytest.raises(CardBlocked):
        valiasr.service.identify_card(CARD)
    with pytest.raises(CardBlocked):  # never knew the member: asks the hub, which says no
        tajrish.service.identify_card(CARD)
    assert valiasr.service.identify_phone(PHONE).member_id == chain["member_id"]
    record = hub.json("member", "show", chain["member_id"], "--json")
    assert record["cards"] == [{"uid": CARD, "status": "blocked"}]


def test_a_kiosk_that_had_not_pulled_the_block_cannot_unblock_the_card(
    hub: Hub, chain: dict[str, Any]
):
    kiosk, member_id = chain["valiasr"], chain["member_id"]
    hub.run("member", "block-card", CARD)
    # A change made at the counter before the kiosk heard of the block: its record, pushed
    # first, still says the card is active.
    kiosk.service.set_consent(member_id, marketing=False, version="fa-3")

    kiosk.sync()
    kiosk.sync()

    record = hub.json("member", "show", member_id, "--json")
    assert record["cards"] == [{"uid": CARD, "status": "blocked"}]
    assert record["consent"]["version"] == "fa-3"  # the rest of the record is taken
    with pytest.raises(CardBlocked):
        kiosk.service.identify_card(CARD)


def test_the_export_holds_everything_about_the_member(hub: Hub, chain: dict[str, Any]):
    member_id = chain["member_id"]
    hub.run("member", "adjust", member_id, "5", "--reason", "welcome back")

    data = json.loads(hub.run("member", "export", member_id).stdout)

    assert data["member_id"] == member_id
    assert data["record"]["phone"] == E164
    assert data["record"]["cards"] == [{"uid": CARD, "status": "active"}]
    assert "consent_version" in data["record"] and "consent_at" in data["record"]
    assert [b["branch"] for b in data["branches"]] == ["Valiasr"]
    kinds = [e["entry"]["kind"] for e in data["entries"]]
    assert kinds.count("earn") == 2 and kinds[-1] == "adjust"
    assert data["entries"][-1]["source"] == "hub"
    assert data["balance"] == sum(e["entry"]["points"] for e in data["entries"])
    assert data["holds"] == []


def test_an_erasure_reaches_the_kiosk_and_the_person_is_gone_there_and_at_the_hub(
    hub: Hub, chain: dict[str, Any]
):
    kiosk, member_id = chain["valiasr"], chain["member_id"]
    balance = hub.json("member", "show", member_id, "--json")["balance"]

    refused = hub.run("member", "erase", member_id, check=False, stdin="not-the-id\n")
    erased = hub.run("member", "erase", member_id, stdin=member_id + "\n")
    kiosk.sync()

    assert refused.returncode == 1 and "not erased" in refused.stderr
    assert member_id in erased.stdout
    there = kiosk.service.member(member_id)
    assert there.status == "erased" and there.person is None
    assert kiosk.service.members.card(CARD) is None
    with pytest.raises(UnknownMember):  # not here, and the hub has no one with it either
        kiosk.service.identify_phone(PHONE)
    assert found(hub, PHONE) == [] and found(hub, CARD) == []
    data = json.loads(hub.run("member", "export", member_id).stdout)
    assert data["record"] == {
        "member_id": member_id,
        "status": "erased",
        "created_at": data["record"]["created_at"],
        "updated_at": data["record"]["updated_at"],
        "received_at": data["record"]["received_at"],
        "merged_into": None,
    }
    assert data["balance"] == balance  # the anonymous ledger stays
    assert E164 not in json.dumps(hub.json("export"))  # nor in what the hub exports


def test_every_command_is_in_the_audit_log_and_no_phone_is(hub: Hub, chain: dict[str, Any]):
    member_id = chain["member_id"]

    hub.run("member", "find", PHONE)
    hub.run("member", "show", member_id)
    hub.run("member", "export", member_id)
    hub.run("member", "adjust", member_id, "7", "--reason", "audited")

    rows = hub.sql("SELECT action, subject, detail::text FROM hub_audit_event ORDER BY id")
    assert [(a, s) for a, s, _ in rows] == [
        ("member.search", ""),
        ("member.show_personal", member_id),
        ("member.export", member_id),
        ("member.adjust", member_id),
    ]
    assert all('"via": "cli"' in detail for _, _, detail in rows)
    assert not any(E164 in str(row) or PHONE in str(row) or CARD in str(row) for row in rows)


def test_erasing_a_merged_member_erases_every_enrollment_of_theirs_at_every_kiosk(
    hub: Hub, hub_server: HubServer, kiosks: Any
):
    north = kiosks(hub_server.url, "kiosk-north")
    north.provision(hub.new_device("North")["code"])
    south = kiosks(hub_server.url, "kiosk-south")
    south.provision(hub.new_device("South")["code"])
    first = north.sale(PHONE, "0A0A0A0A", [2_000_000])  # one phone, two offline enrollments
    second = south.sale(PHONE, "0B0B0B0B", [1_000_000])
    north.sync()
    south.sync()  # merged into north's member
    assert hub.json("member", "show", second, "--json")["aliases"] == [second]

    erased = hub.json("member", "erase", second, "--yes", "--json")  # by either id
    north.sync()
    south.sync()

    assert erased == {"member_id": first, "erased": sorted([first, second])}
    for kiosk, member_id in ((north, first), (south, second)):
        there = kiosk.service.member(member_id)
        assert there.status == "erased" and there.person is None
        with pytest.raises(UnknownMember):
            kiosk.service.identify_phone(PHONE)
    assert E164 not in json.dumps(hub.json("export"))
    assert found(hub, PHONE) == []
