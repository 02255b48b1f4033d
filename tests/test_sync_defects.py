"""Sync defects found in the field, each as the behaviour the kiosk must keep from now on.

- A push carries the record of every member its entries name (an import of 600 members
  lost 5 opening balances at the CRM as `unknown_member`).
- A change made here is never undone by an older record the pull brings back (a blocked
  card came back unblocked from the CRM's echo of the member's older record).
- A program change that docs/sync-openapi.yaml calls valid is applied (one without reward
  names was skipped, and its new reward could not be redeemed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from kiosk.bootstrap import Appliance
from kiosk.core import pulled
from kiosk.core.clock import ManualClock
from kiosk.core.member_io import import_members, read_member_csv
from kiosk.core.pulled import Here
from kiosk.core.service import LoyaltyService
from kiosk.core.store.outbox import Batch, Outbox
from kiosk.core.store.staff import CLI
from kiosk.errors import CardBlocked
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.client import CrmClient
from sync.owner_key import OwnerSigner
from sync.worker import SyncWorker
from tests.conftest import make_config

SPEC_FILE = Path(__file__).resolve().parent.parent / "docs" / "sync-openapi.yaml"
PHONE = "09121234567"
CARD = "A1B2C3D4"


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


@pytest.fixture
def kiosk(
    tmp_path: Path, clock: ManualClock, crm: CrmServer
) -> Iterator[tuple[LoyaltyService, SyncWorker]]:
    """A kiosk enrolled at the simulated CRM, with the shipped batch size (500)."""
    service = Appliance(make_config(), tmp_path / "data", clock=clock).open_service()
    client = CrmClient(crm.url, service.device_id)
    client.enroll(crm.store.new_code())
    worker = SyncWorker(service, client, service.config.crm, clock=lambda: clock().timestamp())
    yield service, worker
    client.close()
    service.close()


# -- a batch carries every member its entries need ---------------------------------------------


def import_600_members(service: LoyaltyService, folder: Path) -> list[str]:
    """`kiosk member import` of 600 members, each with a card and an opening balance."""
    members_csv = folder / "members.csv"
    lines = ["phone,name,card,consent,consent_version,points"]
    lines += [
        f"0912{3000000 + i:07d},Member {i},{0x2B000000 + i:08X},yes,v1,{100 + i}"
        for i in range(600)
    ]
    members_csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows, problems = read_member_csv(members_csv, service)
    assert not problems
    import_members(service, rows, actor=CLI)
    return [entry.member_id for entry in service.ledger.entries()]  # in import order


def assert_the_crm_holds_everything(
    service: LoyaltyService, worker: SyncWorker, crm: CrmServer
) -> None:
    assert worker.outbox.rejected() == []
    local_members = {r[0] for r in service.conn.execute("SELECT member_id FROM members")}
    assert set(crm.store.view()["members"]) == local_members
    assert crm.store.entry_ids(service.device_id) == [e.entry_id for e in service.ledger.entries()]
    assert sum(crm.store.view()["balances"].values()) == sum(100 + i for i in range(600))


def test_the_first_push_after_importing_600_members_loses_no_opening_balance(
    kiosk: tuple[LoyaltyService, SyncWorker], crm: CrmServer, tmp_path: Path
) -> None:
    service, worker = kiosk
    import_600_members(service, tmp_path)

    result = worker.drain()

    assert (result.stopped, result.batches, result.rejected) == ("empty", 2, 0)
    assert_the_crm_holds_everything(service, worker, crm)


def test_members_changed_again_after_the_import_still_go_with_their_entries(
    kiosk: tuple[LoyaltyService, SyncWorker], crm: CrmServer, tmp_path: Path
) -> None:
    service, worker = kiosk
    imported = import_600_members(service, tmp_path)
    for n, member_id in enumerate(imported[:5]):  # the first five lose their card at once
        service.link_card(member_id, f"{0x3C000000 + n:08X}", actor=CLI)

    result = worker.drain()

    assert (result.stopped, result.rejected) == ("empty", 0)
    assert_the_crm_holds_everything(service, worker, crm)


def push_body(service: LoyaltyService, batch: Batch) -> bytes:
    """The push body of `batch`, as sync/client.py encodes it (before gzip)."""
    body = {"device_id": service.device_id, "members": batch.members, "entries": batch.entries}
    return json.dumps(body, separators=(",", ":")).encode()


def test_a_batch_over_the_body_limit_is_cut_and_no_entry_goes_without_its_member(
    service: LoyaltyService,
) -> None:
    for i in range(40):
        service.enroll(f"0912{4000000 + i:07d}", client_txn_id=f"e{i}", name=f"نام {i}")
    outbox = Outbox(service.conn, service.device_id)
    whole = outbox.next_batch(500)
    limit = len(push_body(service, whole)) // 3

    cut = outbox.next_batch(500, max_bytes=limit)

    assert 0 < len(cut.entries) < len(whole.entries) == 40
    assert cut.entries == whole.entries[: len(cut.entries)]
    assert {e["member_id"] for e in cut.entries} <= {m["member_id"] for m in cut.members}
    assert [m for m, _version in cut.member_versions] == [m["member_id"] for m in cut.members]
    assert len(push_body(service, cut)) <= limit


# -- a change made here wins over an older record from the pull --------------------------------


def card_status_at_crm(crm: CrmServer, member_id: str) -> str:
    cards = crm.store.view()["members"][member_id]["cards"]
    return str({c["uid"]: c["status"] for c in cards}[CARD])


def test_a_card_blocked_here_stays_blocked_when_the_pull_brings_the_older_record_first(
    kiosk: tuple[LoyaltyService, SyncWorker], crm: CrmServer
) -> None:
    service, worker = kiosk
    member_id = service.enroll(PHONE, client_txn_id="e1", card=CARD).member_id
    assert worker.drain().stopped == "empty"  # the CRM's feed now holds the card active
    service.block_card(CARD, actor=CLI)

    assert worker.pull().stopped == "done"  # not pushed yet: the feed has the older record

    with pytest.raises(CardBlocked):
        service.identify_card(CARD)
    assert worker.drain().stopped == "empty"
    assert card_status_at_crm(crm, member_id) == "blocked"
    assert worker.pull().stopped == "done"  # the echo of the block itself
    with pytest.raises(CardBlocked):
        service.identify_card(CARD)


def test_a_card_blocked_and_pushed_stays_blocked_until_the_feed_catches_up(
    kiosk: tuple[LoyaltyService, SyncWorker], crm: CrmServer
) -> None:
    service, worker = kiosk
    member_id = service.enroll(PHONE, client_txn_id="e1", card=CARD).member_id
    assert worker.drain().stopped == "empty"
    service.block_card(CARD, actor=CLI)
    assert worker.drain().stopped == "empty"
    assert card_status_at_crm(crm, member_id) == "blocked"

    # One change a page: the first page is the member's older record, the block comes later.
    assert worker.pull(limit=1, max_pages=1).stopped == "done"

    with pytest.raises(CardBlocked):
        service.identify_card(CARD)
    assert worker.pull().stopped == "done"
    with pytest.raises(CardBlocked):
        service.identify_card(CARD)
    assert card_status_at_crm(crm, member_id) == "blocked"

    # Once the feed has brought the block back, a later record (the card found and
    # unblocked at the CRM) is taken up as usual.
    found = record(service, member_id, updated_at="2099-01-01T00:00:00.000000Z")
    apply_member(service, found | {"cards": [{"uid": CARD, "status": "active"}]})
    assert service.identify_card(CARD).member_id == member_id


def record(service: LoyaltyService, member_id: str, **changes: Any) -> dict[str, Any]:
    """The member's record as this kiosk would push it now, with `changes`."""
    outbox = Outbox(service.conn, service.device_id)
    return outbox.member_record(member_id, "2026-01-01T00:00:00.000Z") | changes


def apply_member(service: LoyaltyService, data: dict[str, Any]) -> None:
    here = Here(service.device_id, service.program.tiers[0].id)
    cursor = pulled.cursor(service.conn) + 1
    applied = pulled.apply_page(
        service.conn, here, [{"cursor": cursor, "type": "member", "data": data}], cursor
    )
    assert applied["skipped"] == 0


def test_consent_given_here_is_not_undone_by_an_older_record_but_a_newer_one_wins(
    kiosk: tuple[LoyaltyService, SyncWorker], crm: CrmServer
) -> None:
    service, worker = kiosk
    member_id = service.enroll(PHONE, client_txn_id="e1", name="Sara", card=CARD).member_id
    assert worker.drain().stopped == "empty"
    older = record(service, member_id, updated_at="2026-01-01T00:00:00.000000Z")
    service.set_consent(member_id, marketing=True, version="v2", actor=CLI)

    apply_member(service, older | {"name": "Old name", "phone": "+989121111111"})

    person = service.member(member_id).person
    assert person is not None
    assert (person.consent_marketing, person.consent_version) == (True, "v2")
    assert (person.name, person.phone) == ("Sara", "+989121234567")
    assert worker.drain().stopped == "empty"
    assert crm.store.view()["members"][member_id]["consent_marketing"] is True

    # A record made after every change here (at another branch) is applied.
    newer = older | {"updated_at": "2099-01-01T00:00:00.000000Z", "name": "Sara K."}
    apply_member(service, newer | {"consent_marketing": False, "cards": []})
    person = service.member(member_id).person
    assert person is not None
    assert (person.name, person.consent_marketing) == ("Sara K.", False)


# -- a program change valid by the OpenAPI file is applied -------------------------------------


def program_schema() -> Callable[[Any], list[str]]:
    """The errors of an instance against docs/sync-openapi.yaml's Program schema."""
    document = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    registry: Registry[Any] = Registry().with_resource(
        "urn:spec", DRAFT202012.create_resource(document)
    )
    validator = Draft202012Validator(
        {"$ref": "urn:spec#/components/schemas/Program"}, registry=registry
    )
    return lambda instance: [error.message for error in validator.iter_errors(instance)]


def test_a_program_with_only_the_required_fields_is_applied_and_its_reward_redeemed(
    service: LoyaltyService,
) -> None:
    program = {
        "version": 7,
        "tiers": [{"id": "bronze", "threshold": 0, "multiplier": "1"}],
        "rewards": [
            {"id": "tea", "cost": 30, "kind": "free_item", "value": 0},
            {"id": "cake", "name_fa": "کیک", "cost": 40, "kind": "free_item", "value": 0},
            {"id": "juice", "name_en": "Juice", "cost": 40, "kind": "free_item", "value": 0},
        ],
    }
    assert program_schema()(program) == []
    owner = OwnerSigner.generate("test-chain")  # signed by the chain's owner, as required
    here = Here(service.device_id, service.program.tiers[0].id, owner=owner.public)
    change = {"cursor": 1, "type": "program", "data": program}

    applied = pulled.apply_page(
        service.conn, here, [change | {"signature": owner.sign("program", program)}], 1
    )
    service.reload_program()

    assert applied["program"] == 1
    names = {r.id: (r.name_fa, r.name_en) for r in service.program.rewards}
    assert names == {"tea": ("tea", "tea"), "cake": ("کیک", "کیک"), "juice": ("Juice", "Juice")}
    assert [(t.id, t.name_fa, t.name_en) for t in service.program.tiers] == [
        ("bronze", "bronze", "bronze")
    ]
    member_id = service.enroll(PHONE, client_txn_id="e1").member_id  # 50 points
    redeemed = service.redeem(member_id, "tea", cashier=CLI, client_txn_id="tea")
    assert redeemed.balance == 20
