"""Staff and program changes are applied only when the chain's owner signed them.

A kiosk provisioned at the simulated CRM (which signs what it publishes with its owner
key) pulls forged changes over loopback: unsigned, signed by another key, a good signature
moved to another change or kind, a role no pulled change may give, a weak PIN hash, an
older program. Each is refused with nothing changed, counted, logged without personal data
and audited; a properly signed change is applied and audited. The signed bytes are
written out here again from docs/sync-protocol.md, so the format is pinned twice.
"""

from __future__ import annotations

import base64
import json
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.bootstrap import Appliance
from kiosk.cli import main
from kiosk.config import KioskConfig, load_config
from kiosk.core.pin import hash_pin
from kiosk.core.service import LoyaltyService
from kiosk.core.store import audit
from kiosk.core.store.members import CARD_UID
from kiosk.core.store.staff import CLI, STAFF_NAME
from kiosk.errors import WrongPin
from sim.crm import CrmServer
from sim.crm_store import CrmStore
from sync.client import CrmClient
from sync.worker import PullResult, SyncWorker, save_secret
from tests.conftest import NO_SYSTEM_CONFIG, TEST_OVERRIDES

PHONE = "09121234567"


def config_in(data: Path, *overrides: str) -> KioskConfig:
    """The test config with what provisioning wrote into `data`, as the loader layers it."""
    return load_config(
        None, [*TEST_OVERRIDES, *overrides], environ={}, system_file=NO_SYSTEM_CONFIG, data_dir=data
    )


class Shop:
    """A kiosk provisioned at the CRM (`kiosk provision`), then started again from its config."""

    def __init__(self, crm: CrmServer, data: Path) -> None:
        self.crm = crm
        self.data = data
        first = Appliance(config_in(data), data)
        service = first.open_service()
        first.provision(service, crm_url=crm.url, code=crm.store.new_code())
        service.close()
        self.start()

    def start(self) -> None:
        self.appliance = Appliance(config_in(self.data), self.data)
        self.service = self.appliance.open_service()
        self.worker = self.appliance.sync_worker(self.service)

    def stop(self) -> None:
        self.service.close()
        self.appliance.forget_client()

    @property
    def chain_id(self) -> str:
        """The chain this kiosk was provisioned for ("" when provisioning gave none)."""
        layer = tomllib.loads((self.data / "provisioned.toml").read_text(encoding="utf-8"))
        return str(layer["crm"].get("chain_id", ""))

    def pull(self) -> PullResult:
        result = self.worker.pull()
        assert result.stopped == "done", result
        return result

    def signature_in_feed(self, kind: str, **match: object) -> object:
        """The signature the CRM's feed carries for the change of `kind` matching `match`."""
        client = self.worker.client
        assert client is not None
        for change in reversed(client.changes(0, 1000).changes):
            data = change["data"]
            if change["type"] == kind and all(data.get(k) == v for k, v in match.items()):
                return change.get("signature")
        raise AssertionError(f"no {kind} change {match} in the feed")


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer(CrmStore()) as server:
        yield server


CASHIER: dict[str, Any] = {
    "staff_id": "s-crm-1",
    "name": "Reza",
    "role": "cashier",
    "pin_hash": hash_pin("4321", n=1024),  # the test floor: security.pin_scrypt_n=1024
    "cards": ["5A5A5A5A"],
    "disabled": False,
}
PROMOTED = CASHIER | {"role": "manager", "pin_hash": hash_pin("8642", n=1024)}


def program(version: int, reward: str) -> dict[str, Any]:
    return {
        "version": version,
        "tiers": [{"id": "bronze", "threshold": 0, "multiplier": "1"}],
        "rewards": [{"id": reward, "cost": 30, "kind": "free_item", "value": 0}],
    }


def publish(crm: CrmServer, kind: str, data: dict[str, Any], **signature: object) -> None:
    """A change made at the CRM: signed by it, or (`signature=...`) sent as given."""
    body = {"type": kind, "data": data, **signature}
    answer = requests.post(crm.url + "/sim/publish", json=body, timeout=10)
    assert answer.status_code == 201, answer.text


@pytest.fixture
def shop(crm: CrmServer, tmp_path: Path) -> Iterator[Shop]:
    """Provisioned, with one cashier from the CRM (signed) already pulled."""
    kiosk = Shop(crm, tmp_path / "data")
    publish(crm, "staff", CASHIER)
    kiosk.pull()
    yield kiosk
    kiosk.stop()


def signed_bytes(kind: str, chain_id: str, data: dict[str, Any]) -> bytes:
    """What docs/sync-protocol.md says the owner signs, written out again here."""
    document = {"chain_id": chain_id, "data": data, "type": kind}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b"loyalty-kiosk signed change v1\n" + text.encode("utf-8")


def signed_by(key: Ed25519PrivateKey, kind: str, chain_id: str, data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(key.sign(signed_bytes(kind, chain_id, data))).decode()


def kiosk_state(service: LoyaltyService) -> dict[str, list[tuple[object, ...]]]:
    """What a staff or program change may change: accounts, staff cards, the program."""
    queries = {
        "staff": f"SELECT staff_id, {STAFF_NAME}, role, pin_hash, disabled_at FROM staff "
        "ORDER BY 1",
        "staff_cards": f"SELECT {CARD_UID}, staff_id, status FROM cards c "
        "WHERE staff_id IS NOT NULL",
        "program": "SELECT value FROM sync_state WHERE key = 'program'",
    }
    state = {name: [tuple(r) for r in service.conn.execute(q)] for name, q in queries.items()}
    state["rewards"] = [(r.id,) for r in service.program.rewards]
    return state


def from_crm(service: LoyaltyService) -> list[tuple[str, str | None, str, dict[str, Any]]]:
    """The audit records of changes the CRM sent, oldest first: action, target, outcome."""
    records = [r for r in audit.recent(service.conn, 1000) if r.actor == "crm"]
    return [(r.action, r.target, r.outcome, r.details) for r in reversed(records)]


# -- forged changes: each is published after what it needs was pulled ----------------------


def unsigned(crm: CrmServer, shop: Shop) -> tuple[str, dict[str, Any], dict[str, object]]:
    return "staff", PROMOTED, {"signature": None}


def signed_by_another_key(
    crm: CrmServer, shop: Shop
) -> tuple[str, dict[str, Any], dict[str, object]]:
    forger = Ed25519PrivateKey.generate()
    return "staff", PROMOTED, {"signature": signed_by(forger, "staff", shop.chain_id, PROMOTED)}


def signature_of_another_change(
    crm: CrmServer, shop: Shop
) -> tuple[str, dict[str, Any], dict[str, object]]:
    other = CASHIER | {"staff_id": "s-crm-2", "name": "Sara", "cards": []}
    publish(crm, "staff", other)
    shop.pull()
    moved = shop.signature_in_feed("staff", staff_id="s-crm-2")
    return "staff", PROMOTED, {"signature": moved}


def signature_of_a_program_change(
    crm: CrmServer, shop: Shop
) -> tuple[str, dict[str, Any], dict[str, object]]:
    publish(crm, "program", program(2, "tea"))
    shop.pull()
    moved = shop.signature_in_feed("program", version=2)
    return "staff", PROMOTED, {"signature": moved}


def promotion_to_technician(
    crm: CrmServer, shop: Shop
) -> tuple[str, dict[str, Any], dict[str, object]]:
    return "staff", CASHIER | {"role": "technician"}, {}


def new_technician_with_pin_0000(
    crm: CrmServer, shop: Shop
) -> tuple[str, dict[str, Any], dict[str, object]]:
    intruder = {
        "staff_id": "s-crm-9",
        "name": "Intruder",
        "role": "technician",
        "pin_hash": hash_pin("0000", n=1024),
        "cards": ["0BADCAFE"],
        "disabled": False,
    }
    return "staff", intruder, {}


def takeover_of_the_kiosks_technician(
    crm: CrmServer, shop: Shop
) -> tuple[str, dict[str, Any], dict[str, object]]:
    local = shop.service.staff.add(name="Tech", role="technician", pin="97531", actor=CLI)
    change = {
        "staff_id": local.staff_id,
        "name": "Tech",
        "role": "cashier",
        "pin_hash": hash_pin("0000", n=1024),
        "cards": [],
        "disabled": False,
    }
    return "staff", change, {}


def pin_hash_below_the_floor(
    crm: CrmServer, shop: Shop
) -> tuple[str, dict[str, Any], dict[str, object]]:
    return "staff", PROMOTED | {"pin_hash": hash_pin("0000", n=512)}, {}


def pin_hash_with_r_1(crm: CrmServer, shop: Shop) -> tuple[str, dict[str, Any], dict[str, object]]:
    weak = hash_pin("0000", n=1024).split("$")
    weak[2] = "1"  # as cheap to try as N/8
    return "staff", PROMOTED | {"pin_hash": "$".join(weak)}, {}


def pin_hash_with_a_short_digest(
    crm: CrmServer, shop: Shop
) -> tuple[str, dict[str, Any], dict[str, object]]:
    parts = hash_pin("0000", n=1024).split("$")
    parts[5] = base64.b64encode(base64.b64decode(parts[5])[:16]).decode()
    return "staff", PROMOTED | {"pin_hash": "$".join(parts)}, {}


def pin_hash_too_costly_to_check(
    crm: CrmServer, shop: Shop
) -> tuple[str, dict[str, Any], dict[str, object]]:
    parts = hash_pin("0000", n=1024).split("$")
    parts[1] = str(2**20)  # 1 GiB for every login that tries it: a Raspberry Pi stops
    return "staff", PROMOTED | {"pin_hash": "$".join(parts)}, {}


def copy_of_another_accounts_pin_hash(
    crm: CrmServer, shop: Shop
) -> tuple[str, dict[str, Any], dict[str, object]]:
    publish(crm, "staff", CASHIER)
    shop.pull()
    return "staff", CASHIER | {"staff_id": "s-crm-2", "name": "Nima", "cards": []}, {}


def older_program(crm: CrmServer, shop: Shop) -> tuple[str, dict[str, Any], dict[str, object]]:
    publish(crm, "program", program(5, "tea"))
    shop.pull()
    return "program", program(3, "cake"), {}


def same_program_version_again(
    crm: CrmServer, shop: Shop
) -> tuple[str, dict[str, Any], dict[str, object]]:
    publish(crm, "program", program(5, "tea"))
    shop.pull()
    return "program", program(5, "cake"), {}


FORGERIES: dict[str, tuple[Callable[..., Any], str]] = {
    "a: unsigned": (unsigned, "unsigned"),
    "b: signed by another key": (signed_by_another_key, "bad_signature"),
    "c: signature of another staff change": (signature_of_another_change, "bad_signature"),
    "c: signature of a program change": (signature_of_a_program_change, "bad_signature"),
    "d: promotion to technician": (promotion_to_technician, "role_not_allowed"),
    "d: new technician with PIN 0000": (new_technician_with_pin_0000, "role_not_allowed"),
    "d: the kiosk's own technician taken over": (
        takeover_of_the_kiosks_technician,
        "technician_here",
    ),
    "e: PIN hash below the scrypt floor": (pin_hash_below_the_floor, "pin_hash_too_weak"),
    "e: PIN hash with r=1": (pin_hash_with_r_1, "pin_hash_too_weak"),
    "e: PIN hash with a 16-byte digest": (pin_hash_with_a_short_digest, "pin_hash_not_scrypt"),
    "e: PIN hash too costly to check": (pin_hash_too_costly_to_check, "pin_hash_too_costly"),
    "e: a copy of another account's PIN hash": (
        copy_of_another_accounts_pin_hash,
        "pin_hash_reused",
    ),
    "f: an older program version": (older_program, "not_newer"),
    "f: the same program version again": (same_program_version_again, "not_newer"),
}


@pytest.mark.parametrize("forgery", list(FORGERIES), ids=list(FORGERIES))
def test_a_forged_change_is_refused_with_nothing_changed_and_audited(
    shop: Shop, crm: CrmServer, caplog: pytest.LogCaptureFixture, forgery: str
) -> None:
    make, reason = FORGERIES[forgery]
    kind, data, signature = make(crm, shop)
    before = kiosk_state(shop.service)
    audited = len(from_crm(shop.service))
    publish(crm, kind, data, **signature)

    result = shop.pull()

    assert kiosk_state(shop.service) == before
    assert result.applied == {"skipped": 1}
    action, target, outcome, details = from_crm(shop.service)[-1]
    assert len(from_crm(shop.service)) == audited + 1
    assert (action, outcome, details) == (f"{kind}.put", "refused", {"reason": reason})
    assert target == (data["staff_id"] if kind == "staff" else str(data["version"]))
    assert f"refused a {kind} change from the CRM ({reason})" in caplog.text
    for personal in (data.get("name"), data.get("pin_hash"), "0BADCAFE"):
        assert not personal or personal not in caplog.text
    for person in shop.service.staff.active():  # the forged changes' PINs open no shift
        for pin in ("0000", "8642"):
            with pytest.raises(WrongPin):
                shop.service.staff.login_with_pin(pin, person.staff_id)


def test_a_change_signed_by_the_owner_is_applied_and_audited(shop: Shop, crm: CrmServer):
    publish(crm, "staff", PROMOTED)
    publish(crm, "program", program(2, "tea"))

    result = shop.pull()

    assert result.applied == {"staff": 1, "program": 1}
    assert shop.service.staff.login_with_pin("8642", "s-crm-1").role == "manager"
    assert [r.id for r in shop.service.program.rewards] == ["tea"]
    assert from_crm(shop.service) == [
        ("staff.put", "s-crm-1", "ok", {"role": "cashier", "was": None, "disabled": False}),
        ("staff.put", "s-crm-1", "ok", {"role": "manager", "was": "cashier", "disabled": False}),
        ("program.put", "2", "ok", {"version": 2, "was": None}),
    ]


def test_a_signature_for_another_chain_is_refused(shop: Shop, crm: CrmServer, tmp_path: Path):
    # The same owner key, another chain: what its CRM signs is no good here.
    from sync.owner_key import OwnerSigner

    twin = CrmStore(tmp_path / "twin.db", owner=OwnerSigner(crm.store.owner.private, "other"))
    twin.publish("staff", PROMOTED)
    moved = twin.changes(0, 10)[0][0]["signature"]
    before = kiosk_state(shop.service)

    publish(crm, "staff", PROMOTED, signature=moved)

    assert shop.pull().applied == {"skipped": 1}
    assert kiosk_state(shop.service) == before


def test_a_kiosk_without_an_owner_key_refuses_until_provisioned_then_reads_the_feed_again(
    crm: CrmServer, tmp_path: Path
):
    # Provisioned as before owner keys: a secret, and provisioned.toml with the URL only.
    data = tmp_path / "old"
    data.mkdir()
    (data / "provisioned.toml").write_text(f'[crm]\nurl = "{crm.url}"\n', encoding="utf-8")
    config = config_in(data)
    client = CrmClient(crm.url, "kiosk-test")
    save_secret(config.crm, data, client.enroll(crm.store.new_code()))
    service = Appliance(config, data).open_service()
    member_id = service.enroll(PHONE, client_txn_id="e1").member_id
    worker = SyncWorker(service, client, config.crm)
    publish(crm, "staff", CASHIER)
    publish(crm, "program", program(2, "tea"))

    assert worker.drain().stopped == "empty"
    assert worker.pull().applied == {"member": 1, "balance": 1, "skipped": 2}
    assert service.staff.list() == []
    assert [details for *_, details in from_crm(service)] == [{"reason": "no_owner_key"}] * 2
    service.close()

    # Provisioned again at the same CRM: the key comes with the enrollment answer.
    shop = Shop(crm, data)
    result = shop.pull()

    assert result.applied == {"staff": 1, "program": 1}
    assert [(s.staff_id, s.role) for s in shop.service.staff.list()] == [("s-crm-1", "cashier")]
    assert [r.id for r in shop.service.program.rewards] == ["tea"]
    assert shop.service.effective_balance(member_id) == 50  # members were not applied twice
    assert shop.pull().applied == {}  # read again once, not at every pull
    shop.stop()


def test_provisioning_keeps_the_owner_key_and_config_show_shows_it(
    crm: CrmServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    config = tmp_path / "kiosk.toml"
    config.write_text('[device]\nid = "kiosk-show"\n[security]\npin_scrypt_n = 1024\n')
    monkeypatch.setenv("KIOSK_CONFIG", str(config))
    data = tmp_path / "data"
    kiosk = Shop(crm, data)
    kiosk.stop()
    owner = crm.store.owner.public

    assert main(["config", "show", "--data-dir", str(data)]) == 0

    shown = tomllib.loads(capsys.readouterr().out)
    assert shown["crm"]["owner_key"] == owner.text
    assert shown["crm"]["chain_id"] == owner.chain_id
    assert (data / "provisioned.toml").stat().st_mode & 0o077 == 0


def test_kiosk_sync_enroll_keeps_the_owner_key_too(
    crm: CrmServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    config = tmp_path / "kiosk.toml"
    config.write_text(
        '[device]\nid = "kiosk-enroll"\n[security]\npin_scrypt_n = 1024\n'
        f'[crm]\nurl = "{crm.url}"\n'
    )
    monkeypatch.setenv("KIOSK_CONFIG", str(config))
    data = tmp_path / "data"

    assert main(["sync", "enroll", crm.store.new_code(), "--data-dir", str(data)]) == 0

    layer = tomllib.loads((data / "provisioned.toml").read_text(encoding="utf-8"))
    owner = crm.store.owner.public
    assert layer == {"crm": {"owner_key": owner.text, "chain_id": owner.chain_id}}
    publish(crm, "staff", CASHIER)
    assert main(["sync", "--once", "--data-dir", str(data)]) == 0
    assert "'staff': 1" in capsys.readouterr().out


def test_a_kiosk_moved_to_another_crm_reads_that_crms_feed_from_its_start(
    shop: Shop, tmp_path: Path
):
    assert shop.worker.status().pull_cursor > 0
    shop.stop()
    with CrmServer(CrmStore()) as other:
        nima = {"staff_id": "s-other-1", "name": "Nima", "pin_hash": hash_pin("1357", n=1024)}
        publish(other, "staff", CASHIER | nima)

        moved = Shop(other, shop.data)
        result = moved.pull()

        assert result.applied == {"staff": 1}
        assert "s-other-1" in {s.staff_id for s in moved.service.staff.list()}
        moved.stop()
