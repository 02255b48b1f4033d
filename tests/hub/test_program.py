"""The chain's program and staff, published by the owner at the hub, signed with its key.

`hub migrate` makes the owner's Ed25519 key (the private half a 0600 file, never printed
or exported) and publishes program version 1 with the kiosk's default numbers; `hub
program publish` and `hub staff put` sign their changes into the feed, and a real kiosk
on the hub applies them. A staff change no kiosk may take (a technician with PIN 0000) is
refused by the hub's command, and by the kiosk when forced into the feed anyway.
"""

from __future__ import annotations

import base64
import json
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.clock import ManualClock
from kiosk.core.pin import check_pin, hash_pin
from kiosk.core.store import audit
from kiosk.core.store.staff import StaffAccounts
from sync.owner_key import OwnerKey, OwnerSigner
from tests.hub.conftest import Hub, HubServer
from tests.hub.test_kiosk_on_the_hub import Kiosk

ROOT = Path(__file__).resolve().parents[2]


def feed(hub: Hub, kind: str) -> list[tuple[dict[str, Any], str | None]]:
    rows = hub.sql("SELECT data, signature FROM hub_change WHERE type = %s ORDER BY cursor", kind)
    return [(r[0], r[1]) for r in rows]


def owner_of(hub: Hub) -> OwnerKey:
    ((key, chain),) = hub.sql("SELECT public_key, chain_id FROM hub_owner")
    return OwnerKey.parse(key, chain)


@pytest.fixture
def kiosk(hub: Hub, hub_server: HubServer, tmp_path: Path, clock: ManualClock) -> Iterator[Kiosk]:
    opened = Kiosk(tmp_path / "kiosk", hub_server.url, clock, "kiosk-valiasr-1")
    opened.provision(hub.new_device()["code"])
    yield opened
    opened.appliance.forget_client()
    opened.service.close()


def test_first_set_up_makes_the_owner_key_private_and_never_shows_it(hub: Hub, tmp_path: Path):
    data_dir = tmp_path / "fresh"
    database = hub.postgres.create_database()
    fresh = Hub(hub.postgres, database, data_dir)

    said = fresh.run("migrate")
    again = fresh.run("migrate")

    key_file = data_dir / "owner-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    seed = key_file.read_text().strip()
    exported = fresh.run("export").stdout
    for output in (said.stdout + said.stderr, again.stdout + again.stderr, exported):
        assert seed not in output and seed.rstrip("=") not in output
    assert "owner key created" in said.stdout and "owner key created" not in again.stdout
    raw = base64.urlsafe_b64decode(seed)
    ((chain,),) = fresh.sql("SELECT chain_id FROM hub_owner")
    assert OwnerSigner.from_seed(raw, chain).public.text == owner_of(fresh).text
    # Program 1 was published once, signed by that key.
    ((data, signature),) = feed(fresh, "program")
    assert data["version"] == 1 and owner_of(fresh).verify("program", data, signature)


def test_a_key_file_of_another_chain_is_refused(hub: Hub):
    (hub.data_dir / "owner-key").write_text(
        base64.urlsafe_b64encode(OwnerSigner.generate("other").seed).decode() + "\n"
    )

    refused = hub.run("program", "publish", "/dev/null", check=False)

    assert refused.returncode == 1
    assert "not this chain's" in refused.stderr or "not JSON" in refused.stderr


def test_the_enrollment_answer_gives_the_owner_key_and_chain(kiosk: Kiosk, hub: Hub):
    written = tomllib.loads((kiosk.appliance.data_dir / "provisioned.toml").read_text())

    assert written["crm"]["owner_key"] == owner_of(hub).text
    assert written["crm"]["chain_id"] == owner_of(hub).chain_id


def test_the_default_program_has_the_kiosks_shipped_numbers(hub: Hub):
    shipped = tomllib.loads((ROOT / "kiosk" / "config" / "defaults.toml").read_text())
    program, money = shipped["program"], shipped["money"]

    shown = hub.json("program", "show", "--json")

    assert shown["version"] == 1
    for name in (
        "mode",
        "points",
        "per_amount",
        "enrollment_bonus",
        "birthday_bonus",
        "offline_redemption_allowance",
    ):
        assert shown[name] == program[name], name
    assert shown["max_points_per_purchase"] == program["limits"]["max_points_per_purchase"]
    assert shown["max_amount"] == money["max_amount"]
    assert shown["tiers"] == program["tiers"]
    assert shown["rewards"] == program["rewards"]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"points": 0}, "points must be a whole number"),
        ({"per_amount": "100000"}, "per_amount must be a whole number"),
        ({"mode": "cashback"}, "mode must be"),
        ({"tiers": []}, "tiers must be a list"),
        ({"cashback": 5}, "unknown field 'cashback'"),
        ({"max_points_per_purchase": 1.5}, "max_points_per_purchase"),
    ],
)
def test_a_bad_program_is_one_line_and_nothing_is_written(
    hub: Hub, tmp_path: Path, change: dict[str, Any], said: str
):
    program = hub.json("program", "show", "--json") | change
    (tmp_path / "p.json").write_text(json.dumps(program))
    before = hub.sql("SELECT count(*) FROM hub_change")

    refused = hub.run("program", "publish", str(tmp_path / "p.json"), check=False)

    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1 and said in refused.stderr
    assert hub.sql("SELECT max(version) FROM hub_program") == [(1,)]
    assert hub.sql("SELECT count(*) FROM hub_change") == before


def test_a_published_program_reaches_a_kiosk_which_earns_by_it(
    hub: Hub, kiosk: Kiosk, tmp_path: Path
):
    program = hub.json("program", "show", "--json") | {
        "per_amount": 1_000,
        "max_points_per_purchase": 20,
        "rewards": [{"id": "tea", "name_en": "Tea", "cost": 30, "kind": "free_item", "value": 0}],
    }
    (tmp_path / "p.json").write_text(json.dumps(program))

    published = hub.run("program", "publish", str(tmp_path / "p.json"))
    _, pulled, _ = kiosk.sync()

    assert "program version 2 published" in published.stdout
    assert pulled.applied.get("program") == 2  # version 1 (set-up), then 2
    kiosk.service.reload_program()  # as the touch app does after its worker's pull
    member_id = kiosk.sale("09121234567", "A1B2C3D4", [1_000_000])  # 1,000 by rate, cap 20
    earned = [e.points for e in kiosk.service.ledger.entries() if e.kind == "earn"]
    assert earned == [20] and member_id
    assert [r.id for r in kiosk.service.program.rewards] == ["tea"]
    ((data, signature),) = feed(hub, "program")[1:]
    assert owner_of(hub).verify("program", data, signature)
    pushed, _, _ = kiosk.sync()
    assert pushed.rejected == 0  # the hub agrees: 20 is within version 2


def test_a_staff_member_published_at_the_hub_logs_in_at_the_kiosk(hub: Hub, kiosk: Kiosk):
    put = hub.run(
        "staff",
        "put",
        "--staff-id",
        "s-hub-1",
        "--name",
        "Reza",
        "--role",
        "cashier",
        "--pin-stdin",
        "--card",
        "5a5a5a5a",
        stdin="4826\n",
    )
    _, pulled, _ = kiosk.sync()

    assert "4826" not in put.stdout + put.stderr
    assert pulled.applied.get("staff") == 1
    ((data, signature),) = feed(hub, "staff")
    assert data["role"] == "cashier" and data["cards"] == ["5A5A5A5A"]
    assert check_pin("4826", data["pin_hash"]) and not check_pin("4827", data["pin_hash"])
    assert owner_of(hub).verify("staff", data, signature)
    assert kiosk.service.staff.login_with_pin("4826", "s-hub-1").actor_id == "s-hub-1"


def put_staff(hub: Hub, staff_id: str, pin: str) -> Any:
    return hub.run(
        "staff",
        "put",
        "--staff-id",
        staff_id,
        "--name",
        staff_id,
        "--role",
        "cashier",
        "--pin-stdin",
        stdin=f"{pin}\n",
        check=False,
    )


def test_a_pin_another_active_staff_member_has_is_refused_by_the_hub(hub: Hub):
    assert put_staff(hub, "s-sara", "4826").returncode == 0

    taken = put_staff(hub, "s-nima", "4826")  # the kiosks could not tell these two apart

    assert taken.returncode == 1 and "taken by another active staff member" in taken.stderr
    assert "4826" not in taken.stdout + taken.stderr
    assert [data["staff_id"] for data, _ in feed(hub, "staff")] == ["s-sara"]
    assert put_staff(hub, "s-sara", "4826").returncode == 0  # one's own PIN again is fine


@pytest.mark.parametrize("pin", ["1111", "1234", "4321", "7890"])
def test_a_trivial_pin_is_refused_by_the_hub(hub: Hub, pin: str):
    refused = put_staff(hub, "s-sara", pin)

    assert refused.returncode == 1 and "too easy to guess" in refused.stderr
    assert feed(hub, "staff") == []


def test_a_technician_with_pin_0000_is_refused_by_the_hub_and_by_the_kiosk(hub: Hub, kiosk: Kiosk):
    refused = hub.run(
        "staff",
        "put",
        "--staff-id",
        "s-evil",
        "--name",
        "Evil",
        "--role",
        "technician",
        "--pin-stdin",
        stdin="0000\n",
        check=False,
    )

    assert refused.returncode == 1 and "cashier or manager" in refused.stderr
    assert feed(hub, "staff") == []
    # Forced into the feed anyway (a compromised server holding the owner's key):
    ((chain,),) = hub.sql("SELECT chain_id FROM hub_owner")
    seed = base64.urlsafe_b64decode((hub.data_dir / "owner-key").read_text().strip())
    data = {
        "staff_id": "s-evil",
        "name": "Evil",
        "role": "technician",
        "pin_hash": hash_pin("0000", n=32_768),
        "cards": [],
        "disabled": False,
    }
    signature = OwnerSigner.from_seed(seed, chain).sign("staff", data)
    hub.sql(
        "INSERT INTO hub_change (type, data, signature, created_at) VALUES (%s, %s, %s, now())",
        "staff",
        json.dumps(data),
        signature,
    )
    _, pulled, _ = kiosk.sync()

    assert pulled.applied.get("staff", 0) == 0 and pulled.applied.get("skipped") == 1
    assert StaffAccounts(kiosk.service.conn).role_of("s-evil") is None
    refusals = [
        (r.action, r.target, r.outcome, r.details)
        for r in audit.recent(kiosk.service.conn, 100)
        if r.actor == "crm"
    ]
    assert ("staff.put", "s-evil", "refused", {"reason": "role_not_allowed"}) in refusals
